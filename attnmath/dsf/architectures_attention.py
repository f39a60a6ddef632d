r"""DSF constructors for the attention family (Sieber et al. 2024, eqs. (13)-(16), (22); Flowformer).

General causal separable attention :math:`y_i=\sum_{j\le i}\frac{\phi(q_i)^\top\psi(k_j)}{\eta_i}W_Vu_j`
has two DSF realizations with the same :math:`\Phi_{ij}=\frac{\phi(q_i)^\top\psi(k_j)}{\eta_i}W_V` (the paper's
eq. (15) is the recurrent one; that both give this :math:`\Phi` is reconstructed):

- ``"output"`` norm: :math:`\Lambda_i=I`, :math:`B_i=(I_{d_v}\otimes\psi(k_i))W_V`, :math:`C_i=\eta_i^{-1}(I_{d_v}\otimes\phi(q_i)^\top)`;
- ``"recurrent"`` norm: :math:`\Lambda_i=\frac{\eta_{i-1}}{\eta_i}I` (:math:`\Lambda_1:=1`, it multiplies :math:`h_0=0`),
  :math:`B_i=\eta_i^{-1}(I_{d_v}\otimes\psi(k_i))W_V`, :math:`C_i=I_{d_v}\otimes\phi(q_i)^\top`.

State :math:`h_i=\mathrm{vec}(S_i)`, :math:`S_i\in\mathbb R^{n\times d_v}`, so :math:`N=n\,d_v`.
All inputs ``u`` are ``[..., L, d]``; weights ``W_Q, W_K`` are ``[m, d]`` and ``W_V`` ``[d_v, d]``.
"""

from __future__ import annotations

import math

import torch

from ..base import validation as V
from . import _checks
from .core import DSF
from .features import _kron_eye_col, _kron_eye_row, elu_plus_one, taylor_features

REALIZATIONS = ("output", "recurrent")
__all__ = [
    "REALIZATIONS",
    "flowformer_causal_dsf",
    "linear_attention_dsf",
    "normalized_attention_dsf",
    "recurrent_norm_eigenvalues",
    "separable_attention_dsf",
    "softmax_taylor_dsf",
]


def _check_u(u: torch.Tensor) -> None:
    _checks.min_ndim(V.tensor(u, "u"), "u", 2, "[..., L, d]")


def _check_weights(u: torch.Tensor, W_Q: torch.Tensor, W_K: torch.Tensor, W_V: torch.Tensor) -> None:
    """W_Q ``[m, d]``, W_K of W_Q's shape, W_V ``[d_v, d]``, with ``d`` the width of ``u``."""
    d = u.shape[-1]
    _checks.matching(W_Q, "W_Q", u, "u", (None, d), what=f"u's width d = {d} (u has shape {list(u.shape)})")
    _checks.matching(W_K, "W_K", W_Q, "W_Q", W_Q.shape, what=f"W_Q (shape {list(W_Q.shape)}): q and k share m")
    _checks.matching(W_V, "W_V", u, "u", (None, d), what=f"u's width d = {d} (u has shape {list(u.shape)})")


def separable_attention_dsf(
    phi_q: torch.Tensor, psi_k: torch.Tensor, W_V: torch.Tensor, eta: torch.Tensor, *, realization: str = "recurrent"
) -> DSF:
    r"""The DSF of :math:`y_i=\sum_{j\le i}\phi(q_i)^\top\psi(k_j)\,W_Vu_j/\eta_i` (the paper's eqs. (14)-(15)).

    phi_q, psi_k: ``[..., L, n]``; W_V: ``[d_v, d]``; eta: ``[..., L]`` (positive).  Claims
    ``dsf.linear-attention-three-ways``, ``dsf.recurrent-norm-telescoping``.
    """
    V.choice(realization, "realization", REALIZATIONS)
    _checks.min_ndim(V.tensor(phi_q, "phi_q"), "phi_q", 2, "[..., L, n]")
    _checks.matching(psi_k, "psi_k", phi_q, "phi_q", phi_q.shape)
    _checks.matching(W_V, "W_V", phi_q, "phi_q", (None, None), what="the layout [d_v, d]")
    _checks.matching(eta, "eta", phi_q, "phi_q", phi_q.shape[:-1])
    if bool((eta <= 0).any()):
        raise ValueError("eta must be positive (a normaliser), found an entry <= 0")
    dv = W_V.shape[0]
    B = _kron_eye_col(psi_k, dv) @ W_V  # [..., L, n dv, d]
    C = _kron_eye_row(phi_q, dv)  # [..., L, dv, n dv]
    if realization == "output":
        lam = torch.ones_like(eta)
        C = C / eta[..., None, None]
    else:
        lam = torch.cat([torch.ones_like(eta[..., :1]), eta[..., :-1] / eta[..., 1:]], dim=-1)
        B = B / eta[..., None, None]
    return DSF(lam, B, C, structure="scalar")


