"""Unit, property and mutation-killing tests of attnmath.softmax.attention (independent of the claims' own checks).

Batched tests compare against the 2-D definition applied slice by slice, so an axis taken from the wrong
end (``shape[1]`` for ``shape[-1]``, ``dim=1`` for ``dim=-1``) fails as soon as leading dims exist. Error
tests anchor the argument name at the start of the message: a message names the argument, what was
expected and what was given.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.softmax import attention_weights, hard_attention, nadaraya_watson, scores, softmax_attention
from tests._helpers import rand

F64 = torch.float64
EPS = torch.finfo(F64).eps


# The definition: scores, scale, temperature, rows of A


def test_matches_an_explicit_loop():
    q, k, v = rand(5, 3, seed=1), rand(7, 3, seed=2), rand(7, 2, seed=3)
    y = softmax_attention(q, k, v)
    for i in range(5):
        w = torch.tensor([math.exp(float(q[i] @ k[j]) / math.sqrt(3)) for j in range(7)], dtype=F64)
        expect = (w[:, None] * v).sum(0) / w.sum()
        assert torch.allclose(y[i], expect, atol=1e-14, rtol=0)  # float64, 7-term sums


def test_scale_and_temperature_are_the_same_knob():
    q, k, v = rand(4, 5, seed=7), rand(9, 5, seed=8), rand(9, 2, seed=9)
    a = softmax_attention(q, k, v, scale=0.5, temperature=2.0)
    b = softmax_attention(q, k, v, scale=0.25)
    assert torch.allclose(a, b, atol=1e-15, rtol=0)
    assert torch.allclose(scores(q, k), q @ k.T / math.sqrt(5), atol=1e-15, rtol=0)


def test_default_scale_is_one_over_sqrt_of_the_feature_width_in_batches():
    # [B=2, L=7, m=3]: shape[1] = 7 is the length, shape[-1] = 3 the width m of eq-softmax-attn
    q, k = rand(2, 7, 3, seed=1), rand(2, 5, 3, seed=2)
    expect = q @ k.transpose(-1, -2) / math.sqrt(3)
    assert torch.allclose(scores(q, k), expect, atol=1e-15, rtol=0)  # one rounding of a 3-term dot
    assert torch.equal(scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5)


def test_default_temperature_is_one():
    q, k = rand(4, 3, seed=3), rand(6, 3, seed=4)
    assert torch.equal(attention_weights(q, k), attention_weights(q, k, temperature=1.0))
    assert not torch.allclose(attention_weights(q, k), attention_weights(q, k, temperature=2.0))


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


# The causal mask and batched (leading) dimensions


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


def test_batched_shapes():
    q, k, v = rand(2, 3, 5, 4, seed=10), rand(2, 3, 6, 4, seed=11), rand(2, 3, 6, 7, seed=12)
    assert softmax_attention(q, k, v).shape == (2, 3, 5, 7)
    assert attention_weights(q, k).shape == (2, 3, 5, 6)


def test_batched_rows_are_softmax_over_keys_and_causal_masks_each_batch():
    # Lq = Lk = 4 keys, B = 3 batches, H = 2 heads: rows normalise over the last axis only
    q, k, v = rand(3, 2, 4, 5, seed=5), rand(3, 2, 4, 5, seed=6), rand(3, 2, 4, 2, seed=7)
    A = attention_weights(q, k, causal=True)
    assert torch.allclose(A.sum(-1), torch.ones(3, 2, 4, dtype=F64), atol=1e-15, rtol=0)  # 4-term sums
    assert torch.equal(A.triu(1), torch.zeros_like(A))
    flat = attention_weights(q.reshape(6, 4, 5)[4], k.reshape(6, 4, 5)[4], causal=True)
    assert torch.allclose(A.reshape(6, 4, 4)[4], flat, atol=1e-15, rtol=0)  # batched vs 2-D matmul rounding
    y = softmax_attention(q, k, v, causal=True)
    assert torch.allclose(y, A @ v, atol=0, rtol=0)
    assert torch.equal(y[..., 0, :], v[..., 0, :])  # position 0 sees only itself


# Hard attention: the zero-temperature limit


def test_hard_attention_picks_the_argmax_value():
    k = torch.eye(3, dtype=F64)
    v = torch.tensor([[1.0], [2.0], [3.0]], dtype=F64)
    q = torch.tensor([[0.0, 5.0, 1.0], [9.0, 0.0, 0.0]], dtype=F64)
    assert hard_attention(q, k, v).squeeze(-1).tolist() == [2.0, 1.0]


def test_hard_attention_batched_equals_per_slice_argmax():
    q, k, v = rand(3, 4, 2, seed=8), rand(3, 6, 2, seed=9), rand(3, 6, 5, seed=10)
    y = hard_attention(q, k, v)
    assert y.shape == (3, 4, 5)
    for b in range(3):
        j = (q[b] @ k[b].T).argmax(-1)
        assert torch.equal(y[b], v[b][j])


def test_hard_attention_is_the_zero_temperature_limit():
    q, k, v = rand(5, 3, seed=11), rand(8, 3, seed=12), rand(8, 2, seed=13)
    # tau = 1e-4: the logit gaps here are > 1e-2, so exp(-gap/tau) underflows below float64 eps
    soft = softmax_attention(q, k, v, temperature=1e-4)
    assert torch.allclose(soft, hard_attention(q, k, v), atol=1e-12, rtol=0)


# Nadaraya–Watson regression


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), m=st.integers(1, 5), h=st.floats(0.3, 3.0), seed=st.integers(0, 10_000))
def test_nadaraya_watson_equals_attention_for_equal_norm_keys(n, m, h, seed):
    k = rand(n, m, seed=seed)
    k = k / k.norm(dim=-1, keepdim=True)
    q, v = rand(3, m, seed=seed + 1), rand(n, 2, seed=seed + 2)
    assert torch.allclose(
        nadaraya_watson(q, k, v, bandwidth=h), softmax_attention(q, k, v, scale=1 / h**2), atol=1e-12, rtol=0
    )  # float64; cdist loses a few bits on |q - k|^2


def test_nadaraya_watson_weights_normalise_over_data_points():
    xq, xd, yd = rand(3, 2, seed=14), rand(5, 2, seed=15), rand(5, 4, seed=16)
    h = 0.7
    out = nadaraya_watson(xq, xd, yd, bandwidth=h)
    K = torch.exp(-((xq[:, None, :] - xd[None, :, :]) ** 2).sum(-1) / (2 * h * h))  # [Lq, N]
    expect = (K / K.sum(-1, keepdim=True)) @ yd
    assert torch.allclose(out, expect, atol=1e-13, rtol=0)  # cdist vs explicit |r|^2, float64
    # constant targets are reproduced exactly up to rounding (weights sum to one over data)
    ones = nadaraya_watson(xq, xd, torch.ones(5, 1, dtype=F64), bandwidth=h)
    assert torch.allclose(ones, torch.ones(3, 1, dtype=F64), atol=1e-15, rtol=0)


# Bad inputs and devices


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


def _check_raises(exc, pattern, fn, *args, **kwargs):
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert re.match(pattern, str(info.value)), str(info.value)


def test_bad_inputs_name_the_argument_first():
    q2, k2, v2 = rand(3, 4), rand(5, 4), rand(5, 2)
    _check_raises(
        ValueError,
        r"^q must have 2 or 3 or 4 or 5 dimensions, got shape \[2, 2, 2, 2, 2, 2\]$",
        scores,
        torch.zeros(2, 2, 2, 2, 2, 2, dtype=F64),
        torch.zeros(2, 2, 2, 2, 2, 2, dtype=F64),
    )
    _check_raises(
        ValueError,
        r"^q and k must have as many dimensions \(\[\.\.\., L, m\] each\): q has shape \[3, 4\], k has shape \[1, 5, 4\]$",
        scores,
        q2,
        rand(1, 5, 4),
    )
    _check_raises(
        TypeError,
        r"^q has dtype torch\.float64 but k has dtype torch\.float32; they must match$",
        scores,
        q2,
        k2.float(),
    )
    _check_raises(ValueError, r"^q and k must share the feature width", scores, q2, rand(5, 3))
    _check_raises(ValueError, r"^scale must be > 0, got -1\.0$", scores, q2, k2, scale=-1.0)
    _check_raises(ValueError, r"^temperature must be > 0, got 0\.0$", attention_weights, q2, k2, temperature=0.0)
    _check_raises(
        ValueError,
        r"^causal attention needs as many queries as keys, got Lq=3, Lk=5$",
        attention_weights,
        q2,
        k2,
        causal=True,
    )
    _check_raises(
        ValueError,
        r"^k and v must have as many dimensions .*v has shape \[1, 5, 2\]$",
        softmax_attention,
        q2,
        k2,
        rand(1, 5, 2),
    )
    _check_raises(TypeError, r"^v must be a torch\.Tensor, got list$", softmax_attention, q2, k2, [[1.0]])
    _check_raises(TypeError, r"^k must be a torch\.Tensor, got list$", softmax_attention, q2, [[1.0] * 4], v2)
    _check_raises(
        TypeError,
        r"^k has dtype torch\.float64 but v has dtype torch\.float32; they must match$",
        softmax_attention,
        q2,
        k2,
        v2.float(),
    )
    _check_raises(
        ValueError, r"^v must have 2 or 3 or 4 or 5 dimensions, got shape \[5\]$", hard_attention, q2, k2, rand(5)
    )
    _check_raises(TypeError, r"^v must be a torch\.Tensor, got list$", hard_attention, q2, k2, [[1.0]])
    _check_raises(
        ValueError, r"^v must have one row per key: k is \[5, 4\], v is \[4, 2\]$", hard_attention, q2, k2, rand(4, 2)
    )
    _check_raises(
        ValueError,
        r"^v must have one row per key: k is \[2, 5, 4\], v is \[3, 5, 2\]$",
        hard_attention,
        rand(2, 3, 4),
        rand(2, 5, 4),
        rand(3, 5, 2),
    )
    for name, args in (
        ("x_query", (rand(3), rand(5, 3), rand(5, 1))),
        ("x_data", (rand(2, 3), rand(5, 3, 1), rand(5, 1))),
        ("y_data", (rand(2, 3), rand(5, 3), rand(5))),
    ):
        _check_raises(ValueError, rf"^{name} must have 2 dimensions", nadaraya_watson, *args, bandwidth=1.0)
    _check_raises(ValueError, r"^bandwidth must be > 0, got 0\.0$", nadaraya_watson, q2, k2, v2, bandwidth=0.0)


def test_devices_are_named_and_the_causal_mask_follows_the_scores():
    """Device handling on the ``meta`` device (shapes only, no values; this machine has no second device)."""
    cpu = rand(3, 4)
    meta = torch.empty(3, 4, dtype=torch.float64, device="meta")
    with pytest.raises(ValueError, match=r"^q is on cpu but k is on meta; put them on one device$"):
        attention_weights(cpu, meta)
    with pytest.raises(ValueError, match=r"^q is on meta but k is on cpu; put them on one device$"):
        attention_weights(meta, cpu)
    # the causal mask is built on the scores' device, not the default one
    out = attention_weights(meta, meta, causal=True)
    assert out.device.type == "meta" and out.shape == (3, 3)
    with torch.device("meta"):
        out = attention_weights(cpu, cpu, causal=True)
    assert out.device.type == "cpu"
    assert torch.equal(out.triu(1), torch.zeros(3, 3, dtype=torch.float64))  # j > i carries no weight
