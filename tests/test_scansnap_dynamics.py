"""Tests of the population flow, the sampled SGD, the reduced ODE, the substitute and the JoMA toy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

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
from attnmath.scansnap.experiments import FIG6_RATIOS, FIG6_STORED, fig6_stored, fig6_sweep
from attnmath.scansnap.joma import sparse_then_dense

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


def test_fig6_table_and_sweep_plumbing():
    assert len(FIG6_STORED) == 9 and all(len(row) == len(FIG6_RATIOS) for row in FIG6_STORED.values())
    assert fig6_stored(1, 3.0, 10) == (1.825, 0.331)
    assert fig6_stored(5, 1.0, 2) is None  # the dossier does not list the 5/10 panel
    out = fig6_sweep([1], [1.0], [2], seeds=[1, 2], progress=False)
    assert out[(1, 1.0, 2)].shape == (2,) and bool(np.all(out[(1, 1.0, 2)] < 2.151))
    with pytest.raises(ValueError, match="eta_Zs"):
        fig6_sweep([1], [-1.0], [2], seeds=[1], progress=False)


def test_standard_train_returns_requested_evaluations():
    out = standard_train(syn_medium(1, 2), eta_Y=0.25, eta_Z=8.0, seed=1, steps=20, eval_at=(0, 10, 20))
    assert sorted(out) == [0, 10, 20]
    assert 0 < out[20] < out[0] <= math.log(10)  # entropy of 10 distinct tokens falls once W_Q, W_K learn


def test_joma_toy_starts_uniform():
    ent, v = sparse_then_dense(n=6, steps=50)
    assert ent[0] == pytest.approx(math.log(6), abs=1e-6)  # float32: v(0) is constant, softmax uniform
    assert v.shape == (6,) and bool((v > 0.05).all())


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
