"""Lazy access to Triton, so that ``import attnmath.kernels`` is safe without CUDA and without the interpreter.

Why lazy.  ``triton.jit`` decides at *decoration* time whether a function runs compiled (GPU) or in
the CPU interpreter (``TRITON_INTERPRET=1``), and Triton decorates its own standard-library helpers
(``tl.sum``, ``tl.cumsum``, ``tl.max``) when ``triton`` is first imported.  So the interpreter must be
switched on *before the first* ``import triton`` of the process: setting the knob later lets simple
kernels run but makes every ``tl.sum``/``tl.cumsum`` fail with "Cannot call @triton.jit'd outside of
the scope of a kernel" (checked with triton 3.9.0).

How.  No module of :mod:`kernels` imports triton at import time.  Kernel sources are plain functions
(with ``from __future__ import annotations``, so ``BT: tl.constexpr`` stays a string) wrapped by
:func:`lazy_jit`; the first launch calls :func:`load`, which imports triton (switching the interpreter
on first when there is no GPU and the user set nothing), injects the real ``triton.language`` as the
module global ``tl`` and only then applies ``triton.jit``.

Which backend is the default is decided by :func:`attnmath.kernels.dispatch.backend`: Triton when CUDA is
available or the *user* set ``TRITON_INTERPRET=1``; an interpreter that :func:`load` switched on by
itself (because a caller forced ``backend="triton"`` on a CPU machine) does not change that default.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

import torch

from attnmath.base.errors import MissingDependency

_SET_BY_US = False  # True once load() exported TRITON_INTERPRET=1 itself


class _LanguagePlaceholder:
    """Stands in for ``triton.language`` until :func:`load` injects the real module."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"tl.{name} used before triton was loaded: kernels are built on first launch by attnmath.kernels._triton.load()"
        )


tl: Any = _LanguagePlaceholder()


def available() -> bool:
    """True when the ``triton`` package is installed (without importing it)."""
    return importlib.util.find_spec("triton") is not None


def interpreter_requested() -> bool:
    """True when the user (not :func:`load`) set ``TRITON_INTERPRET=1``."""
    return os.environ.get("TRITON_INTERPRET") == "1" and not _SET_BY_US


def interpreting() -> bool:
    """True when Triton runs (or will run) kernels in its CPU interpreter."""
    if not available():
        load()  # raises MissingDependency: no triton, no interpreter to ask about
    if sys.modules.get("triton") is not None:
        import triton

        return bool(triton.knobs.runtime.interpret)
    return os.environ.get("TRITON_INTERPRET") == "1" or not torch.cuda.is_available()


def load():
    """Import triton (switching the interpreter on first when there is no GPU) and return ``(triton, tl)``.

    Raises :class:`~attnmath.base.errors.MissingDependency` (a ``RuntimeError``) when triton is
    missing, and ``RuntimeError`` when there is no GPU and triton was already
    imported without the interpreter (its own ``@jit`` helpers then cannot run on CPU).
    """
    global _SET_BY_US
    if not available():
        raise MissingDependency("triton", "the Triton backend needs the `triton` package (pip install triton)")
    if not torch.cuda.is_available() and "triton" not in sys.modules and "TRITON_INTERPRET" not in os.environ:
        os.environ["TRITON_INTERPRET"] = "1"
        _SET_BY_US = True
    import triton
    import triton.language as language

    if not torch.cuda.is_available() and not triton.knobs.runtime.interpret:
        raise RuntimeError(
            "no GPU and Triton is not in interpreter mode: set TRITON_INTERPRET=1 before the first "
            "`import triton` of the process (Triton decorates tl.sum/tl.cumsum at import time)"
        )
    return triton, language


class LazyKernel:
    """A Triton kernel source that is ``triton.jit``-ed on its first launch (``kernel[grid](...)``)."""

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self._kernel = None

    @property
    def kernel(self):
        if self._kernel is None:
            triton, language = load()
            self.fn.__globals__["tl"] = language  # replace the placeholder in the source module
            self._kernel = triton.jit(self.fn)
        return self._kernel

    def __getitem__(self, grid):
        return self.kernel[grid]


def lazy_jit(fn) -> LazyKernel:
    """Decorator: defer ``triton.jit(fn)`` to the first launch (see the module docstring)."""
    return LazyKernel(fn)


def next_pow2(n: int, minimum: int = 16) -> int:
    """Smallest power of two >= max(n, minimum) (``tl.dot`` needs block sides >= 16 on a GPU)."""
    p = minimum
    while p < n:
        p *= 2
    return p


def dot_precision(dtype: torch.dtype) -> str:
    """``tl.dot`` input precision: IEEE fp32 for fp32 inputs (a GPU defaults to TF32, ~1e-3 relative
    error), TF32 for fp16/bf16 inputs whose own rounding (>= 4.9e-4) already dominates.  The
    interpreter always multiplies in full fp32 (TOOLING.md §7)."""
    return "ieee" if dtype == torch.float32 else "tf32"
