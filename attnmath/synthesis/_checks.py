"""Input checks of the synthesis glue that :mod:`attnmath.base.validation` has no helper for.

Each raises ``TypeError``/``ValueError`` naming the argument(s), what was expected and what was given, as the
shared helpers do.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..base import validation as V

instance = V.instance  # the shared helpers (attnmath.base.validation), under this module's names
same_ndim = V.same_ndim


def exp_bound(dtype: torch.dtype) -> float:
    """The largest argument whose exponential is finite in ``dtype``: 700 for float64 (e^700 ~ 1e304),
    ``ln`` of the largest finite number for the narrower dtypes (88.7 for float32)."""
    return min(700.0, math.log(torch.finfo(dtype).max))


def exp_argument(x: torch.Tensor, name: str) -> torch.Tensor:
    """A (validated) tensor that is exponentiated: its entries must be <= :func:`exp_bound` of its dtype, so that a
    finite input never overflows to Inf (then NaN) silently."""
    bound = exp_bound(x.dtype)
    if x.numel() and x.device.type != "meta":
        biggest = float(x.detach().max())
        if biggest > bound:
            raise ValueError(
                f"{name} must be <= {bound:.4g} (it is exponentiated, and e^{bound:.4g} is near the largest "
                f"{str(x.dtype).replace('torch.', '')}), got {biggest:.4g}"
            )
    return x


def token_ids(x: Any, name: str, *, ndim: int) -> torch.Tensor:
    """A non-empty int64 tensor of token ids with ``ndim`` dimensions and values (not on the meta device)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids (int64), got {type(x).__name__}")
    if x.dtype != torch.long:
        raise TypeError(
            f"{name} must be a tensor of token ids with dtype int64, got {str(x.dtype).replace('torch.', '')}"
        )
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {list(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must be non-empty, got shape {list(x.shape)}")
    return V.has_data(x, name)
