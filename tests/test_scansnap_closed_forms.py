"""Tests of attnmath.scansnap.closed_forms against independent numerics (quadrature, finite differences)."""

from __future__ import annotations

import math

import numpy as np
import pytest
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
