"""Causal linear attention (``kernels/linear_attention``): chunked PyTorch and Triton (interpreter on CPU) forms
against the fp64 recurrence.

Outputs, final states and every gradient (q, k, v, initial state) are compared by name; shapes
include T = 1, T not a multiple of the chunk (32) and a non-zero initial state.  Also: property tests
(hypothesis, float64), planted bugs that the same comparisons must catch, NaN-poisoned allocations,
and the GPU tier (``-m gpu``).
"""

from __future__ import annotations

import attnmath.kernels.linear_attention.chunk as la_chunk
import pytest
import torch
from attnmath.kernels import dispatch
from attnmath.kernels.linear_attention import (
    chunk_linear_attention,
    linear_attention_quadratic,
    linear_attention_recurrent,
    triton_chunk_linear_attention,
)
from attnmath.kernels.linear_attention.triton_chunk import _la_fwd_kernel
from hypothesis import given, settings
from hypothesis import strategies as st

from ._helpers import (
    GPU_SHAPES,
    PROPERTY_ATOL,
    as_reference,
    assert_close,
    chunk_by_chunk,
    float64_inputs,
    gpu_params,
    grid,
    make_inputs,
    needs_cuda,
    outputs_and_grads,
    pow2_sizes,
    property_shapes,
    upstream,
)

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


# ---- property tests (hypothesis): for random shapes and chunk sizes, chunked == recurrent == masked, in float64


@settings(max_examples=25, deadline=None)
@given(shape=property_shapes, C=pow2_sizes, seed=st.integers(0, 2**16), use_h0=st.booleans())
def test_linear_attention_chunked_equals_recurrent_and_masked(shape, C, seed, use_h0):
    q, k, v, h0, _ = float64_inputs(seed, *shape)
    h0 = h0 if use_h0 else None
    o, S = chunk_linear_attention(q, k, v, initial_state=h0, chunk_size=C)
    o_r, S_r = linear_attention_recurrent(q, k, v, initial_state=h0, dtype=torch.float64)
    torch.testing.assert_close(o, o_r, rtol=0, atol=PROPERTY_ATOL)
    torch.testing.assert_close(S, S_r, rtol=0, atol=PROPERTY_ATOL)
    torch.testing.assert_close(
        linear_attention_quadratic(q, k, v, initial_state=h0, dtype=torch.float64), o_r, rtol=0, atol=PROPERTY_ATOL
    )


# ---- planted bugs: a missing chunk-boundary term (each chunk starts from the initial state instead of the
# state the previous chunks left) must fail the comparisons the real forms pass.  In the PyTorch form the bug
# is planted by replacing one helper; in the Triton kernel (whose source cannot be patched from a test) by
# feeding the kernel exactly the inputs that make it compute the buggy recurrence.

BUG_SHAPE = (1, 100, 2, 16, 16)  # T = 100: three full chunks of 32 and a partial one
BUG_CHUNK = 32


def test_missing_chunk_boundary_term_is_caught_in_the_pytorch_form(monkeypatch):
    x = {n: t.detach() for n, t in make_inputs(42, BUG_SHAPE, torch.float32, h0=True).items()}
    o_ref, _ = linear_attention_recurrent(
        *(x[n].double() for n in "qkv"), initial_state=x["h0"].double(), dtype=torch.float64
    )
    assert_close(
        "o (correct)",
        o_ref,
        chunk_linear_attention(*(x[n] for n in "qkv"), initial_state=x["h0"], chunk_size=BUG_CHUNK)[0],
        torch.float32,
    )

    def no_carry(kv, h0):  # every chunk enters with h0 only
        states = h0[:, :, None].expand_as(kv).clone()
        return states, h0 + kv.sum(2)

    monkeypatch.setattr(la_chunk, "_state_passing", no_carry)
    o_bug, _ = chunk_linear_attention(*(x[n] for n in "qkv"), initial_state=x["h0"], chunk_size=BUG_CHUNK)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (linear attention, no chunk carry)", o_ref, o_bug, torch.float32)


def test_missing_chunk_boundary_term_is_caught_in_the_triton_kernel():
    x = {n: t.detach() for n, t in make_inputs(43, BUG_SHAPE, torch.float32, h0=True).items()}
    o_ref, _ = linear_attention_recurrent(
        *(x[n].double() for n in "qkv"), initial_state=x["h0"].double(), dtype=torch.float64
    )
    assert_close(
        "o (correct)",
        o_ref,
        triton_chunk_linear_attention(*(x[n] for n in "qkv"), initial_state=x["h0"], chunk_size=BUG_CHUNK)[0],
        torch.float32,
    )
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close(
            "o (linear attention, no chunk carry)",
            o_ref,
            chunk_by_chunk(triton_chunk_linear_attention, x, "qkv", chunk=BUG_CHUNK),
            torch.float32,
        )


# ---- NaN-poisoned allocations (tests/kernels/conftest.py): an output the kernel never writes is caught


def test_allocations_are_nan_poisoned():
    assert torch.isnan(torch.empty(3, 4)).all()
    assert torch.isnan(torch.empty_like(torch.zeros(5))).all()
    assert torch.isnan(torch.zeros(2).new_empty(6)).all()


def test_an_output_the_kernel_never_writes_is_caught():
    """Launch the forward kernel on one head too few: that head's output keeps its NaN poison."""
    x = {n: t.detach() for n, t in make_inputs(44, (1, 40, 2, 16, 16), torch.float32, h0=False).items()}
    o_ref, _ = linear_attention_recurrent(*(x[n].double() for n in "qkv"), dtype=torch.float64)
    o = torch.empty_like(x["v"])
    ht = torch.empty(1, 2, 16, 16)
    _la_fwd_kernel[(1, 1)](
        x["q"], x["k"], x["v"], o, ht, ht, 40, 2, 16, 16, 16**-0.5, BT=32, BK=16, BV=16, USE_H0=False, PREC="ieee"
    )
    assert torch.isnan(o[:, :, 1]).all() and not torch.isnan(o[:, :, 0]).any()
    with pytest.raises(AssertionError, match="NaN"):
        assert_close("o (one head never written)", o_ref, o, torch.float32)


# ---- GPU tier


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize(("shape", "dtype", "_"), gpu_params(GPU_SHAPES))
def test_linear_attention_large(shape, dtype, _):
    x = make_inputs(60, shape, dtype, h0=True, device="cuda")
    o, S = triton_chunk_linear_attention(x["q"], x["k"], x["v"], initial_state=x["h0"])
    do, dS = upstream(60, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    r = as_reference(x)
    o_r, S_r = linear_attention_recurrent(r["q"], r["k"], r["v"], initial_state=r["h0"], dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, r, do, dS)
    for name in want:
        assert_close(name, want[name], got[name], dtype)
