r"""Error propagation across depth, width and head redundancy.

Book chapter: ``notebooks/30_pavlovian_memory`` (claims ``memory.head-redundancy``,
``memory.majority-vote``, ``memory.depth-compounding``, ``memory.depth-residual``).

The paper's own model is unknown; these are two standard composition models, our reconstruction
(see the book's Sources appendix):

- **Model P** (parallel noise, residual accumulation): each of L layers adds the crosstalk of its own
  Hebbian memory (H redundant heads averaged) to a residual stream,
  :math:`\mathbb E\lVert e_L\rVert^2/s^2=L(N-1)/(Hd_k)`; aligned errors give :math:`L^2(N-1)/(Hd_k)`.
- **Model C** (compounding multi-hop): hop ℓ's values are hop ℓ+1's keys, so the coefficient vector is
  multiplied by a Gram matrix per hop, :math:`\mathbb E\lVert y_L-u^L_j\rVert^2=(1+\frac{N-1}{Hd_k})^L-1`.

All keys are unit (uniform on the sphere), values :math:`\mathcal N(0,I/d_v)`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..base import validation as V
from ..base.numerics import torch_generator
from ._checks import same_ndim
from .capacity import random_keys, random_values, ratio_of_means
from .hebbian import _memory, _recall


def _dims(n: int, d_k: int, layers: int, heads: int) -> tuple[int, int, int, int]:
    return (
        V.integer(n, "n", minimum=1),
        V.integer(d_k, "d_k", minimum=1),
        V.integer(layers, "layers", minimum=1),
        V.integer(heads, "heads", minimum=1),
    )


def head_average_error(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    r"""Recall error of H redundant heads averaged: :math:`e_j=\frac1H\sum_h(M_hk^h_j-v_j)`.

    keys ``[..., H, N, d_k]`` (independent key sets for the same items), values ``[..., N, d_v]``
    → ``[..., N, d_v]``. Per-layer noise :math:`\mathbb E\lVert e_j\rVert^2/s^2=(N-1)/(Hd_k)` (claim
    ``memory.head-redundancy``).
    """
    V.has_data(V.tensor(keys, "keys", ndim=range(3, 7)), "keys")
    V.has_data(V.tensor(values, "values", ndim=range(2, 6)), "values")
    same_ndim("keys", keys, "values", values, fewer=1)
    V.same_dtype("keys", keys, "values", values)
    V.same_device("keys", keys, "values", values)
    if keys.shape[:-3] != values.shape[:-2] or keys.shape[-2] != values.shape[-2]:
        raise ValueError(
            f"values must be [..., N, d_v] for keys [..., H, N, d_k], got keys {list(keys.shape)}, values {list(values.shape)}"
        )
    return _head_average_error(keys, values)


def _head_average_error(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    vals = values.unsqueeze(-3).expand(*values.shape[:-2], keys.shape[-3], *values.shape[-2:])
    return (_recall(_memory(keys, vals), keys) - vals).mean(dim=-3)


def residual_accumulation(
    n: int,
    d_k: int,
    layers: int,
    heads: int = 1,
    *,
    trials: int,
    seed: int,
    d_v: int = 16,
    aligned: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Model P: relMSE :math:`\mathbb E\lVert e_\ell\rVert^2/\mathbb E\lVert v\rVert^2` of the residual stream after
    :math:`\ell=1..L` layers (one pass, so the depths share their draws).

    Independent layers: :math:`e_\ell=\sum_{m\le\ell}e_m` with a fresh H-head memory per layer; ``aligned=True``
    repeats layer 1's error in every layer (:math:`e_\ell=\ell e_1`, the worst case). Returns (ratio of means
    ``[L]``, delta-method SE ``[L]``). Theory: :func:`model_p_theory` (claims ``memory.head-redundancy``,
    ``memory.depth-residual``).
    """
    n, d_k, layers, heads = _dims(n, d_k, layers, heads)
    aligned = V.flag(aligned, "aligned")
    g = torch_generator(seed)
    trials = V.integer(trials, "trials", minimum=2)
    values = random_values(n, d_v, batch=(trials,), generator=g)
    energy = (values**2).sum(dim=(1, 2))
    e = torch.zeros_like(values)
    first = None
    out = []
    for _ in range(layers):
        if aligned and first is not None:
            e = e + first
        else:
            first = _head_average_error(random_keys(n, d_k, batch=(trials, heads), generator=g), values)
            e = e + first
        out.append(ratio_of_means((e**2).sum(dim=(1, 2)), energy))
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def compounding_multihop(
    n: int, d_k: int, layers: int, heads: int = 1, *, trials: int, seed: int, space: str = "vector"
) -> tuple[np.ndarray, np.ndarray]:
    r"""Model C: mean :math:`\lVert y_\ell-u^\ell_j\rVert^2` over items j and ``trials`` after :math:`\ell=1..L` hops.

    ``space="vector"`` (H = 1): unit pattern sets :math:`u^0..u^L`, hop memories :math:`M_{\ell+1}=\sum_iu^{\ell+1}_iu^{\ell\top}_i`,
    :math:`y_0=u^0_j`, :math:`y_{\ell+1}=M_{\ell+1}y_\ell`. ``space="coefficient"``: :math:`a_{\ell+1}=\bar G_\ell a_\ell`,
    :math:`a_0=e_j`, with :math:`\bar G_\ell` the average of H independent Gram matrices; error
    :math:`\lVert a_\ell-e_j\rVert^2`. Returns (mean ``[L]``, SE over trials ``[L]``); the depths share their draws.
    Theory: :func:`model_c_theory` (claim ``memory.depth-compounding``).
    """
    n, d_k, layers, heads = _dims(n, d_k, layers, heads)
    V.choice(space, "space", ("vector", "coefficient"))
    if space == "vector" and heads != 1:
        raise ValueError(
            f"heads must be 1 in vector space (the H-head model is stated in coefficient space), got {heads}"
        )
    g = torch_generator(seed)
    trials = V.integer(trials, "trials", minimum=2)
    errs = []
    if space == "vector":
        U = random_keys(n, d_k, batch=(trials,), generator=g)
        Y = U.clone()  # row j = y_0 for item j
        for _ in range(layers):
            U_next = random_keys(n, d_k, batch=(trials,), generator=g)
            Y = _recall(_memory(U, U_next), Y)
            U = U_next
            errs.append(((Y - U) ** 2).sum(-1).mean(-1))
    else:
        eye = torch.eye(n, dtype=torch.float64)
        A = eye.expand(trials, n, n).clone()  # column j = a for item j
        for _ in range(layers):
            K = random_keys(n, d_k, batch=(trials, heads), generator=g)
            A = (K @ K.transpose(-1, -2)).mean(dim=1) @ A
            errs.append(((A - eye) ** 2).sum(dim=(1, 2)) / n)
    root = math.sqrt(trials)
    return np.array([float(e.mean()) for e in errs]), np.array([float(e.std() / root) for e in errs])


