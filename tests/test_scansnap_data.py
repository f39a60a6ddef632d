"""Unit tests of attnmath.scansnap.data: the sequence-class model, the sampler, Lemma 2's c_n."""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.scansnap import (
    distinct_attention,
    entropy_distinct,
    hoeffding_radius,
    population_attention,
    sample_batch,
    sequence_classes,
    syn_medium,
    syn_small,
)

F64 = torch.float64


def test_official_layout_sizes_and_probabilities():
    small = syn_small()
    assert (small.M, small.K) == (34, 2)  # dossier discrepancy 4: 10 + 20 + 2 queries + 2 next tokens
    assert syn_medium(1, 2).M == 33 and syn_medium(10, 2).M == 240
    expected = [1.0] * 10 + [0.1 * k for k in range(1, 11)]
    row = small.probs[0][small.probs[0] > 0]
    assert torch.allclose(row, torch.tensor(expected, dtype=F64) / 15.5, atol=1e-15, rtol=0)
    assert small.query.tolist() == [30, 31] and small.next_token.tolist() == [32, 33]
    medium = syn_medium(3, 2)
    assert medium.query.tolist() == [70, 70, 71, 71, 72, 72]  # psi: two next tokens per query
    assert medium.next_token.tolist() == list(range(73, 79))


def test_distinct_and_common_tokens():
    small = syn_small()
    assert torch.nonzero(small.common).flatten().tolist() == list(range(10))
    assert torch.nonzero(small.distinct[0]).flatten().tolist() == list(range(10, 20))
    assert torch.nonzero(small.distinct[1]).flatten().tolist() == list(range(20, 30))
    assert not bool((small.distinct & small.common[None]).any())


def test_bad_probabilities_are_rejected():
    q, n = [2, 2], [3, 4]
    with pytest.raises(ValueError, match="probs"):
        sequence_classes(torch.tensor([[0.5, 0.6, 0, 0, 0], [0.5, 0.5, 0, 0, 0]], dtype=F64), q, n)
    with pytest.raises(ValueError, match="probs"):
        sequence_classes(torch.tensor([[1.5, -0.5, 0, 0, 0], [0.5, 0.5, 0, 0, 0]], dtype=F64), q, n)
    with pytest.raises(ValueError, match="probs"):
        sequence_classes(torch.tensor([0.5, 0.5], dtype=F64), q, n)


def test_query_must_be_a_function_of_the_next_token():
    p = torch.tensor([[0.5, 0.5, 0, 0, 0, 0], [0.5, 0.0, 0.5, 0, 0, 0]], dtype=F64)
    with pytest.raises(ValueError, match=r"query.*function of the next token"):
        sequence_classes(p, [3, 4], [5, 5])
    with pytest.raises(ValueError, match="next_token"):
        sequence_classes(p, [3, 3], [5, 5])
    with pytest.raises(ValueError, match="query"):
        sequence_classes(p, [3], [4, 5])
    with pytest.raises(ValueError, match="next_token"):
        sequence_classes(p, [3, 3], [4, 9])
    ok = sequence_classes(p, [3, 3], [4, 5])  # one query, two next tokens: the non-trivial case
    assert ok.queries.tolist() == [3]


def test_sampler_shapes_support_and_frequencies():
    data = syn_medium(1, 2)
    g = torch.Generator().manual_seed(0)
    b = sample_batch(data, 2000, 64, g)
    assert b.x.shape == (2000, 63) and b.x.dtype == torch.long
    assert bool((data.probs[b.cls[:, None], b.x] > 0).all())  # every token is in its class's support
    assert torch.equal(b.query, data.query[b.cls]) and torch.equal(b.next_token, data.next_token[b.cls])
    frac = float((b.cls == 0).double().mean())
    assert abs(frac - 0.5) < 4 * math.sqrt(0.25 / 2000)  # uniform classes, 4 sigma
    counts = torch.zeros(data.M, dtype=F64).index_add(
        0, b.x[b.cls == 0].flatten(), torch.ones(b.x[b.cls == 0].numel(), dtype=F64)
    )
    freq = counts / counts.sum()
    sigma = torch.sqrt(data.probs[0] * (1 - data.probs[0]) / counts.sum())
    assert bool(((freq - data.probs[0]).abs() <= 4 * sigma + 1e-12).all())  # 4 sigma per token


def test_sampler_is_reproducible_and_validates():
    data = syn_small()
    a = sample_batch(data, 8, 16, torch.Generator().manual_seed(5))
    b = sample_batch(data, 8, 16, torch.Generator().manual_seed(5))
    assert torch.equal(a.x, b.x) and torch.equal(a.cls, b.cls)
    with pytest.raises(ValueError, match="T"):
        sample_batch(data, 8, 1, torch.Generator())
    with pytest.raises(TypeError, match="generator"):
        sample_batch(data, 8, 16, 0)


def test_population_attention_by_hand():
    data = syn_small()
    Z = torch.randn(34, 34, generator=torch.Generator().manual_seed(1), dtype=F64)
    c = population_attention(Z, data)
    for n in range(2):
        w = [float(data.probs[n, l]) * math.exp(float(Z[data.query[n], l])) for l in range(34)]
        assert torch.allclose(c[n], torch.tensor(w, dtype=F64) / sum(w), atol=1e-15, rtol=0)
    assert bool((c[data.probs == 0] == 0).all())


def test_entropy_at_zero_init_is_the_documented_2151():
    Z = torch.zeros(33, 33, dtype=F64)
    p = [k / 55 for k in range(1, 11)]  # linspace(0.1, 1, 10) normalised
    expected = -sum(x * math.log(x) for x in p)
    assert abs(expected - 2.151) < 5e-4
    assert torch.allclose(entropy_distinct(Z, syn_medium(1, 2)), torch.full((2,), expected, dtype=F64), atol=1e-14)
    d = distinct_attention(population_attention(torch.zeros(34, 34, dtype=F64), syn_small()), syn_small())
    assert d.shape == (2, 10) and torch.allclose(d.sum(1), torch.ones(2, dtype=F64), atol=1e-15)


def test_hoeffding_radius():
    assert hoeffding_radius(127, 0.05) == pytest.approx(math.sqrt(math.log(40) / 254), rel=1e-15)
    with pytest.raises(ValueError, match="delta"):
        hoeffding_radius(10, 1.5)
