r"""Chunked diagonal scan in Triton: forward and backward kernels, log-space decays.

Per chunk (rows :math:`i,j`), :math:`b = \mathrm{cumsum}(g)` from the chunk start and
:math:`\beta = \sum g` over the chunk; every ``exp`` has a non-positive argument:

- forward: :math:`o = s[(q\odot e^{b})S + A v]`, :math:`A_{ij} = \sum_k q_{ik}k_{jk}e^{b_{ik}-b_{jk}}` (``j<=i``),
  :math:`S \leftarrow \mathrm{diag}(e^{\beta})S + (k\odot e^{\beta-b})^\top v`;
- backward pass 1 (forward order, recomputing :math:`S`):
  :math:`dq_i = s[e^{b_i}\odot S\,do_i + \sum_{j\le i} (do_i\cdot v_j)\,k_j\odot e^{b_i-b_j}]`;
- backward pass 2 (reverse order, :math:`dS` = gradient of the state leaving the chunk):
  :math:`dk_j = s\sum_{i\ge j}(do_i\cdot v_j)\,q_i\odot e^{b_i-b_j} + e^{\beta-b_j}\odot dS\,v_j`,
  :math:`dv_j = s\sum_{i\ge j}A_{ij}do_i + dS^\top(k_j\odot e^{\beta-b_j})`,
  :math:`dS \leftarrow \mathrm{diag}(e^{\beta})dS + s\,(q\odot e^{b})^\top do`;
- the gate gradient on the host, from the identity (claim ``kernels.gate-gradient-identity``)
  :math:`dg_t = \sum_{u\ge t}\big(q_u\odot dq_u - k_u\odot dk_u\big) + S_T\,dS_T^\top\mathbf 1`.

Scalar ``g`` (``[B, T, H]``) uses a ``[BT, BT]`` decay matrix and ``tl.dot``; per-key ``g`` forms the
exact pairwise decays as a ``[BT, BT, BK]`` block (so on a GPU the default chunk is
:data:`PER_KEY_GPU_CHUNK_SIZE`; the interpreter is fastest with one large chunk).  Kernels are built on
first launch (:mod:`attnmath.kernels._triton`); indices, masks, tiles and the chunk's decays are the
device helpers of :mod:`attnmath.kernels._tiles`.
"""

from __future__ import annotations

from typing import Any

import torch

from attnmath.base.chunks import CHUNK_SIZE

from .. import _triton
from .._common import check_qkv, check_state, resolve_scale
from .._tiles import (
    causal_block,
    chunk_decays,
    chunk_rows,
    decayed_columns,
    decayed_rows,
    decayed_scores,
    head_block,
    load_state,
    load_tile,
    masked_scores,
    store_tile,
)
from .._triton import lazy_jit, tl
from .reference import check_g

PER_KEY_GPU_CHUNK_SIZE = 16  # per-key g on a GPU: the [BT, BT, BK] pairwise-decay block must fit in registers


