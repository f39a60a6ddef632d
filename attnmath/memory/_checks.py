"""Two input checks of the memory chapter that the shared helpers of :mod:`attnmath.base.validation` lack.

Both raise with a message that names the argument, says what was expected and what was given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..base import validation as V


def same_ndim(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor, *, fewer: int = 0) -> None:
    """``b.ndim == a.ndim - fewer``; the ``ValueError`` names both (either may be the wrong one)."""
    want = a.ndim - fewer
    if b.ndim != want:
        raise ValueError(
            f"{name_b} must have {want} dimensions to match {name_a} (shape {list(a.shape)}), "
            f"got {name_b} of shape {list(b.shape)}"
        )


def int_sequence(x: Any, name: str, *, minimum: int, maximum: int | None = None) -> list[int]:
    """A non-empty list/tuple/range of ints or a 1-D integer numpy array (:func:`V.integers`), each ``<= maximum``."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold ints, got an array of dtype {x.dtype}")
        if x.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence of ints, got an array of shape {list(x.shape)}")
        x = x.tolist()
    out = V.integers(x, name, minimum=minimum)
    if maximum is not None:
        out = [V.integer(v, f"{name}[{i}]", maximum=maximum) for i, v in enumerate(out)]
    return out


def finite_result(x: torch.Tensor, names: str, why: str) -> torch.Tensor:
    """Refuse a result that overflowed to Inf/NaN from finite inputs (``names`` are the inputs to blame)."""
    if x.device.type != "meta" and not bool(torch.isfinite(x).all()):
        dtype = str(x.dtype).replace("torch.", "")
        raise ValueError(f"{names} must be small enough together that {why} stays finite in {dtype}; it overflowed")
    return x
