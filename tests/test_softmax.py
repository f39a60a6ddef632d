"""Unit and property tests of attnmath.softmax (independent of the claims' own checks)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.softmax import attention_weights, hard_attention, nadaraya_watson, scores, softmax_attention
from tests._helpers import rand

F64 = torch.float64
EPS = torch.finfo(F64).eps


def test_matches_an_explicit_loop():
    q, k, v = rand(5, 3, seed=1), rand(7, 3, seed=2), rand(7, 2, seed=3)
    y = softmax_attention(q, k, v)
    for i in range(5):
        w = torch.tensor([math.exp(float(q[i] @ k[j]) / math.sqrt(3)) for j in range(7)], dtype=F64)
        expect = (w[:, None] * v).sum(0) / w.sum()
        assert torch.allclose(y[i], expect, atol=1e-14, rtol=0)  # float64, 7-term sums


def test_causal_mask_ignores_the_future():
    q, k, v = rand(6, 4, seed=4), rand(6, 4, seed=5), rand(6, 3, seed=6)
    y = softmax_attention(q, k, v, causal=True)
    v2 = v.clone()
    v2[4:] += 100.0  # change the future of positions 0..3
    y2 = softmax_attention(q, k, v2, causal=True)
    assert torch.equal(y[:4], y2[:4])
    assert not torch.allclose(y[4:], y2[4:])
    A = attention_weights(q, k, causal=True)
    assert torch.equal(A.triu(1), torch.zeros_like(A))
    assert torch.equal(y[0], v[0])  # the first position can only see itself


def test_scale_and_temperature_are_the_same_knob():
    q, k, v = rand(4, 5, seed=7), rand(9, 5, seed=8), rand(9, 2, seed=9)
    a = softmax_attention(q, k, v, scale=0.5, temperature=2.0)
    b = softmax_attention(q, k, v, scale=0.25)
    assert torch.allclose(a, b, atol=1e-15, rtol=0)
    assert torch.allclose(scores(q, k), q @ k.T / math.sqrt(5), atol=1e-15, rtol=0)


def test_hard_attention_picks_the_argmax_value():
    k = torch.eye(3, dtype=F64)
    v = torch.tensor([[1.0], [2.0], [3.0]], dtype=F64)
    q = torch.tensor([[0.0, 5.0, 1.0], [9.0, 0.0, 0.0]], dtype=F64)
    assert hard_attention(q, k, v).squeeze(-1).tolist() == [2.0, 1.0]


def test_batched_shapes():
    q, k, v = rand(2, 3, 5, 4, seed=10), rand(2, 3, 6, 4, seed=11), rand(2, 3, 6, 7, seed=12)
    assert softmax_attention(q, k, v).shape == (2, 3, 5, 7)
    assert attention_weights(q, k).shape == (2, 3, 5, 6)


@settings(max_examples=40, deadline=None)
@given(
    Lq=st.integers(1, 9),
    Lk=st.integers(1, 9),
    m=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    log_tau=st.floats(-3, 2),
)
def test_rows_are_probability_vectors(Lq, Lk, m, seed, log_tau):
    q, k = 3 * rand(Lq, m, seed=seed), 3 * rand(Lk, m, seed=seed + 1)
    A = attention_weights(q, k, temperature=10.0**log_tau)
    assert bool((A >= 0).all())
    assert torch.allclose(A.sum(-1), torch.ones(Lq, dtype=F64), atol=4 * Lk * EPS, rtol=0)  # Lk-term sum


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), m=st.integers(1, 5), h=st.floats(0.3, 3.0), seed=st.integers(0, 10_000))
def test_nadaraya_watson_equals_attention_for_equal_norm_keys(n, m, h, seed):
    k = rand(n, m, seed=seed)
    k = k / k.norm(dim=-1, keepdim=True)
    q, v = rand(3, m, seed=seed + 1), rand(n, 2, seed=seed + 2)
    assert torch.allclose(
        nadaraya_watson(q, k, v, bandwidth=h), softmax_attention(q, k, v, scale=1 / h**2), atol=1e-12, rtol=0
    )  # float64; cdist loses a few bits on |q - k|^2


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: softmax_attention([[1.0]], rand(2, 1), rand(2, 1)), TypeError, "q must be a torch.Tensor"),
        (lambda: softmax_attention(rand(3), rand(3), rand(3)), ValueError, "q must have"),
        (lambda: softmax_attention(rand(2, 3), rand(2, 4), rand(2, 1)), ValueError, "feature width"),
        (lambda: softmax_attention(rand(2, 3), rand(2, 3), rand(5, 1)), ValueError, "v must have one row per key"),
        (
            lambda: softmax_attention(torch.ones(2, 3, dtype=torch.int64), rand(2, 3), rand(2, 1)),
            TypeError,
            "q must have a real floating dtype",
        ),
        (lambda: softmax_attention(rand(2, 3).to(torch.complex128), rand(2, 3), rand(2, 1)), TypeError, "q must"),
        (
            lambda: softmax_attention(rand(2, 3), rand(2, 3) * math.nan, rand(2, 1)),
            ValueError,
            "k must contain only finite",
        ),
        (lambda: softmax_attention(rand(0, 3), rand(2, 3), rand(2, 1)), ValueError, "q must be non-empty"),
        (lambda: softmax_attention(rand(2, 3), rand(2, 3), rand(2, 1), temperature=0.0), ValueError, "temperature"),
        (lambda: softmax_attention(rand(2, 3), rand(2, 3), rand(2, 1), scale=-1.0), ValueError, "scale"),
        (lambda: softmax_attention(rand(2, 3), rand(3, 3), rand(3, 1), causal=True), ValueError, "causal"),
        (lambda: softmax_attention(rand(2, 3), rand(2, 3).float(), rand(2, 1)), TypeError, "dtype"),
        (lambda: softmax_attention(rand(1, 2, 3), rand(2, 2, 3), rand(2, 2, 1)), ValueError, "leading"),
        (lambda: nadaraya_watson(rand(2, 3), rand(4, 3), rand(4, 1), bandwidth=0), ValueError, "bandwidth"),
        (lambda: nadaraya_watson(rand(2, 3), rand(4, 2), rand(4, 1), bandwidth=1), ValueError, "same width"),
        (lambda: nadaraya_watson(rand(2, 3), rand(4, 3), rand(3, 1), bandwidth=1), ValueError, "y_data"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
