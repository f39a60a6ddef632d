"""attnmath.scansnap.dynamics: the population flow, the sampled SGD and the reduced ODE of Theorem 3.

The SGD loop against ``torch.optim.SGD``; the population objective from its definition; the reduced ODE
against an independent integration of its definition, the time change that the speed s(t) is (only its
integral matters), its long-time finiteness (max-shift) and its failure report.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from attnmath.scansnap import data as D
from attnmath.scansnap import dynamics as DY
from attnmath.scansnap import (
    init_yz,
    population_flow,
    reduced_distinct_flow,
    sample_batch,
    sgd_train,
    standard_train,
    syn_medium,
    syn_small,
    yz_loss,
)
from attnmath.scansnap import model as MO
from attnmath.scansnap.joma import sparse_then_dense
from tests._helpers import msg

F64 = torch.float64


def test_sgd_matches_torch_optim_with_two_groups():
    """Our momentum loop equals torch.optim.SGD with groups {K1 = Y^T} at eta_Y and {K2 = Z} at eta_Z."""
    data = syn_small()
    eY, eZ, steps = 3.0, 0.7, 6
    run = sgd_train(data, eta_Y=eY, eta_Z=eZ, steps=steps, batch=16, T=24, init="uniform", seed=11)
    gen = torch.Generator().manual_seed(11)  # the same stream: init first, then the batches
    Y0, Z0 = init_yz(data.M, "uniform", gen)
    Y, Z = torch.nn.Parameter(Y0.clone()), torch.nn.Parameter(Z0.clone())
    opt = torch.optim.SGD([{"params": [Y], "lr": eY}, {"params": [Z], "lr": eZ}], lr=1.0, momentum=0.9)
    for _ in range(steps):
        b = sample_batch(data, 16, 24, gen)
        opt.zero_grad()
        yz_loss(Y, Z, b).backward()
        opt.step()
    assert torch.allclose(run.Y, Y.detach(), atol=1e-12, rtol=0)  # float64 roundoff over 6 steps
    assert torch.allclose(run.Z, Z.detach(), atol=1e-12, rtol=0)


def test_sgd_closed_form_and_autograd_paths_agree():
    data = syn_medium(1, 2)
    a = sgd_train(data, eta_Y=2.0, eta_Z=1.0, steps=20, batch=32, T=32, init="uniform", seed=2, grad="lemma1")
    b = sgd_train(data, eta_Y=2.0, eta_Z=1.0, steps=20, batch=32, T=32, init="uniform", seed=2, grad="autograd")
    assert torch.allclose(a.Z, b.Z, atol=1e-11, rtol=0)  # float64 roundoff amplified by 20 momentum steps
    assert torch.allclose(a.loss, b.loss, atol=1e-11, rtol=0)


def test_sgd_records_snapshots_and_learns():
    run = sgd_train(syn_small(), eta_Y=1.0, eta_Z=1.0, steps=30, batch=64, T=64, seed=1, record=(0, 10, 30))
    assert sorted(run.snapshots) == [0, 10, 30]
    assert not run.snapshots[0].any()  # zero init
    assert float(run.loss[0]) == pytest.approx(math.log(34), abs=1e-12)
    assert float(run.loss[-1]) < 0.1 * math.log(34)


@pytest.mark.parametrize(
    "kw, name", [({"eta_Y": -1.0, "eta_Z": 1.0}, "eta_Y"), ({"eta_Y": 1.0, "eta_Z": -0.1}, "eta_Z")]
)
def test_negative_learning_rates_are_rejected(kw, name):
    with pytest.raises(ValueError, match=name):
        sgd_train(syn_small(), steps=1, **kw)
    with pytest.raises(ValueError, match=name):
        population_flow(syn_small(), steps=1, **kw)
    with pytest.raises(ValueError, match=name):
        standard_train(syn_small(), seed=0, steps=1, **kw)


def test_sgd_rejects_bad_options():
    with pytest.raises(ValueError, match="momentum"):
        sgd_train(syn_small(), eta_Y=1.0, eta_Z=1.0, steps=1, momentum=1.0)
    with pytest.raises(ValueError, match="grad"):
        sgd_train(syn_small(), eta_Y=1.0, eta_Z=1.0, steps=1, grad="numeric")


def test_population_flow_basics():
    data = syn_medium(1, 2)
    flow = population_flow(data, eta_Y=1.0, eta_Z=0.3, steps=200)
    assert flow.zq.shape == (201, 1, data.M) and flow.loss.shape == (201,)
    assert float(flow.loss[0]) == pytest.approx(math.log(data.M), abs=1e-12)
    assert bool((torch.diff(flow.loss) <= 1e-15).all())  # gradient descent at this rate never increases the loss
    assert torch.allclose(flow.Z.sum(1), torch.zeros(data.M, dtype=F64), atol=1e-12)  # conserved row sums
    assert torch.allclose(flow.Y.sum(1), torch.zeros(data.M, dtype=F64), atol=1e-12)
    frozen = population_flow(data, eta_Y=1.0, eta_Z=0.0, steps=50)
    assert not frozen.zq.any()  # eta_Z = 0: attention never moves


def test_reduced_flow_signs_and_validation():
    pd, pc = np.linspace(0.1, 1.0, 10) / 15.5, np.ones(10) / 15.5
    zd, zc = reduced_distinct_flow(pd, pc, np.linspace(0, 5, 11))
    assert np.all(np.diff(zd, axis=0) > 0) and np.all(np.diff(zc, axis=0) < 0)
    assert np.all(np.diff(zd[-1]) > 0)  # more frequent tokens grow faster
    with pytest.raises(ValueError, match="p_distinct"):
        reduced_distinct_flow([0.5], pc, [0, 1])
    with pytest.raises(ValueError, match="p_common"):
        reduced_distinct_flow(pd, [-0.1], [0, 1])


def test_results_do_not_depend_on_the_default_dtype():
    """Notebooks set torch's default dtype to float64; the claims' numbers must not change with it."""
    before = torch.get_default_dtype()
    runs = {}
    try:
        for dt in (torch.float32, torch.float64):
            torch.set_default_dtype(dt)
            ent, _ = sparse_then_dense(steps=100)
            run = sgd_train(syn_medium(1, 2), eta_Y=2.0, eta_Z=1.0, steps=5, batch=16, T=16, init="uniform", seed=1)
            sub = standard_train(syn_small(), eta_Y=0.25, eta_Z=8.0, seed=1, steps=3, eval_at=(3,))
            runs[dt] = (ent, run.Z, sub[3])
    finally:
        torch.set_default_dtype(before)
    a, b = runs[torch.float32], runs[torch.float64]
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]


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


def test_reduced_flow_stays_finite_at_long_times():
    # with s = 1 the most frequent distinct token takes all the attention: f_max -> 1, so
    # z_max(t) = t - O(1); exp(2 z) alone would overflow float64 beyond z ~ 355
    t = np.array([0.0, 500.0, 1000.0])
    zd, zc = DY.reduced_distinct_flow([0.2, 0.3, 0.5], [0.4], t, s=lambda tt: 1.0, rtol=1e-8)
    assert np.all(np.isfinite(zd)) and np.all(np.isfinite(zc))
    assert 990.0 < zd[-1, -1] < 1000.0  # dz_max/dt = f_max^2 <= 1, and -> 1
    assert zd[-1, -1] - zd[1, -1] == pytest.approx(500.0, abs=1e-3)  # f_max = 1 up to e^{-2 (z_max - z_l)}
    assert np.all(zd[-1, :2] < 10.0)  # the others stop growing once they lose the attention


def test_reduced_flow_reports_a_failed_solve_and_accepts_exact_numbers():
    with pytest.raises(RuntimeError, match=r"^solve_ivp failed: Required step size"):
        DY.reduced_distinct_flow([0.5, 0.5], [0.1], [0.0, 1.0], s=lambda tt: float("nan"))
    exact = DY.reduced_distinct_flow([0.5, 0.5], [0.25], [0.0, 1.0])
    frac = DY.reduced_distinct_flow([Fraction(1, 2)] * 2, [Fraction(1, 4)], [Fraction(0), Fraction(1)])
    dec_d = DY.reduced_distinct_flow([Decimal("0.5")] * 2, [0.25], [0.0, 1.0])  # weights are converted to float64
    dec_c = DY.reduced_distinct_flow([0.5, 0.5], [Decimal("0.25")], [0.0, 1.0])
    for run in (frac, dec_d, dec_c):
        for a, b in zip(exact, run):
            assert b.dtype == np.float64 and np.array_equal(a, b)
