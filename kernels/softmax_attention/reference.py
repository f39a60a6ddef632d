r"""Softmax attention written literally: the ``T x T`` score matrix, masked, normalised by rows.

.. math::  o_i = \sum_{j} \frac{\exp(s\,q_i^\top k_j)}{\sum_{l} \exp(s\,q_i^\top k_l)}\,v_j ,

sums over :math:`j, l \le i` when causal (Vaswani et al. 2017, eq. 1; the chapter
``00_softmax_attention`` checks this object in layout ``[..., L, m]``).  Layout here ``[B, T, H, D]``.
"""

from __future__ import annotations

import torch

from attnmath.base.memory import check_quadratic_memory

from .._common import check_qkv, resolve_scale


def softmax_attention_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    causal: bool = True,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    r"""Materialised softmax attention :math:`O = \mathrm{softmax}(s\,QK^\top + \text{mask})\,V`.

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``; computes in ``dtype``; returns ``o [B, T, H, V]``
    in q's dtype.  Memory ``O(B H T^2)``.  ``scale=None`` means ``K**-0.5``.
    """
    B, T, H, K, _V = check_qkv(q, k, v)
    s = resolve_scale(scale, K)
    check_quadratic_memory(
        "softmax_attention_reference",
        3 * B * H * T * T * torch.finfo(dtype).bits // 8,  # logits, masked logits, softmax
        alternative="attnmath.kernels.softmax_attention (online softmax, block by block)",
        device=q.device,
    )
    qf, kf, vf = (x.to(dtype).transpose(1, 2) for x in (q, k, v))
    logits = s * (qf @ kf.transpose(-1, -2))
    if causal:
        mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        logits = logits.masked_fill(~mask, float("-inf"))
    return (torch.softmax(logits, dim=-1) @ vf).transpose(1, 2).to(q.dtype)
