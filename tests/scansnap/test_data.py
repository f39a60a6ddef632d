"""attnmath.scansnap.data: the sequence-class model, the sampler, Lemma 2's c_n and the distinct-token entropy.

Also every documented error (naming ``probs``, ``query``, ``next_token``, ``data`` or the argument) at
its boundary, the dtypes the docstrings promise, and the single-class and one-distinct-token edge cases.
"""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.scansnap import data as D
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
from tests._helpers import msg

F64 = torch.float64


PROBS = [[0.5, 0.5, 0.0, 0.0, 0.0], [0.0, 0.5, 0.25, 0.25, 0.0]]  # K = 2 classes, M = 5 tokens


def test_official_layout_sizes_and_probabilities():
    small = syn_small()
    assert (small.M, small.K) == (34, 2)  # 10 + 20 contextual (the paper's "M = 30") + 2 queries + 2 next tokens
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


def test_sequence_classes_accepts_lists_and_returns_float64_and_long():
    sc = D.sequence_classes(PROBS, [4, 4], [2, 3])
    assert sc.probs.dtype == F64 and sc.query.dtype == sc.next_token.dtype == torch.long
    assert (sc.K, sc.M) == (2, 5) and sc.queries.tolist() == [4]
    assert sc.distinct.tolist() == [[True, False, False, False, False], [False, False, True, True, False]]
    assert sc.common.tolist() == [False, True, False, False, False]
    sc32 = D.sequence_classes(torch.tensor(PROBS, dtype=torch.float32), torch.tensor([4, 0], dtype=torch.int32), [2, 3])
    assert sc32.probs.dtype == F64 and sc32.query.dtype == torch.long
    assert D.sequence_classes(PROBS, [0, 4], [0, 4]).query.tolist() == [0, 4]  # ids 0 and M - 1 are valid


def test_sequence_classes_probability_rows():
    bad = [[0.5, 0.5, 0, 0, 0], [0.5, 0.4, 0, 0, 0]]
    assert msg(ValueError, D.sequence_classes, bad, [4, 4], [2, 3]) == (
        "probs: every row must be a probability vector P(l | n); probs[1] must sum to 1, got sum 0.9"
    )
    off = [[0.5, 0.5, 0, 0, 0], [0.5, 0.5 + 1e-9, 0, 0, 0]]
    assert msg(ValueError, D.sequence_classes, off, [4, 4], [2, 3]).startswith("probs: every row")  # atol 1e-10
    assert D.sequence_classes(off, [4, 4], [2, 3], atol=1e-8).K == 2
    assert msg(ValueError, D.sequence_classes, [0.5, 0.5], [1], [0]) == "probs must have 2 dimensions, got shape [2]"


def test_token_id_errors():
    assert msg(TypeError, D.sequence_classes, PROBS, [4.0, 4.0], [2, 3]) == (
        "query must hold integer token ids, got dtype float64"
    )
    assert msg(TypeError, D.sequence_classes, PROBS, [True, False], [2, 3]).startswith("query must hold integer")
    assert msg(ValueError, D.sequence_classes, PROBS, [[4, 4]], [2, 3]) == (
        "query must be 2 integer token ids (one per class), got [1, 2] torch.int64"
    )
    assert msg(ValueError, D.sequence_classes, PROBS, [4, 4], [2, 3, 1]).startswith("next_token must be 2 integer")
    assert msg(ValueError, D.sequence_classes, PROBS, [4, 5], [2, 3]) == (
        "query must hold token ids in [0, 5), got min 4, max 5"
    )
    assert msg(ValueError, D.sequence_classes, PROBS, [4, 4], [-1, 3]) == (
        "next_token must hold token ids in [0, 5), got min -1, max 3"
    )


def test_query_map_and_duplicate_classes():
    assert msg(ValueError, D.sequence_classes, PROBS, [4, 3], [2, 2]) == (
        "query: the query map psi must be a function of the next token, but next token 2 is listed with queries 4 and 3"
    )
    assert msg(ValueError, D.sequence_classes, PROBS, [4, 4], [2, 2]) == (
        "next_token: class (query 4, next 2) is listed twice; classes must be distinct"
    )


