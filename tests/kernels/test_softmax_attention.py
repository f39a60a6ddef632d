"""Softmax attention (``kernels/softmax_attention``): blockwise online softmax (PyTorch) and the Triton flash
forward against the materialised fp64 form; property tests (hypothesis, float64) and the GPU tier (``-m gpu``)."""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels.softmax_attention import (
    blockwise_softmax_attention,
    softmax_attention_reference,
    triton_flash_attention,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.softmax import softmax_attention as attnmath_softmax_attention

from ._helpers import (
    GPU_SHAPES,
    PROPERTY_ATOL,
    as_reference,
    assert_close,
    case_id,
    float64_inputs,
    gpu_params,
    make_inputs,
    needs_cuda,
    outputs_and_grads,
    pow2_sizes,
    property_shapes,
    softmax_gradient_scale,
    upstream,
)

SHAPES = [(1, 1, 1, 16, 16), (2, 64, 2, 16, 16), (1, 100, 2, 32, 16), (2, 130, 1, 16, 32)]
FORMS = {
    "torch": lambda q, k, v, causal: blockwise_softmax_attention(q, k, v, causal=causal, block_size=32)[0],
    "triton": lambda q, k, v, causal: triton_flash_attention(q, k, v, causal=causal, block_size=32),
}
CASES = [
    pytest.param(s, dt, causal, id=case_id(*s, dt, False, "causal" if causal else "full"))
    for s in SHAPES
    for dt in (torch.float32, torch.float16)
    for causal in (True, False)
]


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize(("shape", "dtype", "causal"), CASES)
def test_output_and_gradients_match_the_materialised_softmax(form, shape, dtype, causal):
    x = make_inputs(20, shape, dtype, h0=False)
    o = FORMS[form](x["q"], x["k"], x["v"], causal)
    do, _ = upstream(20, o, None)
    got = outputs_and_grads(o, None, x, do, None)
    r = as_reference(x)
    want = outputs_and_grads(
        softmax_attention_reference(r["q"], r["k"], r["v"], causal=causal, dtype=torch.float64), None, r, do, None
    )
    assert set(want) == {"o", "dq", "dk", "dv"}
    scales = softmax_gradient_scale(r, do, causal)  # dq, dk are cancellations (exactly 0 at T = 1)
    for name in want:
        assert_close(name, want[name], got[name], dtype, scale=scales.get(name, 0.0))


def test_reference_agrees_with_the_softmax_chapter():
    """Same object as attnmath.softmax.softmax_attention (layout [..., L, m]) with the causal mask."""
    x = {n: t.detach().double() for n, t in make_inputs(21, (2, 33, 3, 8, 5), torch.float32, h0=False).items()}
    ours = softmax_attention_reference(x["q"], x["k"], x["v"], causal=True, dtype=torch.float64)
    theirs = attnmath_softmax_attention(*(t.transpose(1, 2) for t in (x["q"], x["k"], x["v"])), causal=True).transpose(
        1, 2
    )
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-13)  # float64, same arithmetic up to reordering


def test_large_logits_do_not_overflow():
    """Logits of several hundred: exp(89) already overflows fp32; the running maximum keeps every exponent <= 0."""
    x = make_inputs(22, (1, 70, 1, 16, 16), torch.float32, h0=False)
    q = (x["q"] * 300).detach()
    o_t = triton_flash_attention(q, x["k"].detach(), x["v"].detach(), block_size=32)
    o_b, lse = blockwise_softmax_attention(q, x["k"].detach(), x["v"].detach(), block_size=32)
    ref = softmax_attention_reference(
        q.double(), x["k"].detach().double(), x["v"].detach().double(), dtype=torch.float64
    )
    assert torch.isfinite(lse).all() and float(lse.abs().max()) > 200
    assert_close("o (triton, logits ~1e2-1e3)", ref, o_t, torch.float32)
    assert_close("o (torch blockwise, logits ~1e2-1e3)", ref, o_b, torch.float32)


# ---- property test (hypothesis): for random shapes and block sizes, blockwise == materialised, in float64


@settings(max_examples=25, deadline=None)
@given(shape=property_shapes, C=pow2_sizes, seed=st.integers(0, 2**16), causal=st.booleans())
def test_online_softmax_equals_materialised_softmax(shape, C, seed, causal):
    q, k, v, _, _ = float64_inputs(seed, *shape)
    o, lse = blockwise_softmax_attention(q, k, v, causal=causal, block_size=C)
    torch.testing.assert_close(
        o, softmax_attention_reference(q, k, v, causal=causal, dtype=torch.float64), rtol=0, atol=PROPERTY_ATOL
    )
    logits = (q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2)) * q.shape[-1] ** -0.5
    if causal:
        T = q.shape[1]
        logits = logits.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    torch.testing.assert_close(lse, torch.logsumexp(logits, -1).transpose(1, 2), rtol=0, atol=PROPERTY_ATOL)


# ---- GPU tier


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize(("shape", "dtype", "_"), gpu_params(GPU_SHAPES, h0=False))
def test_flash_attention_large(shape, dtype, _):
    x = make_inputs(62, shape, dtype, h0=False, device="cuda")
    o = triton_flash_attention(x["q"], x["k"], x["v"])
    do, _unused = upstream(62, o, None)
    got = outputs_and_grads(o, None, x, do, None)
    r = as_reference(x)
    want = outputs_and_grads(
        softmax_attention_reference(r["q"], r["k"], r["v"], dtype=torch.float64), None, r, do, None
    )
    scales = softmax_gradient_scale(r, do, True)
    for name in want:
        assert_close(name, want[name], got[name], dtype, scale=scales.get(name, 0.0))
