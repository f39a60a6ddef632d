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
