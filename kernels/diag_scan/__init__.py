"""Time-varying diagonal scan (GLA form): reference loop, masked form, chunked PyTorch and Triton forms, DSF adapters."""

from .adapters import (
    default_retnet_gammas,
    gla_scan,
    retnet_reference,
    retnet_scan,
    s6_reference,
    s6_scan,
    ssd_reference,
    ssd_scan,
)
from .chunk import chunk_diag_scan
from .reference import diag_scan_quadratic, diag_scan_recurrent
from .triton_chunk import TritonChunkDiagScanFunction, gate_gradient, triton_chunk_diag_scan

__all__ = [
    "TritonChunkDiagScanFunction",
    "chunk_diag_scan",
    "default_retnet_gammas",
    "diag_scan_quadratic",
    "diag_scan_recurrent",
    "gate_gradient",
    "gla_scan",
    "retnet_reference",
    "retnet_scan",
    "s6_reference",
    "s6_scan",
    "ssd_reference",
    "ssd_scan",
    "triton_chunk_diag_scan",
]
