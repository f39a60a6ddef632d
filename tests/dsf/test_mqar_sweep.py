"""The paper tier's learning-rate sweep of the MQAR claims: the best mean over seeds is kept, per model."""

from __future__ import annotations

import pytest

from attnmath.dsf.claims import mqar as cm


def fake_run(cfg) -> float:
    """Accuracy as a function of the rate and the seed: 3e-3 is best for softmax, 1e-2 for linear attention."""
    best = 3e-3 if cfg.kind == "softmax" else 1e-2
    return round(0.9 - abs(cfg.lr - best) * 10 + cfg.seed / 1000, 6)


@pytest.fixture
def sweep(monkeypatch):
    monkeypatch.setattr(cm, "run", fake_run)
    monkeypatch.setattr(cm, "learning_rates", lambda tier: (1e-3, 3e-3, 1e-2))
    monkeypatch.setattr(cm, "seeds", lambda tier: (0, 1, 2))


def test_the_best_rate_is_chosen_per_model_and_every_rate_is_kept(sweep):
    sm = cm.cell("ci", "attention", kind="softmax", n=4)
    lin = cm.cell("ci", "attention", kind="linear", n=4)
    assert (sm.lr, lin.lr) == (3e-3, 1e-2)
    assert list(sm) == [0.9, 0.901, 0.902] and list(lin) == [0.9, 0.901, 0.902]
    assert sorted(sm.by_lr) == [1e-3, 3e-3, 1e-2] and sm.by_lr[1e-2] == [0.83, 0.831, 0.832]
    assert cm._at(sm) == " at lr 0.003 (best of 0.001, 0.003, 0.01)"


def test_a_fixed_rate_means_no_sweep(sweep):
    acc = cm.cell("ci", "attention", kind="softmax", n=4, lr=1e-2)
    assert acc.lr == 1e-2 and list(acc.by_lr) == [1e-2] and cm._at(acc) == ""
