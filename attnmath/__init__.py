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
"""

__version__ = "0.1.0"
