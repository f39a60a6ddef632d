r"""DSF instances outside the paper's diagonal DSF (reconstructed): DeltaNet (dplr) and Titans (block dplr).

- :func:`deltanet_dsf`: :math:`\Lambda_i=\alpha_i\,(I_V\otimes(I-\beta_ik_ik_i^\top))=\mathrm{diag}(\alpha_i\mathbf 1)+U_iW_i^\top`,
  :math:`U_i=-\alpha_i\beta_i(I_V\otimes k_i)`, :math:`W_i=I_V\otimes k_i` (rank :math:`V`), :math:`B_i=\beta_i(I_V\otimes k_i)`,
  :math:`C_i=s(I_V\otimes q_i^\top)`; structure ``"dplr"``.
- :func:`titans_dsf`: Titans' linear memory with momentum.  With :math:`W_t=[M_t^\top;S_t^\top]\in\mathbb R^{2K\times V}`,
  :math:`W_t=T_tW_{t-1}+2\theta_t[k_t;k_t]v_t^\top`,
  :math:`T_t=\begin{bmatrix}(1-\alpha_t)I-2\theta_tk_tk_t^\top&\eta_tI\\-2\theta_tk_tk_t^\top&\eta_tI\end{bmatrix}`,
  :math:`\Lambda_t=I_V\otimes T_t` (state :math:`2KV`).  :math:`T_t=P_t+a_tb_t^\top` with the block
  matrix :math:`P_t=\begin{bmatrix}(1-\alpha_t)I&\eta_tI\\0&\eta_tI\end{bmatrix}`, :math:`a_t=-2\theta_t[k_t;k_t]`,
  :math:`b_t=[k_t;0]`: *block*-diagonal-plus-low-rank.  Stored with ``structure="dense"``.
"""

from __future__ import annotations

import torch

from ..base import validation as V
from . import _checks
from .core import DSF
from .features import _kron_eye_col, _kron_eye_row

__all__ = ["deltanet_dsf", "titans_block_factors", "titans_dsf"]


def deltanet_dsf(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    beta: torch.Tensor,
    log_alpha: torch.Tensor | None = None,
    scale: float | None = None,
) -> DSF:
    r"""(Gated) DeltaNet as a dplr DSF with input :math:`v` (q, k ``[..., L, K]``, v ``[..., L, V]``, beta/log_alpha ``[..., L]``).

    Claim ``dsf.native.deltanet``.
    """
    _checks.qkv(q, k, v)
    _checks.matching(beta, "beta", q, "q", q.shape[:-1])
    s = q.shape[-1] ** -0.5 if scale is None else V.real(scale, "scale", positive=True)
    K, Vd = q.shape[-1], v.shape[-1]
    if log_alpha is not None:
        _checks.matching(log_alpha, "log_alpha", q, "q", q.shape[:-1])
        _checks.exponent(log_alpha, "log_alpha", q.dtype)  # alpha = exp(log_alpha) must stay finite
    alpha = torch.ones_like(beta) if log_alpha is None else torch.exp(log_alpha)
    Wk = _kron_eye_col(k, Vd)  # [..., L, K V, V]
    diag = alpha[..., None].expand(*beta.shape, K * Vd)
    U = -(alpha * beta)[..., None, None] * Wk
    return DSF(diag, beta[..., None, None] * Wk, s * _kron_eye_row(q, Vd), structure="dplr", low_rank=(U, Wk))


def titans_block_factors(
    k: torch.Tensor, theta: torch.Tensor, alpha: torch.Tensor, eta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Per-step :math:`(P_t, a_t, b_t)` with :math:`T_t=P_t+a_tb_t^\top` (shapes ``[..., L, 2K, 2K]``, ``[..., L, 2K]`` twice)."""
    _checks.min_ndim(V.tensor(k, "k"), "k", 2, "[..., L, K]")
    for name, t in (("theta", theta), ("alpha", alpha), ("eta", eta)):
        _checks.matching(t, name, k, "k", k.shape[:-1])
    K = k.shape[-1]
    eye = torch.eye(K, dtype=k.dtype, device=k.device)
    one_m_a, et = (1.0 - alpha)[..., None, None], eta[..., None, None]
    top = torch.cat([one_m_a * eye, et * eye], dim=-1)
    bottom = torch.cat([torch.zeros_like(one_m_a * eye), et * eye], dim=-1)
    P = torch.cat([top, bottom], dim=-2)
    a = -2.0 * theta[..., None] * torch.cat([k, k], dim=-1)
    b = torch.cat([k, torch.zeros_like(k)], dim=-1)
    return P, a, b


def titans_dsf(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, theta: torch.Tensor, alpha: torch.Tensor, eta: torch.Tensor
) -> DSF:
    r"""Titans linear memory as a (block dplr, stored dense) DSF with input :math:`v`; output :math:`y_t=M_tq_t`.

    q, k ``[..., L, K]``, v ``[..., L, V]``, theta, alpha, eta ``[..., L]``.  Claim ``dsf.native.titans``.
    """
    _checks.qkv(q, k, v)
    for name, t in (("theta", theta), ("alpha", alpha), ("eta", eta)):
        _checks.matching(t, name, q, "q", q.shape[:-1])
    Vd = v.shape[-1]
    P, a, b = titans_block_factors(k, theta, alpha, eta)
    T = P + a[..., :, None] * b[..., None, :]  # [..., L, 2K, 2K]
    eyeV = torch.eye(Vd, dtype=q.dtype, device=q.device)
    n2 = T.shape[-1]
    lam = (eyeV[:, None, :, None] * T[..., None, :, None, :]).reshape(*T.shape[:-2], Vd * n2, Vd * n2)
    kk = torch.cat([k, k], dim=-1)
    B = 2.0 * theta[..., None, None] * _kron_eye_col(kk, Vd)
    C = _kron_eye_row(torch.cat([q, torch.zeros_like(q)], dim=-1), Vd)
    return DSF(lam, B, C, structure="dense")
