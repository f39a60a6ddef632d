r"""Chunked diagonal scan in PyTorch, with cumulative decays in log space and no ``exp`` of a positive number.

Inside chunk ``n`` (rows :math:`i, j = 1..C`), let :math:`b_i = \sum_{l\le i} g_l` be the cumulative
log-decay from the chunk start (:math:`b` is non-increasing because :math:`g\le0`) and
:math:`\beta = b_C` the whole chunk's.  With :math:`S_n` the state entering the chunk,

.. math::
    o_i = s\Big[(q_i\odot e^{b_i})^\top S_n + \sum_{j\le i} \big(q_i\odot e^{b_i-b_j}\big)^\top k_j\,v_j\Big],\qquad
    S_{n+1} = \mathrm{diag}(e^{\beta})S_n + \sum_j \mathrm{diag}(e^{\beta-b_j})\,k_j v_j^\top .

Every exponent is :math:`\le 0`: :math:`b_i`, :math:`\beta-b_j`, and :math:`b_i-b_j` for
:math:`j\le i`.  The factorised form :math:`(q_i e^{b_i})^\top(k_j e^{-b_j})` used by some
implementations needs :math:`e^{-b_j}`, which overflows fp32 once :math:`-b_j > 88`; it is never
formed here (claim ``kernels.log-space-decays-stable``).

Intra-chunk scores.  Scalar ``g``: :math:`A = (QK^\top)\odot e^{b_i-b_j}` (a ``[C, C]`` decay
matrix).  Per-key ``g``: split the chunk in sub-chunks of ``c`` steps; a pair in sub-chunks
:math:`J < I` factorises through the reference :math:`r_I` (``b`` at the step before sub-chunk
``I``), :math:`(q_i e^{b_i-r_I})^\top(k_j e^{r_I-b_j})` with both exponents :math:`\le 0`; pairs in
the same sub-chunk use the exact pairwise decays (a ``[c, c, K]`` tensor).  That sub-chunk path is the
fallback: a chunk whose decay span :math:`-\beta_k` is at most :data:`FACTOR_SPAN` for every key takes one
matmul, :math:`A = \big[(Q\odot e^{b-\beta/2})(K\odot e^{\beta/2-b})^\top\big]\odot M`, whose
exponents lie in :math:`[-\text{span}/2, \text{span}/2]` (the reference :math:`\beta/2` is the middle
of the chunk's decay), so no factor exceeds :math:`e^{20}` and a masked pair at most :math:`e^{40}`
before it is zeroed: finite in fp32, and each product :math:`q_{ik}k_{jk}e^{b_{ik}-b_{jk}}` is formed
from two correctly rounded factors, as in the pairwise path.  When every chunk of a group factorises (the
usual case), :func:`_factor_narrow` forms the same factors with one ``exp`` per element instead of two,
:math:`E = e^{b-\beta/2}`, :math:`qE` and :math:`k/E`.  The chunk states are
passed along by a loop over the ``T/C`` chunks, and time is processed in groups of about 512
steps (whole chunks) with the state carried between groups, so that intermediates stay in cache.  The
backward is hand-written (:class:`ChunkDiagScanFunction`, :func:`_backward_group`), as the Triton kernels'
is; a group in which a per-key chunk took the sub-chunk path is differentiated by autograd through its
recomputed forward.
"""

from __future__ import annotations

from typing import Any

import torch

from attnmath.base import validation as V
from attnmath.base.chunks import CHUNK_SIZE, check_chunk_size

from .._common import (
    causal_,
    causal_mask,
    check_finite,
    check_qkv,
    check_state,
    checks_by_group,
    compute_dtype,
    from_chunks,
    group_len,
    resolve_scale,
    scaled_chunks,
    to_chunks,
    write_chunks,
)
from .reference import check_g

NEG_INF = float("-inf")
SUB_CHUNK = 16  # default sub-chunk of the per-key intra-chunk scores (a [c, c, K] pairwise-decay tensor)
# The largest decay span -beta of a chunk whose per-key scores take the factorised one-matmul path: with the
# reference beta/2, every factor is e^x with |x| <= 20 (4.9e8) and a masked product at most e^40 (2.4e17),
# finite in fp32 (max 3.4e38) with room for |q.k| up to 1e21.  Wider chunks take the sub-chunk path.
FACTOR_SPAN = 40.0


