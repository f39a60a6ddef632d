"""Tests of the cheap pieces of attnmath.stiffness.experiments and network_experiment (the fits are claims)."""

import math

import numpy as np
import pytest
import torch

from attnmath.stiffness import experiments as E
from attnmath.stiffness.network_experiment import digits_split

EPS = np.finfo(np.float64).eps


def test_vdp_jacobian_radius_matches_numpy_eigvals():
    y = np.array([[2.0, -0.5, 1.1], [0.0, 3.0, -2.0]])
    for mu in (1.0, 10.0):
        for i in range(3):
            J = np.array([[0.0, 1.0], [-2 * mu * y[0, i] * y[1, i] - 1, mu * (1 - y[0, i] ** 2)]])
            ref = np.abs(np.linalg.eigvals(J)).max()
            assert E.vdp_jacobian_radius(mu, y[:, i : i + 1])[0] == pytest.approx(ref, rel=1e-13)  # same LAPACK call


def test_stiff_2x2_closed_form_solves_the_system():
    t = np.linspace(0, 0.01, 7)
    y = E.stiff_2x2_exact(t)
    dy = np.stack([2 * -np.exp(-t) + 1000 * np.exp(-1000 * t), np.exp(-t) - 1000 * np.exp(-1000 * t)], -1)
    np.testing.assert_allclose(dy, y @ E.STIFF_A.T, atol=1e-9)  # cancellation of entries ~2e3: 2e3 x 1e3 eps
    np.testing.assert_array_equal(y[0], [1.0, 0.0])


def test_euler_2x2_steps_with_the_amplification_matrix():
    t, y, _ = E.euler_2x2(0.001, t_end=0.005)
    M = np.eye(2) + 0.001 * E.STIFF_A
    np.testing.assert_allclose(y[-1], np.linalg.matrix_power(M, 5) @ np.array([1.0, 0.0]), rtol=1e-12)
    assert t[-1] == pytest.approx(0.005)


def test_cubic_decay_exact_solves_its_ode():
    y0 = torch.tensor([0.5, 2.0], dtype=torch.float64)
    lam = torch.tensor([1.0, 30.0], dtype=torch.float64)
    t = torch.tensor(0.03, dtype=torch.float64, requires_grad=True)
    y = E.cubic_decay_exact(y0, lam, t)
    dy = torch.stack([torch.autograd.grad(y[i], t, retain_graph=True)[0] for i in range(2)])
    torch.testing.assert_close(dy, -lam * (y + y**3).detach(), rtol=1e-12, atol=0)  # autograd of a closed form
    torch.testing.assert_close(E.cubic_decay_exact(y0, lam, 0.0), y0, rtol=4 * EPS, atol=0)


def test_lottery_errors_of_the_three_reference_masks():
    masks = torch.zeros(3, 20, dtype=torch.bool)
    masks[1] = True
    masks[2, 6:10] = True
    none, full, stiff = E.lottery_errors(masks).tolist()
    assert none == pytest.approx(abs(0.95**16 * (-4.0) ** 4 / math.exp(-0.05 * (16 + 400)) - 1), rel=1e-10)
    assert full < 1e-13
    assert stiff == pytest.approx(abs(0.95**16 * math.exp(0.8) - 1), rel=1e-10)  # only the Euler factors are inexact


def test_lottery_masks_are_validated():
    with pytest.raises(TypeError, match="masks must be a bool tensor"):
        E.lottery_errors(torch.zeros(2, 20))
    with pytest.raises(ValueError, match=r"masks must have shape \[M, 20\]"):
        E.lottery_errors(torch.zeros(2, 19, dtype=torch.bool))


def test_e4_and_e6_draws_are_seeded_and_in_range():
    (ltr, ytr), (lte, _) = E.e4_data()
    assert ltr.shape == (2048,) and lte.shape == (2048,)
    assert float(ltr.min()) >= 1.0 and float(ltr.max()) <= 100.0
    assert float(ytr.min()) >= 0.5 and float(ytr.max()) <= 2.0
    assert not torch.equal(ltr, lte)  # train is drawn first, test after it
    r = E.e6_run(0, 64)
    assert r.lam.shape == (64,) and float(r.lam.max()) <= 30.0
    torch.testing.assert_close(r.steps_controller.sum(0), torch.ones(64, dtype=torch.float64), rtol=0, atol=1e-14)


def test_e4_oracle_baseline_is_exact():
    res = E.e4_baseline("oracle")
    assert res.rmse < 1e-14  # the exact gate reproduces e^{-lambda t} to float64 roundoff
    assert res.oracle_gap == 0.0


def test_digits_split_sizes():
    Xtr, ytr, Xte, _ = digits_split()
    assert Xtr.shape == (1200, 64) and Xte.shape == (597, 64)
    assert float(Xtr.max()) <= 1.0 and set(ytr.tolist()) == set(range(10))


def test_experiment_arguments_are_validated():
    with pytest.raises(ValueError, match="mu must be > 0"):
        E.vdp_run(-1.0, 1e-3)
    with pytest.raises(ValueError, match="method must be one of"):
        E.robertson_run("Euler")
    with pytest.raises(ValueError, match="h must be > 0"):
        E.euler_2x2(-0.001)
    with pytest.raises(ValueError, match="kind must be one of"):
        E.e4_fit("cbam", 0)
