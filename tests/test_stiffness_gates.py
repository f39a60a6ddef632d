"""Unit, property and bad-input tests of attnmath.stiffness.gates and networks."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.stiffness import gates as G
from attnmath.stiffness.networks import ResidualMLP

EPS = torch.finfo(torch.float64).eps


def test_phi1_values():
    z = torch.tensor([0.0, 1e-12, -1e-12, 1.0, -50.0], dtype=torch.float64)
    out = G.phi1(z)
    expected = torch.tensor([1.0, 1 + 5e-13, 1 - 5e-13, math.e - 1, (1 - math.exp(-50)) / 50], dtype=torch.float64)
    torch.testing.assert_close(out, expected, rtol=4 * EPS, atol=0)  # expm1 (1 ulp) and one division
    assert G.phi1(0.0) == 1.0
    assert isinstance(G.phi1(-2.0), float)


@settings(max_examples=50, deadline=None)
@given(hmu=st.floats(1e-6, 1e3), x=st.floats(-10, 10))
def test_exact_gate_makes_the_block_the_exact_flow(hmu, x):
    mu = torch.tensor([hmu / 0.1], dtype=torch.float64)
    a = G.exact_gate(0.1, mu)
    assert 0 < a.item() < 1
    xt = torch.tensor([[x]], dtype=torch.float64)
    out = G.gated_euler_step(xt, -mu[:, None] * xt, a[:, None], 0.1)
    # 1 - a h mu cancels when h mu >> 1: the bound is absolute in |x| (dossier T5).
    assert abs(out.item() - math.exp(-hmu) * x) <= 1e-14 * max(abs(x), 1e-300) + 1e-300


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 5), D=st.integers(1, 7), h=st.floats(0.0, 2.0), seed=st.integers(0, 1000))
def test_gated_step_is_euler_with_a_diagonal_step_matrix(B, D, h, seed):
    g = torch.Generator().manual_seed(seed)
    x, f = torch.randn(B, D, generator=g, dtype=torch.float64), torch.randn(B, D, generator=g, dtype=torch.float64)
    a = torch.rand(B, D, generator=g, dtype=torch.float64)
    out = G.gated_euler_step(x, f, a, h)
    ref = torch.stack([x[i] + (h * torch.diag(a[i])) @ f[i] for i in range(B)])
    # h*a*f vs (h*a)*f summed with D-1 exact zeros: a few ulp of |x| + |h a f| (both < ~20 here)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-14)


def test_heun_euler_on_a_linear_field():
    lam, h = -3.0, 0.2
    x = torch.tensor([[1.5, -2.0]], dtype=torch.float64)
    x_h, x_e, est = G.heun_euler(lambda u: lam * u, x, h)
    torch.testing.assert_close(x_e, (1 + h * lam) * x, rtol=2 * EPS, atol=0)
    torch.testing.assert_close(x_h, (1 + h * lam + (h * lam) ** 2 / 2) * x, rtol=4 * EPS, atol=0)
    torch.testing.assert_close(est, (h * lam) ** 2 / 2 * x, rtol=8 * EPS, atol=0)  # difference of O(1) terms


def test_se_gate_pools_and_stays_in_the_unit_interval():
    gate = G.SEGate(8, reduction=4).double()
    f4 = torch.randn(3, 8, 5, 5, dtype=torch.float64)
    a = gate(f4)
    assert a.shape == (3, 8)
    assert bool(((a > 0) & (a < 1)).all())
    torch.testing.assert_close(a, gate(f4.mean((2, 3))), rtol=0, atol=1e-15)  # GAP then the same MLP


def test_secant_gate_uses_the_difference_and_needs_x_when_asked():
    gate = G.SecantStepGate(6, reduction=2, use_dx=True).double()
    f, fp = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    x, xp = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    a = gate(f, fp, x, xp)
    assert a.shape == (4, 6) and bool(((a > 0) & (a < 1)).all())
    assert not torch.allclose(a, gate(f, f, x, xp))  # a different f_{t-1} changes the gate
    with pytest.raises(ValueError, match="x and x_prev are required"):
        gate(f, fp)
    with pytest.raises(ValueError, match="f_prev must have the shape"):
        G.SecantStepGate(6).double()(f, fp[:, :3])


def test_recurrent_gate_carries_state():
    gate = G.RecurrentStepGate(6, reduction=2).double()
    f = torch.randn(2, 6, dtype=torch.float64)
    a1, st1 = gate(f, torch.zeros_like(f))
    a2, _ = gate(f, torch.zeros_like(f), st1)
    assert a1.shape == (2, 6) and bool(((a1 > 0) & (a1 < 1)).all())
    assert not torch.allclose(a1, a2)  # same input, different history: a different gate


def test_signed_log_is_odd_and_monotone():
    u = torch.linspace(-5, 5, 101, dtype=torch.float64)
    s = G.signed_log(u)
    torch.testing.assert_close(s, -G.signed_log(-u), rtol=0, atol=0)
    assert bool((s[1:] > s[:-1]).all())


def test_run_scalar_adaptor_without_gate_is_plain_euler():
    lam = torch.tensor([1.0, 30.0], dtype=torch.float64)
    x0 = torch.tensor([1.0, 2.0], dtype=torch.float64)
    xs, gs = G.run_scalar_adaptor(None, lambda x: -lam * x, x0, 0.1, 4)
    torch.testing.assert_close(xs[-1], x0 * (1 - 0.1 * lam) ** 4, rtol=8 * EPS, atol=0)
    assert bool((gs == 1).all()) and xs.shape == (5, 2)


def test_stepnet_features_see_the_exact_rate_of_a_linear_field():
    lam = torch.tensor([2.0, 70.0], dtype=torch.float64)
    gate = G.ScalarStepGate("stepnet").double()
    seen = []
    orig = gate.features

    def spy(f, q, t):
        seen.append(q.clone())
        return orig(f, q, t)

    gate.features = spy
    G.run_scalar_adaptor(gate, lambda x: -lam * x, torch.tensor([1.0, 1.0], dtype=torch.float64), 0.1, 3)
    for q in seen:  # the secant of a linear field is its slope, at t = 0 through the probe
        torch.testing.assert_close(q, -lam, rtol=1e-9, atol=0)  # difference quotient over a 1e-2 h probe


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize("gate", ["plain", "se", "secant", "recurrent"])
def test_residual_mlp_records_an_euler_trajectory(gate):
    net = ResidualMLP(10, 8, 3, 4, gate, h=0.5).double()
    x = torch.randn(5, 10, dtype=torch.float64)
    logits, tr = net(x, return_trace=True)
    assert logits.shape == (5, 4)
    assert tr.xs.shape == (4, 5, 8) and tr.fs.shape == (3, 5, 8) and tr.gates.shape == (3, 5, 8)
    torch.testing.assert_close(tr.xs[1:], tr.xs[:-1] + 0.5 * tr.gates * tr.fs, rtol=0, atol=1e-14)  # same ops
    if gate == "plain":
        assert bool((tr.gates == 1).all())
    else:
        assert bool(((tr.gates > 0) & (tr.gates < 1)).all())


# ------------------------------------------------------------------ bad input
def test_negative_step_and_nan_are_rejected():
    x = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="h must be >= 0"):
        G.gated_euler_step(x, x, x, -0.1)
    with pytest.raises(ValueError, match="x must contain only finite"):
        G.gated_euler_step(x * float("nan"), x, x, 0.1)
    with pytest.raises(ValueError, match="mu must be >= 0"):
        G.exact_gate(0.1, torch.tensor([-1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="z must contain only finite"):
        G.phi1(torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match="h must be >= 0"):
        G.heun_euler(lambda u: u, x, -1.0)


def test_shape_and_type_errors_name_the_argument():
    x = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="f must have shape"):
        G.gated_euler_step(x, torch.ones(2, 4, dtype=torch.float64), x)
    with pytest.raises(ValueError, match="a must broadcast"):
        G.gated_euler_step(x, x, torch.ones(4, dtype=torch.float64))
    with pytest.raises(TypeError, match="z must be a real number"):
        G.phi1("1")
    with pytest.raises(ValueError, match="kind must be one of"):
        G.ScalarStepGate("dia")
    with pytest.raises(ValueError, match="gate must be one of"):
        ResidualMLP(4, 4, 2, 2, "cbam")
    with pytest.raises(ValueError, match="f must have shape"):
        G.SEGate(4)(torch.ones(4, dtype=torch.float64))


def test_seeded_initialisation_does_not_depend_on_the_default_dtype():
    old = torch.get_default_dtype()
    try:
        out = []
        for default in (torch.float32, torch.float64):
            torch.set_default_dtype(default)
            with torch.random.fork_rng():
                torch.manual_seed(0)
                out.append(ResidualMLP(4, 6, 2, 3, "secant", dtype=torch.float64).fc1[0].weight.detach().clone())
    finally:
        torch.set_default_dtype(old)
    assert out[0].dtype == torch.float64
    torch.testing.assert_close(out[0], out[1], rtol=0, atol=0)  # same draws, bit for bit