@lazy_jit
def _ds_fwd_kernel(
    Q, K, V, G, O, H0, HT, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    SCALAR_G: tl.constexpr, USE_H0: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    _i_v, row, rk, rv, mk, mv, s_off, s_mask = head_block(T, H, DK, DV, BK, BV)
    S = load_state(H0, s_off, s_mask, BK, BV, USE_H0)
    causal = causal_block(BT)
    for n in range(0, tl.cdiv(T, BT)):
        t, mt, qk_off, v_off = chunk_rows(n, T, H, DK, DV, row, rk, rv, BT)
        q = load_tile(Q, qk_off, mt, mk)
        k = load_tile(K, qk_off, mt, mk)
        v = load_tile(V, v_off, mt, mv)
        D, e_b, e_tail, decay = chunk_decays(G, row, t, mt, qk_off, mk, causal, H, SCALAR_G)
        A = decayed_scores(q, k, D, SCALAR_G, PREC)
        o = (tl.dot(q * e_b, S, input_precision=PREC) + tl.dot(A, v, input_precision=PREC)) * scale
        store_tile(O, v_off, o, mt, mv)
        S = S * decay + tl.dot(tl.trans(k * e_tail), v, input_precision=PREC)
    tl.store(HT + s_off, S, mask=s_mask)


@lazy_jit
def _ds_bwd_kernel(
    Q, K, V, G, DO, H0, DHT, DQ, DK_, DV_, DH0, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    SCALAR_G: tl.constexpr, USE_H0: tl.constexpr, USE_DHT: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    i_v, row, rk, rv, mk, mv, s_off, s_mask = head_block(T, H, DK, DV, BK, BV)
    part = i_v.to(tl.int64) * T * H * DK  # dq, dk: one partial sum per value block
    causal = causal_block(BT)
    NT = tl.cdiv(T, BT)
    # pass 1: forward order, recompute the entering state and form dq
    S = load_state(H0, s_off, s_mask, BK, BV, USE_H0)
    for n in range(0, NT):
        t, mt, qk_off, v_off = chunk_rows(n, T, H, DK, DV, row, rk, rv, BT)
        k = load_tile(K, qk_off, mt, mk)
        v = load_tile(V, v_off, mt, mv)
        do = load_tile(DO, v_off, mt, mv)
        dA = masked_scores(do, v, causal, PREC)
        dSq = tl.dot(do, tl.trans(S), input_precision=PREC)  # [BT, BK]: (S do_i)_k
        D, e_b, e_tail, decay = chunk_decays(G, row, t, mt, qk_off, mk, causal, H, SCALAR_G)
        dq = dSq * e_b + decayed_rows(dA, k, D, SCALAR_G, PREC)
        store_tile(DQ + part, qk_off, dq * scale, mt, mk)
        S = S * decay + tl.dot(tl.trans(k * e_tail), v, input_precision=PREC)
    # pass 2: reverse order, carry dS (gradient of the state leaving the chunk)
    dS = load_state(DHT, s_off, s_mask, BK, BV, USE_DHT)
    for i in range(0, NT):
        t, mt, qk_off, v_off = chunk_rows(NT - 1 - i, T, H, DK, DV, row, rk, rv, BT)
        q = load_tile(Q, qk_off, mt, mk)
        k = load_tile(K, qk_off, mt, mk)
        v = load_tile(V, v_off, mt, mv)
        do = load_tile(DO, v_off, mt, mv)
        dA = masked_scores(do, v, causal, PREC) * scale
        dSv = tl.dot(v, tl.trans(dS), input_precision=PREC)  # [BT, BK]: (dS v_j)_k
        D, e_b, e_tail, decay = chunk_decays(G, row, t, mt, qk_off, mk, causal, H, SCALAR_G)
        A = decayed_scores(q, k, D, SCALAR_G, PREC) * scale
        dk = decayed_columns(dA, q, D, SCALAR_G, PREC) + dSv * e_tail
        dv = tl.dot(tl.trans(A), do, input_precision=PREC) + tl.dot(k * e_tail, dS, input_precision=PREC)
        store_tile(DK_ + part, qk_off, dk, mt, mk)
        store_tile(DV_, v_off, dv, mt, mv)
        dS = dS * decay + tl.dot(tl.trans(q * e_b), do, input_precision=PREC) * scale
    if USE_H0:
        tl.store(DH0 + s_off, dS, mask=s_mask)


def _chunk_size(chunk_size: int | None, scalar: bool) -> int:
    """``None``: :data:`~attnmath.base.chunks.CHUNK_SIZE`, or :data:`PER_KEY_GPU_CHUNK_SIZE` for per-key ``g`` on a GPU."""
    if chunk_size is not None:
        return chunk_size
    return CHUNK_SIZE if (scalar or _triton.interpreting()) else PER_KEY_GPU_CHUNK_SIZE


def gate_gradient(
    q: torch.Tensor,
    k: torch.Tensor,
    dq: torch.Tensor,
    dk: torch.Tensor,
    ht: torch.Tensor,
    dht: torch.Tensor | None,
    scalar: bool,
) -> torch.Tensor:
    r""":math:`dg_t = \sum_{u\ge t}(q_u\odot dq_u - k_u\odot dk_u) + (S_T\odot dS_T)\mathbf 1` (``[B, T, H, K]``
    or summed over ``K`` for scalar ``g``), computed in ``q``'s dtype promoted to at least fp32 (float64 inputs
    stay float64; the Triton backward passes fp16/bf16/fp32 and gets fp32).  Claim ``kernels.gate-gradient-identity``."""
    dt = torch.promote_types(q.dtype, torch.float32)
    dB = q.to(dt) * dq.to(dt) - k.to(dt) * dk.to(dt)
    if dht is not None:
        dB[:, -1] += (ht.to(dt) * dht.to(dt)).sum(-1)
    dg = dB.flip(1).cumsum(1).flip(1)
    return dg.sum(-1) if scalar else dg


class TritonChunkDiagScanFunction(torch.autograd.Function):
    """``(q, k, v, g, h0) -> (o, S_T)``: Triton forward/backward kernels plus the host-side gate gradient."""

    @staticmethod
    def forward(
        ctx: Any,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        g: torch.Tensor,
        h0: torch.Tensor | None,
        scale: float,
        chunk_size: int | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        q, k, v, g = (x.contiguous() for x in (q, k, v, g))
        B, T, H, K = q.shape
        V = v.shape[-1]
        scalar = g.ndim == 3
        BT, BK, BV = _triton.chunk_blocks(K, V, _chunk_size(chunk_size, scalar))
        NV = -(-V // BV)
        o = torch.empty_like(v)
        ht = torch.empty(B, H, K, V, dtype=torch.float32, device=q.device)
        h0c = None if h0 is None else h0.to(torch.float32).contiguous()
        _ds_fwd_kernel[(NV, B * H)](
            q, k, v, g, o, h0c if h0c is not None else ht, ht, T, H, K, V, scale,
            BT=BT, BK=BK, BV=BV, SCALAR_G=scalar, USE_H0=h0 is not None, PREC=_triton.dot_precision(q.dtype),
        )  # fmt: skip
        ctx.save_for_backward(q, k, v, g, h0c, ht)
        ctx.meta = (scale, BT, BK, BV, NV, scalar, h0 is not None, None if h0 is None else h0.dtype)
        return o, ht

    @staticmethod
    def backward(
        ctx: Any, do: torch.Tensor, dht: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, None, None]:
        q, k, v, g, h0c, ht = ctx.saved_tensors
        scale, BT, BK, BV, NV, scalar, use_h0, h0_dtype = ctx.meta
        B, T, H, K = q.shape
        V = v.shape[-1]
        do = do.contiguous()
        dq = torch.empty(NV, B, T, H, K, dtype=torch.float32, device=q.device)
        dk = torch.empty(NV, B, T, H, K, dtype=torch.float32, device=q.device)
        dv = torch.empty_like(v)
        dh0 = torch.empty(B, H, K, V, dtype=torch.float32, device=q.device)
        dhtc = None if dht is None else dht.to(torch.float32).contiguous()
        _ds_bwd_kernel[(NV, B * H)](
            q, k, v, g, do, h0c if use_h0 else dh0, dhtc if dhtc is not None else dh0, dq, dk, dv, dh0,
            T, H, K, V, scale, BT=BT, BK=BK, BV=BV, SCALAR_G=scalar, USE_H0=use_h0,
            USE_DHT=dhtc is not None, PREC=_triton.dot_precision(q.dtype),
        )  # fmt: skip
        dq, dk = dq.sum(0), dk.sum(0)
        dg = gate_gradient(q, k, dq, dk, ht, dhtc, scalar)
        return dq.to(q.dtype), dk.to(k.dtype), dv, dg.to(g.dtype), (dh0.to(h0_dtype) if use_h0 else None), None, None


def triton_chunk_diag_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Triton :math:`S_t = \mathrm{diag}(e^{g_t})S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t`, chunked in log space.

    q, k: ``[B, T, H, K]`` (``K <= 256``), v: ``[B, T, H, V]``, g (``<= 0``): ``[B, T, H, K]`` or
    ``[B, T, H]``; fp16/bf16/fp32 on a CUDA device or on the CPU under ``TRITON_INTERPRET=1``.
    ``initial_state``: ``[B, H, K, V]``; ``chunk_size``: power of two >= 16, ``None`` for
    :data:`~attnmath.base.chunks.CHUNK_SIZE` (per-key ``g`` on a GPU: :data:`PER_KEY_GPU_CHUNK_SIZE`).  Returns ``(o`` in q's dtype, ``S_T`` fp32``)``;
    differentiable in q, k, v, g and the initial state.  Claim ``kernels.diag-scan-chunked-form``.
    """
    B, _T, H, K, Vd = check_qkv(q, k, v)
    check_g(g, q)
    _triton.check_dtype(q)
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, Vd), q)
    return TritonChunkDiagScanFunction.apply(q, k, v, g, h0, s, chunk_size)
