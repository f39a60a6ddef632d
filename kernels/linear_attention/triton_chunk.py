r"""Chunked causal linear attention in Triton (forward and backward kernels).

Same algebra as :mod:`attnmath.kernels.linear_attention.chunk`: one program per (value block, batch·head)
walks the chunks in order, keeping the state :math:`S \in \mathbb R^{K\times B_V}` in fp32 registers.

- forward: :math:`O_n = s(Q_nS_n + [(Q_nK_n^\top)\odot M]V_n)`, :math:`S_{n+1} = S_n + K_n^\top V_n`;
- backward, pass 1 (forward order, recomputing :math:`S_n`):
  :math:`dQ_n = s(dO_nS_n^\top + [(dO_nV_n^\top)\odot M]K_n)`;
- backward, pass 2 (reverse order, carrying :math:`dS`, the gradient of the state leaving the chunk):
  :math:`dK_n = s[(dO_nV_n^\top)\odot M]^\top Q_n + V_n dS^\top`,
  :math:`dV_n = s[(Q_nK_n^\top)\odot M]^\top dO_n + K_n dS`, then :math:`dS \mathrel{+}= sQ_n^\top dO_n`.

With the value dimension split in blocks, ``dq`` and ``dk`` are partial sums per value block, added
up on the host.  Loads are masked (rows ``t >= T`` and columns past ``K``/``V`` read 0), so ``T``
need not be a multiple of the chunk.  Kernels are built on first launch (:mod:`attnmath.kernels._triton`);
indices, masks and tile loads are the device helpers of :mod:`attnmath.kernels._tiles`.
Claim ``kernels.linear-attention-chunked-form`` (kind ``kernel``).
"""

from __future__ import annotations

from typing import Any

import torch

from attnmath.base.chunks import CHUNK_SIZE

from .. import _triton
from .._common import check_qkv, check_state, resolve_scale
from .._tiles import causal_block, chunk_rows, head_block, load_state, load_tile, masked_scores, store_tile
from .._triton import lazy_jit, tl


