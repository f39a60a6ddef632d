"""S6 steps read with the stiffness chapter's tools (attnmath.synthesis.steps): transitions, held input, toy SSM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.dsf import s6_dsf
from attnmath.stiffness import exact_gate
from attnmath.synthesis import (
    ToyFit,
    held_input_ode_states,
    implied_euler_gate,
    relaxation_task,
    s4d_real,
    s4d_transition_dsf,
    toy_forward,
)

F64 = torch.float64


def test_s4d_real_and_its_two_transitions():
    a = s4d_real(5)
    assert a.tolist() == [-1.0, -2.0, -3.0, -4.0, -5.0]
    d = torch.tensor([0.1, 0.7], dtype=F64)
    euler = s4d_transition_dsf(a, d, "euler").eigenvalues()
    zoh = s4d_transition_dsf(a, d, "zoh").eigenvalues()
    torch.testing.assert_close(euler, 1 + d[:, None] * a[None, :], atol=1e-15, rtol=0)  # one rounding
    torch.testing.assert_close(zoh, torch.exp(d[:, None] * a[None, :]), atol=1e-15, rtol=0)
    # the Euler input gain is Δ, the ZOH gain Δ φ1(Δa) = (1 - e^{Δa}) / |a|
    u = torch.ones(2, 1, dtype=F64)
    _, H = s4d_transition_dsf(a, d, "zoh").recurrent(u, return_state=True)
    torch.testing.assert_close(H[0], -torch.expm1(d[0] * a) / -a, atol=1e-15, rtol=0)


def test_held_input_ode_matches_the_closed_form_for_one_interval():
    a = np.array([-2.0, -0.5])
    b = np.array([[1.0, 3.0]])
    h = held_input_ode_states(a, b, np.array([0.7]), np.array([1.3]))
    exact = (np.exp(a * 1.3) - 1) / a * b[0] * 0.7  # h(Δ) = (e^{aΔ} - 1)/a b u from h(0) = 0
    np.testing.assert_allclose(h[0], exact, rtol=0, atol=1e-12)  # DOP853 rtol 1e-12 on O(1) values


@settings(max_examples=8, deadline=None)
@given(L=st.integers(1, 6), n=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_zoh_s6_is_the_held_input_flow(L, n, seed):
    g = torch.Generator().manual_seed(seed)
    a = -0.2 - 3 * torch.rand(n, generator=g, dtype=F64)
    delta = 0.05 + 2 * torch.rand(L, generator=g, dtype=F64)
    b, c = torch.randn(L, n, generator=g, dtype=F64), torch.randn(L, n, generator=g, dtype=F64)
    u = torch.randn(L, generator=g, dtype=F64)
    _, H = s6_dsf(u[:, None], delta[:, None], a[None, :], b, c, discretization="zoh").recurrent(
        u[:, None], return_state=True
    )
    ref = held_input_ode_states(a, b, u, delta)
    np.testing.assert_allclose(H.numpy(), ref, rtol=0, atol=1e-10)  # solve_ivp rtol 1e-12 over <= 6 intervals


def test_relaxation_task_is_the_exact_relaxation():
    lam = torch.tensor([[1.0, 50.0, 7.0, 100.0]], dtype=F64)
    u, y = relaxation_task(lam, seed=4, h=0.1)
    prev, want = 0.0, []
    for i in range(4):
        e = math.exp(-0.1 * float(lam[0, i]))
        prev = e * prev + (1 - e) * float(u[0, i])
        want.append(prev)
    np.testing.assert_allclose(y[0].numpy(), want, rtol=0, atol=1e-11)  # DOP853 rtol 1e-12, atol 1e-14, 4 tokens
    assert y.dtype == F64 and u.shape == y.shape == lam.shape


def test_relaxation_task_does_not_run_the_s6_code(monkeypatch):
    """The targets come from solve_ivp: breaking the S6 DSF the toy runs leaves them unchanged."""
    from attnmath.synthesis import steps

    lam = torch.tensor([[2.0, 30.0, 80.0], [5.0, 1.0, 60.0]], dtype=F64)
    _, y = relaxation_task(lam, seed=3)

    def broken(*args, **kw):
        raise AssertionError("relaxation_task must not call s6_dsf")

    monkeypatch.setattr(steps, "s6_dsf", broken)
    _, y2 = relaxation_task(lam, seed=3)
    torch.testing.assert_close(y2, y, atol=0, rtol=0)
    _, loose = relaxation_task(lam, seed=3, rtol=1e-3, atol=1e-6)  # the solver tolerance is passed through
    assert 0 < float((loose - y).abs().max()) < 1e-2


def test_toy_forward_matches_explicit_loops():
    g = torch.Generator().manual_seed(8)
    lam = torch.exp(4 * torch.rand(2, 5, generator=g, dtype=F64))
    u = torch.randn(2, 5, generator=g, dtype=F64)
    p = torch.tensor([0.8, -0.1, -1.0, 0.3], dtype=F64)
    a = -math.exp(0.3)
    delta = torch.nn.functional.softplus(0.8 * torch.log(lam) - 0.1 * u - 1.0)
    for transition in ("zoh", "euler"):
        y, d, aa = toy_forward(p, lam, u, transition)
        assert aa.item() == pytest.approx(a, rel=1e-15)
        torch.testing.assert_close(d, delta, atol=0, rtol=0)
        h, want = torch.zeros(2, dtype=F64), []
        for i in range(5):
            z = delta[:, i] * -a
            lam_i = torch.exp(-z) if transition == "zoh" else 1 - z
            gain = -torch.expm1(-z) if transition == "zoh" else z
            h = lam_i * h + gain * u[:, i]
            want.append(h)
        torch.testing.assert_close(y, torch.stack(want, -1), atol=1e-14, rtol=0)  # float64 roundoff of 5 steps


def test_implied_gate_of_the_exact_step_is_the_exact_gate():
    lam = torch.tensor([[1.0, 3.0, 30.0, 100.0]], dtype=F64)
    fit = ToyFit(torch.zeros(4, dtype=F64), lam, 0.1 * lam / 2.0, -2.0, 0.0, 1.0)  # Δ|a| = hλ exactly
    torch.testing.assert_close(implied_euler_gate(fit, 0.1), exact_gate(0.1, lam), atol=1e-15, rtol=0)


def test_bad_inputs_name_the_argument():
    a = s4d_real(3)
    with pytest.raises(ValueError, match="transition"):
        s4d_transition_dsf(a, torch.ones(2, dtype=F64), "rk4")
    with pytest.raises(ValueError, match="a must be negative"):
        s4d_transition_dsf(-a, torch.ones(2, dtype=F64))
    with pytest.raises(ValueError, match="delta must be positive"):
        s4d_transition_dsf(a, torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match="n must be >= 1"):
        s4d_real(0)
    with pytest.raises(ValueError, match="delta must be positive"):
        held_input_ode_states(np.array([-1.0]), np.ones((2, 1)), np.ones(2), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="shapes"):
        held_input_ode_states(np.array([-1.0]), np.ones((3, 1)), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="lam must be positive"):
        relaxation_task(torch.zeros(1, 3, dtype=F64), seed=0)
    with pytest.raises(ValueError, match="rtol"):
        relaxation_task(torch.ones(1, 3, dtype=F64), seed=0, rtol=0.0)
    with pytest.raises(ValueError, match="params"):
        toy_forward(torch.zeros(3, dtype=F64), torch.ones(1, 2, dtype=F64), torch.ones(1, 2, dtype=F64), "zoh")
