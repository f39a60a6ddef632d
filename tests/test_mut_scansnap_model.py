"""attnmath.scansnap model, dynamics, standard substitute, JoMA toy and experiments (issue 9).

Complements tests/test_scansnap_*.py: validation messages at their boundaries, documented
defaults, the documented recipes of the experiment helpers (seeds, batch sizes), the reduced ODE
of Theorem 3 against an independent integration of its definition, and the time change that the
speed function s(t) is (only the integral of s matters).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from attnmath.scansnap import data as D
from attnmath.scansnap import dynamics as DY
from attnmath.scansnap import experiments as E
from attnmath.scansnap import joma
from attnmath.scansnap import model as MO
from attnmath.scansnap import standard as ST
from tests._helpers import msg

F64 = torch.float64


def _batch(x, query, nxt, cls=None):
    x = torch.as_tensor(x)
    n = x.shape[0]
    cls = torch.zeros(n, dtype=torch.long) if cls is None else torch.as_tensor(cls)
    return D.Batch(x, torch.as_tensor(query), torch.as_tensor(nxt), cls)


# ----------------------------------------------------------------------------- model
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


# ----------------------------------------------------------------------------- standard substitute
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


# ----------------------------------------------------------------------------- JoMA toy
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


# ----------------------------------------------------------------------------- experiments
def test_fig4_eval_loss_is_the_documented_fresh_batch():
    run = E.fig4_run(2, 10.0)
    batch = D.sample_batch(D.syn_small(), 128, 128, torch.Generator().manual_seed(10_002))
    assert E.fig4_eval_loss(2, 10.0) == float(MO.yz_loss(run.Y, run.Z, batch))


def test_fig6_sweep_validation_and_progress(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(E, "fig6_entropy", lambda p, e, r, s: calls.append((p, e, r, s)) or float(p + s))
    out = E.fig6_sweep([1, 2], [0.5], [2], seeds=[3, 4])
    assert list(out) == [(1, 0.5, 2), (2, 0.5, 2)] and out[(2, 0.5, 2)].tolist() == [5.0, 6.0]
    assert calls == [(1, 0.5, 2, 3), (1, 0.5, 2, 4), (2, 0.5, 2, 3), (2, 0.5, 2, 4)]
    err = capsys.readouterr().err  # progress is on by default
    assert "Fig. 6 runs" in err and "4/4" in err
    E.fig6_sweep([1], [0.5], [2], seeds=[3], progress=False)
    assert capsys.readouterr().err == ""
    assert msg(ValueError, E.fig6_sweep, [0], [0.5], [2], seeds=[1]) == "panels must be >= 1, got 0"
    assert msg(ValueError, E.fig6_sweep, [1], [0.0], [2], seeds=[1]) == "eta_Zs must be > 0, got 0.0"
    assert msg(ValueError, E.fig6_sweep, [1], [0.5], [0], seeds=[1]) == "ratios must be > 0, got 0.0"


# ----------------------------------------------------------------------------- dynamics
def test_population_objective_from_its_definition():
    sc = D.syn_medium(1, 2, num_common=2, num_unique_per_next=2)
    g = torch.Generator().manual_seed(5)
    Y, Z = MO.init_yz(sc.M, "uniform", g)
    Z = Z * 20  # far from uniform attention
    c = D.population_attention(Z, sc)
    J = 0.0
    for n in range(sc.K):
        f = c[n] / c[n].norm()
        logits = f @ Y
        J += float(logits[sc.next_token[n]] - torch.logsumexp(logits, 0))
    assert float(DY.population_objective(Y, Z, sc)) == pytest.approx(J / sc.K, abs=1e-14)


def _reduced_reference(pd, pc, t, kappa, s):
    p = np.concatenate([pd, pc])
    sign = np.concatenate([np.ones(len(pd)), -kappa * np.ones(len(pc))])

    def rhs(tt, z):
        c = p * np.exp(z)
        return s(tt) * sign * c**2 / (c @ c)

    sol = solve_ivp(rhs, (0, t[-1]), np.zeros(len(p)), t_eval=t, method="RK45", rtol=1e-11, atol=1e-13)
    return sol.y[: len(pd)].T, sol.y[len(pd) :].T


def test_reduced_distinct_flow_against_its_definition():
    pd, pc, t = [0.1, 0.3, 0.6], [0.5, 0.2], np.array([0.0, 0.5, 2.0, 6.0])
    zd, zc = DY.reduced_distinct_flow(pd, pc, t)
    assert zd.shape == (4, 3) and zc.shape == (4, 2)
    rd, rc = _reduced_reference(np.array(pd), np.array(pc), t, 1.0, lambda tt: 1 / (1 + tt))  # default s, kappa
    assert np.allclose(zd, rd, atol=1e-8, rtol=0) and np.allclose(zc, rc, atol=1e-8, rtol=0)
    zd2, zc2 = DY.reduced_distinct_flow(pd, pc, t, s=lambda tt: 2.0, common_rate=0.5)
    rd2, rc2 = _reduced_reference(np.array(pd), np.array(pc), t, 0.5, lambda tt: 2.0)
    assert np.allclose(zd2, rd2, atol=1e-8, rtol=0) and np.allclose(zc2, rc2, atol=1e-8, rtol=0)
    # s(t) is a time change: the default 1/(1+t) at t equals s = 1 at ln(1 + t)
    zd1, _ = DY.reduced_distinct_flow(pd, pc, np.log1p(t), s=lambda tt: 1.0)
    assert np.allclose(zd, zd1, atol=1e-8, rtol=0)
    coarse, _ = DY.reduced_distinct_flow(pd, pc, t, rtol=1e-3)
    assert np.allclose(coarse, rd, atol=1e-2) and not np.allclose(coarse, rd, atol=1e-9, rtol=0)


def test_reduced_distinct_flow_inputs():
    t = [0.0, 1.0]
    assert DY.reduced_distinct_flow([0.5, 0.5], [0.0], t)[0].shape == (2, 2)  # two distinct, a zero common weight
    assert DY.reduced_distinct_flow([0.5, 0.5], [], t)[1].shape == (2, 0)
    assert (
        msg(ValueError, DY.reduced_distinct_flow, [0.5], [0.5], t)
        == "p_distinct must be >= 2 positive weights, got [0.5]"
    )
    assert msg(ValueError, DY.reduced_distinct_flow, [0.5, 0.0], [0.5], t).startswith(
        "p_distinct must be >= 2 positive"
    )
    assert msg(ValueError, DY.reduced_distinct_flow, [0.5, 0.5], [-0.1], t) == (
        "p_common must be non-negative weights, got [-0.1]"
    )
    assert msg(ValueError, DY.reduced_distinct_flow, [0.5, 0.5], [0.1], t, common_rate=-1.0) == (
        "common_rate must be >= 0, got -1.0"
    )
