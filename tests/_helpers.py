"""Small helpers shared by the test modules (not tests themselves)."""

from __future__ import annotations

import pytest
import torch

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = F64) -> torch.Tensor:
    """Standard normal tensor of ``shape``, reproducible from ``seed`` (float64 unless ``dtype``)."""
    return torch.randn(*shape, generator=gen(seed), dtype=dtype)


def msg(exc: type[BaseException], fn, *args, **kwargs) -> str:
    """The message of the ``exc`` that ``fn(*args, **kwargs)`` must raise (fails the test if it does not)."""
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    return str(info.value)


def randn(g: torch.Generator, *shape: int, dtype: torch.dtype = F64) -> torch.Tensor:
    """Standard normal tensor of ``shape`` drawn from the generator ``g`` (float64 unless ``dtype``)."""
    return torch.randn(*shape, generator=g, dtype=dtype)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """``max|a - b| / max|b|``: the relative max-norm error of ``a`` against the reference ``b``."""
    return float((a - b).abs().max() / b.abs().max())


def meta(*shape: int, dtype: torch.dtype = F64) -> torch.Tensor:
    """An empty tensor on the ``meta`` device (no data: device-mismatch and shape-only checks)."""
    return torch.empty(*shape, dtype=dtype, device="meta")
