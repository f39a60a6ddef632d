"""Time-varying diagonal scan (GLA form): reference loop, masked form, chunked PyTorch and Triton forms.

The DSF instances (S6, Mamba-2/SSD, RetNet, GLA) mapped onto this scan are the kernels chapter's
:mod:`attnmath.fastforms.instances`.
"""

from .chunk import chunk_diag_scan
from .reference import diag_scan_quadratic, diag_scan_recurrent
from .triton_chunk import TritonChunkDiagScanFunction, gate_gradient, triton_chunk_diag_scan

__all__ = [
    "TritonChunkDiagScanFunction",
    "chunk_diag_scan",
    "diag_scan_quadratic",
    "diag_scan_recurrent",
    "gate_gradient",
    "triton_chunk_diag_scan",
]
