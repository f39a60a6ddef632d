r"""Device helpers shared by the Triton kernels (chunked linear attention and diagonal scan, flash): indices, masks, tiles, decays.

Layout ``[B, T, H, D]``, contiguous: element ``(b, t, h, :)`` of a tensor whose last dimension is
``D`` starts at ``((b*T + t)*H + h)*D``.  A chunk kernel runs one program per (value block, batch·head);
the program keeps the whole key width (``BK``) and ``BV`` value columns, walks the chunks of ``BT``
rows and holds the state :math:`S \in \mathbb R^{K\times V}` (its ``BK x BV`` block) in fp32.  Loads are
masked (rows ``t >= T`` and columns past ``K``/``V`` read 0), so ``T`` need not be a multiple of the chunk.

These are ``@triton.jit`` device functions wrapped by :func:`~attnmath.kernels._triton.lazy_jit` like
the kernels: a kernel that calls them by name builds them on its first launch (see
:mod:`attnmath.kernels._triton`); compiled, they are inlined.
"""

from __future__ import annotations

from ._triton import lazy_jit, tl


@lazy_jit
def head_block(T, H, DK, DV, BK: tl.constexpr, BV: tl.constexpr):
    """This program's (value block, batch·head): ``(i_v, row, rk, rv, mk, mv, s_off, s_mask)``.

    ``row``: offset of ``(b, t=0, h)`` in units of the last dimension; ``rk, rv``: key and value
    columns, ``mk, mv`` their masks; ``s_off, s_mask``: offsets and mask of the ``[BK, BV]`` state
    block in a ``[B, H, K, V]`` state.
    """
    i_v, i_bh = tl.program_id(0), tl.program_id(1)
    i_b, i_h = i_bh // H, i_bh % H
    rk = tl.arange(0, BK)
    rv = i_v * BV + tl.arange(0, BV)
    mk, mv = rk < DK, rv < DV
    row = (i_b * T * H + i_h).to(tl.int64)
    s_off = i_bh.to(tl.int64) * DK * DV + rk[:, None] * DV + rv[None, :]
    s_mask = mk[:, None] & mv[None, :]
    return i_v, row, rk, rv, mk, mv, s_off, s_mask


@lazy_jit
def chunk_rows(n, T, H, DK, DV, row, rk, rv, BT: tl.constexpr):
    """Rows of chunk ``n``: ``(t, mt, qk_off, v_off)``, the time steps, their mask ``t < T`` and the
    ``[BT, BK]`` / ``[BT, BV]`` offsets of the chunk's key-width and value-width tiles."""
    t = n * BT + tl.arange(0, BT)
    mt = t < T
    qk_off = row * DK + t[:, None].to(tl.int64) * H * DK + rk[None, :]
    v_off = row * DV + t[:, None].to(tl.int64) * H * DV + rv[None, :]
    return t, mt, qk_off, v_off


@lazy_jit
def causal_block(BT: tl.constexpr):
    """``[BT, BT]`` mask of the pairs ``j <= i`` inside a chunk."""
    rt = tl.arange(0, BT)
    return rt[:, None] >= rt[None, :]


@lazy_jit
def load_tile(ptr, off, mrow, mcol):
    """The tile at ``ptr + off`` in fp32; masked rows and columns read 0."""
    return tl.load(ptr + off, mask=mrow[:, None] & mcol[None, :], other=0.0).to(tl.float32)


@lazy_jit
def store_tile(ptr, off, x, mrow, mcol):
    """Store ``x`` at ``ptr + off`` in the pointer's dtype, masked rows and columns left untouched."""
    tl.store(ptr + off, x.to(ptr.dtype.element_ty), mask=mrow[:, None] & mcol[None, :])


@lazy_jit
def load_state(ptr, s_off, s_mask, BK: tl.constexpr, BV: tl.constexpr, USE: tl.constexpr):
    """The ``[BK, BV]`` state block in fp32: read from ``ptr`` when ``USE`` (an initial state or its
    upstream gradient was given), else zeros."""
    S = tl.zeros([BK, BV], dtype=tl.float32)
    if USE:
        S += tl.load(ptr + s_off, mask=s_mask, other=0.0).to(tl.float32)
    return S


