r"""Quantities the DSF chapter measures: numerical ranks, Taylor bounds, step-size gains, masked forms, memories.

- :func:`numerical_rank`, :func:`hankel_ranks`, :func:`softmax_hankel_rank`: state-size lower bounds (the Hankel
  rank bound is reconstructed; softmax's infinite state is Lemma 1 of Sieber et al. 2024).
- :func:`taylor_remainder_bound`, :func:`taylor_ratio_bound`, :func:`normalized_output_bound`,
  :func:`normalized_output_range_bound`: the classical Lagrange remainder and the normalised-output bounds of
  the Taylor truncation (reconstructed).
- :func:`s6_masked_attention`: S6 as :math:`d`-head masked linear attention (reconstructed).
- :func:`ssd_masked_attention`: the 1-semiseparable masked form :math:`(L\circ CB^\top)(\Delta\odot X)` (Dao & Gu 2024).
- :func:`softmax_log_normalizers`: causal :math:`\log\eta_i=\mathrm{logsumexp}_{j\le i}s_{ij}` (the eigenvalue recipe of the authors' follow-up code).
- :func:`diag_ssm_states`: a one-channel diagonal SSM with a chosen transition/input gain (ZOH vs Euler gains, stiffness).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from ..base import validation as V

if TYPE_CHECKING:
    from .core import DSF

__all__ = [
    "diag_ssm_states",
    "hankel_ranks",
    "normalized_output_bound",
    "normalized_output_range_bound",
    "numerical_rank",
    "s6_masked_attention",
    "softmax_hankel_rank",
    "softmax_log_normalizers",
    "ssd_masked_attention",
    "taylor_ratio_bound",
    "taylor_remainder_bound",
]


def numerical_rank(M: torch.Tensor, rtol: float = 1e-10) -> int:
    r"""Number of singular values above ``rtol`` times the largest (M ``[a, b]``)."""
    V.tensor(M, "M", ndim=2)
    rtol = V.real(rtol, "rtol", positive=True)
    s = torch.linalg.svdvals(M)
    return int((s > rtol * s[0]).sum()) if s.numel() and s[0] > 0 else 0


def hankel_ranks(dsf: DSF, rtol: float = 1e-10) -> list[int]:
    r"""Numerical rank of every Hankel block :math:`\Phi[i\ge t, j<t]`, ``t = 1..L-1`` (first batch element)."""
    out = []
    for t in range(1, dsf.L):
        H = dsf.hankel_block(t)
        H = H.reshape(-1, *H.shape[-2:])[0]
        out.append(numerical_rank(H, rtol))
    return out


def softmax_hankel_rank(
    q: torch.Tensor, k: torch.Tensor, t: int, rtol: float = 1e-10, scale: float | None = None
) -> int:
    r"""Numerical rank of the softmax score block :math:`[e^{s\,q_i^\top k_j}/\eta_i]_{i\ge t,\,j<t}` (q, k ``[L, m]``)."""
    V.tensor(q, "q", ndim=2)
    V.tensor(k, "k", shape=q.shape)
    t = V.integer(t, "t", minimum=1, maximum=q.shape[0] - 1)
    s = 1.0 / math.sqrt(q.shape[1]) if scale is None else scale
    logits = s * q @ k.T
    mask = torch.ones_like(logits, dtype=torch.bool).tril()
    A = torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)
    return numerical_rank(A[t:, :t], rtol)


def taylor_remainder_bound(R: float, order: int) -> float:
    r"""Lagrange bound :math:`|e^s-T_P(s)|\le R^{P+1}e^R/(P+1)!` for :math:`|s|\le R` (classical)."""
    R, order = V.real(R, "R", nonnegative=True), V.integer(order, "order", minimum=0)
    return R ** (order + 1) * math.exp(R) / math.factorial(order + 1)


def taylor_ratio_bound(R: float, order: int) -> float:
    r""":math:`\delta=R^{P+1}e^{R}/(P+1)!\ge|T_P(s)/e^s-1|` for :math:`|s|\le R` (reconstructed from the Lagrange remainder).

    :math:`T_P(s)/e^s-1=-\frac{s^{P+1}}{(P+1)!}e^{\xi-s}` with :math:`\xi` between 0 and :math:`s`, and
    :math:`\xi-s\le\max(-s,0)\le R`.
    """
    R, order = V.real(R, "R", nonnegative=True), V.integer(order, "order", minimum=0)
    return R ** (order + 1) * math.exp(R) / math.factorial(order + 1)


def normalized_output_bound(delta: float, vmax: float) -> float:
    r""":math:`\lVert\tilde y_i-y_i\rVert_\infty\le\frac{2\delta}{1-\delta}\max_j\lVert v_j\rVert_\infty` (needs :math:`\delta<1`)."""
    delta = V.real(delta, "delta", nonnegative=True, high=1.0, high_open=True)
    return 2 * delta / (1 - delta) * V.real(vmax, "vmax", nonnegative=True)


def normalized_output_range_bound(delta: float, v_range: float) -> float:
    r"""Centred normalized-output bound :math:`\lVert\tilde y_i-y_i\rVert_\infty\le\frac{\delta}{1-\delta}\max_r(\max_jv_{jr}-\min_jv_{jr})`.

    Weights :math:`\tilde\alpha_j=\alpha_j(1+\epsilon_j)/(1+\bar\epsilon)` with :math:`|\epsilon_j|\le\delta<1`:
    :math:`\tilde y-y=\frac1{1+\bar\epsilon}\sum_j\alpha_j(\epsilon_j-\bar\epsilon)(v_j-c)` for any centre :math:`c`
    (sympy: :func:`.symbolic.normalized_weight_identity`); :math:`c` the mid-range halves
    :math:`\max|v_j-c|`.  Below the trivial bound (the range: both outputs are convex combinations) iff
    :math:`\delta<1/2`.  ``v_range`` is the largest per-coordinate range of the values.
    """
    delta = V.real(delta, "delta", nonnegative=True, high=1.0, high_open=True)
    return delta / (1 - delta) * V.real(v_range, "v_range", nonnegative=True)


def s6_masked_attention(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""S6 as :math:`d`-head masked linear attention (reconstructed), quadratic form:
    :math:`y^{(k)}_i=\sum_{j\le i}c_i^\top\mathrm{diag}(e^{a^{(k)}(t^{(k)}_i-t^{(k)}_j)})b_j\,\Delta^{(k)}_ju^{(k)}_j+D_ku^{(k)}_i`.

    u, delta (already positive) ``[..., L, d]``; A ``[d, n]``; B, C ``[..., L, n]``.  Differences of the warped
    times :math:`t_i-t_j\ge0` are formed only on the causal triangle.
    """
    t = delta.cumsum(-2)  # [..., L, d]
    dt = t[..., :, None, :] - t[..., None, :, :]  # [..., i, j, d]
    L = u.shape[-2]
    mask = torch.ones(L, L, dtype=torch.bool, device=u.device).tril()
    dt = torch.where(mask[..., None], dt, torch.zeros_like(dt))
    decay = torch.exp(dt[..., None] * A) * mask[..., None, None]  # [..., i, j, d, n]
    scores = torch.einsum("...in,...ijkn,...jn->...ijk", C, decay, B)
    y = torch.einsum("...ijk,...jk->...ik", scores, delta * u)
    return y if D is None else y + D * u


