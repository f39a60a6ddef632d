"""attnmath.scansnap.closed_forms: the decoder solution, the speed control and the snap.

Checked against independent numerics (quadrature, finite differences, the ODE references, which are
in turn checked against the closed forms they validate: the snap ODE is solved exactly by
B = 1/4 ln(1 + 4 Gamma / C0)); the two asymptotic branches against B itself where each is the documented
limit; the float64 promises (a float32 time gives exactly the value of the same time in float64, exact
rationals are accepted); the documented solvers; and validation messages that name the argument.
"""

from __future__ import annotations

import math
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import scipy.integrate
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from attnmath.scansnap import (
    B_snap,
    B_snap_printed,
    Gamma_closed,
    attention_ratio_decay,
    chi,
    dB_dlog_t,
    dlog_gamma_dlog_t,
    gamma_argmax,
    gamma_speed,
    h_closed,
    h_star,
    omega1,
    relative_gain,
    t0_snap,
    zeta,
)
from attnmath.scansnap import closed_forms as CF
from attnmath.scansnap import dynamics as DY
from tests._helpers import msg


@settings(max_examples=40, deadline=None)
@given(M=st.integers(2, 100_000), eta=st.floats(1e-3, 10.0), t=st.floats(0.0, 1e5))
def test_wright_omega_solves_the_implicit_equation(M, eta, t):
    h = float(h_closed(t, M, eta))
    lhs, rhs = math.exp(M * h) + (M - 1) * M * h, M * eta * t + 1
    # roundoff: relative 1e-12 of the sides, plus an O(eps) error in u = Mh amplified by d lhs/du >= M - 1
    assert abs(lhs - rhs) <= 1e-12 * rhs + 10 * M * 2.2e-16


@pytest.mark.parametrize("M", [2, 33, 47137])
def test_h_closed_keeps_relative_accuracy_at_tiny_times(M):
    """h(t) = eta t / M + O(t^2) (h' = eta / (M - 1 + 1) at h = 0): positive, not an O(eps) value of either sign."""
    eta = 0.7
    t = np.array([1e-300, 1e-20, 1e-12])
    h = h_closed(t, M, eta)
    assert np.all(h > 0)
    # the O(t^2) term is below 1e-12 relative for t <= 1e-12; float64 roundoff of a few operations: 1e-14
    np.testing.assert_allclose(h, eta * t / M, rtol=1e-12, atol=0)


def test_h_star_recursion_and_zeta():
    M, eta = 20, 0.5
    h = h_star(3, M, eta)
    h1 = eta / (M - 1 + 1.0)
    h2 = h1 + eta / (M - 1 + math.exp(M * h1))
    assert h[0] == 0 and h[1] == pytest.approx(h1, rel=1e-15) and h[2] == pytest.approx(h2, rel=1e-15)
    z = zeta(3, 5)
    assert z[3] == 1 and np.allclose(z[[0, 1, 2, 4]], -0.25) and abs(z.sum()) < 1e-15


def test_gamma_derivative_and_peak():
    M, K, eta = 1000, 10, 0.5
    t = np.geomspace(1.0, 1e5, 25)
    eps = 1e-6
    fd = (np.log(gamma_speed(t * (1 + eps), M, K, eta)) - np.log(gamma_speed(t * (1 - eps), M, K, eta))) / (
        np.log1p(eps) - np.log1p(-eps)
    )
    assert np.allclose(dlog_gamma_dlog_t(t, M, K, eta), fd, atol=1e-6)  # central difference, O(eps^2) + roundoff/eps
    tp = gamma_argmax(M, K, eta)
    assert abs(float(dlog_gamma_dlog_t(tp, M, K, eta))) < 1e-9  # the slope vanishes at the peak
    late = np.array([1e4, 1e5])
    assert np.allclose(gamma_speed(late, M, K, eta, discrete=True), gamma_speed(late, M, K, eta), rtol=0.01)


def test_omega1_solves_its_equation():
    for M in (100, 1000, 10_000):
        u = (1 + omega1(M)) * math.log(M)
        assert math.exp(u) == pytest.approx((M - 1) * u, rel=1e-12)
        assert u > 1  # the larger root (W_{-1} branch)


def test_gamma_integral_by_quadrature():
    M, K, eY, eZ = 200, 5, 0.8, 0.3
    for t in (3.0, 40.0, 500.0):
        val, _ = quad(lambda s: eZ * float(gamma_speed(s, M, K, eY)), 0, t, epsabs=1e-13, epsrel=1e-12, limit=200)
        assert float(Gamma_closed(t, M, K, eY, eZ)) == pytest.approx(val, rel=1e-9)  # quadrature tolerance