@lazy_jit
def _la_fwd_kernel(
    Q, K, V, O, H0, HT, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    USE_H0: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    _i_v, row, rk, rv, mk, mv, s_off, s_mask = head_block(T, H, DK, DV, BK, BV)
    S = load_state(H0, s_off, s_mask, BK, BV, USE_H0)
    causal = causal_block(BT)
    for n in range(0, tl.cdiv(T, BT)):
        _t, mt, qk_off, v_off = chunk_rows(n, T, H, DK, DV, row, rk, rv, BT)
        q = load_tile(Q, qk_off, mt, mk)
        k = load_tile(K, qk_off, mt, mk)
        v = load_tile(V, v_off, mt, mv)
        A = masked_scores(q, k, causal, PREC)
        o = (tl.dot(q, S, input_precision=PREC) + tl.dot(A, v, input_precision=PREC)) * scale
        store_tile(O, v_off, o, mt, mv)
        S += tl.dot(tl.trans(k), v, input_precision=PREC)
    tl.store(HT + s_off, S, mask=s_mask)


@lazy_jit
def _la_bwd_kernel(
    Q, K, V, DO, H0, DHT, DQ, DK_, DV_, DH0, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    USE_H0: tl.constexpr, USE_DHT: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    i_v, row, rk, rv, mk, mv, s_off, s_mask = head_block(T, H, DK, DV, BK, BV)
    part = i_v.to(tl.int64) * T * H * DK  # dq, dk: one partial sum per value block
    causal = causal_block(BT)
    NT = tl.cdiv(T, BT)
    # pass 1: forward order, recompute the entering state and form dq
    S = load_state(H0, s_off, s_mask, BK, BV, USE_H0)
    for n in range(0, NT):
        _t, mt, qk_off, v_off = chunk_rows(n, T, H, DK, DV, row, rk, rv, BT)
        k = load_tile(K, qk_off, mt, mk)
        v = load_tile(V, v_off, mt, mv)
        do = load_tile(DO, v_off, mt, mv)
        dA = masked_scores(do, v, causal, PREC)
        dq = (tl.dot(do, tl.trans(S), input_precision=PREC) + tl.dot(dA, k, input_precision=PREC)) * scale
        store_tile(DQ + part, qk_off, dq, mt, mk)
        S += tl.dot(tl.trans(k), v, input_precision=PREC)
    # pass 2: reverse order, carry dS (gradient of the state leaving the chunk)
    dS = load_state(DHT, s_off, s_mask, BK, BV, USE_DHT)
    for i in range(0, NT):
        _t, mt, qk_off, v_off = chunk_rows(NT - 1 - i, T, H, DK, DV, row, rk, rv, BT)
        q = load_tile(Q, qk_off, mt, mk)
        k = load_tile(K, qk_off, mt, mk)
        v = load_tile(V, v_off, mt, mv)
        do = load_tile(DO, v_off, mt, mv)
        dA = masked_scores(do, v, causal, PREC) * scale
        A = masked_scores(q, k, causal, PREC) * scale
        dk = tl.dot(tl.trans(dA), q, input_precision=PREC) + tl.dot(v, tl.trans(dS), input_precision=PREC)
        dv = tl.dot(tl.trans(A), do, input_precision=PREC) + tl.dot(k, dS, input_precision=PREC)
        store_tile(DK_ + part, qk_off, dk, mt, mk)
        store_tile(DV_, v_off, dv, mt, mv)
        dS += tl.dot(tl.trans(q), do, input_precision=PREC) * scale
    if USE_H0:
        tl.store(DH0 + s_off, dS, mask=s_mask)


class TritonChunkLinearAttentionFunction(torch.autograd.Function):
    """``(q, k, v, h0) -> (o, S_T)``: Triton forward and backward kernels."""

    @staticmethod
    def forward(
        ctx: Any,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        h0: torch.Tensor | None,
        scale: float,
        chunk_size: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q, k, v = (x.contiguous() for x in (q, k, v))
        B, T, H, K = q.shape
        V = v.shape[-1]
        BT, BK, BV = _triton.chunk_blocks(K, V, chunk_size)
        NV = -(-V // BV)
        o = torch.empty_like(v)
        ht = torch.empty(B, H, K, V, dtype=torch.float32, device=q.device)
        h0c = None if h0 is None else h0.to(torch.float32).contiguous()
        _la_fwd_kernel[(NV, B * H)](
            q, k, v, o, h0c if h0c is not None else ht, ht, T, H, K, V, scale,
            BT=BT, BK=BK, BV=BV, USE_H0=h0 is not None, PREC=_triton.dot_precision(q.dtype),
        )  # fmt: skip
        ctx.save_for_backward(q, k, v, h0c)
        ctx.meta = (scale, BT, BK, BV, NV, h0 is not None, None if h0 is None else h0.dtype)
        return o, ht

    @staticmethod
    def backward(
        ctx: Any, do: torch.Tensor, dht: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, None, None]:
        q, k, v, h0c = ctx.saved_tensors
        scale, BT, BK, BV, NV, use_h0, h0_dtype = ctx.meta
        B, T, H, K = q.shape
        V = v.shape[-1]
        do = do.contiguous()
        dq = torch.empty(NV, B, T, H, K, dtype=torch.float32, device=q.device)
        dk = torch.empty(NV, B, T, H, K, dtype=torch.float32, device=q.device)
        dv = torch.empty_like(v)
        dh0 = torch.empty(B, H, K, V, dtype=torch.float32, device=q.device)
        dhtc = None if dht is None else dht.to(torch.float32).contiguous()
        _la_bwd_kernel[(NV, B * H)](
            q, k, v, do, h0c if use_h0 else dh0, dhtc if dhtc is not None else dh0, dq, dk, dv, dh0,
            T, H, K, V, scale, BT=BT, BK=BK, BV=BV, USE_H0=use_h0, USE_DHT=dhtc is not None,
            PREC=_triton.dot_precision(q.dtype),
        )  # fmt: skip
        dq, dk = dq.sum(0).to(q.dtype), dk.sum(0).to(k.dtype)
        return dq, dk, dv, (dh0.to(h0_dtype) if use_h0 else None), None, None


def triton_chunk_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Triton chunked causal linear attention :math:`o_t = s\,(h_0 + \sum_{j\le t} k_j v_j^\top)^\top q_t`.

    q, k: ``[B, T, H, K]`` (``K <= 256``), v: ``[B, T, H, V]``, fp16/bf16/fp32 on a CUDA device, or
    on the CPU under ``TRITON_INTERPRET=1``; ``initial_state``: ``[B, H, K, V]`` or ``None``;
    ``chunk_size``: power of two >= 16 (default :data:`~attnmath.base.chunks.CHUNK_SIZE`).  Returns ``(o`` in q's dtype, ``S_T`` fp32``)``;
    differentiable in q, k, v and the initial state.
    """
    B, _T, H, K, V = check_qkv(q, k, v)
    _triton.check_dtype(q)
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, V), q)
    return TritonChunkLinearAttentionFunction.apply(q, k, v, h0, s, chunk_size)