def ssd_masked_attention(
    x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor
) -> torch.Tensor:
    r"""Mamba-2's dual form per head: :math:`Y=(L\circ CB^\top)(\Delta\odot X)`, :math:`L_{ij}=e^{a\sum_{l=j+1}^i\Delta_l}`.

    x ``[..., L, H, P]``, dt (positive) ``[..., L, H]``, A ``[H]``, B, C ``[..., L, n]``.
    """
    from .scan import segsum

    Lmask = torch.exp(segsum((dt * A).movedim(-1, -2)))  # [..., H, L, L]
    G = C @ B.transpose(-1, -2)  # [..., L, L]
    M = Lmask * G[..., None, :, :]
    y = M @ (dt[..., None] * x).movedim(-2, -3)  # [..., H, L, P]
    return y.movedim(-3, -2)


def softmax_log_normalizers(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    r"""Causal :math:`\log\eta_i=\log\sum_{j\le i}e^{s\,q_i^\top k_j}` by logsumexp (the max-shift), q, k ``[..., L, m]`` → ``[..., L]``."""
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = s * q @ k.transpose(-1, -2)
    L = q.shape[-2]
    mask = torch.ones(L, L, dtype=torch.bool, device=q.device).tril()
    return torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=-1)


def diag_ssm_states(lam: torch.Tensor, gain: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    r"""States of :math:`h_i=\lambda\odot h_{i-1}+g\odot u_i` for a constant transition ``lam`` and input gain ``gain`` (``[n]``), u ``[L]`` → ``[L, n]``."""
    h = torch.zeros_like(lam)
    hs = []
    for i in range(u.shape[0]):
        h = lam * h + gain * u[i]
        hs.append(h)
    return torch.stack(hs)
