"""Causal linear attention: chunked PyTorch and Triton (interpreter on CPU) forms against the fp64 recurrence.

Outputs, final states and every gradient (q, k, v, initial state) are compared by name; shapes
include T = 1, T not a multiple of the chunk (32) and a non-zero initial state.
"""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels import dispatch
from attnmath.kernels.linear_attention import (
    chunk_linear_attention,
    linear_attention_quadratic,
    linear_attention_recurrent,
    triton_chunk_linear_attention,
)

from ._helpers import as_reference, assert_close, grid, make_inputs, outputs_and_grads, upstream

SHAPES = [(1, 1, 1, 16, 16), (2, 64, 2, 16, 16), (1, 100, 2, 32, 16), (2, 130, 1, 16, 32)]
CHUNK = 32
FORMS = {"torch": chunk_linear_attention, "triton": triton_chunk_linear_attention}


def _reference(inputs, do, dS, **kw):
    r = as_reference(inputs)
    o, S = linear_attention_recurrent(r["q"], r["k"], r["v"], initial_state=r.get("h0"), dtype=torch.float64, **kw)
    return outputs_and_grads(o, S, r, do, dS)


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize(("shape", "dtype", "h0"), grid(SHAPES, [torch.float32, torch.float16]))
def test_outputs_states_and_gradients_match_the_recurrence(form, shape, dtype, h0):
    x = make_inputs(0, shape, dtype, h0=h0)
    o, S = FORMS[form](x["q"], x["k"], x["v"], initial_state=x.get("h0"), chunk_size=CHUNK)
    do, dS = upstream(0, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    want = _reference(x, do, dS)
    assert set(got) == set(want) == {"o", "ht", "dq", "dk", "dv"} | ({"dh0"} if h0 else set())
    for name in want:
        assert_close(name, want[name], got[name], dtype)


@pytest.mark.parametrize("backend", ["torch", "triton"])
@pytest.mark.parametrize(("shape", "dtype", "h0"), grid([(2, 70, 2, 16, 16)], [torch.float32, torch.float16]))
def test_normalized_attention_matches_the_recurrence(backend, shape, dtype, h0):
    """``normalize=True``: o_t = S_t^T q_t / q_t^T z_t with positive features; grads include z0."""
    x = make_inputs(1, shape, dtype, h0=False, positive=True)
    B, _T, H, K, V = shape
    if h0:
        gen = torch.Generator().manual_seed(7)
        x["h0"] = torch.rand(B, H, K, V, generator=gen).to(dtype).requires_grad_()
        x["z0"] = torch.rand(B, H, K, generator=gen).to(dtype).requires_grad_()
    init = (x["h0"], x["z0"]) if h0 else None
    o, (S, z) = dispatch.linear_attention(
        x["q"], x["k"], x["v"], normalize=True, initial_state=init, backend=backend, chunk_size=CHUNK
    )
    do, dS = upstream(1, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    r = as_reference(x)
    o_r, (S_r, z_r) = linear_attention_recurrent(
        r["q"], r["k"], r["v"], normalize=True, initial_state=(r["h0"], r["z0"]) if h0 else None, dtype=torch.float64
    )
    want = outputs_and_grads(o_r, S_r, r, do, dS)
    assert_close("z_T", z_r, z, dtype)
    for name in want:
        assert_close(name, want[name], got[name], dtype)


def test_recurrent_and_quadratic_references_agree():
    x = {n: t.detach().double() for n, t in make_inputs(2, (2, 45, 3, 8, 6), torch.float32, h0=True).items()}
    o_rec, _ = linear_attention_recurrent(x["q"], x["k"], x["v"], initial_state=x["h0"], dtype=torch.float64)
    o_quad = linear_attention_quadratic(x["q"], x["k"], x["v"], initial_state=x["h0"], dtype=torch.float64)
    torch.testing.assert_close(o_quad, o_rec, rtol=0, atol=1e-12)  # float64, sums of <= 45 terms of size O(10)


@pytest.mark.parametrize("C", [1, 2, 8, 64])
def test_every_chunk_size_gives_the_same_answer(C):
    """The chunk size is a speed knob only (fp64, chunk 1 is the recurrence itself)."""
    x = {n: t.detach().double() for n, t in make_inputs(3, (1, 37, 2, 4, 3), torch.float32, h0=True).items()}
    o, S = chunk_linear_attention(x["q"], x["k"], x["v"], initial_state=x["h0"], chunk_size=C)
    o_r, S_r = linear_attention_recurrent(x["q"], x["k"], x["v"], initial_state=x["h0"], dtype=torch.float64)
    torch.testing.assert_close(o, o_r, rtol=0, atol=1e-12)  # float64 reordering of <= 37 terms
    torch.testing.assert_close(S, S_r, rtol=0, atol=1e-12)


def test_long_sequences_stream_over_groups_of_chunks():
    """T = 1100 spans three groups of 512 steps: forward and backward carry the state across groups (fp64)."""
    x = {
        n: t.detach().double().requires_grad_()
        for n, t in make_inputs(4, (1, 1100, 1, 8, 4), torch.float32, h0=True).items()
    }
    o, S = chunk_linear_attention(x["q"], x["k"], x["v"], initial_state=x["h0"], chunk_size=16)
    do, dS = upstream(4, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    want = _reference(x, do, dS)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-10, atol=1e-9, msg=name)  # float64, 1100-term sums
