r"""Blockwise softmax attention with an online softmax (FlashAttention's forward), in PyTorch.

Keys are visited in blocks :math:`J`.  Each query row keeps a running maximum :math:`m`, a running
normaliser :math:`\ell` and an unnormalised output :math:`a`; a block with logits
:math:`x_{j} = s\,q^\top k_j` updates them by

.. math::
    m' = \max(m, \max_{j\in J} x_j),\quad
    \ell' = e^{m-m'}\ell + \sum_{j\in J} e^{x_j-m'},\quad
    a' = e^{m-m'}a + \sum_{j\in J} e^{x_j-m'} v_j ,

and :math:`o = a/\ell`, :math:`\mathrm{lse} = m + \log\ell` at the end (Milakov & Gimelshein 2018;
Dao et al. 2022).  Every exponent is :math:`\le 0`.  The running maximum is only a shift (``o`` and ``lse`` do not depend on
it), so autograd treats it as a constant.  Claim ``kernels.online-softmax``.
"""

from __future__ import annotations

import torch

from attnmath.base.chunks import CHUNK_SIZE, check_chunk_size

from .._common import check_qkv, compute_dtype, resolve_scale


def blockwise_softmax_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    causal: bool = True,
    block_size: int = CHUNK_SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Softmax attention by the online-softmax recursion over key blocks (all query rows at once).

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``; ``block_size`` (keys per block) a power of two,
    default :data:`~attnmath.base.chunks.CHUNK_SIZE`.  Returns
    ``(o [B, T, H, V]`` in q's dtype, ``lse [B, T, H]`` fp32/fp64``)``, the row log-sum-exp
    :math:`\log\sum_{j} e^{s\,q_i^\top k_j}`.  Memory ``O(B H T (block + V))``; differentiable by autograd.
    """
    B, T, H, K, V = check_qkv(q, k, v)
    s = resolve_scale(scale, K)
    C = check_chunk_size(block_size, "block_size", power_of_two=True)
    dt = compute_dtype(q.dtype)
    qf, kf, vf = (x.to(dt).transpose(1, 2) for x in (q, k, v))  # [B, H, T, D]
    m = torch.full((B, H, T, 1), float("-inf"), dtype=dt, device=q.device)
    ell = torch.zeros(B, H, T, 1, dtype=dt, device=q.device)
    acc = torch.zeros(B, H, T, V, dtype=dt, device=q.device)
    rows = torch.arange(T, device=q.device)[:, None]
    for start in range(0, T, C):
        cols = torch.arange(start, min(start + C, T), device=q.device)[None, :]
        x = s * (qf @ kf[:, :, start : start + C].transpose(-1, -2))  # [B, H, T, c]
        if causal:
            x = x.masked_fill(cols > rows, float("-inf"))
        m_new = torch.maximum(m, x.amax(-1, keepdim=True)).detach()  # a shift: o and lse do not depend on it
        m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)  # rows with no key yet
        alpha = (m - m_safe).exp()
        p = (x - m_safe).exp()
        ell = alpha * ell + p.sum(-1, keepdim=True)
        acc = alpha * acc + p @ vf[:, :, start : start + C]
        m = m_new
    o = (acc / ell).transpose(1, 2).to(q.dtype)
    lse = (m + ell.log())[..., 0].transpose(1, 2)
    return o, lse
