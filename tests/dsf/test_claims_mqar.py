"""attnmath.dsf.claims.mqar: the MQAR claims' helpers (the configurations of each tier, the shared training cache)."""

from __future__ import annotations

import pytest
import torch

from attnmath import claims
from attnmath.dsf.claims import mqar as cm
from attnmath.dsf.claims.sizes import SIZES
from attnmath.dsf.mqar import MQARConfig, mqar_batch


def test_trained_models_are_shared_through_the_test_run_cache(tmp_path, monkeypatch):
    """Inside `make test` the claims stage stores each trained MQAR model; a later process loads the same weights."""
    cfg = MQARConfig(
        kind="linear", seq_len=16, num_kv=2, vocab=16, d=8, n=2, layers=1, train=64, test=32, batch=32, epochs=1
    )
    train = cm.trained.__wrapped__  # bypass the per-process functools cache
    monkeypatch.delenv(claims.CACHE_ENV, raising=False)
    assert claims.artifact_path("x.pt") is None  # standalone: nothing is stored
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    acc1, m1 = train(cfg)
    stored = list((tmp_path / "artifacts").glob("mqar-*.pt"))
    assert len(stored) == 1
    acc2, m2 = train(cfg)  # loaded, not retrained
    x, _ = mqar_batch(4, cfg.seq_len, cfg.num_kv, cfg.vocab, seed=1)
    with torch.no_grad():
        assert acc2 == acc1
        assert torch.equal(m1(x), m2(x))
    # a file written by other source code (another fingerprint) is ignored and replaced
    data = torch.load(stored[0], weights_only=True)
    data["fingerprint"], data["accuracy"] = "stale", -1.0
    torch.save(data, stored[0])
    acc3, _ = train(cfg)
    assert acc3 == acc1
    assert torch.load(stored[0], weights_only=True)["fingerprint"] == claims.source_fingerprint()
    with pytest.raises(ValueError, match="name"):
        claims.artifact_path("../escape.pt")


def test_configurations_come_from_the_sizes_table():
    for tier in ("ci", "paper"):
        assert cm.mqar_config(tier, "attention") == SIZES[tier].mqar_attention
        assert cm.mqar_config(tier, "attention-long") == SIZES[tier].mqar_attention_long
        assert cm.mqar_config(tier, "qlstm") == SIZES[tier].mqar_qlstm
        assert cm.seeds(tier) == SIZES[tier].mqar_seeds
    ci = cm.mqar_config("ci", "attention")
    assert (ci.seq_len, ci.layers, ci.shift, ci.batch, ci.train, ci.epochs) == (32, 1, True, 32, 1024, 12)
    long = cm.mqar_config("ci", "attention-long")  # 512 AdamW steps of batch 64
    assert (long.batch, long.train, long.epochs) == (64, 2048, 16) and long.train // long.batch * long.epochs == 512
    assert cm.seeds("ci") == cm.seeds("paper") == tuple(range(8))  # >= 5 seeds: paired t lower bounds
    with pytest.raises(ValueError, match="task must be one of"):
        cm.mqar_config("ci", "gru")
    with pytest.raises(ValueError, match="tier must be one of"):
        cm.mqar_config("huge", "qlstm")


def test_margins_follow_the_test_set_size():
    ci = cm.mqar_config("ci", "attention")  # 512 sequences x 8 queries = 4096 positions
    assert cm._margin(ci) == pytest.approx(2 / 64) and cm._margin(ci, 2) == pytest.approx(4 / 64)


def test_mqar_claims_are_reconstructed_with_figure_numbers():
    reg = claims.registry()
    ids = sorted(k for k in reg if k.startswith("dsf.mqar"))
    assert ids == ["dsf.mqar-linear-state-size", "dsf.mqar-normalized-vs-linear", "dsf.mqar-softmax-vs-linear"]
    for k in ids:
        c = reg[k]
        assert c.status_of_source == "reconstructed" and "Fig" in c.source and len(c.controls) >= 2
