r"""Recurrent networks and fast-weight models from their own papers/code (loops, no DSF code).

- :func:`qlstm_scan`: the DSF paper's quasi-LSTM mixer core (``zoology/mixers/lstm.py``, after its input
  projection and convolution): gates :math:`[f,\iota,o]=W_gx+b_g`, forget gate :math:`\sigma(f)` or the
  reversed :math:`\sigma(-f)^{\mathrm{ReLU}(\alpha)}` (eq. 23), :math:`h_i=a_i\odot h_{i-1}+\sigma(\iota_i)\odot x_i`, :math:`y_i=\sigma(o_i)\odot h_i`.
- :func:`rg_lru`: the RG-LRU of Griffin/Hawk (De et al. 2024) in RecurrentGemma's semantics, with resets.
- :func:`mlstm_recurrent`: the mLSTM of xLSTM (Beck et al. 2024), matrix memory with normaliser.
- :func:`delta_rule_recurrent`: DeltaNet (Schlag et al. 2021) and Gated DeltaNet (Yang et al. 2025).
- :func:`titans_linear_memory`: Titans' linear memory with momentum and forgetting (Behrouz et al. 2024).
"""

from __future__ import annotations

from typing import Literal, overload

import torch
import torch.nn.functional as F

__all__ = ["delta_rule_recurrent", "mlstm_recurrent", "qlstm_scan", "rg_lru", "titans_linear_memory"]


def qlstm_scan(
    x: torch.Tensor, W_g: torch.Tensor, b_g: torch.Tensor, *, reversed: bool = False, alpha: float | torch.Tensor = 1.0
) -> torch.Tensor:
    r"""qLSTM core: x ``[..., L, d]``, W_g ``[3d, d]``, b_g ``[3d]``; returns y ``[..., L, d]``.

    ``reversed=True``: forget multiplier ``sigmoid(-forget) ** relu(alpha)`` as in the official code.
    """
    forget, inp, out = (x @ W_g.T + b_g).chunk(3, dim=-1)
    alpha = torch.as_tensor(alpha, dtype=x.dtype)
    a = torch.pow(torch.sigmoid(-forget), torch.relu(alpha)) if reversed else torch.sigmoid(forget)
    xin = torch.sigmoid(inp) * x
    h = torch.zeros_like(x[..., 0, :])
    hs = []
    for i in range(x.shape[-2]):
        h = a[..., i, :] * h + xin[..., i, :]
        hs.append(h)
    return torch.sigmoid(out) * torch.stack(hs, dim=-2)


def rg_lru(
    x: torch.Tensor,
    W_a: torch.Tensor,
    b_a: torch.Tensor,
    W_x: torch.Tensor,
    b_x: torch.Tensor,
    a_param: torch.Tensor,
    reset: torch.Tensor | None = None,
    c: float = 8.0,
) -> torch.Tensor:
    r"""RG-LRU: :math:`r=\sigma(W_ax+b_a)`, :math:`\iota=\sigma(W_xx+b_x)`, :math:`\log a=-c\,r\odot\mathrm{softplus}(\Lambda)`,
    :math:`h_i=a_i\odot h_{i-1}+\sqrt{1-a_i^2}\odot(\iota_i\odot x_i)`; at a reset :math:`a=0` and the multiplier is 1.

    x ``[..., L, d]``, W ``[d, d]`` (block-diagonal in Griffin), ``a_param`` ``[d]``, ``reset`` bool ``[..., L]``.
    """
    gate_x = torch.sigmoid(x @ W_x.T + b_x)
    gate_a = torch.sigmoid(x @ W_a.T + b_a)
    log_a = -c * gate_a * F.softplus(a_param)
    a = torch.exp(log_a)
    multiplier = torch.sqrt(1 - torch.exp(2 * log_a))
    if reset is None:
        reset = torch.zeros(x.shape[:-1], dtype=torch.bool, device=x.device)
    rs = reset[..., None].to(x.dtype)
    multiplier = rs + (1 - rs) * multiplier
    normalized_x = x * gate_x * multiplier
    h = torch.zeros_like(x[..., 0, :])
    hs = []
    for i in range(x.shape[-2]):
        h = a[..., i, :] * (1 - rs[..., i, :]) * h + normalized_x[..., i, :]
        hs.append(h)
    return torch.stack(hs, dim=-2)


