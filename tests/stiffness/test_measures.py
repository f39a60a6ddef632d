"""attnmath.stiffness.measures: SAI, the secant estimate, rho^J by JVP power iteration and the four metrics.

Hand-computed values of every measure and metric with its defaults, the secant inside the spectrum of
a symmetric linear field (hypothesis), the 0/0 guards at tiny norms (the measures are ratios of norms,
so they are scale invariant down to subnormal-free tiny scales), and every validated argument at its
boundary.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from attnmath.base.numerics import F64_EPS as EPS
from attnmath.stiffness import measures as M
from tests._helpers import F64, msg, rand


def t(*v):
    return torch.tensor(v, dtype=F64)


# ----------------------------------------------------------------------------- SAI, secant
def test_sai_and_secant_on_hand_computed_vectors():
    x = torch.tensor([[3.0, 4.0]], dtype=torch.float64)  # |x| = 5
    xn = torch.tensor([[3.0, 1.0]], dtype=torch.float64)  # |dx| = 3
    assert M.sai(x, xn, h=0.5).item() == pytest.approx(3 / (0.5 * 5), rel=2 * EPS)
    f = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    fn = torch.tensor([[6.0, 8.0]], dtype=torch.float64)  # |df| = 10
    assert M.secant_rho(x, xn, f, fn).item() == pytest.approx(10 / 3, rel=2 * EPS)


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
    assert msg(ValueError, M.sai, x, xn[:1]) == "x_next must have shape [2, 2] (the shape of x), got [1, 2]"
    assert msg(TypeError, M.sai, [1.0], xn) == "x must be a torch.Tensor, got list"


def test_secant_rho_values_tiny_norms_and_messages():
    x, xn = t([0.0, 0.0]), t([1.0, 0.0])
    f, fn = t([1.0, 1.0]), t([4.0, 5.0])
    assert M.secant_rho(x, xn, f, fn).item() == pytest.approx(5.0, rel=2 * EPS)
    assert M.secant_rho(1e-150 * x, 1e-150 * xn, 1e-150 * f, 1e-150 * fn).item() == pytest.approx(5.0, rel=4 * EPS)
    assert M.secant_rho(x, x, f, f).item() == 0.0
    assert msg(ValueError, M.secant_rho, x, xn, t(1.0), fn) == "f must have shape [1, 2] (the shape of x), got [1]"
    assert msg(ValueError, M.secant_rho, x, t(1.0), f, fn) == "x_next must have shape [1, 2] (the shape of x), got [1]"
    assert msg(ValueError, M.secant_rho, x, xn, f, t(1.0)) == "f_next must have shape [1, 2] (the shape of x), got [1]"
    assert msg(ValueError, M.secant_rho, x, xn, f, t([1.0, math.inf])) == (
        "f_next must contain only finite values (found NaN or Inf)"
    )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.floats(1e-3, 0.5))
def test_secant_of_a_symmetric_linear_field_lies_in_its_spectrum(seed, h):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam = -np.exp(rng.uniform(0, 4, 4))
    J = torch.from_numpy(Q @ np.diag(lam) @ Q.T)
    x = torch.from_numpy(rng.standard_normal((3, 4)))
    xn = x + h * x @ J.T
    r = M.secant_rho(x, xn, x @ J.T, xn @ J.T)
    assert bool((r >= np.abs(lam).min() * (1 - 1e-9)).all())  # the tolerance of claim stiffness.secant-bound
    assert bool((r <= np.abs(lam).max() * (1 + 1e-9)).all())


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
    assert msg(ValueError, M.trajectory_measures, xs, fs[:2]) == (
        "fs must have shape [3, 2, 3] (one residual per step of the states xs [4, 2, 3]), got [2, 2, 3]"
    )
    assert msg(ValueError, M.trajectory_measures, xs[0], fs) == "xs must have 3 dimensions, got shape [2, 3]"


# ----------------------------------------------------------------------------- Jacobian measures
def test_jacobian_spectral_radius_per_row_of_a_batch():
    J1 = torch.diag(torch.tensor([-8.0, -1.0, -0.5], dtype=torch.float64))
    scale = torch.tensor([[1.0], [3.0]], dtype=torch.float64)  # row 2's field is 3x row 1's
    rho = M.jacobian_spectral_radius(lambda u: scale * (u @ J1.T), torch.ones(2, 3, dtype=torch.float64))
    torch.testing.assert_close(rho, torch.tensor([8.0, 24.0], dtype=torch.float64), rtol=1e-9, atol=0)  # (1/8)^19


def test_jacobian_spectral_radius_of_a_nonlinear_field_matches_eigvals():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(5, 5, generator=g, dtype=torch.float64)
    W = W @ W.T + 5 * torch.eye(5, dtype=torch.float64)  # symmetric positive definite

    def f(u):
        return -u @ W.T + 0.1 * u**2

    x = torch.randn(1, 5, generator=g, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda v: f(v[None])[0], x[0])
    ref = torch.linalg.eigvals(J).abs().max()
    est = M.jacobian_spectral_radius(f, x, n_iter=200)
    assert est.item() == pytest.approx(ref.item(), rel=1e-6)  # 200 power steps on a gapped spectrum


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


def test_jacobian_stiffness_ratio_of_a_linear_field():
    A = torch.diag(torch.tensor([-2.0, -20.0, -400.0], dtype=torch.float64))
    assert M.jacobian_stiffness_ratio(lambda v: A @ v, torch.ones(3, dtype=torch.float64)) == pytest.approx(200.0)


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


# ----------------------------------------------------------------------------- metrics
def test_the_four_metrics_on_hand_values():
    rho = torch.tensor([1.0, 2.0, 5.0, 10.0], dtype=torch.float64)
    assert M.stiffness_awareness_score(1 / rho, rho) == pytest.approx(1.0)  # perfectly inverse
    assert M.stiffness_awareness_score(rho, rho) == pytest.approx(-1.0)
    assert M.stability_margin_rate(torch.ones(4, dtype=torch.float64), rho, h=0.3) == 0.75  # h rho = .3 .6 1.5 3
    oracle = torch.expm1(-0.1 * rho) / (-0.1 * rho)
    assert M.oracle_gap(oracle, rho, h=0.1) == pytest.approx(0.0, abs=4 * EPS)
    stats = M.sai_profile_stats(torch.tensor([[1.0, 1.0], [1.0, 1.0], [4.0, 4.0]], dtype=torch.float64))
    assert stats["spikiness"] == pytest.approx(4.0)
    assert stats["cv"] == pytest.approx(math.sqrt(3) / 2)  # mean 2, sample std sqrt(3)


def test_flat_and_matched_inputs():
    flat = M._flat([[1, 2], [3, 4]], "a")
    assert flat.tolist() == [1.0, 2.0, 3.0, 4.0] and flat.dtype == np.float64
    assert M._flat(np.ones(3, dtype=np.float32), "a").dtype == np.float64
    grad = torch.tensor([0.5, 0.25], dtype=F64, requires_grad=True)  # a gate still attached to its graph
    assert M._flat(grad, "a_bar").tolist() == [0.5, 0.25]
    assert M._flat(torch.ones(2, 2, dtype=torch.float32), "a").dtype == np.float64
    assert msg(ValueError, M._flat, [], "rho") == "rho must be non-empty, got shape [0]"
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
    assert msg(ValueError, M.oracle_gap, [], rho) == "a must be non-empty, got shape [0]"


def test_sai_profile_stats_on_a_hand_worked_profile():
    prof = t([1.0, 3.0], [2.0, 2.0], [6.0, 8.0], [3.0, 1.0])  # block means 2, 2, 7, 2
    stats = M.sai_profile_stats(prof)
    assert set(stats) == {"cv", "spikiness"}
    assert stats["cv"] == pytest.approx(2.5 / 3.25, rel=4 * EPS)  # mean 13/4, sample std 5/2
    assert stats["spikiness"] == pytest.approx(7.0 / 2.0, rel=2 * EPS)
    assert msg(ValueError, M.sai_profile_stats, t(1.0, 2.0)) == "sai_profile must have 2 dimensions, got shape [2]"


# ----------------------------------------------------------------------------- bad input
def test_measures_reject_bad_input():
    x = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="x_next must have shape"):
        M.sai(x, torch.ones(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="h must be > 0"):
        M.sai(x, x, h=-1.0)
    with pytest.raises(ValueError, match="x must contain only finite"):
        M.secant_rho(x * float("nan"), x, x, x)
    with pytest.raises(ValueError, match="a_bar and rho must have the same number"):
        M.stability_margin_rate(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="rho must contain only finite"):
        M.stiffness_awareness_score(np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="rho must be >= 0"):
        M.oracle_gap(np.ones(2), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        M.jacobian_spectral_radius(lambda u: u, torch.ones(3, dtype=torch.float64))
