"""Fast forms of the attention recurrences: chunked PyTorch and Triton kernels, one folder per operator.

``kernels.dispatch`` is the one entry point (``linear_attention``, ``diag_scan``,
``softmax_attention``, ``backend``).  Importing this package never imports triton: Triton kernels
are built on their first launch, so the package imports on machines without CUDA and without
``TRITON_INTERPRET`` (see ``kernels._triton``).  Book chapter: ``notebooks/20_kernels``.
"""

from .dispatch import backend, diag_scan, linear_attention, softmax_attention

__all__ = ["backend", "diag_scan", "linear_attention", "softmax_attention"]
