r"""Attention models written from their own papers' equations (quadratic/cumsum forms, no DSF code).

These are the "native" sides of the ``dsf.native.*`` claims; nothing here imports the DSF
object, the scan or the feature helpers, so "DSF == native" compares two independent codes.
Layout: ``[..., L, m]`` for queries/keys, ``[..., L, d_v]`` for values (heads in the leading dims).

- :func:`softmax_attention_causal`: :math:`y_i=\sum_{j\le i}\frac{e^{s q_i^\top k_j}}{\sum_{l\le i}e^{s q_i^\top k_l}}v_j` (Vaswani et al. 2017, eq. 1; Sieber et al. eq. 2).
- :func:`taylor_attention_causal`: the same with :math:`e^z` replaced by its Taylor polynomial :math:`T_P(z)`.
- :func:`katharopoulos_attention`: eq. (16), :math:`\phi=\mathrm{elu}+1`, row-sum normaliser.
- :func:`normalized_attention`: eq. (22), :math:`y_i=\eta(u_i)^{-1}\sum_{j\le i}(q_i^\top k_j)v_j`, :math:`\eta=e^{w^\top u+b}`.
- :func:`flowformer_causal`: the causal Flow-Attention of Wu et al. (2022), following the official
  ``Flow_Attention_Causal.forward`` after the projections (cumulative sums, the code's ``eps``).
"""

from __future__ import annotations

import math

import torch

from ..base import validation as V

__all__ = [
    "flowformer_causal",
    "katharopoulos_attention",
    "normalized_attention",
    "softmax_attention_causal",
    "taylor_attention_causal",
]


def _qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    V.tensor(q, "q")
    V.tensor(k, "k", shape=q.shape)
    V.tensor(v, "v")
    if v.shape[:-1] != q.shape[:-1]:
        raise ValueError(f"v must have shape [..., L={q.shape[-2]}, d_v] matching q, got {list(v.shape)}")
    V.same_dtype("k", k, "q", q)
    V.same_dtype("v", v, "q", q)


def _causal(L: int, device: torch.device) -> torch.Tensor:
    return torch.ones(L, L, dtype=torch.bool, device=device).tril()


def softmax_attention_causal(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float | None = None
) -> torch.Tensor:
    r"""Causal softmax attention, quadratic form with a max-shift (q, k ``[..., L, m]``, v ``[..., L, d_v]``)."""
    _qkv(q, k, v)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = s * q @ k.transpose(-1, -2)
    logits = logits.masked_fill(~_causal(q.shape[-2], q.device), float("-inf"))
    return torch.softmax(logits, dim=-1) @ v


def taylor_attention_causal(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, order: int, scale: float | None = None
) -> torch.Tensor:
    r"""Causal attention with weights :math:`T_P(s q_i^\top k_j)/\sum_{l\le i}T_P(s q_i^\top k_l)`, :math:`T_P(z)=\sum_{p\le P}z^p/p!`."""
    _qkv(q, k, v)
    order = V.integer(order, "order", minimum=0)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    z = s * q @ k.transpose(-1, -2)
    w = sum(z**p / math.factorial(p) for p in range(order + 1))
    w = w * _causal(q.shape[-2], q.device)
    return (w / w.sum(-1, keepdim=True)) @ v


def katharopoulos_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r"""Linear attention, eq. (16): :math:`y_i=\frac{\sum_{j\le i}\phi(q_i)^\top\phi(k_j)v_j}{\sum_{j\le i}\phi(q_i)^\top\phi(k_j)}`, :math:`\phi=\mathrm{elu}+1`, no scale."""
    _qkv(q, k, v)
    fq = torch.where(q > 0, q + 1.0, torch.exp(q))  # elu(x) + 1 written out
    fk = torch.where(k > 0, k + 1.0, torch.exp(k))
    a = (fq @ fk.transpose(-1, -2)) * _causal(q.shape[-2], q.device)
    return (a @ v) / a.sum(-1, keepdim=True)


def normalized_attention(
    u: torch.Tensor,
    W_Q: torch.Tensor,
    b_Q: torch.Tensor,
    W_K: torch.Tensor,
    b_K: torch.Tensor,
    W_V: torch.Tensor,
    w_eta: torch.Tensor,
    b_eta: torch.Tensor | float,
) -> torch.Tensor:
    r"""Normalized attention, eq. (22): :math:`y_i=e^{-(w_\eta^\top u_i+b_\eta)}\sum_{j\le i}(q_i^\top k_j)\,v_j`.

    u ``[..., L, d]``; :math:`q=W_Qu+b_Q`, :math:`k=W_Ku+b_K` (``W_Q, W_K``: ``[m, d]``), :math:`v=W_Vu` (``[d_v, d]``);
    ``w_eta`` ``[d]``, ``b_eta`` a float.  No feature map and no scale (official ``SelfNormAttention``).
    """
    V.tensor(u, "u")
    q = u @ W_Q.T + b_Q
    k = u @ W_K.T + b_K
    v = u @ W_V.T
    scores = (q @ k.transpose(-1, -2)) * _causal(u.shape[-2], u.device)
    eta = torch.exp(u @ w_eta + b_eta)
    return (scores @ v) / eta[..., None]


def flowformer_causal(q_raw: torch.Tensor, k_raw: torch.Tensor, v: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    r"""Causal Flow-Attention (Wu et al. 2022), from the projected ``q_raw, k_raw`` ``[..., L, m]`` and ``v`` ``[..., L, d_v]``.

    :math:`\phi=\sigma`; incoming/outgoing flows with the code's ``eps``, the count ``normal = i``,
    conservation, allocation :math:`\sigma(\hat I_i)`, competition :math:`e^{\hat O_j}/\sum_{l\le j}e^{\hat O_l}\cdot j`
    (conserved source clipped to :math:`[-1,1]`), then a causal dot product by cumulative sums.
    """
    _qkv(q_raw, k_raw, v)
    q, k = torch.sigmoid(q_raw), torch.sigmoid(k_raw)
    L = q.shape[-2]
    normal = torch.arange(1, L + 1, dtype=q.dtype, device=q.device)
    sink_in = normal / ((q + eps) * (k.cumsum(-2) + eps)).sum(-1)
    source_out = normal / ((k + eps) * (q.cumsum(-2) + eps)).sum(-1)
    conserved_sink = ((q + eps) * ((k * source_out[..., None]).cumsum(-2) + eps)).sum(-1) / normal
    conserved_source = ((k + eps) * ((q * sink_in[..., None]).cumsum(-2) + eps)).sum(-1) / normal
    conserved_source = conserved_source.clamp(-1.0, 1.0)
    allocation = torch.sigmoid(conserved_sink)
    e = torch.exp(conserved_source)
    competition = e / e.cumsum(-1) * normal
    kv = (k[..., :, :, None] * (v * competition[..., None])[..., :, None, :]).cumsum(-3)  # [..., L, m, d_v]
    qn = q * (sink_in / normal)[..., None]
    out = (qn[..., :, :, None] * kv).sum(-2)
    return out * allocation[..., None]