def _cumulative_log_decay(g: torch.Tensor) -> torch.Tensor:
    """Inclusive cumulative sum over the chunk's time axis: ``b_i = sum_{l <= i} g_l`` (g: [..., C, K])."""
    return g.cumsum(-2)


def _state_passing(kv: torch.Tensor, decay: torch.Tensor, h0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``S_{n+1} = diag(decay_n) S_n + kv_n``; returns the entering states [B, H, N, K, V] and the final state.

    Without autograd (the forward of :class:`ChunkDiagScanFunction`, and its backward) each state is written
    straight into its slot of one preallocated tensor, one ``addcmul`` per chunk; under autograd (the
    fallback of :func:`_backward_group_autograd`) the states are stacked, which autograd can differentiate.
    """
    N = kv.shape[2]
    if torch.is_grad_enabled():
        S = torch.zeros_like(kv[:, :, 0]) if h0 is None else h0
        states = []
        for n in range(N):
            states.append(S)
            S = decay[:, :, n, :, None] * S + kv[:, :, n]
        return torch.stack(states, dim=2), S
    out = torch.empty_like(kv)
    if h0 is None:
        out[:, :, 0].zero_()
    else:
        out[:, :, 0].copy_(h0)
    for n in range(N - 1):
        torch.addcmul(kv[:, :, n], decay[:, :, n, :, None], out[:, :, n], out=out[:, :, n + 1])
    return out, torch.addcmul(kv[:, :, -1], decay[:, :, -1, :, None], out[:, :, -1])


def _intra_scalar(q: torch.Tensor, k: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``A_ij = q_i.k_j e^{b_i - b_j}`` for ``j <= i`` (b: [..., C, 1]); exponents masked before exp."""
    return (q @ k.transpose(-1, -2)) * _pair_decays(b[..., 0])


def _pair_decays(bb: torch.Tensor) -> torch.Tensor:
    """``L_ij = e^{b_i - b_j}`` for ``j <= i``, ``0`` above the diagonal (bb: [..., C]).

    On a CPU ``b`` is a sequential cumulative sum of ``g <= 0``, so ``b_i - b_j <= 0`` for ``j <= i`` exactly
    (rounding is monotone): the clamp at 0 changes only the pairs above the diagonal, whose exponent it keeps from
    being positive, and ``tril_`` then zeroes them.  A parallel scan (``cumsum`` on a GPU) may leave ``b_i - b_j``
    a rounding above 0 for some ``j <= i``; the clamp turns that ``e^{tiny}`` into 1, a change below ``b``'s own
    rounding.  Three in-place passes: a ``masked_fill`` with a broadcast boolean
    mask is about ten times slower on a CPU than ``tril_``.
    """
    return (bb[..., :, None] - bb[..., None, :]).clamp_max_(0.0).exp_().tril_()


def _intra_per_key(q: torch.Tensor, k: torch.Tensor, b: torch.Tensor, c: int) -> torch.Tensor:
    """``A_ij = sum_k q_ik k_jk e^{b_ik - b_jk}`` for ``j <= i`` via sub-chunks of ``c`` steps (see module doc)."""
    *lead, C, K = q.shape
    nsub = C // c
    qs, ks, bs = (x.reshape(*lead, nsub, c, K) for x in (q, k, b))
    m = causal_mask(c, q.device)
    diff = (bs[..., :, None, :] - bs[..., None, :, :]).masked_fill(~m[..., None], NEG_INF)  # [.., S, c, c, K]
    A_diag = (qs[..., :, None, :] * ks[..., None, :, :] * diff.exp()).sum(-1)  # [.., S, c, c]
    r = torch.cat([torch.zeros_like(bs[..., :1, -1, :]), bs[..., :-1, -1, :]], dim=-2)  # [.., S, K]
    qr = qs * (bs - r[..., :, None, :]).exp()  # exponent <= 0
    lower = causal_mask(nsub, q.device, strict=True)  # J < I
    e = (r[..., :, None, None, :] - bs[..., None, :, :, :]).masked_fill(~lower[:, :, None, None], NEG_INF)
    kr = ks[..., None, :, :, :] * e.exp()  # [.., I, J, c, K], exponent <= 0 where J < I
    A = torch.einsum("...iak,...ijdk->...iajd", qr, kr)  # [.., I, a, J, d]
    eye = torch.eye(nsub, dtype=A.dtype, device=A.device)
    A = A + A_diag[..., :, :, None, :] * eye[:, None, :, None]
    return A.reshape(*lead, C, C)


def _wide(b: torch.Tensor, span: float) -> torch.Tensor:
    """``[..., N]``: the chunks whose decay span ``-beta`` exceeds ``span`` for some key (b: ``[..., N, C, K]``)."""
    return (-b[..., -1, :]).amax(dim=-1) > span


def _any_wide(b: torch.Tensor, span: float) -> bool:
    """Whether some chunk takes the sub-chunk path: the one test of the forward's one-exp path and of the backward's
    autograd fallback, so the two always agree."""
    return bool(_wide(b, span).any())


def _intra_per_key_mixed(
    q: torch.Tensor, k: torch.Tensor, b: torch.Tensor, qd: torch.Tensor, kd: torch.Tensor, c: int, span: float
) -> torch.Tensor:
    """Per-key scores of every chunk: the factorised one-matmul path where the chunk's decay span is at most
    ``span`` for every key, the sub-chunk path (:func:`_intra_per_key`) elsewhere (see the module doc).

    ``qd = q e^{b}`` and ``kd = k e^{beta - b}`` (the inter-chunk factors) give the factorised ones by a
    per-chunk rescaling: ``qd e^{-beta/2} = q e^{b - beta/2}``, ``kd e^{-beta/2} = k e^{beta/2 - b}`` (on a
    fast-path chunk ``e^{b} >= e^{-span}``, far above fp32's smallest normal number, so nothing underflows).
    """
    beta = b[..., -1:, :]  # [.., N, 1, K], <= 0
    wide = _wide(b, span)  # [.., N]: chunks that need the sub-chunk path
    n_wide = int(wide.sum())
    if n_wide == wide.numel():
        return _intra_per_key(q, k, b, c)
    half = torch.where(wide[..., None, None], 0.0, -0.5 * beta).exp()  # e^{-beta/2} <= e^{span/2}; 1 on wide chunks
    A = causal_((qd * half) @ (kd * half).transpose(-1, -2))
    if n_wide:
        A = A.index_put((wide,), _intra_per_key(q[wide], k[wide], b[wide], c))
    return A


def _factor_narrow(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Per-key chunks whose decay span is at most the factor span, all of them: ``(q^d, K^{d\top} V, A)``.

    With the chunk's middle reference :math:`\beta/2` and :math:`E = e^{b - \beta/2}` (one ``exp``; every
    exponent in :math:`[-\text{span}/2, \text{span}/2]`, so :math:`E` and :math:`1/E` lie in
    :math:`[e^{-20}, e^{20}]`): :math:`q^f = q\odot E`, :math:`k^f = k / E`, the scores
    :math:`A = [q^f k^{f\top}]\odot M`, and, with :math:`h = e^{\beta/2}\le 1`, the inter-chunk factors
    :math:`q^d = q^f\odot h = q\odot e^{b}` and :math:`K^{d\top}V = \mathrm{diag}(h)\,k^{f\top}V`.  The same
    quantities as :func:`_intra_per_key_mixed` and the general path, with one exponential per element instead of
    two (a division replaces the second): each factor is now two or three correctly rounded operations, an
    error of a few units in the last place, where the float64 tests allow fp32 roundoff times the chunk's growth.
    """
    half = 0.5 * b[..., -1:, :]  # [.., N, 1, K]: beta / 2 <= 0
    E = (b - half).exp_()
    qf, kf = q * E, k / E
    h = half.exp()  # e^{beta/2}
    A = causal_(qf @ kf.transpose(-1, -2))
    kv = (kf.transpose(-1, -2) @ v).mul_(h.transpose(-1, -2))  # rows k of K^T V scaled by h_k
    return qf * h, kv, A  # not in place: autograd may have saved qf for A's backward


def _forward_group(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    h0: torch.Tensor | None,
    scale: float,
    C: int,
    c: int,
    scalar: bool,
    span: float,
    out: torch.Tensor | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """One group of whole chunks: ``(o`` in q's dtype, state leaving the group``)``; with ``out`` (the group's
    slice of the output, no autograd) ``o`` is written there and ``None`` returned in its place."""
    dt = compute_dtype(q.dtype)
    qc, kc, vc = (to_chunks(x.to(dt), C).contiguous() for x in (q, k, v))
    # [B, H, N, C, K or 1], padding g = 0; contiguous, so that the cumulative sum and every elementwise pass
    # after it (exp, the decayed q and k) run on one layout with q's chunks
    gc = to_chunks((g[..., None] if scalar else g).to(dt), C).contiguous()
    b = _cumulative_log_decay(gc)
    beta = b[..., -1, :]  # [B, H, N, K or 1]
    narrow = not scalar and not _any_wide(b, span)
    if narrow:  # every chunk factorises: one exp instead of two (see _factor_narrow)
        qd, kv, A = _factor_narrow(qc, kc, vc, b)
    else:
        qd = qc * b.exp()
        kd = kc * (beta[..., None, :] - b).exp()
        kv = kd.transpose(-1, -2) @ vc
    states, final = _state_passing(kv, beta.exp(), h0)
    if not narrow:
        A = _intra_scalar(qc, kc, b) if scalar else _intra_per_key_mixed(qc, kc, b, qd, kd, c, span)
    B, H, N = qc.shape[:3]
    M = B * H * N
    # s (Qd S + A V): the sum fused into the second product, in place on the first (no copy of it); autograd
    # can differentiate it (the recomputed forward of _backward_group_autograd): bmm does not save its output
    o = (qd @ states).view(M, C, -1).baddbmm_(A.reshape(M, C, C), vc.view(M, C, -1), beta=scale, alpha=scale)
    if out is not None:
        write_chunks(out, o.view(B, H, N, C, -1))
        return None, final
    return from_chunks(o.view(B, H, N, C, -1), q.shape[1]).to(q.dtype), final


def chunk_diag_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = CHUNK_SIZE,
    sub_chunk: int = SUB_CHUNK,
    factor_span: float = FACTOR_SPAN,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Chunked :math:`S_t = \mathrm{diag}(e^{g_t})S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t` (PyTorch, log space).

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``, g (log-decay, ``<= 0``): ``[B, T, H, K]`` or
    ``[B, T, H]``, ``initial_state``: ``[B, H, K, V]``; ``chunk_size`` and ``sub_chunk`` powers of
    two; ``factor_span`` in ``[0, 40]``: per-key chunks whose decay span is at most this take the factorised
    one-matmul path (``0``: every chunk takes the sub-chunk path).  Returns ``(o`` in q's dtype, ``S_T`` fp32/fp64``)``; differentiable in q, k, v, g, h0.
    Claims ``kernels.diag-scan-chunked-form``, ``kernels.log-space-decays-stable``.
    """
    by_group = checks_by_group(q)  # on a CPU the values are checked group by group, in the forward
    B, _T, H, K, Vd = check_qkv(q, k, v, finite=not by_group)
    scalar = check_g(g, q, finite=not by_group)
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, Vd), q)
    C = check_chunk_size(chunk_size, power_of_two=True)
    c = min(check_chunk_size(sub_chunk, "sub_chunk", power_of_two=True), C)
    span = V.real(factor_span, "factor_span", low=0.0, high=FACTOR_SPAN)
    G = group_len(C)
    h = None if h0 is None else h0.to(compute_dtype(q.dtype))
    return ChunkDiagScanFunction.apply(q, k, v, g, h, s, C, c, scalar, span, G)


