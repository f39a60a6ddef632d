"""Fast forms of the attention recurrences: chunked PyTorch and Triton kernels, one folder per operator.

``attnmath.kernels.dispatch`` is the one entry point (``linear_attention``, ``diag_scan``,
``softmax_attention``, ``backend``), and each operator is callable from here too:
``attnmath.kernels.linear_attention(q, k, v)`` with ``q, k: [B, T, H, K]`` and ``v: [B, T, H, V]``.  The operator folders ``attnmath.kernels.linear_attention``,
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

import inspect
import sys
import types
from typing import Any

from . import dispatch
from .dispatch import backend

__all__ = ["OPERATORS", "backend", "diag_scan", "dispatch", "linear_attention", "softmax_attention"]

#: The operators; each is a folder (``reference``, ``chunk``, ``triton_*``) that is also callable as its dispatch
#: function: ``attnmath.kernels.linear_attention(q, k, v)`` is ``attnmath.kernels.dispatch.linear_attention(q, k, v)``.
OPERATORS = ("linear_attention", "diag_scan", "softmax_attention")


class _CallableOperator(types.ModuleType):
    """An operator folder that is also its dispatch function (layout ``[B, T, H, K]``; see :mod:`.dispatch`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(dispatch, self.__name__.rpartition(".")[2])(*args, **kwargs)


for _name in OPERATORS:
    _module = sys.modules[f"{__name__}.{_name}"]
    _fn = getattr(dispatch, _name)
    _module.__class__ = _CallableOperator
    _module.__signature__ = inspect.signature(_fn)  # type: ignore[attr-defined]  # inspect reads it from any object
    _module.__doc__ = f"{_module.__doc__ or ''}\n\nCalled as a function, this is :func:`attnmath.kernels.dispatch.{_name}`:\n\n{inspect.getdoc(_fn)}"
del _name, _module, _fn