@lazy_jit
def masked_scores(a, b, causal, PREC: tl.constexpr):
    r""":math:`(a\,b^\top)\odot M`: the ``[BT, BT]`` products of the rows, zero above the diagonal."""
    return tl.where(causal, tl.dot(a, tl.trans(b), input_precision=PREC), 0.0)


@lazy_jit
def chunk_decays(G, row, t, mt, qk_off, mk, causal, H, SCALAR_G: tl.constexpr):
    r"""The decays of one chunk from its log-decays ``g`` (scalar ``[B, T, H]`` or per key ``[B, T, H, K]``).

    With :math:`b = \mathrm{cumsum}(g)` from the chunk start and :math:`\beta = \sum g`, returns
    ``(D, e_b, e_tail, decay)``: the pairwise decays :math:`D = e^{b_i-b_j}` for ``j <= i`` (0 above the
    diagonal; ``[BT, BT]`` scalar, ``[BT, BT, BK]`` per key), :math:`e^{b}` and :math:`e^{\beta-b}`
    shaped to multiply a ``[BT, BK]`` tile, and :math:`e^{\beta}` shaped to multiply the ``[BK, BV]``
    state.  Every exponent is :math:`\le 0` (masked to :math:`-\infty` before ``exp``).
    """
    if SCALAR_G:
        g = tl.load(G + row + t.to(tl.int64) * H, mask=mt, other=0.0).to(tl.float32)
        b = tl.cumsum(g, 0)
        beta = tl.sum(g, 0)
        D = tl.exp(tl.where(causal, b[:, None] - b[None, :], float("-inf")))
        e_b = tl.exp(b)[:, None]
        e_tail = tl.exp(beta - b)[:, None]
        decay = tl.exp(beta)
    else:
        g = tl.load(G + qk_off, mask=mt[:, None] & mk[None, :], other=0.0).to(tl.float32)
        b = tl.cumsum(g, 0)
        beta = tl.sum(g, 0)
        D = tl.exp(tl.where(causal[:, :, None], b[:, None, :] - b[None, :, :], float("-inf")))
        e_b = tl.exp(b)
        e_tail = tl.exp(beta[None, :] - b)
        decay = tl.exp(beta)[:, None]
    return D, e_b, e_tail, decay


@lazy_jit
def decayed_scores(q, k, D, SCALAR_G: tl.constexpr, PREC: tl.constexpr):
    r""":math:`A_{ij} = \sum_c q_{ic}k_{jc}D_{ij(c)}`: the intra-chunk scores with the decays of :func:`chunk_decays`."""
    if SCALAR_G:
        A = tl.dot(q, tl.trans(k), input_precision=PREC) * D
    else:
        A = tl.sum(q[:, None, :] * k[None, :, :] * D, 2)
    return A


@lazy_jit
def decayed_rows(W, k, D, SCALAR_G: tl.constexpr, PREC: tl.constexpr):
    r""":math:`\sum_j W_{ij}\,k_{jc}D_{ij(c)}` (``[BT, BK]``): the intra-chunk part of ``dq`` (``W = dA``)."""
    if SCALAR_G:
        X = tl.dot(W * D, k, input_precision=PREC)
    else:
        X = tl.sum(W[:, :, None] * k[None, :, :] * D, 1)
    return X


@lazy_jit
def decayed_columns(W, q, D, SCALAR_G: tl.constexpr, PREC: tl.constexpr):
    r""":math:`\sum_i W_{ij}\,q_{ic}D_{ij(c)}` (``[BT, BK]``): the intra-chunk part of ``dk`` (``W = dA``)."""
    if SCALAR_G:
        X = tl.dot(tl.trans(W * D), q, input_precision=PREC)
    else:
        X = tl.sum(W[:, :, None] * q[:, None, :] * D, 0)
    return X
