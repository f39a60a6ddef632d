r"""Contrast (not in the paper): softmax attention as one update of a modern Hopfield network.

Book chapter: ``notebooks/30_pavlovian_memory`` (claim ``memory.softmax-hopfield-contrast``).
Ramsauer et al. (2021): with stored patterns :math:`k_i` (here unit keys) and inverse temperature
:math:`\beta`, the recall :math:`\mathrm{softmax}(\beta\,q^\top K^\top)V` of a stored key :math:`q=k_j`
has a retrieval error that decays exponentially in the separation
:math:`\Delta_j=k_j^\top k_j-\max_{i\ne j}k_j^\top k_i`, so the capacity grows exponentially in
:math:`d_k` instead of linearly (classical; see the book's Sources appendix).
"""

from __future__ import annotations

import math

import torch

from ..base import validation as V
from ._checks import finite_result, same_ndim
from .hebbian import _pairs


def softmax_recall(keys: torch.Tensor, values: torch.Tensor, queries: torch.Tensor, beta: float) -> torch.Tensor:
    r"""Softmax (Hopfield) recall :math:`o=\sum_i\mathrm{softmax}_i(\beta\,k_i^\top q)\,v_i`, i.e. :math:`\mathrm{softmax}(\beta\,QK^\top)V`.

    keys ``[..., N, d_k]``, values ``[..., N, d_v]``, queries ``[..., T, d_k]`` → ``[..., T, d_v]``.
    """
    _pairs(keys, values)
    b = V.real(beta, "beta", positive=True)
    V.tensor(queries, "queries", ndim=range(2, 7))
    same_ndim("keys", keys, "queries", queries)
    V.same_dtype("queries", queries, "keys", keys)
    V.same_device("queries", queries, "keys", keys)
    if queries.shape[-1] != keys.shape[-1]:
        raise ValueError(
            f"queries must have the width d_k of the keys (last dim), got queries {list(queries.shape)}, "
            f"keys {list(keys.shape)}"
        )
    if queries.shape[:-2] != keys.shape[:-2]:
        raise ValueError(
            f"queries and keys must share leading (batch/head) dims, got queries {list(queries.shape)}, "
            f"keys {list(keys.shape)}"
        )
    out = torch.softmax((queries @ keys.transpose(-1, -2)) * b, dim=-1) @ values
    return finite_result(out, "queries, keys and beta", "the score beta * q.k")


def separation(keys: torch.Tensor) -> torch.Tensor:
    r"""Separation of each stored pattern, :math:`\Delta_j=k_j^\top k_j-\max_{i\ne j}k_j^\top k_i`; keys ``[..., N, d_k]`` → ``[..., N]``."""
    V.tensor(keys, "keys", ndim=range(2, 6))
    if keys.shape[-2] < 2:
        raise ValueError(f"keys must hold at least 2 patterns, got shape {list(keys.shape)}")
    G = keys @ keys.transpose(-1, -2)
    diag = torch.diagonal(G, dim1=-2, dim2=-1)
    off = G.masked_fill(torch.eye(G.shape[-1], dtype=torch.bool, device=G.device), -math.inf)
    return diag - off.amax(dim=-1)


def hopfield_error_bound(keys: torch.Tensor, values: torch.Tensor, beta: float) -> torch.Tensor:
    r"""Per-item bound :math:`\lVert o(k_j)-v_j\rVert\le2(N-1)e^{-\beta\Delta_j}\max_i\lVert v_i\rVert` → ``[..., N]``.

    From :math:`1-p_j\le(N-1)e^{-\beta\Delta_j}` for the softmax weight :math:`p_j` of the stored
    pattern, and :math:`o-v_j=\sum_{i\ne j}p_i(v_i-v_j)`. Raises ``ValueError`` when the bound overflows
    (keys with a negative separation :math:`\Delta_j` and a large ``beta``: the bound is then vacuous).
    """
    _pairs(keys, values)
    b = V.real(beta, "beta", positive=True)
    vmax = values.norm(dim=-1).amax(dim=-1, keepdim=True)
    out = 2 * (keys.shape[-2] - 1) * torch.exp(-b * separation(keys)) * vmax
    return finite_result(out, "keys, values and beta", "the bound 2(N-1) exp(-beta Delta_j) max|v|")


def hopfield_tight_instance(
    n: int, d_k: int, delta: float, *, d_v: int = 16, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Keys and values on which the bound of :func:`hopfield_error_bound` is attained for item 0 as :math:`\beta\Delta` grows.

    :math:`k_0=e_1`, :math:`k_i=(1-\delta)e_1+\sqrt{1-(1-\delta)^2}\,u_i` (:math:`u_i` orthonormal in :math:`e_1^\perp`, so
    :math:`n\le d_k`), :math:`v_0=v` and :math:`v_i=-v` for one random unit vector v. Item 0 has separation
    :math:`\Delta_0=\delta` and all N-1 other patterns sit at that overlap, so its softmax weight is
    :math:`p_0=1/(1+(N-1)e^{-\beta\delta})` and :math:`o-v_0=-2(1-p_0)v`: the error is exactly
    :math:`2(N-1)e^{-\beta\delta}/(1+(N-1)e^{-\beta\delta})`, i.e. the bound divided by :math:`1+(N-1)e^{-\beta\delta}`.
    Returns (keys ``[n, d_k]``, values ``[n, d_v]``) float64.
    """
    n = V.integer(n, "n", minimum=2)
    d_k = V.integer(d_k, "d_k", minimum=n)
    delta = V.real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    d_v = V.integer(d_v, "d_v", minimum=1)
    c = 1.0 - delta
    U = torch.linalg.qr(torch.randn(d_k - 1, n - 1, generator=generator, dtype=torch.float64)).Q.T
    keys = torch.zeros(n, d_k, dtype=torch.float64)
    keys[0, 0] = 1.0
    keys[1:, 0] = c
    keys[1:, 1:] = math.sqrt(1 - c**2) * U
    v = torch.randn(d_v, generator=generator, dtype=torch.float64)
    values = -(v / v.norm()).expand(n, d_v).clone()
    values[0] = -values[0]
    return keys, values
