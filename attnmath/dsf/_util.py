"""Shared constants for the DSF claims: dtype roundoff and the dossier's identity tolerance."""

from __future__ import annotations

import torch

F64_EPS = float(torch.finfo(torch.float64).eps)  # 2.2e-16
# Dossier §7: identities in float64 at L <= 256 are checked to rtol 1e-10 (and 1e-12 where [M] measured
# at most 1e-13); roundoff of an L-term sum of products is about L eps = 5.7e-14 at L = 256.
TOL_IDENTITY = 1e-12
REASON_IDENTITY = "dossier §7 float64 identity tolerance (rtol 1e-12; roundoff of L-term sums is ~L eps <= 6e-14)"
TOL_DUALITY = 1e-10
REASON_DUALITY = "dossier §7 E5/E6 tolerance 1e-10 (exponentials of warped times up to |a t| ~ 30 amplify roundoff)"


def rng(seed: int) -> torch.Generator:
    """A local torch generator seeded with ``seed``."""
    return torch.Generator().manual_seed(int(seed))


def randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    """Float64 standard normals from ``gen``."""
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def rand(gen: torch.Generator, *shape: int) -> torch.Tensor:
    """Float64 uniforms on [0, 1) from ``gen``."""
    return torch.rand(*shape, generator=gen, dtype=torch.float64)