def model_p_theory(n: int, d_k: int, layers: int, heads: int = 1, *, aligned: bool = False) -> float:
    r"""Model P relMSE: :math:`L(N-1)/(Hd_k)` (independent layers) or :math:`L^2(N-1)/(Hd_k)` (aligned)."""
    n, d_k, layers, heads = _dims(n, d_k, layers, heads)
    aligned = V.flag(aligned, "aligned")
    return (layers**2 if aligned else layers) * (n - 1) / (heads * d_k)


def model_c_theory(n: int, d_k: int, layers: int, heads: int = 1) -> float:
    r"""Model C error :math:`(1+\frac{N-1}{Hd_k})^L-1` (its linearisation is :math:`L(N-1)/(Hd_k)`)."""
    n, d_k, layers, heads = _dims(n, d_k, layers, heads)
    return (1 + (n - 1) / (heads * d_k)) ** layers - 1


def model_c_capacity(d_k: int, layers: int, heads: int, eps: float) -> float:
    r"""Largest N with Model C error :math:`\le\varepsilon^2`: :math:`1+Hd_k((1+\varepsilon^2)^{1/L}-1)`."""
    _, d_k, layers, heads = _dims(1, d_k, layers, heads)
    e = V.real(eps, "eps", positive=True)
    return 1 + heads * d_k * ((1 + e**2) ** (1 / layers) - 1)


def model_p_capacity(d_k: int, layers: int, heads: int, eps: float, *, aligned: bool = False) -> float:
    r"""Largest N with Model P relMSE :math:`\le\varepsilon^2`: :math:`1+\varepsilon^2Hd_k/L` (or :math:`/L^2` aligned)."""
    _, d_k, layers, heads = _dims(1, d_k, layers, heads)
    e = V.real(eps, "eps", positive=True)
    aligned = V.flag(aligned, "aligned")
    return 1 + e**2 * heads * d_k / (layers**2 if aligned else layers)


# --------------------------------------------------------------------------------------
# Majority vote over redundant heads (discrete outputs)
# --------------------------------------------------------------------------------------
def majority_failure(p: float, heads: int) -> float:
    r"""Exact probability that a strict majority of H independent heads, each right w.p. p, is *not* right
    (a tie counts as a failure): :math:`\sum_{m\le\lfloor H/2\rfloor}\binom Hm p^m(1-p)^{H-m}`."""
    p = V.real(p, "p", low=0.0, high=1.0)
    H = V.integer(heads, "heads", minimum=1)
    return float(sum(math.comb(H, m) * p**m * (1 - p) ** (H - m) for m in range(H // 2 + 1)))


def hoeffding_majority_bound(p: float, heads: int) -> float:
    r"""Hoeffding: :math:`P(\text{majority fails})\le e^{-2H(p-1/2)^2}` for :math:`p>1/2`."""
    p = V.real(p, "p", low=0.5, high=1.0, low_open=True)
    return math.exp(-2 * V.integer(heads, "heads", minimum=1) * (p - 0.5) ** 2)


def heads_for_reliability(p: float, layers: int, delta: float) -> int:
    r"""Heads per layer so that a union bound over L layers fails w.p. :math:`\le\delta`:
    :math:`H=\lceil\ln(L/\delta)/(2(p-\frac12)^2)\rceil`."""
    p = V.real(p, "p", low=0.5, high=1.0, low_open=True)
    L = V.integer(layers, "layers", minimum=1)
    d = V.real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    return max(1, math.ceil(math.log(L / d) / (2 * (p - 0.5) ** 2)))
