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
exact pairwise decays as a ``[BT, BT, BK]`` block (so on a GPU use ``chunk_size=16``; the interpreter
is fastest with one large chunk).  Kernels are built on first launch (:mod:`attnmath.kernels._triton`).
"""

from __future__ import annotations

import torch

from .. import _triton
from .._common import check_chunk, check_qkv, check_state, resolve_scale
from .._triton import lazy_jit, tl
from .reference import check_g


@lazy_jit
def _ds_fwd_kernel(
    Q, K, V, G, O, H0, HT, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    SCALAR_G: tl.constexpr, USE_H0: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    i_v, i_bh = tl.program_id(0), tl.program_id(1)
    i_b, i_h = i_bh // H, i_bh % H
    rt, rk = tl.arange(0, BT), tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk, mv = rk < DK, rv < DV
    row = (i_b * T * H + i_h).to(tl.int64)
    s_off = i_bh.to(tl.int64) * DK * DV + rk[:, None] * DV + rv[None, :]
    s_mask = mk[:, None] & mv[None, :]
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if USE_H0:
        S += tl.load(H0 + s_off, mask=s_mask, other=0.0).to(tl.float32)
    causal = rt[:, None] >= rt[None, :]
    for n in range(0, tl.cdiv(T, BT)):
        t = n * BT + rt
        mt = t < T
        qk_off = row * DK + t[:, None].to(tl.int64) * H * DK + rk[None, :]
        v_off = row * DV + t[:, None].to(tl.int64) * H * DV + rv[None, :]
        q = tl.load(Q + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        k = tl.load(K + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        v = tl.load(V + v_off, mask=mt[:, None] & mv[None, :], other=0.0).to(tl.float32)
        if SCALAR_G:
            g = tl.load(G + row + t.to(tl.int64) * H, mask=mt, other=0.0).to(tl.float32)
            b = tl.cumsum(g, 0)
            beta = tl.sum(g, 0)
            L = tl.exp(tl.where(causal, b[:, None] - b[None, :], float("-inf")))
            A = tl.dot(q, tl.trans(k), input_precision=PREC) * L
            qd = q * tl.exp(b)[:, None]
            kd = k * tl.exp(beta - b)[:, None]
            decay = tl.exp(beta)
        else:
            g = tl.load(G + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
            b = tl.cumsum(g, 0)
            beta = tl.sum(g, 0)
            E = tl.exp(tl.where(causal[:, :, None], b[:, None, :] - b[None, :, :], float("-inf")))
            A = tl.sum(q[:, None, :] * k[None, :, :] * E, 2)
            qd = q * tl.exp(b)
            kd = k * tl.exp(beta[None, :] - b)
            decay = tl.exp(beta)[:, None]
        o = (tl.dot(qd, S, input_precision=PREC) + tl.dot(A, v, input_precision=PREC)) * scale
        tl.store(O + v_off, o.to(O.dtype.element_ty), mask=mt[:, None] & mv[None, :])
        S = S * decay + tl.dot(tl.trans(kd), v, input_precision=PREC)
    tl.store(HT + s_off, S, mask=s_mask)


@lazy_jit
def _ds_bwd_kernel(
    Q, K, V, G, DO, H0, DHT, DQ, DK_, DV_, DH0, T, H, DK, DV, scale,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    SCALAR_G: tl.constexpr, USE_H0: tl.constexpr, USE_DHT: tl.constexpr, PREC: tl.constexpr,
):  # fmt: skip
    i_v, i_bh = tl.program_id(0), tl.program_id(1)
    i_b, i_h = i_bh // H, i_bh % H
    rt, rk = tl.arange(0, BT), tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk, mv = rk < DK, rv < DV
    row = (i_b * T * H + i_h).to(tl.int64)
    s_off = i_bh.to(tl.int64) * DK * DV + rk[:, None] * DV + rv[None, :]
    s_mask = mk[:, None] & mv[None, :]
    part = i_v.to(tl.int64) * T * H * DK
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
        dSq = tl.dot(do, tl.trans(S), input_precision=PREC)  # [BT, BK]: (S do_i)_k
        if SCALAR_G:
            g = tl.load(G + row + t.to(tl.int64) * H, mask=mt, other=0.0).to(tl.float32)
            b = tl.cumsum(g, 0)
            beta = tl.sum(g, 0)
            L = tl.exp(tl.where(causal, b[:, None] - b[None, :], float("-inf")))
            dq = dSq * tl.exp(b)[:, None] + tl.dot(dA * L, k, input_precision=PREC)
            kd = k * tl.exp(beta - b)[:, None]
            decay = tl.exp(beta)
        else:
            g = tl.load(G + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
            b = tl.cumsum(g, 0)
            beta = tl.sum(g, 0)
            E = tl.exp(tl.where(causal[:, :, None], b[:, None, :] - b[None, :, :], float("-inf")))
            dq = dSq * tl.exp(b) + tl.sum(dA[:, :, None] * k[None, :, :] * E, 1)
            kd = k * tl.exp(beta[None, :] - b)
            decay = tl.exp(beta)[:, None]
        tl.store(DQ + part + qk_off, dq * scale, mask=mt[:, None] & mk[None, :])
        S = S * decay + tl.dot(tl.trans(kd), v, input_precision=PREC)
    # pass 2: reverse order, carry dS
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
        dSv = tl.dot(v, tl.trans(dS), input_precision=PREC)  # [BT, BK]: (dS v_j)_k
        if SCALAR_G:
            g = tl.load(G + row + t.to(tl.int64) * H, mask=mt, other=0.0).to(tl.float32)
            b = tl.cumsum(g, 0)
            beta = tl.sum(g, 0)
            L = tl.exp(tl.where(causal, b[:, None] - b[None, :], float("-inf")))
            A = tl.dot(q, tl.trans(k), input_precision=PREC) * L * scale
            dk = tl.dot(tl.trans(dA * L), q, input_precision=PREC) + dSv * tl.exp(beta - b)[:, None]
            qd = q * tl.exp(b)[:, None]
            kd = k * tl.exp(beta - b)[:, None]
            decay = tl.exp(beta)
        else:
            g = tl.load(G + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
            b = tl.cumsum(g, 0)
            beta = tl.sum(g, 0)
            E = tl.exp(tl.where(causal[:, :, None], b[:, None, :] - b[None, :, :], float("-inf")))
            A = tl.sum(q[:, None, :] * k[None, :, :] * E, 2) * scale
            dk = tl.sum(dA[:, :, None] * q[:, None, :] * E, 0) + dSv * tl.exp(beta[None, :] - b)
            qd = q * tl.exp(b)
            kd = k * tl.exp(beta[None, :] - b)
            decay = tl.exp(beta)[:, None]
        dv = tl.dot(tl.trans(A), do, input_precision=PREC) + tl.dot(kd, dS, input_precision=PREC)
        tl.store(DK_ + part + qk_off, dk, mask=mt[:, None] & mk[None, :])
        tl.store(DV_ + v_off, dv.to(DV_.dtype.element_ty), mask=mt[:, None] & mv[None, :])
        dS = dS * decay + tl.dot(tl.trans(qd), do, input_precision=PREC) * scale
    if USE_H0:
        tl.store(DH0 + s_off, dS, mask=s_mask)


def _blocks(K: int, V: int, chunk_size: int | None, scalar: bool):
    BK = _triton.next_pow2(K)
    if BK > 256:
        raise ValueError(f"the Triton kernels keep the whole key width in one block: K must be <= 256, got {K}")
    interp = _triton.interpreting()
    BV = _triton.next_pow2(V) if interp else min(64, _triton.next_pow2(V))
    default = 64 if (interp or scalar) else 16  # per-key on a GPU: a [BT, BT, BK] block must fit in registers
    BT = check_chunk(chunk_size) if chunk_size is not None else default
    if BT < 16:
        raise ValueError(f"chunk_size must be >= 16 for the Triton kernels (tl.dot block sides), got {BT}")
    return BT, BK, BV


def gate_gradient(q, k, dq, dk, ht, dht, scalar: bool) -> torch.Tensor:
    r""":math:`dg_t = \sum_{u\ge t}(q_u\odot dq_u - k_u\odot dk_u) + (S_T\odot dS_T)\mathbf 1` (fp32, ``[B, T, H, K]``
    or summed over ``K`` for scalar ``g``).  Claim ``kernels.gate-gradient-identity``."""
    dB = q.float() * dq - k.float() * dk
    if dht is not None:
        dB[:, -1] += (ht * dht.float()).sum(-1)
    dg = dB.flip(1).cumsum(1).flip(1)
    return dg.sum(-1) if scalar else dg


class TritonChunkDiagScanFunction(torch.autograd.Function):
    """``(q, k, v, g, h0) -> (o, S_T)``: Triton forward/backward kernels plus the host-side gate gradient."""

    @staticmethod
    def forward(ctx, q, k, v, g, h0, scale, chunk_size):
        q, k, v, g = (x.contiguous() for x in (q, k, v, g))
        B, T, H, K = q.shape
        V = v.shape[-1]
        scalar = g.ndim == 3
        BT, BK, BV = _blocks(K, V, chunk_size, scalar)
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
    def backward(ctx, do, dht):
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
    ``initial_state``: ``[B, H, K, V]``.  Returns ``(o`` in q's dtype, ``S_T`` fp32``)``;
    differentiable in q, k, v, g and the initial state.  Claim ``kernels.diag-scan-chunked-form``.
    """
    B, _T, H, K, Vd = check_qkv(q, k, v)
    check_g(g, q)
    if q.dtype == torch.float64:
        raise TypeError("the Triton kernels compute in fp32: q must be fp16, bf16 or fp32, got float64")
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, Vd), q)
    return TritonChunkDiagScanFunction.apply(q, k, v, g, h0, s, chunk_size)
