r"""Seeded random DSFs and inputs for claims, tests and notebooks (float64 by default).

:func:`random_dsf` draws :math:`\Lambda_i` with a prescribed structure and a spectrum inside the unit
disc (diagonal entries in ``lam_range``; dense/dplr matrices rescaled to spectral norm 0.9), and
dense :math:`B_i, C_i, D_i`.  Used by claims ``dsf.convolutional-form``, ``dsf.chunked-equals-recurrent``
and ``dsf.hankel-rank-bound``.
"""

from __future__ import annotations

import torch

from ..base import validation as V
from ..base.numerics import torch_generator
from .core import DSF, STRUCTURES

__all__ = ["rand", "randn", "random_dsf"]


def randn(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Standard normal tensor of ``shape`` from the generator ``gen``."""
    return torch.randn(*shape, generator=gen, dtype=dtype)


def rand(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Uniform tensor on [0, 1) of ``shape`` from the generator ``gen``."""
    return torch.rand(*shape, generator=gen, dtype=dtype)


def random_dsf(
    structure: str,
    *,
    L: int,
    N: int,
    d: int,
    p: int | None = None,
    batch: tuple[int, ...] = (),
    rank: int = 2,
    lam_range: tuple[float, float] = (0.2, 0.99),
    feedthrough: bool = True,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> DSF:
    r"""A random DSF ``[*batch, L]`` with state ``N``, input ``d``, output ``p`` (default ``d``).

    Scalar/diagonal :math:`\lambda\sim U(\text{lam\_range})` (the range may include negative or >1
    values on purpose); dense: Gaussian rescaled to :math:`\lVert\Lambda_i\rVert_2=0.9`; dplr: diagonal
    in ``lam_range`` plus a rank-``rank`` term of norm about 0.3.
    """
    V.choice(structure, "structure", STRUCTURES)
    L, N, d = V.integer(L, "L", minimum=1), V.integer(N, "N", minimum=1), V.integer(d, "d", minimum=1)
    p = d if p is None else V.integer(p, "p", minimum=1)
    gen = torch_generator(seed)
    lo, hi = lam_range

    def unif(*shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=gen, dtype=dtype)

    low_rank = None
    if structure == "scalar":
        lam = unif(*batch, L)
    elif structure == "diagonal":
        lam = unif(*batch, L, N)
    elif structure == "dplr":
        lam = unif(*batch, L, N)
        U = randn(gen, *batch, L, N, rank, dtype=dtype) * (0.3 / (N * rank) ** 0.5)
        W = randn(gen, *batch, L, N, rank, dtype=dtype)
        low_rank = (U, W)
    else:
        M = randn(gen, *batch, L, N, N, dtype=dtype)
        lam = 0.9 * M / torch.linalg.matrix_norm(M, ord=2)[..., None, None]
    B = randn(gen, *batch, L, N, d, dtype=dtype)
    C = randn(gen, *batch, L, p, N, dtype=dtype) / N**0.5
    D = randn(gen, *batch, L, p, d, dtype=dtype) if feedthrough else None
    return DSF(lam, B, C, D, structure=structure, low_rank=low_rank)