def mlstm_recurrent(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, i_pre: torch.Tensor, f_pre: torch.Tensor, o_pre: torch.Tensor
) -> torch.Tensor:
    r"""mLSTM: :math:`C_i=f_iC_{i-1}+i_iv_ik_i^\top`, :math:`n_i=f_in_{i-1}+i_ik_i`,
    :math:`h_i=o_i\odot C_iq_i/\max(|n_i^\top q_i|,1)`, with :math:`i=e^{\tilde\imath}`, :math:`f=\sigma(\tilde f)`, :math:`o=\sigma(\tilde o)`.

    q, k ``[..., L, K]``, v, o_pre ``[..., L, V]``, i_pre, f_pre ``[..., L]``.
    """
    Cmem = torch.zeros(*q.shape[:-2], v.shape[-1], q.shape[-1], dtype=q.dtype, device=q.device)
    n = torch.zeros_like(q[..., 0, :])
    ig, fg, og = torch.exp(i_pre), torch.sigmoid(f_pre), torch.sigmoid(o_pre)
    hs = []
    for t in range(q.shape[-2]):
        Cmem = fg[..., t, None, None] * Cmem + ig[..., t, None, None] * v[..., t, :, None] * k[..., t, None, :]
        n = fg[..., t, None] * n + ig[..., t, None] * k[..., t, :]
        denom = torch.clamp((n * q[..., t, :]).sum(-1).abs(), min=1.0)
        hs.append(og[..., t, :] * (Cmem @ q[..., t, :, None])[..., 0] / denom[..., None])
    return torch.stack(hs, dim=-2)


def delta_rule_recurrent(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    beta: torch.Tensor,
    log_alpha: torch.Tensor | None = None,
    scale: float | None = None,
) -> torch.Tensor:
    r"""(Gated) delta rule, fla's recurrence: :math:`S\leftarrow\alpha_iS`, :math:`S\leftarrow S+\beta_ik_i(v_i-S^\top k_i)^\top`, :math:`o_i=sS^\top q_i`.

    q, k ``[..., L, K]``, v ``[..., L, V]``, beta, log_alpha ``[..., L]``; scale defaults to :math:`K^{-1/2}`.
    """
    s = q.shape[-1] ** -0.5 if scale is None else scale
    S = torch.zeros(*q.shape[:-2], q.shape[-1], v.shape[-1], dtype=q.dtype, device=q.device)
    outs = []
    for t in range(q.shape[-2]):
        if log_alpha is not None:
            S = torch.exp(log_alpha[..., t, None, None]) * S
        kt = k[..., t, :]
        v_new = beta[..., t, None] * (v[..., t, :] - (S * kt[..., :, None]).sum(-2))
        S = S + kt[..., :, None] * v_new[..., None, :]
        outs.append(s * (S * q[..., t, :, None]).sum(-2))
    return torch.stack(outs, dim=-2)


@overload
def titans_linear_memory(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    theta: torch.Tensor,
    alpha: torch.Tensor,
    eta: torch.Tensor,
    *,
    return_memory: Literal[False] = False,
) -> torch.Tensor: ...
@overload
def titans_linear_memory(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    theta: torch.Tensor,
    alpha: torch.Tensor,
    eta: torch.Tensor,
    *,
    return_memory: Literal[True],
) -> tuple[torch.Tensor, torch.Tensor]: ...
def titans_linear_memory(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    theta: torch.Tensor,
    alpha: torch.Tensor,
    eta: torch.Tensor,
    *,
    return_memory: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Titans linear memory: :math:`\ell=\lVert M_{t-1}k_t-v_t\rVert^2`, :math:`S_t=\eta_tS_{t-1}-\theta_t\nabla_M\ell`,
    :math:`M_t=(1-\alpha_t)M_{t-1}+S_t`, :math:`y_t=M_tq_t` (no LayerNorm: the linear-in-state version).

    q, k ``[..., L, K]``, v ``[..., L, V]``, theta, alpha, eta ``[..., L]``; :math:`M\in\mathbb R^{V\times K}`.
    """
    M = torch.zeros(*q.shape[:-2], v.shape[-1], q.shape[-1], dtype=q.dtype, device=q.device)
    S = torch.zeros_like(M)
    ys, Ms = [], []
    for t in range(q.shape[-2]):
        kt = k[..., t, :]
        grad = 2.0 * ((M @ kt[..., None])[..., 0] - v[..., t, :])[..., :, None] * kt[..., None, :]
        S = eta[..., t, None, None] * S - theta[..., t, None, None] * grad
        M = (1.0 - alpha[..., t, None, None]) * M + S
        ys.append((M @ q[..., t, :, None])[..., 0])
        Ms.append(M)
    y = torch.stack(ys, dim=-2)
    return (y, torch.stack(Ms, dim=-3)) if return_memory else y
