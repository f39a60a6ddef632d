"""Unit and property tests of the (Y, Z) model, Lemma 1 and the standard-parameterisation model."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.scansnap import (
    Batch,
    StandardParams,
    attention_entropy_distinct,
    init_standard,
    init_yz,
    lemma1_gradients,
    official_orientation_loss,
    population_gradients,
    population_objective,
    sample_batch,
    standard_forward,
    syn_medium,
    syn_small,
    yz_forward,
    yz_loss,
)

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


def test_standard_model_with_identity_embedding_is_the_yz_model():
    """U = I (orthonormal embeddings, d = M): the standard model is the (Y, Z) model with
    Y = W_V^T and Z = W_Q W_K^T / sqrt(d) (the paper's reparameterisation, exact here)."""
    data = syn_small()
    M = data.M
    g = torch.Generator().manual_seed(4)
    WQ, WK, WV = (torch.randn(M, M, generator=g, dtype=F64) for _ in range(3))
    p = StandardParams(torch.eye(M, dtype=F64), WQ, WK, WV)
    b = sample_batch(data, 6, 20, g)
    att, _, logits = standard_forward(p, b)
    out = yz_forward(WV.T, WQ @ WK.T / math.sqrt(M), b)
    assert torch.allclose(att, out.b, atol=1e-13, rtol=0)  # float64, M-term products
    assert torch.allclose(logits, out.logits, atol=1e-12, rtol=0)


def test_standard_init_and_entropy_metric():
    p = init_standard(79, 64, seed=1)
    assert p.U.shape == (79, 64) and p.WQ.shape == (64, 64)
    assert abs(float(p.U.std()) - 1 / 8) < 0.01  # N(0, 1/d), 5056 draws
    data = syn_small()
    x = torch.arange(10, 20).repeat(2, 1)  # each class-0 distinct token once
    b = Batch(x, data.query[[0, 0]], data.next_token[[0, 0]], torch.tensor([0, 0]))
    v = torch.zeros(2, data.M, dtype=F64)
    v[:, 10:20] = 0.05  # uniform over the 10 distinct tokens (plus mass elsewhere)
    v[:, 0] = 0.5
    assert attention_entropy_distinct(v, b, data) == pytest.approx(math.log(10), abs=1e-14)
