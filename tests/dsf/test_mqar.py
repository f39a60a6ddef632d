"""Tests of the synthetic MQAR generator and the tiny models/trainer (attnmath.dsf.mqar)."""

from __future__ import annotations

import pytest
import torch

from attnmath.dsf.mqar import (
    MIXERS,
    MQARConfig,
    MQARModel,
    mixer_eigenvalues,
    mqar_batch,
    no_binding_accuracy,
    paired_lower_bound,
    query_positions,
    train_mqar,
)


def test_mqar_batch_layout_and_labels():
    n, L, kv, vocab = 50, 24, 5, 32
    x, y = mqar_batch(n, L, kv, vocab, seed=3)
    assert x.shape == y.shape == (n, L) and x.dtype == y.dtype == torch.long
    keys, vals = x[:, 0 : 2 * kv : 2], x[:, 1 : 2 * kv : 2]
    assert bool(((keys >= 1) & (keys < vocab // 2)).all()) and bool(((vals >= vocab // 2) & (vals < vocab)).all())
    for r in range(n):
        assert len(set(keys[r].tolist())) == kv  # distinct keys
        q = (y[r] != -100).nonzero()[:, 0]
        assert len(q) == kv and bool((q >= 2 * kv).all())  # every key queried once, after the context
        binding = dict(zip(keys[r].tolist(), vals[r].tolist()))
        assert all(binding[int(x[r, p])] == int(y[r, p]) for p in q)  # label = the value bound to the key
        rest = torch.ones(L, dtype=torch.bool)
        rest[: 2 * kv] = False
        rest[q] = False
        assert bool((x[r, rest] == 0).all())


def test_mqar_batch_is_seeded():
    a, b, c = mqar_batch(8, 16, 3, 16, seed=1), mqar_batch(8, 16, 3, 16, seed=1), mqar_batch(8, 16, 3, 16, seed=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])


def test_mqar_batch_bad_inputs():
    with pytest.raises(ValueError, match="num_kv must be <"):
        mqar_batch(4, 64, 20, 32, seed=0)
    with pytest.raises(ValueError, match="seq_len must be >="):
        mqar_batch(4, 8, 3, 32, seed=0)
    with pytest.raises(TypeError, match="n must be an int"):
        mqar_batch(4.0, 16, 3, 32, seed=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        MQARModel("gru", 16, 8, 4, 16)


@pytest.mark.parametrize("kind", MIXERS)
def test_models_are_causal_and_expose_eigenvalues(kind):
    torch.manual_seed(0)
    model = MQARModel(kind, vocab=16, d=8, n=4, seq_len=12, layers=2, shift=True)
    x, _ = mqar_batch(3, 12, 3, 16, seed=0)
    out = model(x)
    assert out.shape == (3, 12, 16)
    x2 = x.clone()
    x2[:, 8:] = (x2[:, 8:] + 1) % 16  # change the future only
    assert torch.allclose(model(x2)[:, :8], out[:, :8], atol=1e-6)  # float32 outputs of identical prefixes
    ev = mixer_eigenvalues(model, x)
    assert len(ev) == 2 and all(bool((e > 0).all()) for e in ev)
    if kind.startswith("qlstm"):
        assert all(bool((e < 1).all()) for e in ev)  # sigmoid-type gates are contractions


@pytest.mark.slow
def test_training_is_deterministic_and_beats_chance():
    cfg = MQARConfig(
        kind="softmax",
        seq_len=16,
        num_kv=2,
        vocab=16,
        d=16,
        n=8,
        layers=1,
        shift=True,
        train=256,
        test=128,
        batch=32,
        epochs=8,
        lr=1e-2,
    )
    a, b = train_mqar(cfg), train_mqar(cfg)
    assert a == b
    assert 0.0 <= a <= 1.0 and a > 1 / 8  # uniform guessing among the 8 values scores 1/8


def test_paired_lower_bound_by_hand():
    # differences 0.1, 0.2, 0.3, 0.4: mean 0.25, sd sqrt(0.05/3); t_{0.95,3} = 2.353363 (t table)
    d = paired_lower_bound([1.1, 1.2, 1.3, 1.4], [1.0, 1.0, 1.0, 1.0], alpha=0.05)
    assert d.n == 4 and d.wins == 4
    assert d.mean == pytest.approx(0.25, abs=1e-12)
    assert d.sd == pytest.approx((0.05 / 3) ** 0.5, abs=1e-12)
    assert d.t_quantile == pytest.approx(2.353363, abs=1e-6)
    assert d.lower == pytest.approx(0.25 - 2.353363 * (0.05 / 3) ** 0.5 / 2, abs=1e-6)


def test_paired_lower_bound_is_the_one_sided_paired_t_test():
    """lower > m exactly when scipy's one-sided paired t-test rejects mean(a - b) <= m at level alpha."""
    from scipy.stats import ttest_rel

    g = torch.Generator().manual_seed(0)
    for trial in range(40):
        n = 3 + trial % 6
        b = torch.rand(n, generator=g).tolist()
        a = [x + 0.05 * (trial % 5) + 0.1 * float(e) for x, e in zip(b, torch.randn(n, generator=g))]
        m = 0.03
        d = paired_lower_bound(a, b, alpha=0.1)
        p = ttest_rel([x - m for x in a], b, alternative="greater").pvalue
        assert (d.lower > m) == (p < 0.1), (trial, d.lower, p)


def test_paired_lower_bound_ties_and_bad_inputs():
    d = paired_lower_bound([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])  # a tie in every seed
    assert d.mean == 0.0 and d.sd == 0.0 and d.lower == 0.0 and d.wins == 0
    with pytest.raises(ValueError, match="same length >= 2"):
        paired_lower_bound([0.5], [0.4])
    with pytest.raises(ValueError, match="same length >= 2"):
        paired_lower_bound([0.5, 0.6], [0.4])
    with pytest.raises(ValueError, match="finite"):
        paired_lower_bound([0.5, float("nan")], [0.4, 0.4])
    with pytest.raises(ValueError, match="alpha"):
        paired_lower_bound([0.5, 0.6], [0.4, 0.4], alpha=0.7)
    with pytest.raises(TypeError, match="sequences of real numbers"):
        paired_lower_bound(0.5, [0.4, 0.4])


def test_no_binding_accuracy_by_hand_and_by_probability():
    # two pairs: values (40, 40) -> always right by guessing 40; values (40, 41) -> half right
    x = torch.tensor([[1, 40, 2, 40, 0, 0], [1, 40, 2, 41, 0, 0]])
    assert no_binding_accuracy(x, 2) == pytest.approx(0.75, abs=1e-12)
    # num_kv = 2 values drawn from h = 16: E[max count] / 2 = (1 + 1/h) / 2; binomial SE of 20000 sequences
    x, _ = mqar_batch(20000, 8, 2, 32, seed=5)
    p_equal = 1 / 16
    se = (p_equal * (1 - p_equal) / 20000) ** 0.5 / 2
    assert abs(no_binding_accuracy(x, 2) - (1 + p_equal) / 2) <= 4 * se
    assert no_binding_accuracy(mqar_batch(64, 32, 8, 64, seed=0)[0], 8) >= 1 / 8
    with pytest.raises(ValueError, match="long tensor"):
        no_binding_accuracy(x.float(), 2)
    with pytest.raises(ValueError, match="columns"):
        no_binding_accuracy(x[:, :3], 2)


def test_query_positions():
    assert query_positions(MQARConfig(test=512, num_kv=8)) == 4096
    with pytest.raises(ValueError, match=r"cfg\.test"):
        query_positions(MQARConfig(test=0))