def softmax_taylor_dsf(
    u: torch.Tensor,
    W_Q: torch.Tensor,
    W_K: torch.Tensor,
    W_V: torch.Tensor,
    order: int,
    *,
    scale: float | None = None,
    realization: str = "recurrent",
) -> DSF:
    r"""Softmax attention truncated to order :math:`P`: features :math:`\phi_P` of :func:`.features.taylor_features`.

    :math:`\phi=\psi=\phi_P`, :math:`\eta_i=\phi_P(q_i)^\top\sum_{j\le i}\phi_P(k_j)=\sum_{j\le i}T_P(s\,q_i^\top k_j)`,
    :math:`n_P=\sum_{p\le P}m^p`.  Softmax itself is the limit :math:`P\to\infty` (infinite state: Lemma 1 of the paper).
    Use an even order (then :math:`T_P>0` and :math:`\eta_i>0`).  Claim ``dsf.native.softmax-taylor``.
    """
    _check_u(u)
    _check_weights(u, W_Q, W_K, W_V)
    V.choice(realization, "realization", REALIZATIONS)
    q, k = u @ W_Q.T, u @ W_K.T
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else V.real(scale, "scale", positive=True)
    fq, fk = taylor_features(q, order, s), taylor_features(k, order, s)
    eta = (fq * fk.cumsum(-2)).sum(-1)
    return separable_attention_dsf(fq, fk, W_V, eta, realization=realization)


def linear_attention_dsf(
    u: torch.Tensor, W_Q: torch.Tensor, W_K: torch.Tensor, W_V: torch.Tensor, *, realization: str = "recurrent"
) -> DSF:
    r"""Katharopoulos linear attention, eq. (16): :math:`\phi=\psi=\mathrm{elu}+1`, :math:`\eta_i=\phi(q_i)^\top\sum_{j\le i}\phi(k_j)`, :math:`N=md_v`.

    Claim ``dsf.linear-attention-three-ways``.
    """
    _check_u(u)
    _check_weights(u, W_Q, W_K, W_V)
    V.choice(realization, "realization", REALIZATIONS)
    fq, fk = elu_plus_one(u @ W_Q.T), elu_plus_one(u @ W_K.T)
    eta = (fq * fk.cumsum(-2)).sum(-1)
    return separable_attention_dsf(fq, fk, W_V, eta, realization=realization)


def normalized_attention_dsf(
    u: torch.Tensor,
    W_Q: torch.Tensor,
    b_Q: torch.Tensor,
    W_K: torch.Tensor,
    b_K: torch.Tensor,
    W_V: torch.Tensor,
    w_eta: torch.Tensor,
    b_eta: torch.Tensor | float,
    *,
    realization: str = "recurrent",
) -> DSF:
    r"""Normalized attention, eq. (22) of the paper: :math:`\phi=\psi=\mathrm{id}`, :math:`q=W_Qu+b_Q`, :math:`k=W_Ku+b_K`, :math:`\eta_i=e^{w_\eta^\top u_i+b_\eta}`.

    Recurrent realization: :math:`\Lambda_i=e^{w_\eta^\top(u_{i-1}-u_i)}`, not bounded by 1 (claim
    ``dsf.normalized-attention-eq22``).  The ratio is formed in log space.
    """
    _check_u(u)
    V.choice(realization, "realization", REALIZATIONS)
    d = u.shape[-1]
    width = f"u's width d = {d} (u has shape {list(u.shape)})"
    _check_weights(u, W_Q, W_K, W_V)
    _checks.matching(b_Q, "b_Q", u, "u", (W_Q.shape[0],), what=f"W_Q's rows m = {W_Q.shape[0]}")
    _checks.matching(b_K, "b_K", u, "u", (W_K.shape[0],), what=f"W_K's rows m = {W_K.shape[0]}")
    _checks.matching(w_eta, "w_eta", u, "u", (d,), what=width)
    if isinstance(b_eta, torch.Tensor):
        _checks.matching(b_eta, "b_eta", u, "u", (), what="a scalar bias")
    else:
        b_eta = V.real(b_eta, "b_eta")
    q, k = u @ W_Q.T + b_Q, u @ W_K.T + b_K
    log_eta = u @ w_eta + b_eta
    _checks.exponent(log_eta, "log eta = u @ w_eta + b_eta", u.dtype)  # eta = exp(log eta) must stay finite
    dsf = separable_attention_dsf(q, k, W_V, torch.exp(log_eta), realization=realization)
    if realization == "recurrent":  # Λ_i = exp(log η_{i-1} - log η_i), exactly w^T(u_{i-1} - u_i)
        lam = torch.exp(torch.cat([torch.zeros_like(log_eta[..., :1]), log_eta[..., :-1] - log_eta[..., 1:]], -1))
        dsf = DSF(lam, dsf.B, dsf.C, structure="scalar")
    return dsf


