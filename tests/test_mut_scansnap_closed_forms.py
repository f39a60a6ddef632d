"""attnmath.scansnap.closed_forms: references, asymptotic branches, dtypes and validation (issue 9).

Complements tests/test_scansnap_closed_forms.py. The ODE references are checked against the
closed forms they validate (the snap ODE is solved exactly by B = 1/4 ln(1 + 4 Gamma / C0)); the two
asymptotic branches against B itself where each is the documented limit; every function returns
float64 (module docstring) and validates its arguments with messages that name them.
"""

from __future__ import annotations

import math

import numpy as np

from attnmath.scansnap import closed_forms as CF
from tests._helpers import msg


def test_h_ode_matches_the_closed_form():
    t = np.array([0.0, 0.5, 3.0, 40.0])
    ref = CF.h_ode(t, 20, 0.7)
    assert ref.shape == (4,) and ref[0] == 0.0
    assert np.allclose(ref, CF.h_closed(t, 20, 0.7), rtol=1e-9, atol=1e-13)  # DOP853 at rtol 1e-11
    loose = CF.h_ode(t, 20, 0.7, rtol=1e-3)
    assert not np.array_equal(loose, ref) and np.allclose(loose, ref, rtol=1e-2)  # rtol is passed through
    assert msg(ValueError, CF.h_ode, [-1.0], 20, 0.7) == "t_eval must be finite and >= 0"
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
    assert msg(ValueError, CF.snap_ode, [-2.0], M, K, eY, eZ, C0) == "t_eval must be finite and >= 0"


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
    assert msg(ValueError, CF.B_snap_branches, [-1.0], M, K, eY, eZ, C0) == "t must be finite and >= 0"


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
    assert msg(ValueError, CF.h_closed, [1.0, np.nan], 5, 0.5) == "t must be finite and >= 0"
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