def test_syn_medium_layout_and_validation():
    sc = D.syn_medium(1, 2, num_common=0, num_unique_per_next=1, common_weight=0.0, unique_min=0.5, unique_max=0.5)
    # M = 0 common + 1 x 2 distinct + 1 query + 2 next tokens
    assert (sc.K, sc.M) == (2, 5)
    assert sc.probs.tolist() == [[1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0]]
    assert sc.query.tolist() == [2, 2] and sc.next_token.tolist() == [3, 4]
    sc = D.syn_medium(2, 1, num_common=1, num_unique_per_next=2, common_weight=2.0, unique_min=1.0, unique_max=3.0)
    assert sc.probs[0].tolist() == [2 / 6, 1 / 6, 3 / 6, 0, 0, 0, 0, 0, 0]
    assert sc.query.tolist() == [5, 6] and sc.next_token.tolist() == [7, 8]
    small = D.syn_small()
    assert small.M == 34 and torch.allclose(small.probs[0, :10], torch.full((10,), 1 / 15.5, dtype=F64))
    for kwargs, expect in (
        ({"num_last": 0}, "num_last must be >= 1, got 0"),
        ({"num_next_per_last": 0}, "num_next_per_last must be >= 1, got 0"),
        ({"num_common": -1}, "num_common must be >= 0, got -1"),
        ({"num_unique_per_next": 0}, "num_unique_per_next must be >= 1, got 0"),
        ({"common_weight": -1.0}, "common_weight must be >= 0, got -1.0"),
        ({"unique_min": 0.0}, "unique_min must be > 0, got 0.0"),
        ({"unique_min": 0.5, "unique_max": 0.25}, "unique_max must be >= 0.5, got 0.25"),
    ):
        args = {"num_last": 1, "num_next_per_last": 1} | kwargs
        nl, npl = args.pop("num_last"), args.pop("num_next_per_last")
        assert msg(ValueError, D.syn_medium, nl, npl, **args) == expect


def test_sample_batch_validation_and_shapes():
    sc, g = D.syn_small(), torch.Generator().manual_seed(0)
    b = D.sample_batch(sc, 1, 2, g)  # the smallest batch and length
    assert b.x.shape == (1, 1)
    assert msg(ValueError, D.sample_batch, sc, 0, 4, g) == "batch must be >= 1, got 0"
    assert msg(ValueError, D.sample_batch, sc, 2, 1, g) == "T must be >= 2, got 1"
    assert msg(TypeError, D.sample_batch, sc, 2, 4, 7) == "generator must be a torch.Generator, got int"


def test_population_and_distinct_attention():
    sc = D.sequence_classes(PROBS, [4, 4], [2, 3])
    Z = torch.zeros(5, 5, dtype=torch.float32)
    Z[4, 2] = math.log(3.0)  # triples the weight of token 2 for query 4
    c = D.population_attention(Z, sc)
    assert c.dtype == torch.float32  # the dtype of Z
    assert torch.allclose(c[1].double(), torch.tensor([0, 0.5 / 1.5, 0.75 / 1.5, 0.25 / 1.5, 0], dtype=F64), atol=1e-7)
    assert msg(ValueError, D.population_attention, torch.zeros(3, 3), sc) == "Z must have shape [5, 5], got [3, 3]"
    assert (
        msg(ValueError, D.distinct_attention, torch.zeros(2, 4, dtype=F64), sc)
        == "c must have shape [2, 5], got [2, 4]"
    )


def test_distinct_attention_counts():
    unequal = D.sequence_classes(PROBS, [4, 4], [2, 3])  # distinct counts 1 and 2
    c = D.population_attention(torch.zeros(5, 5, dtype=F64), unequal)
    assert msg(ValueError, D.distinct_attention, c, unequal) == (
        "data: every class needs the same positive number of distinct tokens, got [1, 2]"
    )
    same = D.sequence_classes([[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0]], [2, 2], [2, 3])  # no distinct token at all
    c = D.population_attention(torch.zeros(4, 4, dtype=F64), same)
    assert msg(ValueError, D.distinct_attention, c, same).endswith("got [0, 0]")
    one_each = D.sequence_classes([[0.75, 0.25, 0, 0, 0], [0, 0.25, 0.75, 0, 0]], [3, 3], [3, 4])
    c = D.population_attention(torch.zeros(5, 5, dtype=F64), one_each)
    assert D.distinct_attention(c, one_each).tolist() == [[1.0], [1.0]]  # one distinct token: all the mass
    single = D.sequence_classes([[0.25, 0.75, 0.0]], [2], [2])  # K = 1
    c = D.population_attention(torch.zeros(3, 3, dtype=F64), single)
    assert torch.allclose(D.distinct_attention(c, single), torch.tensor([[0.25, 0.75]], dtype=F64), atol=1e-15)
    H = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert torch.allclose(D.entropy_distinct(torch.zeros(3, 3, dtype=F64), single), torch.tensor([H], dtype=F64))


def test_hoeffding_radius_boundaries():
    assert math.isclose(D.hoeffding_radius(8, 0.5), math.sqrt(math.log(4.0) / 16), rel_tol=1e-15)
    assert math.isclose(D.hoeffding_radius(1, 0.5), math.sqrt(math.log(4.0) / 2), rel_tol=1e-15)
    assert msg(ValueError, D.hoeffding_radius, 0, 0.5) == "T_minus_1 must be >= 1, got 0"
    assert msg(ValueError, D.hoeffding_radius, 4, 0.0) == "delta must be > 0.0, got 0.0"
    assert msg(ValueError, D.hoeffding_radius, 4, -0.5) == "delta must be > 0.0, got -0.5"
    assert msg(ValueError, D.hoeffding_radius, 4, 1.0) == "delta must be < 1.0, got 1.0"
    assert msg(ValueError, D.hoeffding_radius, 4, 1.5) == "delta must be < 1.0, got 1.5"