class ChunkDiagScanFunction(torch.autograd.Function):
    """``(q, k, v, g, h0) -> (o, S_T)``: the chunked forward above and a hand-written backward.

    Time is processed in groups of whole chunks with the state carried between them (forward) and its
    gradient carried back (backward); each group's backward recomputes its chunk quantities (see
    :func:`_backward_group`).  A group in which some per-key chunk takes the sub-chunk path is
    differentiated by autograd through its recomputed forward instead.
    """

    @staticmethod
    def forward(
        ctx: Any,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        g: torch.Tensor,
        h0: torch.Tensor | None,
        scale: float,
        C: int,
        c: int,
        scalar: bool,
        span: float,
        G: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T = q.shape[1]
        h, entering = h0, []
        out = torch.empty(*q.shape[:3], v.shape[-1], dtype=q.dtype, device=q.device)
        by_group = checks_by_group(q)  # else chunk_diag_scan checked the whole inputs
        for start in range(0, T, G):  # groups of whole chunks, state carried between them (cache-friendly)
            sl = slice(start, start + G)
            entering.append(h)
            if by_group:
                check_finite(q=q[:, sl], k=k[:, sl], v=v[:, sl], g=g[:, sl])  # this group's part, while in cache
            _, h = _forward_group(q[:, sl], k[:, sl], v[:, sl], g[:, sl], h, scale, C, c, scalar, span, out[:, sl])
        assert h is not None  # T >= 1 (check_qkv rejects empty inputs): at least one group ran
        ctx.save_for_backward(q, k, v, g, h0)
        ctx.entering = entering
        ctx.args = (scale, C, c, scalar, span, G)
        return out, h

    @staticmethod
    def backward(ctx: Any, do: torch.Tensor, dht: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        q, k, v, g, h0 = ctx.saved_tensors
        scale, C, c, scalar, span, G = ctx.args
        B, T, H, K = q.shape
        dt = compute_dtype(q.dtype)
        dS = torch.zeros(B, H, K, v.shape[-1], dtype=dt, device=q.device) if dht is None else dht.to(dt)
        dq, dk, dv, dg = (torch.empty(x.shape, dtype=x.dtype, device=x.device) for x in (q, k, v, g))
        for i, start in reversed(list(enumerate(range(0, T, G)))):
            sl = slice(start, start + G)
            parts, dS = _backward_group(
                q[:, sl], k[:, sl], v[:, sl], g[:, sl], ctx.entering[i], do[:, sl], dS, scale, C, c, scalar, span
            )
            for out, x in zip((dq, dk, dv, dg), parts):
                out[:, sl] = x
        dh0 = None if h0 is None else dS.to(h0.dtype)
        return dq, dk, dv, dg, dh0, None, None, None, None, None, None


def _backward_group(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    h0: torch.Tensor | None,
    do: torch.Tensor,
    dht: torch.Tensor,
    scale: float,
    C: int,
    c: int,
    scalar: bool,
    span: float,
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    r"""Gradients of one group given the gradient ``dht`` of the state leaving it; returns ``((dq, dk, dv, dg), dh0)``.

    With :math:`q^d = q\odot e^{b}`, :math:`k^d = k\odot e^{\beta-b}`, :math:`S_{n+1}=e^{\beta}\odot S_n+k^{d\top}v`,
    :math:`o = s(q^dS_n + Av)` and upstream :math:`dO_s = s\,dO`:
    :math:`dq^d = dO_s S_n^\top`, :math:`dk^d = v\,dS_{n+1}^\top`, :math:`dv = A^\top dO_s + k^d dS_{n+1}`,
    :math:`dS_n = q^{d\top}dO_s + e^{\beta}\odot dS_{n+1}`, :math:`dA = (dO_s v^\top)\odot M`; the scores give
    :math:`dq \mathrel{+}= (dA\odot L)k`, :math:`dk \mathrel{+}= (dA\odot L)^\top q` and
    :math:`db \mathrel{+}= q\odot dq_A - k\odot dk_A` (they depend on :math:`b_i-b_j` only); then
    :math:`db = q^d\odot dq^d - k^d\odot dk^d + db_A`, :math:`d\beta = \sum_j k^d\odot dk^d +
    \sum_v e^{\beta}\odot S_n\odot dS_{n+1}` added to the chunk's last step, and :math:`dg` is the reverse
    cumulative sum of :math:`db` over the chunk (:math:`b` is the cumulative sum of :math:`g`).
    """
    dt = compute_dtype(q.dtype)
    T = q.shape[1]
    gc = to_chunks((g[..., None] if scalar else g).to(dt), C).contiguous()
    b = _cumulative_log_decay(gc)  # [B, H, N, C, Kg]
    beta = b[..., -1:, :]  # [B, H, N, 1, Kg]
    if not scalar and _any_wide(b, span):  # a sub-chunk chunk: autograd
        return _backward_group_autograd(q, k, v, g, h0, do, dht, scale, C, c, scalar, span)
    qc, kc, vc = (to_chunks(x.to(dt), C).contiguous() for x in (q, k, v))
    doc = scaled_chunks(do, C, dt, scale)  # s dO, never in place on the caller's dO
    if scalar:
        eb, ekb = b.exp(), (beta - b).exp()
        qd, kd = qc * eb, kc * ekb
    else:  # every chunk factorises here (a wide one took the autograd path above): one exp, as in _factor_narrow
        E = (b - 0.5 * beta).exp_()  # e^{b - beta/2}; e^b = E h and e^{beta - b} = h / E with h = e^{beta/2}
        h = (0.5 * beta).exp()
        qf, kf = qc * E, kc / E
        qd, kd = qf * h, kf * h
    decay = beta.exp().transpose(-1, -2)  # [B, H, N, Kg, 1]: the row decay of S
    states, _ = _state_passing(kd.transpose(-1, -2) @ vc, decay[..., 0], h0)
    qdo = qd.transpose(-1, -2) @ doc  # [B, H, N, K, V]
    N = qc.shape[2]
    dS_out = torch.empty_like(states)  # gradient of the state leaving each chunk
    cur = dht
    for n in range(N - 1, -1, -1):
        dS_out[:, :, n] = cur
        cur = qdo[:, :, n] + decay[:, :, n] * cur
    dA = causal_(doc @ vc.transpose(-1, -2))  # causal (dO V^T)
    if scalar:
        L = _pair_decays(b[..., 0])
        A = (qc @ kc.transpose(-1, -2)) * L
        dAL = dA * L
        dq_A, dk_A = dAL @ kc, dAL.transpose(-1, -2) @ qc
        dAA = dA * A
        db_A = (dAA.sum(-1) - dAA.sum(-2))[..., None]  # [.., C, 1]
    else:
        A = causal_(qf @ kf.transpose(-1, -2))
        dqf, dkf = dA @ kf, dA.transpose(-1, -2) @ qf
        db_A = qf * dqf - kf * dkf
    dqd = doc @ states.transpose(-1, -2)
    dkd = vc @ dS_out.transpose(-1, -2)
    dv = A.transpose(-1, -2) @ doc + kd @ dS_out
    if scalar:
        dq = dqd * eb + dq_A
        dk = dkd * ekb + dk_A
    else:  # dq = dqd e^b + dqf E = (dqd h + dqf) E,  dk = dkd e^{beta - b} + dkf / E = (dkd h + dkf) / E
        dq = torch.addcmul(dqf, dqd, h).mul_(E)
        dk = torch.addcmul(dkf, dkd, h).div_(E)
    db_qk = qd * dqd - kd * dkd
    dbeta_k = (kd * dkd).sum(-2, keepdim=True) + (decay * states * dS_out).sum(-1).unsqueeze(-2)  # [.., 1, K]
    if scalar:
        db = db_qk.sum(-1, keepdim=True) + db_A
        dbeta = dbeta_k.sum(-1, keepdim=True)
    else:
        db, dbeta = db_qk + db_A, dbeta_k
    db[..., -1:, :] += dbeta
    dgc = db.flip(-2).cumsum(-2).flip(-2)  # dg_i = sum_{l >= i} db_l
    dgx = from_chunks(dgc, T)
    parts = (
        from_chunks(dq, T).to(q.dtype),
        from_chunks(dk, T).to(k.dtype),
        from_chunks(dv, T).to(v.dtype),
        (dgx[..., 0] if scalar else dgx).to(g.dtype),
    )
    return parts, cur


def _backward_group_autograd(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    h0: torch.Tensor | None,
    do: torch.Tensor,
    dht: torch.Tensor,
    scale: float,
    C: int,
    c: int,
    scalar: bool,
    span: float,
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """The group's gradients by autograd through its recomputed forward (groups with sub-chunk chunks)."""
    dt = compute_dtype(q.dtype)
    with torch.enable_grad():
        ql, kl, vl, gl = (x.detach().requires_grad_() for x in (q, k, v, g))
        h = (
            torch.zeros(q.shape[0], q.shape[2], q.shape[3], v.shape[-1], dtype=dt, device=q.device)
            if h0 is None
            else h0
        )
        h_leaf = h.detach().requires_grad_()
        o, hT = _forward_group(ql, kl, vl, gl, h_leaf, scale, C, c, scalar, span)
        assert o is not None  # no `out`: the group's output is returned
        grads = torch.autograd.grad((o, hT), [ql, kl, vl, gl, h_leaf], (do, dht))
    return tuple(grads[:4]), grads[4]
