"""attnmath: four formal views of attention, as executable claims.

One module or subpackage per chapter of the book; each registers its claims at import.

- ``attnmath.claims``      the claims ledger (registry, runner, results, notebook display, CLI data)
- ``attnmath.base.validation``  input checks shared by every public function
- ``attnmath.softmax``     softmax attention: definition, Nadaraya–Watson smoother, mixing matrix
- ``attnmath.dsf``         the Dynamical Systems Framework: one LTV object for attention, SSMs and RNNs
- ``attnmath.memory``      linear attention as a Hebbian / Pavlovian associative memory
- ``attnmath.scansnap``    scan-and-snap SGD dynamics of a one-layer transformer
- ``attnmath.stiffness``   residual nets as explicit Euler; attention as a stiffness-aware step size

Triton kernels for the recurrences are ``attnmath.kernels`` (the repository folder ``kernels/``, installed
under this package so that nothing named ``kernels`` lands in site-packages).
Run ``python -m attnmath verify`` to check every registered claim.

The subpackages load lazily: ``import attnmath`` costs nothing, and ``attnmath.dsf`` (say) imports that
chapter on first access.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__version__ = "0.1.0"

#: The subpackages ``attnmath.<name>`` gives access to, each imported on first use.
SUBPACKAGES = (
    "base",
    "claims",
    "dsf",
    "fastforms",
    "kernels",
    "ledger",
    "memory",
    "scansnap",
    "softmax",
    "stiffness",
    "synthesis",
)

__all__ = ["SUBPACKAGES", "__version__", *SUBPACKAGES]


def __getattr__(name: str) -> ModuleType:
    if name in SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SUBPACKAGES))
