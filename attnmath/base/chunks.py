"""The chunk length of every chunked form (DSF object, kernels, benchmarks): one name, one default.

The parameter is called ``chunk_size`` everywhere; :data:`CHUNK_SIZE` is its default and
:func:`check_chunk_size` its one validation (an integer >= 1; the Triton kernels also need a power of
two >= 16, which they check themselves).
"""

from __future__ import annotations

from typing import Any

from . import validation as V

CHUNK_SIZE = 64


def check_chunk_size(chunk_size: Any, name: str = "chunk_size", *, power_of_two: bool = False) -> int:
    """``chunk_size`` as an int >= 1 (and a power of two when asked), else a ``ValueError``/``TypeError``."""
    c = V.integer(chunk_size, name, minimum=1)
    if power_of_two and c & (c - 1):
        raise ValueError(f"{name} must be a power of two, got {c}")
    return c
