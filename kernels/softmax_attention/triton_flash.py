r"""FlashAttention-style softmax attention forward in Triton (online softmax), PyTorch backward.

One program per (query block, batch·head) keeps, for each of its ``BM`` query rows, the running
maximum :math:`m`, normaliser :math:`\ell` and unnormalised output :math:`a` while it visits key
blocks of ``BN`` (only those at or before the diagonal when causal):
:math:`m' = \max(m, \max_j x_j)`, :math:`\ell' = e^{m-m'}\ell + \sum_j e^{x_j-m'}`,
:math:`a' = e^{m-m'}a + \sum_j e^{x_j-m'}v_j`; it writes :math:`o = a/\ell` and
:math:`\mathrm{lse} = m + \log\ell`.  The backward (not a kernel) materialises
:math:`P = e^{sQK^\top - \mathrm{lse}}` and applies :math:`dS = P\odot(dP - \mathrm{rowsum}(dO\odot O))`.
Claim ``kernels.online-softmax`` (kind ``kernel``).
"""

from __future__ import annotations

from typing import Any

import torch

from attnmath.base.chunks import CHUNK_SIZE

from .. import _triton
from .._common import check_qkv, resolve_scale
from .._tiles import load_tile, store_tile
from .._triton import lazy_jit, tl


@lazy_jit
def _flash_fwd_kernel(
    Q, K, V, O, LSE, T, H, DK, DV, scale,
    BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    CAUSAL: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    i_m, i_bh = tl.program_id(0), tl.program_id(1)
    i_b, i_h = i_bh // H, i_bh % H
    rm = i_m * BM + tl.arange(0, BM)
    rn, rk, rv = tl.arange(0, BN), tl.arange(0, BK), tl.arange(0, BV)
    mm, mk, mv = rm < T, rk < DK, rv < DV
    row = (i_b * T * H + i_h).to(tl.int64)
    q = load_tile(Q, row * DK + rm[:, None].to(tl.int64) * H * DK + rk[None, :], mm, mk)
    m_i = tl.full([BM], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BM], dtype=tl.float32)
    acc = tl.zeros([BM, BV], dtype=tl.float32)
    hi = T
    if CAUSAL:
        hi = tl.minimum((i_m + 1) * BM, T)
    for start in range(0, hi, BN):
        cn = start + rn
        mn = cn < T
        k = load_tile(K, row * DK + cn[:, None].to(tl.int64) * H * DK + rk[None, :], mn, mk)
        v = load_tile(V, row * DV + cn[:, None].to(tl.int64) * H * DV + rv[None, :], mn, mv)
        x = tl.dot(q, tl.trans(k), input_precision=PREC) * scale
        valid = mn[None, :] & (rm[:, None] >= 0)
        if CAUSAL:
            valid = valid & (cn[None, :] <= rm[:, None])
        x = tl.where(valid, x, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(x, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        alpha = tl.exp(m_i - m_safe)
        p = tl.exp(x - m_safe[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p, v, input_precision=PREC)
        m_i = m_new
    o = acc / l_i[:, None]
    store_tile(O, row * DV + rm[:, None].to(tl.int64) * H * DV + rv[None, :], o, mm, mv)
    tl.store(LSE + row + rm.to(tl.int64) * H, m_i + tl.log(l_i), mask=mm)


class TritonFlashAttentionFunction(torch.autograd.Function):
    """``(q, k, v) -> o``: Triton online-softmax forward; backward in PyTorch from the saved log-sum-exp."""

    @staticmethod
    def forward(
        ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float, causal: bool, block_size: int
    ) -> torch.Tensor:
        q, k, v = (x.contiguous() for x in (q, k, v))
        B, T, H, K = q.shape
        V = v.shape[-1]
        BK, BV = _triton.next_pow2(K), _triton.next_pow2(V)
        if max(BK, BV) > _triton.MAX_BLOCK_WIDTH:
            raise ValueError(
                "the Triton flash kernel keeps whole head widths in one block: "
                f"K, V must be <= {_triton.MAX_BLOCK_WIDTH}, got {K}, {V}"
            )
        BM = _triton.check_block(block_size, "block_size")
        o = torch.empty_like(v)
        lse = torch.empty(B, T, H, dtype=torch.float32, device=q.device)
        grid = (-(-T // BM), B * H)
        _flash_fwd_kernel[grid](
            q, k, v, o, lse, T, H, K, V, scale,
            BM=BM, BN=BM, BK=BK, BV=BV, CAUSAL=bool(causal), PREC=_triton.dot_precision(q.dtype),
        )  # fmt: skip
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.scale, ctx.causal = scale, causal
        return o

    @staticmethod
    def backward(ctx: Any, do: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None, None, None]:
        q, k, v, o, lse = ctx.saved_tensors
        s, T = ctx.scale, q.shape[1]
        qf, kf, vf, of, dof = (x.float().transpose(1, 2) for x in (q, k, v, o, do))
        x = s * (qf @ kf.transpose(-1, -2)) - lse.transpose(1, 2)[..., None]
        if ctx.causal:
            x = x.masked_fill(~torch.ones(T, T, dtype=torch.bool, device=q.device).tril(), float("-inf"))
        P = x.exp()
        dv = P.transpose(-1, -2) @ dof
        dS = P * (dof @ vf.transpose(-1, -2) - (dof * of).sum(-1, keepdim=True))
        dq, dk = s * dS @ kf, s * dS.transpose(-1, -2) @ qf
        return (*(g.transpose(1, 2).to(x.dtype) for g, x in ((dq, q), (dk, k), (dv, v))), None, None, None)


def triton_flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    causal: bool = True,
    block_size: int = CHUNK_SIZE,
) -> torch.Tensor:
    r"""Softmax attention :math:`o_i = \sum_j e^{s\,q_i^\top k_j - \mathrm{lse}_i} v_j` by a Triton online-softmax kernel.

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]`` (``K, V <= 256``), fp16/bf16/fp32 on a CUDA device or
    on the CPU under ``TRITON_INTERPRET=1``; ``block_size`` (query and key block, power of two >= 16,
    default :data:`~attnmath.base.chunks.CHUNK_SIZE`).  Returns ``o [B, T, H, V]`` in q's dtype; differentiable (PyTorch backward).
    """
    _B, _T, _H, K, _V = check_qkv(q, k, v)
    _triton.check_dtype(q)
    s = resolve_scale(scale, K)
    return TritonFlashAttentionFunction.apply(q, k, v, s, bool(causal), block_size)
