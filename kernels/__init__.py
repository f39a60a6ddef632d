"""Fast forms of the attention recurrences: chunked PyTorch and Triton kernels, one folder per operator.

``kernels.dispatch`` is the one entry point (``linear_attention``, ``diag_scan``,
``softmax_attention``, ``backend``); the operator folders ``kernels.linear_attention``,
``kernels.diag_scan`` and ``kernels.softmax_attention`` hold each form (reference, chunked PyTorch,
Triton).  Importing this package never imports triton: Triton kernels are built on their first
launch, so the package imports on machines without CUDA and without ``TRITON_INTERPRET`` (see
``kernels._triton``).  Book chapter: ``notebooks/20_kernels``.
"""

from . import dispatch
from .dispatch import backend

__all__ = ["backend", "dispatch"]
