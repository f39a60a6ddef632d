"""attnmath.scansnap.joma: the toy dynamics of the follow-up JoMA (sparse, then dense attention)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnmath.scansnap import joma
from attnmath.scansnap.joma import sparse_then_dense
from tests._helpers import msg

F64 = torch.float64


def test_joma_toy_starts_uniform():
    ent, v = sparse_then_dense(n=6, steps=50)
    assert ent[0] == pytest.approx(math.log(6), abs=1e-6)  # float32: v(0) is constant, softmax uniform
    assert v.shape == (6,) and bool((v > 0.05).all())


def test_sparse_then_dense_follows_its_recursion_and_defaults():
    ent, v = joma.sparse_then_dense(4, steps=3, eta=0.5, tau=2.0, v0=0.25, seed=3, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    mu = (torch.rand(4, generator=g, dtype=torch.float32) * 3 + 1).double().sort().values  # sorted U[1, 4]
    w = torch.full((4,), 0.25, dtype=F64)
    for i in range(3):
        sa = torch.softmax(w * w / 2.0, 0)
        assert ent[i] == pytest.approx(float(-(sa * sa.log()).sum()), abs=1e-15)
        w = w + 0.5 * (mu - w) * sa
    assert torch.allclose(v, w, atol=1e-15, rtol=0)
    d_ent, d_v = joma.sparse_then_dense()
    e_ent, e_v = joma.sparse_then_dense(10, steps=5000, eta=0.02, tau=3.0, v0=0.05, seed=0, dtype=torch.float32)
    assert d_ent.shape == (5000,) and np.array_equal(d_ent, e_ent) and torch.equal(d_v, e_v)
    assert torch.equal(joma.sparse_then_dense(2, steps=1, eta=0.0)[1], torch.full((2,), 0.05))  # eta = 0: frozen
    for kwargs, expect in (
        ({"n": 1}, "n must be >= 2, got 1"),
        ({"steps": 0}, "steps must be >= 1, got 0"),
        ({"eta": -0.1}, "eta must be >= 0, got -0.1"),
        ({"tau": 0.0}, "tau must be > 0, got 0.0"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
    ):
        assert msg(ValueError, joma.sparse_then_dense, **kwargs) == expect


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_sparse_then_dense_runs_in_the_requested_dtype(dtype):
    ent, v = joma.sparse_then_dense(4, steps=3, dtype=dtype)
    assert v.dtype == dtype and ent.dtype == np.float64 and ent.shape == (3,)
    assert ent[0] == pytest.approx(math.log(4), abs=4e-3)  # v(0) constant: uniform softmax; 16-bit log rounding


def test_joma_contexts_layout_and_validation():
    X = joma.joma_contexts("gaussian", seed=1)
    assert X.shape == (20, 20) and X.dtype == F64 and torch.allclose(X.sum(0), torch.ones(20, dtype=F64))
    raw = torch.exp(-((torch.arange(10.0, dtype=F64)[:, None] - torch.arange(20.0, dtype=F64)[None] / 2) ** 2) / 30)
    ratio = X[:10] / raw  # Gaussian bumps up to each column's normaliser
    assert torch.allclose(ratio, ratio[0:1].expand(10, 20))
    R = joma.joma_contexts("random", n_distinct=3, n_common=2, K=4, seed=1)
    assert R.shape == (5, 4) and bool((R > 0).all())
    assert "kind must be one of" in msg(ValueError, joma.joma_contexts, "uniform")
    assert msg(ValueError, joma.joma_contexts, K=1) == "K must be >= 2, got 1"


def test_joma_attention_exp_and_softmax():
    X = joma.joma_contexts("random", n_distinct=2, n_common=1, K=3)
    z = torch.tensor([0.3, -0.2, 0.1], dtype=F64)
    B = joma.joma_attention(z, X, 0.5)
    assert torch.allclose(B, X * torch.exp(2 * z)[:, None], atol=1e-15)  # e^{z/tau}, no normaliser
    S = joma.joma_attention(z, X, 0.5, "softmax")
    assert torch.allclose(S.sum(0), torch.ones(3, dtype=F64)) and torch.allclose(S, B / B.sum(0), atol=1e-15)
    assert "z must have shape [3]" in msg(ValueError, joma.joma_attention, z[:2], X, 0.5)
    assert "attention must be one of" in msg(ValueError, joma.joma_attention, z, X, 0.5, "linear")


def test_joma_loss_is_uniform_at_zero_and_gradients_obey_the_exp_identity():
    X = joma.joma_contexts("gaussian", n_distinct=4, n_common=2, K=5)
    W = torch.zeros(8, 5, dtype=F64)
    assert float(joma.joma_loss(W, torch.zeros(6, dtype=F64), X, 0.5)) == pytest.approx(math.log(5), abs=1e-15)
    g = torch.Generator().manual_seed(0)
    W, z = torch.randn(8, 5, generator=g, dtype=F64), torch.randn(6, generator=g, dtype=F64) * 0.3
    gW, gz = joma.joma_gradients(W, z, X, 0.5)
    assert torch.allclose(gz, (W[:6] * gW[:6]).sum(1) / 0.5, atol=1e-14)  # dL/dz_l = (1/tau) sum_j v_jl dL/dv_jl
    gW_s, gz_s = joma.joma_gradients(W, z, X, 0.5, "softmax")
    assert (gz_s - (W[:6] * gW_s[:6]).sum(1) / 0.5).abs().max() > 1e-3  # not for softmax
    assert "W must have >= M_c + 1 = 7 rows" in msg(ValueError, joma.joma_loss, W[:6], z, X, 0.5)


def test_joma_sgd_and_flow_keep_the_invariant_only_under_its_hypotheses():
    X = joma.joma_contexts("gaussian", n_distinct=4, n_common=2, K=5)
    r = joma.joma_sgd(X, steps=20, lr=0.2, d=8)
    zhat = joma.joma_invariant(r["V"], 0.5)
    assert torch.allclose(r["z"], zhat - r["dv2"] / 1.0, atol=1e-15) and bool((r["dv2"] > 0).all())
    assert torch.equal(r["z0"], torch.zeros(6, dtype=F64))
    f = joma.joma_flow(X, 10.0, d=8)
    assert torch.allclose(f["z"], joma.joma_invariant(f["V"], 0.5), atol=1e-10) and float(f["z"].abs().max()) > 1e-3
    rnd = joma.joma_flow(X, 10.0, d=8, init="random", init_scale=0.1)
    assert (rnd["z"] - joma.joma_invariant(rnd["V"], 0.5)).abs().max() > 1e-3
    assert msg(ValueError, joma.joma_sgd, X, steps=1, lr=0.1, d=6) == "d must be >= 7, got 6"
    assert "X must have a real floating dtype (float64)" in msg(TypeError, joma.joma_flow, X.float(), 1.0)
    assert "init must be one of" in msg(ValueError, joma.joma_sgd, X, steps=1, lr=0.1, init="ones")
    assert msg(ValueError, joma.joma_invariant, torch.zeros(3, dtype=F64), 0.5).startswith("v must have 2 dimensions")
