"""attnmath.stiffness.controller: the classical step update, the error-optimal step, uniform and
stiffness-aware Euler.

Hand-computed updates with every default and clamp, the error-optimal step meeting its local error,
both integrators against step-by-step references (the secant of a linear field is its rate; a fixed
point and a constant field exercise the guards), and the argument checks with their messages.
"""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.base.numerics import F64_EPS as EPS
from attnmath.stiffness import controller as C
from tests._helpers import F64, msg


def t(*v):
    return torch.tensor(v, dtype=F64)


# ----------------------------------------------------------------------------- step update, error-optimal step
def test_classical_controller_and_error_optimal_step():
    assert C.classical_step_update(0.1, 4e-4, 1e-4) == pytest.approx(0.1 * 0.9 * 0.5)  # (1/4)^(1/2) = 1/2
    assert C.classical_step_update(0.1, 0.0, 1e-4) == pytest.approx(0.5)  # err = 0 -> fmax
    assert C.error_optimal_step(2e-4, 1.0, -20.0) == pytest.approx(0.02 / 20)
    h = C.error_optimal_step(1e-5, 2.0, 7.0)
    assert (h * 7.0) ** 2 / 2 * 2.0 == pytest.approx(1e-5)  # it meets the local error exactly


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


# ----------------------------------------------------------------------------- uniform and stiffness-aware Euler
def test_uniform_and_stiffness_aware_euler_on_a_linear_field():
    lam = torch.tensor([2.0, 40.0], dtype=torch.float64)
    x0 = torch.ones(2, dtype=torch.float64)
    xs, hs = C.uniform_euler(lambda x: -lam * x, x0, 1.0, 8)
    torch.testing.assert_close(xs[-1], (1 - lam / 8) ** 8, rtol=16 * EPS, atol=0)
    xs, hs, rhos = C.stiffness_aware_euler(lambda x: -lam * x, x0, 1.0, 8, c=0.5, rho0=50.0)
    torch.testing.assert_close(hs.sum(0), torch.ones(2, dtype=torch.float64), rtol=0, atol=8 * EPS)  # reaches T
    torch.testing.assert_close(rhos[1:], lam.expand(7, 2), rtol=1e-12, atol=0)  # the secant of a linear field
    assert hs[1, 1].item() == pytest.approx(0.5 / 40)


def test_controller_argument_checks():
    x0 = torch.ones(2, dtype=F64)
    for fn in (C.uniform_euler, C.stiffness_aware_euler):
        assert msg(TypeError, fn, 3.0, x0, 1.0, 2) == "f must be callable, got float"
        assert msg(ValueError, fn, lambda x: x, x0[None], 1.0, 2) == "x0 must have 1 dimensions, got shape [1, 2]"
        assert msg(ValueError, fn, lambda x: x, x0, 0.0, 2) == "T must be > 0, got 0.0"
        assert msg(ValueError, fn, lambda x: x, x0, 1.0, 0) == "n_steps must be >= 1, got 0"
    assert msg(ValueError, C.stiffness_aware_euler, lambda x: x, x0, 1.0, 2, c=0.0) == "c must be > 0, got 0.0"
    assert msg(ValueError, C.stiffness_aware_euler, lambda x: x, x0, 1.0, 2, rho0=0.0) == "rho0 must be > 0, got 0.0"


def test_controller_rejects_bad_input():
    x0 = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="T must be > 0"):
        C.uniform_euler(lambda x: -x, x0, -1.0, 4)
    with pytest.raises(TypeError, match="f must be callable"):
        C.stiffness_aware_euler(3.0, x0, 1.0, 4)
    with pytest.raises(ValueError, match="x0 must contain only finite"):
        C.stiffness_aware_euler(lambda x: -x, x0 * float("nan"), 1.0, 4)
    with pytest.raises(ValueError, match="h must be > 0"):
        C.classical_step_update(-0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match="x and lam must be non-zero"):
        C.error_optimal_step(1e-3, 0.0, 1.0)


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
