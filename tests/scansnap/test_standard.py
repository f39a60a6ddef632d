"""attnmath.scansnap.standard: the standard-parameterisation model (the CPU substitute for WikiText)."""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.scansnap import (
    Batch,
    StandardParams,
    attention_entropy_distinct,
    init_standard,
    sample_batch,
    standard_forward,
    standard_train,
    syn_medium,
    syn_small,
    yz_forward,
)
from attnmath.scansnap import data as D
from attnmath.scansnap import standard as ST
from tests._helpers import msg

F64 = torch.float64


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


def test_standard_train_returns_requested_evaluations():
    out = standard_train(syn_medium(1, 2), eta_Y=0.25, eta_Z=8.0, seed=1, steps=20, eval_at=(0, 10, 20))
    assert sorted(out) == [0, 10, 20]
    assert 0 < out[20] < out[0] <= math.log(10)  # entropy of 10 distinct tokens falls once W_Q, W_K learn


def _batch(x, query, nxt, cls=None):
    x = torch.as_tensor(x)
    n = x.shape[0]
    cls = torch.zeros(n, dtype=torch.long) if cls is None else torch.as_tensor(cls)
    return D.Batch(x, torch.as_tensor(query), torch.as_tensor(nxt), cls)


def test_standard_init_and_entropy():
    p = ST.init_standard(3, 1, 0)  # the smallest sizes: M = 2 is allowed below too
    assert [t.shape for t in p.tensors()] == [(3, 1), (1, 1), (1, 1), (1, 1)]
    assert ST.init_standard(2, 2, 0).U.shape == (2, 2)
    assert msg(ValueError, ST.init_standard, 1, 4, 0) == "M must be >= 2, got 1"
    assert msg(ValueError, ST.init_standard, 3, 0, 0) == "d must be >= 1, got 0"
    assert msg(ValueError, ST.init_standard, 3, 4, -1) == "seed must be >= 0, got -1"
    # a sequence without distinct tokens carries no distinct-token entropy: it is left out of the mean
    sc = D.sequence_classes([[0.5, 0.25, 0.25, 0, 0], [0.5, 0, 0, 0.5, 0]], [4, 4], [1, 2])  # token 0 common
    b = _batch([[1, 2], [0, 0]], [4, 4], [1, 1], cls=[0, 0])
    v = torch.tensor([[0, 0.5, 0.5, 0, 0], [1.0, 0, 0, 0, 0]], dtype=F64)
    assert ST.attention_entropy_distinct(v, b, sc) == pytest.approx(math.log(2), abs=1e-15)
