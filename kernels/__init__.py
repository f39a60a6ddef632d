"""Fast forms of the attention recurrences: chunked PyTorch and Triton kernels, one folder per operator.

``attnmath.kernels.dispatch`` is the one entry point (``linear_attention``, ``diag_scan``,
``softmax_attention``, ``backend``); the operator folders ``attnmath.kernels.linear_attention``,
``attnmath.kernels.diag_scan`` and ``attnmath.kernels.softmax_attention`` hold each form (reference, chunked PyTorch,
Triton).  Importing this package never imports triton: Triton kernels are built on their first
launch, so the package imports on machines without CUDA and without ``TRITON_INTERPRET`` (see
``attnmath.kernels._triton``; their shared device helpers are ``attnmath.kernels._tiles``).  This package
holds operators only and imports nothing from ``attnmath`` but the base layer; the book chapter is
``notebooks/20_kernels`` with its package ``attnmath.fastforms``.

The repository folder is ``kernels/``; it installs as ``attnmath.kernels`` (setuptools
``package_dir``), because a top-level ``kernels`` package already exists on the package index.
"""

if __name__ != "attnmath.kernels":  # e.g. `import kernels` with the repository root on sys.path
    raise ImportError(
        f"this folder installs as `attnmath.kernels`; import attnmath.kernels, not {__name__!r} "
        "(a top-level `kernels` is another project on the package index)"
    )

from . import dispatch
from .dispatch import backend

__all__ = ["backend", "dispatch"]
