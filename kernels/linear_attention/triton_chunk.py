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
need not be a multiple of the chunk.  Kernels are built on first launch (:mod:`attnmath.kernels._triton`).
Claim ``kernels.linear-attention-chunked-form`` (kind ``kernel``).
"""

from __future__ import annotations

import torch

from .. import _triton
from .._common import check_chunk, check_qkv, check_state, resolve_scale
from .._triton import lazy_jit, tl


@lazy_jit
def _la_fwd_kernel(
    Q, K, V, O, H0, HT, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    USE_H0: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    i_v, i_bh = tl.program_id(0), tl.program_id(1)
    i_b, i_h = i_bh // H, i_bh % H
    rt, rk = tl.arange(0, BT), tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk, mv = rk < DK, rv < DV
    row_q = (i_b * T * H + i_h).to(tl.int64)  # element (b, t, h, :) sits at ((b*T + t)*H + h)*D
    q_base, v_base = Q + row_q * DK, V + row_q * DV
    o_base = O + row_q * DV
    s_off = i_bh.to(tl.int64) * DK * DV + rk[:, None] * DV + rv[None, :]
    s_mask = mk[:, None] & mv[None, :]
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if USE_H0:
        S += tl.load(H0 + s_off, mask=s_mask, other=0.0).to(tl.float32)
    causal = rt[:, None] >= rt[None, :]
    for n in range(0, tl.cdiv(T, BT)):
        t = n * BT + rt
        mt = t < T
        qk_off = t[:, None].to(tl.int64) * H * DK + rk[None, :]
        v_off = t[:, None].to(tl.int64) * H * DV + rv[None, :]
        q = tl.load(q_base + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        k = tl.load(K + row_q * DK + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        v = tl.load(v_base + v_off, mask=mt[:, None] & mv[None, :], other=0.0).to(tl.float32)
        A = tl.where(causal, tl.dot(q, tl.trans(k), input_precision=PREC), 0.0)
        o = (tl.dot(q, S, input_precision=PREC) + tl.dot(A, v, input_precision=PREC)) * scale
        tl.store(o_base + v_off, o.to(O.dtype.element_ty), mask=mt[:, None] & mv[None, :])
        S += tl.dot(tl.trans(k), v, input_precision=PREC)
    tl.store(HT + s_off, S, mask=s_mask)


@lazy_jit
def _la_bwd_kernel(
    Q, K, V, DO, H0, DHT, DQ, DK_, DV_, DH0, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    USE_H0: tl.constexpr, USE_DHT: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    i_v, i_bh = tl.program_id(0), tl.program_id(1)
    i_b, i_h = i_bh // H, i_bh % H
    rt, rk = tl.arange(0, BT), tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk, mv = rk < DK, rv < DV
    row = (i_b * T * H + i_h).to(tl.int64)
    s_off = i_bh.to(tl.int64) * DK * DV + rk[:, None] * DV + rv[None, :]
    s_mask = mk[:, None] & mv[None, :]
    part = i_v.to(tl.int64) * T * H * DK  # dq, dk: one partial sum per value block
    causal = rt[:, None] >= rt[None, :]
    NT = tl.cdiv(T, BT)
    # pass 1: forward order, recompute the entering state and form dq
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if USE_H0:
        S += tl.load(H0 + s_off, mask=s_mask, other=0.0).to(tl.float32)
    for n in range(0, NT):
        t = n * BT + rt
        mt = t < T
        qk_off = row * DK + t[:, None].to(tl.int64) * H * DK + rk[None, :]
        v_off = row * DV + t[:, None].to(tl.int64) * H * DV + rv[None, :]
        k = tl.load(K + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        v = tl.load(V + v_off, mask=mt[:, None] & mv[None, :], other=0.0).to(tl.float32)
        do = tl.load(DO + v_off, mask=mt[:, None] & mv[None, :], other=0.0).to(tl.float32)
        dA = tl.where(causal, tl.dot(do, tl.trans(v), input_precision=PREC), 0.0)
        dq = (tl.dot(do, tl.trans(S), input_precision=PREC) + tl.dot(dA, k, input_precision=PREC)) * scale
        tl.store(DQ + part + qk_off, dq, mask=mt[:, None] & mk[None, :])
        S += tl.dot(tl.trans(k), v, input_precision=PREC)
    # pass 2: reverse order, carry dS (gradient of the state leaving the chunk)
    dS = tl.zeros([BK, BV], dtype=tl.float32)
    if USE_DHT:
        dS += tl.load(DHT + s_off, mask=s_mask, other=0.0).to(tl.float32)
    for i in range(0, NT):
        n = NT - 1 - i
        t = n * BT + rt
        mt = t < T
        qk_off = row * DK + t[:, None].to(tl.int64) * H * DK + rk[None, :]
        v_off = row * DV + t[:, None].to(tl.int64) * H * DV + rv[None, :]
        q = tl.load(Q + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        k = tl.load(K + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        v = tl.load(V + v_off, mask=mt[:, None] & mv[None, :], other=0.0).to(tl.float32)
        do = tl.load(DO + v_off, mask=mt[:, None] & mv[None, :], other=0.0).to(tl.float32)
        dA = tl.where(causal, tl.dot(do, tl.trans(v), input_precision=PREC), 0.0) * scale
        A = tl.where(causal, tl.dot(q, tl.trans(k), input_precision=PREC), 0.0) * scale
        dk = tl.dot(tl.trans(dA), q, input_precision=PREC) + tl.dot(v, tl.trans(dS), input_precision=PREC)
        dv = tl.dot(tl.trans(A), do, input_precision=PREC) + tl.dot(k, dS, input_precision=PREC)
        tl.store(DK_ + part + qk_off, dk, mask=mt[:, None] & mk[None, :])
        tl.store(DV_ + v_off, dv.to(DV_.dtype.element_ty), mask=mt[:, None] & mv[None, :])
        dS += tl.dot(tl.trans(q), do, input_precision=PREC) * scale
    if USE_H0:
        tl.store(DH0 + s_off, dS, mask=s_mask)


def _blocks(K: int, V: int, chunk_size: int | None):
    BK = _triton.next_pow2(K)
    if BK > 256:
        raise ValueError(f"the Triton kernels keep the whole key width in one block: K must be <= 256, got {K}")
    interp = _triton.interpreting()
    BV = _triton.next_pow2(V) if interp else min(64, _triton.next_pow2(V))  # interpreter: one big block is fastest
    BT = check_chunk(chunk_size) if chunk_size is not None else 64
    if BT < 16:
        raise ValueError(f"chunk_size must be >= 16 for the Triton kernels (tl.dot block sides), got {BT}")
    return BT, BK, BV


class TritonChunkLinearAttentionFunction(torch.autograd.Function):
    """``(q, k, v, h0) -> (o, S_T)``: Triton forward and backward kernels."""

    @staticmethod
    def forward(ctx, q, k, v, h0, scale, chunk_size):
        q, k, v = (x.contiguous() for x in (q, k, v))
        B, T, H, K = q.shape
        V = v.shape[-1]
        BT, BK, BV = _blocks(K, V, chunk_size)
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
    def backward(ctx, do, dht):
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
    chunk_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Triton chunked causal linear attention :math:`o_t = s\,(h_0 + \sum_{j\le t} k_j v_j^\top)^\top q_t`.

    q, k: ``[B, T, H, K]`` (``K <= 256``), v: ``[B, T, H, V]``, fp16/bf16/fp32 on a CUDA device, or
    on the CPU under ``TRITON_INTERPRET=1``; ``initial_state``: ``[B, H, K, V]`` or ``None``;
    ``chunk_size``: power of two >= 16 (default 64).  Returns ``(o`` in q's dtype, ``S_T`` fp32``)``;
    differentiable in q, k, v and the initial state.
    """
    B, _T, H, K, V = check_qkv(q, k, v)
    if q.dtype == torch.float64:
        raise TypeError("the Triton kernels compute in fp32: q must be fp16, bf16 or fp32, got float64")
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, V), q)
    return TritonChunkLinearAttentionFunction.apply(q, k, v, h0, s, chunk_size)
