"""attnmath.scansnap.model: the (Y, Z) model, Lemma 1 and the official code's orientation.

Unit and property tests (Lemma 1 and the population gradient against autograd), and the validation
messages at their boundaries.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.scansnap import data as D
from attnmath.scansnap import (
    init_yz,
    lemma1_gradients,
    official_orientation_loss,
    population_gradients,
    population_objective,
    sample_batch,
    syn_medium,
    syn_small,
    yz_forward,
    yz_loss,
)
from attnmath.scansnap import model as MO
from tests._helpers import msg

F64 = torch.float64


def _rand_yz(M, seed, scale=0.5):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(M, M, generator=g, dtype=F64), scale * torch.randn(M, M, generator=g, dtype=F64)


def test_forward_matches_the_one_hot_definition():
    data = syn_small()
    Y, Z = _rand_yz(data.M, 0)
    b = sample_batch(data, 3, 10, torch.Generator().manual_seed(1))
    out = yz_forward(Y, Z, b)
    for i in range(3):
        X = torch.nn.functional.one_hot(b.x[i], data.M).to(F64)  # [T-1, M]
        bT = torch.softmax(X @ Z.T @ torch.nn.functional.one_hot(b.query[i], data.M).to(F64), 0)
        v = X.T @ bT
        f = v / v.norm()
        assert torch.allclose(out.b[i], bT, atol=1e-15, rtol=0)
        assert torch.allclose(out.logits[i], Y.T @ f, atol=1e-14, rtol=0)  # float64, 34-term sums


@settings(max_examples=25, deadline=None)
@given(
    nq=st.integers(1, 3), npl=st.integers(1, 3), T=st.integers(2, 24), B=st.integers(1, 6), seed=st.integers(0, 10_000)
)
def test_lemma1_equals_autograd(nq, npl, T, B, seed):
    data = syn_medium(nq, npl, num_common=3, num_unique_per_next=4)
    Y, Z = _rand_yz(data.M, seed)
    b = sample_batch(data, B, T, torch.Generator().manual_seed(seed))
    Yr, Zr = Y.clone().requires_grad_(True), Z.clone().requires_grad_(True)
    gY, gZ = torch.autograd.grad(yz_loss(Yr, Zr, b), (Yr, Zr))
    dY, dZ = lemma1_gradients(Y, Z, b)
    assert torch.allclose(dY, -gY, atol=1e-13, rtol=0)  # float64 roundoff of O(1) gradients
    assert torch.allclose(dZ, -gZ, atol=1e-13, rtol=0)
    assert torch.allclose(dY.sum(1), torch.zeros(data.M, dtype=F64), atol=1e-14)  # conservation: row sums of Y fixed
    assert torch.allclose(dZ.sum(1), torch.zeros(data.M, dtype=F64), atol=1e-14)
    other = torch.ones(data.M, dtype=torch.bool)
    other[b.query] = False
    assert bool((dZ[other] == 0).all())  # only the query rows of Z move


def test_official_orientation_is_the_same_model():
    data = syn_small()
    Y, Z = _rand_yz(data.M, 3)
    b = sample_batch(data, 5, 12, torch.Generator().manual_seed(3))
    tokens = torch.cat([b.x, b.query[:, None]], 1)
    assert torch.allclose(official_orientation_loss(Y.T, Z, tokens, b.next_token), yz_loss(Y, Z, b), atol=1e-14)


@settings(max_examples=15, deadline=None)
@given(nq=st.integers(1, 3), npl=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_population_gradient_equals_autograd(nq, npl, seed):
    data = syn_medium(nq, npl, num_common=3, num_unique_per_next=4)
    Y, Z = _rand_yz(data.M, seed)
    Yr, Zr = Y.clone().requires_grad_(True), Z.clone().requires_grad_(True)
    gY, gZ = torch.autograd.grad(population_objective(Yr, Zr, data), (Yr, Zr))
    dY, dZ, alpha = population_gradients(Y, Z, data)
    assert torch.allclose(dY, gY, atol=1e-13, rtol=0)  # float64 roundoff
    assert torch.allclose(dZ, gZ, atol=1e-13, rtol=0)
    assert torch.allclose(alpha.sum(1), torch.ones(data.K, dtype=F64), atol=1e-14)


def test_init():
    Y, Z = init_yz(34, "zero")
    assert not Y.any() and not Z.any()
    Y1, Z1 = init_yz(34, "uniform", torch.Generator().manual_seed(0))
    Y2, Z2 = init_yz(34, "uniform", torch.Generator().manual_seed(0))
    assert torch.equal(Y1, Y2) and torch.equal(Z1, Z2)
    bound = 1 / math.sqrt(34)
    assert float(Y1.abs().max()) <= bound and float(Z1.abs().max()) <= bound
    assert float(Z1.abs().max()) > 0.9 * bound  # 1156 uniform draws reach the edge
    with pytest.raises(ValueError, match="init"):
        init_yz(34, "normal")
    with pytest.raises(TypeError, match="generator"):
        init_yz(34, "uniform")


def test_bad_shapes_are_rejected():
    data = syn_small()
    b = sample_batch(data, 2, 8, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="Z"):
        yz_forward(torch.zeros(34, 34, dtype=F64), torch.zeros(33, 33, dtype=F64), b)
    with pytest.raises(ValueError, match="batch"):
        yz_forward(torch.zeros(20, 20, dtype=F64), torch.zeros(20, 20, dtype=F64), b)
    with pytest.raises(TypeError, match="batch"):
        yz_forward(torch.zeros(34, 34, dtype=F64), torch.zeros(34, 34, dtype=F64), (b.x, b.query))


def _batch(x, query, nxt, cls=None):
    x = torch.as_tensor(x)
    n = x.shape[0]
    cls = torch.zeros(n, dtype=torch.long) if cls is None else torch.as_tensor(cls)
    return D.Batch(x, torch.as_tensor(query), torch.as_tensor(nxt), cls)


def test_model_input_errors():
    Y, Z = torch.zeros(4, 4, dtype=F64), torch.zeros(4, 4, dtype=F64)
    b = _batch([[0, 1]], [2], [3])
    assert msg(ValueError, MO.yz_forward, torch.zeros(4, dtype=F64), Z, b) == "Y must have 2 dimensions, got shape [4]"
    assert msg(ValueError, MO.yz_forward, torch.zeros(3, 4, dtype=F64), Z, b) == "Y must have shape [3, 3], got [3, 4]"
    assert msg(ValueError, MO.yz_forward, Y, torch.zeros(4, 3, dtype=F64), b) == "Z must have shape [4, 4], got [4, 3]"
    assert msg(TypeError, MO.yz_forward, Y, Z.float(), b) == (
        "Y has dtype torch.float64 but Z has dtype torch.float32; they must match"
    )
    assert msg(TypeError, MO.yz_forward, Y, Z, (1, 2)) == "batch must be a scansnap.Batch, got tuple"
    assert msg(ValueError, MO.yz_forward, Y, Z, _batch([0, 1], [2], [3])) == (
        "batch.x must be a [B, T-1] long tensor, got [2] torch.int64"
    )
    assert msg(ValueError, MO.yz_forward, Y, Z, _batch([[0.0, 1.0]], [2], [3])).endswith("got [1, 2] torch.float32")
    for bad in (_batch([[0, 4]], [2], [3]), _batch([[0, 1]], [4], [3]), _batch([[0, 1]], [2], [4])):
        assert msg(ValueError, MO.yz_forward, Y, Z, bad) == "batch token ids must be < M = 4"
    assert MO.yz_forward(Y, Z, _batch([[0, 3]], [3], [3])).alpha.shape == (1, 4)  # id M - 1 is valid


def test_unnormalised_forward_returns_v():
    g = torch.Generator().manual_seed(0)
    Y, Z = MO.init_yz(5, "uniform", g)
    b = _batch([[0, 1, 1], [2, 3, 0]], [4, 4], [1, 2])
    out = MO.yz_forward(Y, Z, b, normalize=False)
    assert torch.equal(out.f, out.v)
    assert torch.allclose(out.logits, out.v @ Y, atol=1e-15, rtol=0)
    normed = MO.yz_forward(Y, Z, b)
    assert torch.allclose(normed.f, out.v / out.v.norm(dim=1, keepdim=True), atol=1e-15, rtol=0)


def test_init_yz():
    g = torch.Generator().manual_seed(1)
    Y, Z = MO.init_yz(400, "uniform", g)
    bound = 1 / math.sqrt(400)
    for W in (Y, Z):  # U(-1/sqrt M, 1/sqrt M): both halves of the interval are used
        assert W.abs().max() <= bound and W.min() < -0.9 * bound and W.max() > 0.9 * bound
        assert abs(float(W.mean())) < 4 * bound / math.sqrt(3 * 400 * 400)  # 4 SE of the mean
    Y, Z = MO.init_yz(2, "zero")  # M = 2 is the smallest vocabulary
    assert torch.equal(Y, torch.zeros(2, 2, dtype=F64)) and torch.equal(Z, Y)
    assert msg(ValueError, MO.init_yz, 1, "zero") == "M must be >= 2, got 1"
    assert msg(ValueError, MO.init_yz, 3, "normal") == "init must be one of ('zero', 'uniform'), got 'normal'"
    assert msg(TypeError, MO.init_yz, 3, "uniform") == "generator: a torch.Generator is needed for init='uniform'"


def test_official_orientation_loss_errors():
    W = torch.zeros(4, 4, dtype=F64)
    tokens, labels = torch.tensor([[0, 1, 2]]), [3]
    assert float(MO.official_orientation_loss(W, W, tokens, labels)) == pytest.approx(math.log(4), abs=1e-15)
    assert msg(ValueError, MO.official_orientation_loss, torch.zeros(4, 3, dtype=F64), W, tokens, labels) == (
        "K1_weight must have shape [4, 4], got [4, 3]"
    )
    assert msg(ValueError, MO.official_orientation_loss, W, torch.zeros(4, 3, dtype=F64), tokens, labels) == (
        "K2_weight must have shape [4, 4], got [4, 3]"
    )
