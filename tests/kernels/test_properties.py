"""Property tests (hypothesis): for random shapes, chunk sizes and gates, chunked == recurrent == masked, in float64."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_quadratic, diag_scan_recurrent
from attnmath.kernels.linear_attention import (
    chunk_linear_attention,
    linear_attention_quadratic,
    linear_attention_recurrent,
)
from attnmath.kernels.softmax_attention import blockwise_softmax_attention, softmax_attention_reference
from hypothesis import given, settings
from hypothesis import strategies as st

F64 = torch.float64
ATOL = 1e-10  # float64: eps 2.2e-16 x (T <= 40 terms of size <= ~1e2 and their reordering) with a wide margin

shapes = st.tuples(
    st.integers(1, 2), st.integers(1, 40), st.integers(1, 3), st.integers(1, 9), st.integers(1, 7)
)  # B, T, H, K, V
pow2 = st.sampled_from([1, 2, 4, 8, 16, 32, 64])


def _inputs(seed, B, T, H, K, V, gate=None):
    g = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(B, T, H, K, generator=g, dtype=F64) for _ in range(2))
    v = torch.randn(B, T, H, V, generator=g, dtype=F64)
    h0 = torch.randn(B, H, K, V, generator=g, dtype=F64)
    gshape = {None: None, "scalar": (B, T, H), "key": (B, T, H, K)}[gate]
    lg = None if gshape is None else F.logsigmoid(3 * torch.randn(*gshape, generator=g, dtype=F64))
    return q, k, v, h0, lg


@settings(max_examples=25, deadline=None)
@given(shape=shapes, C=pow2, seed=st.integers(0, 2**16), use_h0=st.booleans())
def test_linear_attention_chunked_equals_recurrent_and_masked(shape, C, seed, use_h0):
    q, k, v, h0, _ = _inputs(seed, *shape)
    h0 = h0 if use_h0 else None
    o, S = chunk_linear_attention(q, k, v, initial_state=h0, chunk_size=C)
    o_r, S_r = linear_attention_recurrent(q, k, v, initial_state=h0, dtype=F64)
    torch.testing.assert_close(o, o_r, rtol=0, atol=ATOL)
    torch.testing.assert_close(S, S_r, rtol=0, atol=ATOL)
    torch.testing.assert_close(linear_attention_quadratic(q, k, v, initial_state=h0, dtype=F64), o_r, rtol=0, atol=ATOL)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, C=pow2, c=pow2, seed=st.integers(0, 2**16), gate=st.sampled_from(["scalar", "key"]))
def test_diag_scan_chunked_equals_recurrent_and_masked(shape, C, c, seed, gate):
    q, k, v, h0, lg = _inputs(seed, *shape, gate=gate)
    o, S = chunk_diag_scan(q, k, v, lg, initial_state=h0, chunk_size=C, sub_chunk=c)
    o_r, S_r = diag_scan_recurrent(q, k, v, lg, initial_state=h0, dtype=F64)
    torch.testing.assert_close(o, o_r, rtol=0, atol=ATOL)
    torch.testing.assert_close(S, S_r, rtol=0, atol=ATOL)
    torch.testing.assert_close(diag_scan_quadratic(q, k, v, lg, initial_state=h0, dtype=F64), o_r, rtol=0, atol=ATOL)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, C=pow2, seed=st.integers(0, 2**16), causal=st.booleans())
def test_online_softmax_equals_materialised_softmax(shape, C, seed, causal):
    q, k, v, _, _ = _inputs(seed, *shape)
    o, lse = blockwise_softmax_attention(q, k, v, causal=causal, block_size=C)
    torch.testing.assert_close(o, softmax_attention_reference(q, k, v, causal=causal, dtype=F64), rtol=0, atol=ATOL)
    logits = (q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2)) * q.shape[-1] ** -0.5
    if causal:
        T = q.shape[1]
        logits = logits.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    torch.testing.assert_close(lse, torch.logsumexp(logits, -1).transpose(1, 2), rtol=0, atol=ATOL)
