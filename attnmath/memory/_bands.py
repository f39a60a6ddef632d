"""Check constructors shared by the ``memory.*`` claims (statistical bands with a relative floor)."""

from __future__ import annotations

import torch

from ..claims import band, rel_band  # noqa: F401 - re-exported for the memory claims

CI = "ci"
F64 = torch.float64

F64_EPS = 2.220446049250313e-16  # float64 unit roundoff x 2 (torch.finfo(torch.float64).eps)


def gen(seed: int) -> torch.Generator:
    """A seeded local torch generator (claims never touch the global RNG)."""
    return torch.Generator().manual_seed(seed)
