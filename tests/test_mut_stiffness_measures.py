"""attnmath.stiffness.measures and controller: exact contracts (issue 9, mutation testing).

Complements tests/test_stiffness_measures.py: hand-computed values of every measure and metric
with its defaults, the 0/0 guards at tiny norms (the measures are ratios of norms, so they are
scale invariant down to subnormal-free tiny scales), every validated argument at its boundary, and
the controllers against step-by-step references.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from attnmath.stiffness import controller as C
from attnmath.stiffness import measures as M
from tests._helpers import msg, rand

F64 = torch.float64
EPS = torch.finfo(F64).eps


def t(*v):
    return torch.tensor(v, dtype=F64)


# ----------------------------------------------------------------------------- SAI, secant
def test_sai_default_step_batch_shape_and_tiny_norms():
    x = t([3.0, 4.0], [0.0, 2.0])
    xn = t([3.0, 1.0], [0.0, 3.0])
    torch.testing.assert_close(M.sai(x, xn), t(3 / 5, 1 / 2), rtol=2 * EPS, atol=0)  # default h = 1
    torch.testing.assert_close(M.sai(x, xn, 4.0), t(3 / 20, 1 / 8), rtol=2 * EPS, atol=0)
    traj = rand(3, 2, 5, seed=1)
    assert M.sai(traj[:-1], traj[1:]).shape == (2, 2)
    # a ratio of norms: the same at the scale 1e-150 (the 0/0 guard must not bite there)
    assert M.sai(1e-150 * x, 1e-150 * xn)[0].item() == pytest.approx(3 / 5, rel=4 * EPS)
    assert M.sai(torch.zeros(1, 2, dtype=F64), torch.zeros(1, 2, dtype=F64)).item() == 0.0  # 0/0 reported as 0
    assert msg(ValueError, M.sai, x, xn, 0.0) == "h must be > 0, got 0.0"
    assert msg(ValueError, M.sai, x, xn[:1]) == "x_next must have shape [2, 2], got [1, 2]"
    assert msg(TypeError, M.sai, [1.0], xn) == "x must be a torch.Tensor, got list"


def test_secant_rho_values_tiny_norms_and_messages():
    x, xn = t([0.0, 0.0]), t([1.0, 0.0])
    f, fn = t([1.0, 1.0]), t([4.0, 5.0])
    assert M.secant_rho(x, xn, f, fn).item() == pytest.approx(5.0, rel=2 * EPS)
    assert M.secant_rho(1e-150 * x, 1e-150 * xn, 1e-150 * f, 1e-150 * fn).item() == pytest.approx(5.0, rel=4 * EPS)
    assert M.secant_rho(x, x, f, f).item() == 0.0
    assert msg(ValueError, M.secant_rho, x, xn, t(1.0), fn) == "f must have shape [1, 2], got [1]"
    assert msg(ValueError, M.secant_rho, x, t(1.0), f, fn) == "x_next must have shape [1, 2], got [1]"
    assert msg(ValueError, M.secant_rho, x, xn, f, t(1.0)) == "f_next must have shape [1, 2], got [1]"
    assert msg(ValueError, M.secant_rho, x, xn, f, t([1.0, math.inf])) == (
        "f_next must contain only finite values (found NaN or Inf)"
    )


def test_trajectory_measures_slices_and_step():
    xs, fs = rand(4, 2, 3, seed=2), rand(3, 2, 3, seed=3)
    out = M.trajectory_measures(xs, fs, h=0.5)
    assert set(out) == {"sai", "secant"}
    assert out["sai"].shape == (3, 2) and out["secant"].shape == (2, 2)
    for k in range(3):
        ref = (xs[k + 1] - xs[k]).norm(dim=-1) / (0.5 * xs[k].norm(dim=-1))
        torch.testing.assert_close(out["sai"][k], ref, rtol=4 * EPS, atol=0)  # two norms and a division
    for k in range(2):
        ref = (fs[k + 1] - fs[k]).norm(dim=-1) / (xs[k + 1] - xs[k]).norm(dim=-1)
        torch.testing.assert_close(out["secant"][k], ref, rtol=4 * EPS, atol=0)
    torch.testing.assert_close(M.trajectory_measures(xs, fs)["sai"], 0.5 * out["sai"], rtol=2 * EPS, atol=0)
    long = M.trajectory_measures(rand(6, 2, 3, seed=4), rand(5, 2, 3, seed=5))
    assert long["sai"].shape == (5, 2) and long["secant"].shape == (4, 2)
    xs5, fs5 = rand(6, 2, 3, seed=4), rand(5, 2, 3, seed=5)
    ref = (fs5[4] - fs5[3]).norm(dim=-1) / (xs5[4] - xs5[3]).norm(dim=-1)
    torch.testing.assert_close(long["secant"][3], ref, rtol=4 * EPS, atol=0)
    two = M.trajectory_measures(xs[:3], fs[:2])  # two blocks: one secant
    assert two["secant"].shape == (1, 2)
    torch.testing.assert_close(two["secant"], out["secant"][:1], rtol=0, atol=0)
    one = M.trajectory_measures(xs[:2], fs[:1])
    assert one["sai"].shape == (1, 2) and one["secant"].shape == (0,) and one["secant"].dtype == F64
    assert msg(ValueError, M.trajectory_measures, xs, fs[:2]) == "fs must have shape [3, 2, 3], got [2, 2, 3]"
    assert msg(ValueError, M.trajectory_measures, xs[0], fs) == "xs must have 3 dimensions, got shape [2, 3]"


# ----------------------------------------------------------------------------- Jacobian measures
def test_jacobian_spectral_radius_iteration_count_and_default_generator():
    A = t([2.0, 1.0], [1.0, 2.0])  # eigenvalues 3 (along [1, 1]) and 1

    def lin(u):
        return u @ A.T

    x = torch.ones(3, 2, dtype=F64)
    v0 = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=F64)

    def reference(v, n):
        v = v / v.norm(dim=-1, keepdim=True)
        for _ in range(n):
            jv = v @ A.T
            est = jv.norm(dim=-1)
            v = jv / est[:, None]
        return est

    # n_iter = 1: ||A v0|| / ||v0||, with v0 from the default generator (seed 0)
    torch.testing.assert_close(M.jacobian_spectral_radius(lin, x, 1), reference(v0, 1), rtol=8 * EPS, atol=0)
    torch.testing.assert_close(M.jacobian_spectral_radius(lin, x, 2), reference(v0, 2), rtol=8 * EPS, atol=0)
    # the default is 20 iterations: (1/3)^20 of the start's error is left, distinct from 19 or 21
    torch.testing.assert_close(M.jacobian_spectral_radius(lin, x), reference(v0, 20), rtol=16 * EPS, atol=0)
    g = torch.Generator().manual_seed(5)
    v5 = torch.randn(3, 2, generator=torch.Generator().manual_seed(5), dtype=F64)
    torch.testing.assert_close(
        M.jacobian_spectral_radius(lin, x, 1, generator=g), reference(v5, 1), rtol=8 * EPS, atol=0
    )
    # a small spectral gap (eigenvalues 1 and 0.9): 20 iterations are distinguishable from 19 or 21
    B = torch.diag(t(1.0, 0.9))
    slow = M.jacobian_spectral_radius(lambda u: u @ B.T, x)
    v = v0 / v0.norm(dim=-1, keepdim=True)
    for _ in range(20):
        jv = v @ B.T
        est = jv.norm(dim=-1)
        v = jv / est[:, None]
    torch.testing.assert_close(slow, est, rtol=16 * EPS, atol=0)  # the same 20 products and norms
    assert float((slow - 1.0).abs().max()) > 1e-6  # not yet converged: the count matters
    # a zero Jacobian gives 0, not NaN (the JVP norm is guarded)
    assert M.jacobian_spectral_radius(lambda u: 0 * u, x, 3).tolist() == [0.0, 0.0, 0.0]
    out = M.jacobian_spectral_radius(lin, x.requires_grad_(), 1)
    assert not out.requires_grad
    assert msg(ValueError, M.jacobian_spectral_radius, lin, x, 0) == "n_iter must be >= 1, got 0"


def test_jacobian_stiffness_ratio_of_a_nonlinear_field():
    def f(u):
        return t(-1.0, -50.0) * u + u**2

    x = t(-1.0, 0.0)  # J = diag(-1 - 2, -50): ratio 50/3
    assert M.jacobian_stiffness_ratio(f, x) == pytest.approx(50 / 3, rel=4 * EPS)
    assert msg(ValueError, M.jacobian_stiffness_ratio, f, x[None]) == "x must have 1 dimensions, got shape [1, 2]"


def test_spikiness_along_each_dim():
    r = t([1.0, 2.0, 9.0], [3.0, 3.0, 3.0])
    torch.testing.assert_close(M.spikiness(r), t(3.0 / 1.0, 3.0 / 2.0, 9.0 / 3.0), rtol=0, atol=0)  # lower median
    torch.testing.assert_close(M.spikiness(r, dim=1), t(9.0 / 2.0, 1.0), rtol=0, atol=0)
    assert M.spikiness(t(0.0, 0.0, 1.0)).item() == pytest.approx(1e300, rel=2 * EPS)  # zero median floored at 1e-300
    assert msg(ValueError, M.spikiness, torch.zeros(0, dtype=F64)) == "r must be non-empty, got shape [0]"


# ----------------------------------------------------------------------------- M1-M4
def test_flat_and_matched_inputs():
    flat = M._flat([[1, 2], [3, 4]], "a")
    assert flat.tolist() == [1.0, 2.0, 3.0, 4.0] and flat.dtype == np.float64
    assert M._flat(np.ones(3, dtype=np.float32), "a").dtype == np.float64
    grad = torch.tensor([0.5, 0.25], dtype=F64, requires_grad=True)  # a gate still attached to its graph
    assert M._flat(grad, "a_bar").tolist() == [0.5, 0.25]
    assert M._flat(torch.ones(2, 2, dtype=torch.float32), "a").dtype == np.float64
    assert msg(ValueError, M._flat, [], "rho") == "rho must be non-empty"
    assert msg(ValueError, M._flat, np.array([np.inf]), "a_bar") == (
        "a_bar must contain only finite values (found NaN or Inf)"
    )
    a, r = M._matched(np.ones((2, 2)), np.arange(4))
    assert a.shape == r.shape == (4,)
    assert msg(ValueError, M._matched, np.ones(2), np.ones(3)) == (
        "a_bar and rho must have the same number of entries, got 2 and 3"
    )


def test_stiffness_awareness_score_is_minus_spearman():
    a = np.array([0.9, 0.5, 0.7, 0.2, 0.4])
    rho = np.array([1.0, 3.0, 2.0, 4.0, 5.0])
    assert M.stiffness_awareness_score(a, rho) == pytest.approx(-spearmanr(a, rho).statistic, abs=4 * EPS)
    assert M.stiffness_awareness_score(a, rho) == pytest.approx(0.9, abs=4 * EPS)  # 1 - 6*2/(5*24)
    assert msg(ValueError, M.stiffness_awareness_score, np.ones(2), np.ones(3)).startswith(
        "a_bar and rho must have the same"
    )


def test_stability_margin_rate_defaults_and_boundary():
    a = np.array([1.0, 1.0, 0.5, 0.25])
    rho = np.array([2.0, 2.5, 4.0, 4.0])  # a rho = 2, 2.5, 2, 1
    assert M.stability_margin_rate(a, rho) == 0.75  # h = 1, beta = 2, and a h rho = beta counts as stable
    assert M.stability_margin_rate(a, rho, h=2.0) == 0.25
    assert M.stability_margin_rate(a, rho, beta=2.5) == 1.0
    assert M.stability_margin_rate(a, rho, h=0.5, beta=0.5) == 0.25
    assert msg(ValueError, M.stability_margin_rate, a, rho, 0.0) == "h must be > 0, got 0.0"
    assert msg(ValueError, M.stability_margin_rate, a, rho, 1.0, 0.0) == "beta must be > 0, got 0.0"


def test_oracle_gap_defaults_boundary_and_names():
    rho = np.array([0.0, 1.0, 10.0])
    oracle = np.array([1.0, -math.expm1(-1.0), -math.expm1(-10.0) / 10])
    assert M.oracle_gap(oracle, rho) == pytest.approx(0.0, abs=2 * EPS)  # h = 1; rho = 0 is allowed
    assert M.oracle_gap(oracle + 0.3, rho) == pytest.approx(0.3, rel=1e-14)
    assert M.oracle_gap(np.ones(3), rho, h=2.0) == pytest.approx(
        np.mean([0.0, 1 + math.expm1(-2.0) / 2, 1 + math.expm1(-20.0) / 20]), rel=1e-14
    )
    assert (
        msg(ValueError, M.oracle_gap, np.ones(2), rho) == "a and rho must have the same number of entries, got 2 and 3"
    )
    assert msg(ValueError, M.oracle_gap, np.ones(3), rho, 0.0) == "h must be > 0, got 0.0"
    assert msg(ValueError, M.oracle_gap, np.ones(3), -rho - 1) == "rho must be >= 0 (decay rates)"
    assert msg(ValueError, M.oracle_gap, [], rho) == "a must be non-empty"


def test_sai_profile_stats_on_a_hand_worked_profile():
    prof = t([1.0, 3.0], [2.0, 2.0], [6.0, 8.0], [3.0, 1.0])  # block means 2, 2, 7, 2
    stats = M.sai_profile_stats(prof)
    assert set(stats) == {"cv", "spikiness"}
    assert stats["cv"] == pytest.approx(2.5 / 3.25, rel=4 * EPS)  # mean 13/4, sample std 5/2
    assert stats["spikiness"] == pytest.approx(7.0 / 2.0, rel=2 * EPS)
    assert msg(ValueError, M.sai_profile_stats, t(1.0, 2.0)) == "sai_profile must have 2 dimensions, got shape [2]"


# ----------------------------------------------------------------------------- controller
def test_classical_step_update_defaults_and_clamps():
    h = 0.1
    assert C.classical_step_update(h, 1.0, 1.0) == pytest.approx(h * 0.9, rel=2 * EPS)  # kappa 0.9
    assert C.classical_step_update(h, 1e-4, 1e-2) == pytest.approx(h * 5.0, rel=2 * EPS)  # 0.9*10 > fmax 5
    assert C.classical_step_update(h, 1e4, 1.0) == pytest.approx(h * 0.2, rel=2 * EPS)  # 0.9/100 < fmin 0.2
    assert C.classical_step_update(h, 8.0, 1.0, q=2) == pytest.approx(h * 0.45, rel=4 * EPS)  # (1/8)^(1/3)
    assert C.classical_step_update(h, 4.0, 1.0, kappa=1.0) == pytest.approx(h * 0.5, rel=4 * EPS)
    assert C.classical_step_update(h, 1e4, 1.0, fmin=0.05) == pytest.approx(h * 0.05, rel=2 * EPS)
    assert C.classical_step_update(h, 0.0, 1.0, fmax=2.0) == pytest.approx(h * 2.0, rel=2 * EPS)
    assert C.classical_step_update(h, 1e-4, 1.0, fmin=0.3, fmax=0.3) == pytest.approx(h * 0.3, rel=2 * EPS)


def test_classical_step_update_rejects_bad_arguments():
    f = C.classical_step_update
    assert msg(ValueError, f, 0.0, 1.0, 1.0) == "h must be > 0, got 0.0"
    assert msg(ValueError, f, 0.1, -1.0, 1.0) == "err must be >= 0, got -1.0"
    assert msg(ValueError, f, 0.1, 1.0, 0.0) == "tol must be > 0, got 0.0"
    assert msg(ValueError, f, 0.1, 1.0, 1.0, q=0) == "q must be >= 1, got 0"
    assert msg(ValueError, f, 0.1, 1.0, 1.0, kappa=0.0) == "kappa must be > 0, got 0.0"
    assert msg(ValueError, f, 0.1, 1.0, 1.0, fmin=0.0) == "fmin must be > 0, got 0.0"
    assert msg(ValueError, f, 0.1, 1.0, 1.0, fmin=0.5, fmax=0.4) == "fmax must be >= 0.5, got 0.4"


def test_error_optimal_step_signs_and_messages():
    for x, lam in ((2.0, 5.0), (-2.0, 5.0), (2.0, -5.0)):
        assert C.error_optimal_step(1e-4, x, lam) == pytest.approx(math.sqrt(1e-4) / 5.0, rel=2 * EPS)
    assert msg(ValueError, C.error_optimal_step, 1e-4, 1.0, 0.0) == (
        "x and lam must be non-zero (the local error vanishes otherwise)"
    )
    assert msg(ValueError, C.error_optimal_step, 0.0, 1.0, 1.0) == "tol must be > 0, got 0.0"
    assert msg(TypeError, C.error_optimal_step, 1e-4, "1", 1.0) == "x must be a real number, got str"
    assert msg(TypeError, C.error_optimal_step, 1e-4, 1.0, None) == "lam must be a real number, got NoneType"


def test_controller_argument_checks():
    x0 = torch.ones(2, dtype=F64)
    for fn in (C.uniform_euler, C.stiffness_aware_euler):
        assert msg(TypeError, fn, 3.0, x0, 1.0, 2) == "f must be callable, got float"
        assert msg(ValueError, fn, lambda x: x, x0[None], 1.0, 2) == "x0 must have 1 dimensions, got shape [1, 2]"
        assert msg(ValueError, fn, lambda x: x, x0, 0.0, 2) == "T must be > 0, got 0.0"
        assert msg(ValueError, fn, lambda x: x, x0, 1.0, 0) == "n_steps must be >= 1, got 0"
    assert msg(ValueError, C.stiffness_aware_euler, lambda x: x, x0, 1.0, 2, c=0.0) == "c must be > 0, got 0.0"
    assert msg(ValueError, C.stiffness_aware_euler, lambda x: x, x0, 1.0, 2, rho0=0.0) == "rho0 must be > 0, got 0.0"


def test_uniform_euler_steps_and_states():
    x0 = t(1.0, -2.0)
    xs, hs = C.uniform_euler(lambda x: x**2, x0, 0.3, 3)
    assert xs.shape == (4, 2) and hs.shape == (3, 2)
    torch.testing.assert_close(hs, torch.full((3, 2), 0.1, dtype=F64), rtol=4 * EPS, atol=0)  # rem / (n - t)
    x, ref = x0, [x0]
    for k in range(3):
        x = x + hs[k] * x**2
        ref.append(x)
    torch.testing.assert_close(xs, torch.stack(ref), rtol=0, atol=0)
    xs1, hs1 = C.uniform_euler(lambda x: -x, x0, 2.0, 1)
    torch.testing.assert_close(xs1[-1], -x0, rtol=0, atol=0)  # one step of h = T = 2
    assert hs1.tolist() == [[2.0, 2.0]]


def test_stiffness_aware_euler_step_by_step():
    lam = t(3.0, 200.0)
    x0 = t(1.0, 1.0)

    def f(x):
        return -lam * x - x**3

    T, n = 1.0, 5
    xs, hs, rhos = C.stiffness_aware_euler(f, x0, T, n)
    # reference with the documented defaults c = 0.5, rho0 = 50
    x, rem, rho, xp, fp = x0, torch.full((2,), T, dtype=F64), torch.full((2,), 50.0, dtype=F64), None, None
    ref_x, ref_h, ref_r = [x0], [], []
    for k in range(n):
        fx = f(x)
        if k > 0:
            rho = (fx - fp).abs() / (x - xp).abs()
        h = rem if k == n - 1 else torch.minimum(rem, 0.5 / rho)
        xp, fp = x, fx
        x = x + h * fx
        rem = rem - h
        ref_x.append(x)
        ref_h.append(h)
        ref_r.append(rho)
    torch.testing.assert_close(xs, torch.stack(ref_x), rtol=0, atol=0)
    torch.testing.assert_close(hs, torch.stack(ref_h), rtol=0, atol=0)
    torch.testing.assert_close(rhos, torch.stack(ref_r), rtol=0, atol=0)
    assert hs[0].tolist() == [0.01, 0.01]  # c / rho0
    torch.testing.assert_close(hs.sum(0), torch.ones(2, dtype=F64), rtol=0, atol=4 * EPS)
    _, hs2, rhos2 = C.stiffness_aware_euler(f, x0, T, n, c=0.2, rho0=4.0)
    assert hs2[0].tolist() == [0.05, 0.05] and rhos2[0].tolist() == [4.0, 4.0]


def test_stiffness_aware_euler_keeps_rho_at_rest_and_guards_a_zero_secant():
    # x0 = 0 is a fixed point of -x: dx = 0, so rho stays rho0 and the steps stay c / rho0
    _, hs, rhos = C.stiffness_aware_euler(lambda x: -x, t(0.0), 1.0, 3, rho0=10.0)
    assert rhos[:, 0].tolist() == [10.0, 10.0, 10.0]
    assert hs[:, 0].tolist()[:2] == [0.05, 0.05]
    assert hs[2, 0].item() == pytest.approx(0.9, rel=2 * EPS)  # the last step takes the remainder
    # a constant field has a zero secant: the step is then the whole remainder (no division by 0)
    xs, hs, rhos = C.stiffness_aware_euler(lambda x: torch.ones_like(x), t(0.0), 1.0, 3)
    assert rhos[1, 0].item() == 0.0
    assert hs[:, 0].tolist() == pytest.approx([0.01, 0.99, 0.0], abs=4 * EPS)
    assert xs[-1, 0].item() == pytest.approx(1.0, rel=4 * EPS)