def test_corrected_and_printed_snap_forms():
    t = np.array([0.0, 10.0, 700.0])
    B = B_snap(t, 1000, 10, 1.0, 0.5, 0.1)
    assert B[0] == 0.0 and np.all(np.diff(B) > 0)
    assert np.allclose(B_snap_printed(t, 1000, 10, 1.0, 0.5, 0.1) - B, 0.25 * math.log(0.1), atol=1e-14)
    eps = 1e-6
    tt = np.array([5.0, 50.0, 5000.0])
    fd = (B_snap(tt * (1 + eps), 1000, 10, 1.0, 0.5, 0.1) - B_snap(tt * (1 - eps), 1000, 10, 1.0, 0.5, 0.1)) / (
        np.log1p(eps) - np.log1p(-eps)
    )
    assert np.allclose(dB_dlog_t(tt, 1000, 10, 1.0, 0.5, 0.1), fd, atol=1e-7)
    assert t0_snap(1000, 10, 2.0) == pytest.approx(10 * math.log(1000))


def test_relative_gain_helpers():
    f = np.array([[0.6, 0.3, 0.1]])
    assert relative_gain(f, 0, 1)[0] == pytest.approx(3.0)
    assert chi(np.array([1.0]), np.array([0.5]))[0] == pytest.approx(math.e)
    assert attention_ratio_decay(3.0, 1.0) == pytest.approx(1.0)
    assert attention_ratio_decay(3.0, 5.0) == pytest.approx(math.sqrt(4 / 16))


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: h_closed(1.0, 10, 0.0), "eta_Y"),
        (lambda: h_closed(-1.0, 10, 1.0), "t"),
        (lambda: h_closed(1.0, 1, 1.0), "M"),
        (lambda: B_snap(1.0, 10, 2, 1.0, 1.0, 0.0), "C0"),
        (lambda: Gamma_closed(1.0, 10, 2, 1.0, -1.0), "eta_Z"),
    ],
)
def test_bad_inputs(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_h_ode_matches_the_closed_form():
    t = np.array([0.0, 0.5, 3.0, 40.0])
    ref = CF.h_ode(t, 20, 0.7)
    assert ref.shape == (4,) and ref[0] == 0.0
    assert np.allclose(ref, CF.h_closed(t, 20, 0.7), rtol=1e-9, atol=1e-13)  # DOP853 at rtol 1e-11
    loose = CF.h_ode(t, 20, 0.7, rtol=1e-3)
    assert not np.array_equal(loose, ref) and np.allclose(loose, ref, rtol=1e-2)  # rtol is passed through
    assert msg(ValueError, CF.h_ode, [-1.0], 20, 0.7) == "t_eval must be >= 0 (times), got min -1"
    assert msg(ValueError, CF.h_ode, [1.0], 1, 0.7) == "M must be >= 2, got 1"
    assert msg(ValueError, CF.h_ode, [1.0], 20, 0.0) == "eta_Y must be > 0, got 0.0"


def test_snap_ode_is_solved_by_B_snap():
    M, K, eY, eZ, C0 = 30, 4, 0.5, 2.0, 3.0
    t = np.array([0.0, 1.0, 10.0, 60.0])
    z, B = CF.snap_ode(t, M, K, eY, eZ, C0)
    exact = CF.B_snap(t, M, K, eY, eZ, C0)
    assert np.allclose(B, exact, rtol=1e-8, atol=1e-12)  # DOP853 at rtol 1e-12
    assert np.allclose(z, -B, rtol=0, atol=1e-12)  # dz/dt = -dB/dt from z(0) = B(0) = 0
    _, Bl = CF.snap_ode(t, M, K, eY, eZ, C0, rtol=1e-3)
    assert not np.array_equal(Bl, B) and np.allclose(Bl, exact, rtol=1e-2, atol=1e-4)
    assert msg(ValueError, CF.snap_ode, t, M, K, eY, eZ, 0.0) == "C0 must be > 0, got 0.0"
    assert msg(ValueError, CF.snap_ode, [-2.0], M, K, eY, eZ, C0) == "t_eval must be >= 0 (times), got min -2"


def test_B_snap_branches_are_the_small_and_large_time_limits():
    M, K, eY, eZ, C0 = 50, 3, 0.5, 1.5, 2.0
    # the branches' formulas at one point, from the docstring
    t = 7.0
    scan, snap = CF.B_snap_branches(t, M, K, eY, eZ, C0)
    assert math.isclose(scan, 0.25 * math.log1p(2 * 49**2 / (C0 * K * 2500) * eY * eZ * t**2), rel_tol=1e-14)
    expect = 0.25 * math.log1p(2 * K * 49**2 / (C0 * 2500) * eZ / eY * math.log(M * eY * t / K) ** 2)
    assert math.isclose(snap, expect, rel_tol=1e-14)
    # scanning: for t << t0' the branch is B to first order
    t_small = 1e-3 * CF.t0_scan(M, K, eY)
    scan, _ = CF.B_snap_branches(np.array([t_small]), M, K, eY, eZ, C0)
    assert math.isclose(scan[0], CF.B_snap(t_small, M, K, eY, eZ, C0), rel_tol=2e-3)
    # snapping: for t >> t0 the branch approaches B (log corrections)
    t_big = 1e8 * CF.t0_snap(M, K, eY)
    _, snap = CF.B_snap_branches(np.array([t_big]), M, K, eY, eZ, C0)
    assert math.isclose(snap[0], CF.B_snap(t_big, M, K, eY, eZ, C0), rel_tol=0.05)
    _, snap0 = CF.B_snap_branches(np.array([0.0]), M, K, eY, eZ, C0)  # ln(0)^2 = inf: no warning, no error
    assert snap0[0] == np.inf
    assert msg(ValueError, CF.B_snap_branches, [-1.0], M, K, eY, eZ, C0) == "t must be >= 0 (times), got min -1"


def test_every_function_returns_float64_for_float32_input():
    t32 = np.array([0.0, 1.0, 5.0], dtype=np.float32)
    assert CF.h_closed(t32, 10, 0.5).dtype == np.float64
    assert CF.gamma_speed(t32, 10, 2, 0.5).dtype == np.float64
    assert CF.Gamma_closed(t32, 10, 2, 0.5, 1.0).dtype == np.float64
    f32 = np.array([[1.0, 3.0], [2.0, 0.5]], dtype=np.float32)
    r = CF.relative_gain(f32, 1, 0)
    assert r.dtype == np.float64 and r.tolist() == [8.0, -0.9375]
    c = CF.chi(np.float32(0.1), np.float32(0.0))
    assert c.dtype == np.float64 and c == math.exp(2 * float(np.float32(0.1)))
    assert CF.chi(np.array([0.5]), np.float32(0.25)).dtype == np.float64
    d = CF.attention_ratio_decay(np.float32(3.0), np.float32(0.5))
    assert d.dtype == np.float64 and d == math.sqrt(4.0 / 2.5)
    assert CF.attention_ratio_decay(3.0, np.float32(0.5)).dtype == np.float64


def test_h_star_length_and_validation():
    assert CF.h_star(0, 5, 0.5).tolist() == [0.0]
    assert CF.h_star(4, 5, 0.5).shape == (5,)
    assert msg(ValueError, CF.h_star, -1, 5, 0.5) == "steps must be >= 0, got -1"
    assert msg(ValueError, CF.h_star, 2, 1, 0.5) == "M must be >= 2, got 1"
    assert msg(ValueError, CF.h_star, 2, 5, -0.5) == "eta_Y must be > 0, got -0.5"
    assert msg(ValueError, CF.h_closed, [1.0, np.nan], 5, 0.5) == "t must contain only finite values (found NaN or Inf)"
    assert CF.h_star(1, 2, 0.5).tolist() == [0.0, 0.25]  # M = 2 is allowed: h(1) = eta / ((M-1) + 1)


def test_gamma_speed_discrete_and_validation():
    M, K, eY = 6, 3, 0.5
    hs = CF.h_star(2, M, eY)
    t = np.array([0.0, 1.0, 3.0, 4.0])  # ceil(t / K) = 0, 1, 1, 2
    expect = (M - 1) ** 2 * hs[[0, 1, 1, 2]] / ((M - 1) + np.exp(M * hs[[0, 1, 1, 2]]))
    assert np.allclose(CF.gamma_speed(t, M, K, eY, discrete=True), expect, rtol=1e-15, atol=0)
    assert CF.gamma_speed(np.array([]), M, K, eY, discrete=True).shape == (0,)
    assert CF.gamma_speed(np.array([2.0]), M, 1, eY).shape == (1,)  # K = 1 is allowed
    assert msg(ValueError, CF.gamma_speed, 1.0, M, 0, eY) == "K must be >= 1, got 0"


def test_omega1_and_other_validation():
    # u* solves e^u = (M-1) u on the upper branch
    u = (CF.omega1(4) + 1) * math.log(4)
    assert math.isclose(math.exp(u), 3 * u, rel_tol=1e-12) and u > 1
    assert msg(ValueError, CF.omega1, 3) == "M must be >= 4, got 3"
    assert msg(ValueError, CF.Gamma_closed, 1.0, 5, 2, 0.5, -1.0) == "eta_Z must be >= 0, got -1.0"
    assert CF.Gamma_closed(1.0, 5, 2, 0.5, 0.0) == 0.0
    assert msg(ValueError, CF.B_snap, 1.0, 5, 2, 0.5, 1.0, 0.0) == "C0 must be > 0, got 0.0"
    assert msg(ValueError, CF.B_snap_printed, 1.0, 5, 2, 0.5, 1.0, -1.0) == "C0 must be > 0, got -1.0"
    # the printed form is off by exactly 1/4 ln C0
    args = (np.array([0.0, 2.0]), 5, 2, 0.5, 1.0, 3.0)
    assert np.allclose(CF.B_snap_printed(*args) - CF.B_snap(*args), 0.25 * math.log(3.0), rtol=0, atol=1e-15)


def _spy_solve_ivp(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    real = scipy.integrate.solve_ivp

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(scipy.integrate, "solve_ivp", spy)
    return calls


def test_float32_times_are_computed_in_float64():
    # 0.1f is not 0.1: the float64 value of the float32 number must be used, and the arithmetic
    # M eta_Y t + 1 done in float64 (in float32 it would round at 6e-8 relative)
    t32 = np.array([0.1, 3.3, 17.7], dtype=np.float32)
    t64 = t32.astype(np.float64)
    assert np.array_equal(CF.h_closed(t32, 10, 0.7), CF.h_closed(t64, 10, 0.7))
    assert np.array_equal(CF.gamma_speed(t32, 10, 3, 0.7), CF.gamma_speed(t64, 10, 3, 0.7))
    assert np.array_equal(CF.Gamma_closed(t32, 10, 3, 0.7, 0.3), CF.Gamma_closed(t64, 10, 3, 0.7, 0.3))
    # and the float64 result differs from the same formula evaluated in float32 arithmetic
    a32 = (np.float32(10 * 0.7) * t32 + np.float32(1.0)) / np.float32(9)
    a64 = (10 * 0.7 * t64 + 1.0) / 9
    assert a32.dtype == np.float32 and not np.array_equal(a32.astype(np.float64), a64)


def test_chi_and_attention_ratio_accept_exact_rationals():
    assert CF.chi([Fraction(1, 2)], [Fraction(0)])[0] == pytest.approx(math.e, rel=1e-15)
    assert CF.chi(Fraction(3, 4), Fraction(1, 4)) == pytest.approx(math.e, rel=1e-15)
    # (1 + 3) / (1 + 3 * 1/2) = 8/5
    assert CF.attention_ratio_decay(Fraction(3), Fraction(1, 2)) == pytest.approx(math.sqrt(1.6), rel=1e-15)
    assert CF.attention_ratio_decay(3.0, [Fraction(1, 2)])[0] == pytest.approx(math.sqrt(1.6), rel=1e-15)
    assert CF.attention_ratio_decay([Fraction(3)], 0.5)[0] == pytest.approx(math.sqrt(1.6), rel=1e-15)
    assert CF.attention_ratio_decay([Decimal(3)], [Decimal("0.5")]).dtype == np.float64


def test_ode_references_use_dop853(monkeypatch):
    calls = _spy_solve_ivp(monkeypatch)
    t = np.array([0.0, 0.5, 1.0])  # short: h(t/K) <= 0.025 stays far from any singular gamma
    CF.h_ode(t, 10, 0.5)
    CF.snap_ode(t, 10, 2, 0.5, 1.0, 2.0)
    DY.reduced_distinct_flow([0.25, 0.75], [0.5], t)
    assert [c["method"] for c in calls] == ["DOP853"] * 3  # the documented solver of all three
    assert [c["rtol"] for c in calls] == [1e-11, 1e-12, 1e-10]  # the documented default rtol of each


def test_B_snap_branches_at_zero_time_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a divide-by-zero RuntimeWarning would raise here
        scan, snap = CF.B_snap_branches(np.array([0.0, 1.0]), 50, 3, 0.5, 1.5, 2.0)
    assert scan[0] == 0.0 and snap[0] == np.inf and np.isfinite(snap[1])
