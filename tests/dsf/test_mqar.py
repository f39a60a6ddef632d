"""Tests of the synthetic MQAR generator and the tiny models/trainer (attnmath.dsf.mqar)."""

from __future__ import annotations

import pytest
import torch

from attnmath.dsf.mqar import MIXERS, MQARConfig, MQARModel, mixer_eigenvalues, mqar_batch, train_mqar


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
