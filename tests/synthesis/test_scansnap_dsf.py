"""One-hot scan-and-snap attention as a DSF and its linear-attention variant (attnmath.synthesis.scansnap_dsf)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath import scansnap as ss
from attnmath.synthesis import (
    efold_changes,
    feature,
    feature_entropy_distinct,
    feature_forward,
    feature_sgd_train,
    flow_attention,
    onehot_attention_dsf,
    onehot_normaliser,
    population_normaliser,
)

F64 = torch.float64
EPS = torch.finfo(F64).eps
DATA = ss.syn_small()


def _model(seed, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    Y, Z = ss.init_yz(DATA.M, "uniform", g)
    return Y, scale * Z, g


@settings(max_examples=10, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(2, 12), kind=st.sampled_from(["exp", "elu1"]), seed=st.integers(0, 2**16))
def test_last_dsf_output_is_the_attention_mixture(B, T, kind, seed):
    _Y, Z, g = _model(seed)
    batch = ss.sample_batch(DATA, B, T, g)
    u = torch.nn.functional.one_hot(batch.x, DATA.M).to(F64)
    b = feature(Z[batch.query[:, None], batch.x], kind)
    b = b / b.sum(-1, keepdim=True)
    v = torch.zeros(B, DATA.M, dtype=F64).scatter_add(1, batch.x, b)  # Xᵀ b, written out here
    for real in ("output", "recurrent"):
        y = onehot_attention_dsf(Z, batch.x, batch.query, kind, realization=real).recurrent(u)
        torch.testing.assert_close(y[:, -1], v, atol=8 * T * EPS, rtol=0)  # normalised sum of T terms


def test_exp_feature_is_the_papers_model():
    Y, Z, g = _model(1)
    batch = ss.sample_batch(DATA, 5, 20, g)
    a, b = feature_forward(Y, Z, batch, "exp"), ss.yz_forward(Y, Z, batch)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, atol=1e-15, rtol=0)  # same formulas, at most a rounding apart
    torch.testing.assert_close(
        feature_entropy_distinct(Z, DATA, "exp"), ss.entropy_distinct(Z, DATA), atol=1e-15, rtol=0
    )
    eta = onehot_normaliser(Z, batch.x, batch.query)
    torch.testing.assert_close(eta[:, -1], torch.exp(Z[batch.query[:, None], batch.x]).sum(-1), atol=1e-13, rtol=0)


def test_feature_trainer_reproduces_the_chapters_sgd():
    run = feature_sgd_train(DATA, "exp", eta_Y=10.0, eta_Z=1.0, steps=12, seed=3)
    ref = ss.sgd_train(DATA, eta_Y=10.0, eta_Z=1.0, steps=12, seed=3, grad="autograd")
    torch.testing.assert_close(run.Z, ref.Z, atol=1e-13, rtol=0)  # same RNG stream, same SGD rule; roundoff only
    torch.testing.assert_close(run.Y, ref.Y, atol=1e-13, rtol=0)
    torch.testing.assert_close(run.loss, ref.loss, atol=1e-13, rtol=0)


def test_population_normaliser_and_flow_attention():
    data = ss.syn_medium(1, 2)
    flow = ss.population_flow(data, eta_Y=1.0, eta_Z=0.5, steps=15)
    zq = flow.zq[-1, 0]
    want = (data.probs * torch.exp(zq)[None]).sum(-1)
    torch.testing.assert_close(population_normaliser(zq, data), want, atol=1e-15, rtol=0)
    c = flow_attention(flow, data)
    torch.testing.assert_close(c[-1], ss.population_attention(flow.Z, data), atol=1e-15, rtol=0)
    assert c.shape == (16, data.K, data.M)


def test_efold_changes_of_log_time_are_one_per_efold():
    t = np.exp(np.linspace(0.0, 6.0, 60_001))
    out = efold_changes(t, np.log(t)[:, None], 1.0, range(5))
    np.testing.assert_allclose(out, np.ones(5), atol=2e-4)  # nearest grid point: spacing 1e-4 in ln t
    with pytest.raises(ValueError, match="ends after"):
        efold_changes(t, np.log(t)[:, None], 1.0, range(7))


def test_bad_inputs_name_the_argument():
    Z = torch.zeros(4, 4, dtype=F64)
    x, q = torch.tensor([[0, 1, 2]]), torch.tensor([3])
    with pytest.raises(ValueError, match="kind"):
        feature(Z, "relu")
    with pytest.raises(TypeError, match="x must be"):
        onehot_normaliser(Z, x.double(), q)
    with pytest.raises(ValueError, match="x and query must agree on the batch size"):
        onehot_normaliser(Z, x, torch.tensor([3, 1]))
    with pytest.raises(ValueError, match="token ids"):
        onehot_attention_dsf(Z, torch.tensor([[0, 9]]), q)
    with pytest.raises(ValueError, match="Z must have shape"):
        onehot_normaliser(torch.zeros(4, 3, dtype=F64), x, q)
    with pytest.raises(ValueError, match="zq"):
        population_normaliser(torch.zeros(3, dtype=F64), DATA)
    with pytest.raises(TypeError, match="flow"):
        flow_attention(Z, DATA)
    with pytest.raises(ValueError, match="values must have one row per time"):
        efold_changes(np.arange(1.0, 5.0), np.zeros((3, 1)), 1.0, [0])