def recurrent_norm_eigenvalues(log_eta: torch.Tensor) -> torch.Tensor:
    r""":math:`\Lambda_i=\eta_{i-1}/\eta_i` for :math:`i\ge2` from log-normalisers ``[..., L]`` → ``[..., L-1]``.

    The follow-up's ``nu[:-1]/nu[1:]`` recipe, formed as ``exp`` of a difference of logs so
    that softmax normalisers with large logits do not overflow (claim ``dsf.recurrent-norm-eigenvalues``).
    """
    _checks.min_ndim(V.tensor(log_eta, "log_eta"), "log_eta", 1, "[..., L]")
    diff = log_eta[..., :-1] - log_eta[..., 1:]
    _checks.exponent(diff, "log_eta[..., :-1] - log_eta[..., 1:]", log_eta.dtype)  # the ratios must stay finite
    return torch.exp(diff)


def flowformer_causal_dsf(q_raw: torch.Tensor, k_raw: torch.Tensor, v: torch.Tensor, eps: float = 1e-6) -> DSF:
    r"""Causal Flowformer as a DSF with input :math:`v` (reconstructed): :math:`\Lambda_i=I`,
    :math:`B_i=c_i(I\otimes\phi(k_i))`, :math:`C_i=\frac{\alpha_i}{I_i}(I\otimes\phi(q_i)^\top)`, :math:`\phi=\sigma`.

    The scalars come from auxiliary :math:`O(m)` prefix recurrences (written as loops here):
    incoming flow :math:`I_i=(\phi(q_i)+\epsilon)^\top(\sum_{j\le i}\phi(k_j)+\epsilon)`, outgoing
    :math:`O_j`, the conserved flows, allocation :math:`\alpha_i=\sigma(\hat I_i)` and competition
    :math:`c_j=j\,e^{\hat O_j}/\sum_{l\le j}e^{\hat O_l}`.  q_raw, k_raw ``[..., L, m]``, v ``[..., L, d_v]``.
    Claim ``dsf.native.flowformer``.
    """
    _checks.qkv(q_raw, k_raw, v, names=("q_raw", "k_raw", "v"))
    eps = V.real(eps, "eps", positive=True)
    q, k = torch.sigmoid(q_raw), torch.sigmoid(k_raw)
    L, dv = q.shape[-2], v.shape[-1]
    zk, zq = torch.zeros_like(q[..., 0, :]), torch.zeros_like(q[..., 0, :])
    wk, wq = torch.zeros_like(zk), torch.zeros_like(zq)
    sink_scale, alloc, comp = [], [], []
    run_exp = torch.zeros_like(q[..., 0, 0])
    for i in range(L):
        n = float(i + 1)
        zk, zq = zk + k[..., i, :], zq + q[..., i, :]
        inc = ((q[..., i, :] + eps) * (zk + eps)).sum(-1)  # I_i
        out = ((k[..., i, :] + eps) * (zq + eps)).sum(-1)  # O_i
        wk = wk + k[..., i, :] * (n / out)[..., None]  # sum_j o_j phi(k_j)
        wq = wq + q[..., i, :] * (n / inc)[..., None]  # sum_l s_l phi(q_l)
        hat_in = ((q[..., i, :] + eps) * (wk + eps)).sum(-1) / n
        hat_out = (((k[..., i, :] + eps) * (wq + eps)).sum(-1) / n).clamp(-1.0, 1.0)
        run_exp = run_exp + torch.exp(hat_out)
        sink_scale.append(1.0 / inc)
        alloc.append(torch.sigmoid(hat_in))
        comp.append(n * torch.exp(hat_out) / run_exp)
    sink, alloc_t, comp_t = (torch.stack(t, -1) for t in (sink_scale, alloc, comp))
    B = comp_t[..., None, None] * _kron_eye_col(k, dv)
    C = (alloc_t * sink)[..., None, None] * _kron_eye_row(q, dv)
    return DSF(torch.ones_like(comp_t), B, C, structure="scalar")
