"""attnmath.stiffness.gates: phi1 and the exact gate, the gated Euler step, Heun-Euler, the SE and
StepNet-lite gates, the learned adaptor's scalar gate and its runner.

Each gate's forward pass is recomputed from its documented formula with the module's own weights; the
constructor arguments (reduction, bias, dtype, use_dx, hidden) are read back from the layer sizes;
properties (the exact gate reproduces the flow, the gated step is diagonal Euler) are checked with
hypothesis; every validated argument is tried at its boundary and the message must name it.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.base.numerics import F64_EPS as EPS
from attnmath.stiffness import gates as G
from attnmath.stiffness.networks import ResidualMLP
from tests._helpers import F64, msg, rand


def lin(layer, x):
    out = x @ layer.weight.T
    return out + layer.bias if layer.bias is not None else out


# ----------------------------------------------------------------------------- phi1, exact gate
def test_phi1_values():
    z = torch.tensor([0.0, 1e-12, -1e-12, 1.0, -50.0], dtype=torch.float64)
    out = G.phi1(z)
    expected = torch.tensor([1.0, 1 + 5e-13, 1 - 5e-13, math.e - 1, (1 - math.exp(-50)) / 50], dtype=torch.float64)
    torch.testing.assert_close(out, expected, rtol=4 * EPS, atol=0)  # expm1 (1 ulp) and one division
    assert G.phi1(0.0) == 1.0
    assert isinstance(G.phi1(-2.0), float)


def test_phi1_on_tensors_numbers_and_empty_input():
    z = torch.tensor([[0.0, -2.0], [3.0, -1e-8]], dtype=F64)
    ref = torch.tensor([[1.0, (math.exp(-2) - 1) / -2], [(math.exp(3) - 1) / 3, math.expm1(-1e-8) / -1e-8]], dtype=F64)
    torch.testing.assert_close(G.phi1(z), ref, rtol=4 * EPS, atol=0)  # expm1 and one division
    assert G.phi1(z).shape == (2, 2)
    assert G.phi1(torch.zeros(0, dtype=F64)).shape == (0,)  # empty is allowed
    assert G.phi1(1) == pytest.approx(math.e - 1, rel=2 * EPS)  # an int is a real number
    assert G.phi1(0) == 1.0
    assert msg(TypeError, G.phi1, None) == "z must be a real number, got NoneType"
    assert msg(ValueError, G.phi1, math.inf) == "z must be finite, got inf"
    assert msg(TypeError, G.phi1, torch.zeros(2, dtype=torch.int64)).startswith("z must have a real floating dtype")


def test_phi1_has_a_finite_gradient_at_zero():
    # the safe denominator keeps the masked branch finite, so backpropagating through z = 0 gives no NaN
    z = torch.tensor([0.0, 1.0, -2.0], dtype=F64, requires_grad=True)
    G.phi1(z).sum().backward()
    assert bool(torch.isfinite(z.grad).all())
    # phi1'(z) = (z e^z - e^z + 1) / z^2: 1 at z = 1, (1 - 3 e^-2) / 4 at z = -2
    ref = torch.tensor([1.0, (1 - 3 * math.exp(-2.0)) / 4], dtype=F64)
    torch.testing.assert_close(z.grad[1:], ref, rtol=8 * EPS, atol=0)  # autograd of expm1(z) / z


@settings(max_examples=50, deadline=None)
@given(hmu=st.floats(1e-6, 1e3), x=st.floats(-10, 10))
def test_exact_gate_makes_the_block_the_exact_flow(hmu, x):
    mu = torch.tensor([hmu / 0.1], dtype=torch.float64)
    a = G.exact_gate(0.1, mu)
    assert 0 < a.item() < 1
    xt = torch.tensor([[x]], dtype=torch.float64)
    out = G.gated_euler_step(xt, -mu[:, None] * xt, a[:, None], 0.1)
    # 1 - a h mu cancels when h mu >> 1: the bound is absolute in |x|.
    assert abs(out.item() - math.exp(-hmu) * x) <= 1e-14 * max(abs(x), 1e-300) + 1e-300


def test_exact_gate_boundaries():
    mu = torch.tensor([0.0, 2.0, 10.0], dtype=F64)
    a = G.exact_gate(0.5, mu)
    ref = torch.tensor([1.0, -math.expm1(-1.0), -math.expm1(-5.0) / 5], dtype=F64)
    torch.testing.assert_close(a, ref, rtol=4 * EPS, atol=0)  # expm1 and one division
    assert G.exact_gate(0.0, mu).tolist() == [1.0, 1.0, 1.0]  # h = 0 is allowed: a = phi1(0)
    assert G.exact_gate(0.5, torch.zeros(0, dtype=F64)).shape == (0,)
    assert msg(ValueError, G.exact_gate, -0.5, mu) == "h must be >= 0, got -0.5"
    assert (
        msg(ValueError, G.exact_gate, 0.5, torch.tensor([1.0, -1e-300], dtype=F64)) == "mu must be >= 0 (a decay rate)"
    )
    assert msg(TypeError, G.exact_gate, 0.5, [1.0]) == "mu must be a torch.Tensor, got list"


# ----------------------------------------------------------------------------- gated step, Heun-Euler
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


def test_gated_euler_step_broadcasts_and_defaults_to_h_one():
    x, f = rand(3, 4, seed=1), rand(3, 4, seed=2)
    for a in (rand(3, 4, seed=3), rand(3, 1, seed=4), rand(4, seed=5)):
        torch.testing.assert_close(G.gated_euler_step(x, f, a), x + a * f, rtol=0, atol=0)
        torch.testing.assert_close(G.gated_euler_step(x, f, a, 0.25), x + 0.25 * a * f, rtol=0, atol=0)
    assert torch.equal(G.gated_euler_step(x, f, rand(3, 4), 0.0), x)
    empty = torch.zeros(0, 4, dtype=F64)
    assert G.gated_euler_step(empty, empty, torch.ones(4, dtype=F64)).shape == (0, 4)
    assert G.gated_euler_step(empty, empty, torch.ones(0, 1, dtype=F64)).shape == (0, 4)  # an empty gate too
    assert msg(ValueError, G.gated_euler_step, x, f, rand(2, 4)) == "a must broadcast to x's shape [3, 4], got [2, 4]"
    assert msg(ValueError, G.gated_euler_step, x, f, rand(4), -1.0) == "h must be >= 0, got -1.0"
    assert (
        msg(ValueError, G.gated_euler_step, x, f[:2], rand(4))
        == "f must have shape [3, 4] (the shape of x), got [2, 4]"
    )
    assert msg(TypeError, G.gated_euler_step, x, f, 1.0) == "a must be a torch.Tensor, got float"
    assert msg(TypeError, G.gated_euler_step, [1.0], f, rand(4)) == "x must be a torch.Tensor, got list"


def test_heun_euler_on_a_linear_field():
    lam, h = -3.0, 0.2
    x = torch.tensor([[1.5, -2.0]], dtype=torch.float64)
    x_h, x_e, est = G.heun_euler(lambda u: lam * u, x, h)
    torch.testing.assert_close(x_e, (1 + h * lam) * x, rtol=2 * EPS, atol=0)
    torch.testing.assert_close(x_h, (1 + h * lam + (h * lam) ** 2 / 2) * x, rtol=4 * EPS, atol=0)
    torch.testing.assert_close(est, (h * lam) ** 2 / 2 * x, rtol=8 * EPS, atol=0)  # difference of O(1) terms


def test_heun_euler_on_a_nonlinear_field():
    def f(u):
        return torch.sin(u) - u**2

    x = rand(2, 3, seed=6)
    h = 0.3
    x_h, x_e, est = G.heun_euler(f, x, h)
    ref_e = x + h * f(x)
    torch.testing.assert_close(x_e, ref_e, rtol=0, atol=0)
    torch.testing.assert_close(x_h, x + h / 2 * (f(x) + f(ref_e)), rtol=0, atol=0)
    torch.testing.assert_close(est, x_h - x_e, rtol=0, atol=8 * EPS)  # two roundings of O(1) terms
    x_h0, x_e0, est0 = G.heun_euler(f, x, 0.0)
    assert torch.equal(x_h0, x) and torch.equal(x_e0, x) and not est0.any()
    assert msg(ValueError, G.heun_euler, f, torch.zeros(0, dtype=F64), 0.1) == "x must be non-empty, got shape [0]"
    assert msg(ValueError, G.heun_euler, f, x, -0.1) == "h must be >= 0, got -0.1"


# ----------------------------------------------------------------------------- pooling, SE
def test_gap_pools_every_spatial_dim_and_lets_nan_through():
    f3 = rand(2, 3, 5, seed=7)
    torch.testing.assert_close(G._gap(f3, "f"), f3.mean(-1), rtol=0, atol=0)
    f4 = rand(2, 3, 2, 4, seed=8)
    torch.testing.assert_close(G._gap(f4, "f"), f4.mean((2, 3)), rtol=0, atol=4 * EPS)  # another summation order
    f2 = rand(2, 3, seed=9)
    assert G._gap(f2, "f") is f2
    nan = f2.clone()
    nan[0, 0] = math.nan
    assert torch.isnan(G._gap(nan, "f")[0, 0])  # finite=False: no error
    assert msg(ValueError, G._gap, rand(3), "f_prev") == "f_prev must have shape [B, C] or [B, C, *spatial], got [3]"
    assert msg(TypeError, G._gap, [[1.0]], "x_prev") == "x_prev must be a torch.Tensor, got list"


def test_se_gate_pools_and_stays_in_the_unit_interval():
    gate = G.SEGate(8, reduction=4).double()
    f4 = torch.randn(3, 8, 5, 5, dtype=torch.float64)
    a = gate(f4)
    assert a.shape == (3, 8)
    assert bool(((a > 0) & (a < 1)).all())
    torch.testing.assert_close(a, gate(f4.mean((2, 3))), rtol=0, atol=1e-15)  # GAP then the same MLP


def test_se_gate_sizes_and_formula():
    gate = G.SEGate(32, dtype=F64)  # default reduction 16: hidden 2
    assert (gate.fc1.in_features, gate.fc1.out_features, gate.fc2.out_features) == (32, 2, 32)
    assert gate.fc1.weight.dtype == F64 and gate.fc1.bias is not None and gate.fc2.bias is not None
    assert gate.fc2.weight.dtype == F64
    small = G.SEGate(3, reduction=8, bias=False)
    assert small.fc1.out_features == 1  # max(1, 3 // 8)
    assert small.fc1.bias is None and small.fc2.bias is None
    assert G.SEGate(6, reduction=2).fc1.out_features == 3
    f = rand(4, 32, 3, seed=10)
    g = f.mean(-1)
    ref = torch.sigmoid(lin(gate.fc2, torch.relu(lin(gate.fc1, g))))
    torch.testing.assert_close(gate(f), ref, rtol=0, atol=4 * EPS)  # same ops, other summation order
    assert msg(ValueError, G.SEGate, 0) == "channels must be >= 1, got 0"
    assert msg(ValueError, G.SEGate, 4, 0) == "reduction must be >= 1, got 0"
    assert msg(TypeError, G.SEGate, 4.0) == "channels must be an int, got float"
    assert msg(ValueError, G.SEGate(4, dtype=F64), rand(4)) == "f must have shape [B, C] or [B, C, *spatial], got [4]"


# ----------------------------------------------------------------------------- StepNet-lite
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


def test_secant_gate_sizes_and_formula():
    gate = G.SecantStepGate(8, dtype=F64)  # default reduction 4, use_dx False
    assert (gate.fc1.in_features, gate.fc1.out_features, gate.fc2.out_features) == (16, 2, 8)
    assert gate.use_dx is False and gate.fc1.bias is not None and gate.fc1.weight.dtype == F64
    assert gate.fc2.bias is not None and gate.fc2.weight.dtype == F64
    dx = G.SecantStepGate(5, reduction=10, use_dx=True, bias=False)
    assert dx.use_dx is True and (dx.fc1.in_features, dx.fc1.out_features) == (15, 1)
    assert dx.fc1.bias is None and dx.fc2.bias is None
    f, fp = rand(3, 8, 2, seed=11), rand(3, 8, 2, seed=12)
    g, gp = f.mean(-1), fp.mean(-1)
    ref = torch.sigmoid(lin(gate.fc2, torch.relu(lin(gate.fc1, torch.cat([g, g - gp], -1)))))
    torch.testing.assert_close(gate(f, fp), ref, rtol=0, atol=4 * EPS)
    gdx = G.SecantStepGate(8, reduction=2, use_dx=True, dtype=F64)
    x, xp = rand(3, 8, seed=13), rand(3, 8, seed=14)
    feats = torch.cat([g, g - gp, x - xp], -1)
    ref = torch.sigmoid(lin(gdx.fc2, torch.relu(lin(gdx.fc1, feats))))
    torch.testing.assert_close(gdx(f, fp, x, xp), ref, rtol=0, atol=4 * EPS)
    # without use_dx the x arguments are ignored
    torch.testing.assert_close(gate(f, fp, x, xp), gate(f, fp), rtol=0, atol=0)


def test_secant_gate_errors():
    gate = G.SecantStepGate(4, use_dx=True, dtype=F64)
    f = rand(2, 4)
    for args in ((f, f), (f, f, f, None), (f, f, None, f)):
        assert msg(ValueError, gate, *args) == "x and x_prev are required when use_dx=True"
    assert msg(ValueError, gate, f, rand(2, 3)) == "f_prev must have the shape of f [2, 4], got [2, 3]"
    assert msg(ValueError, gate, f, f, f, rand(3)) == "x_prev must have shape [B, C] or [B, C, *spatial], got [3]"
    assert msg(ValueError, gate, f, f, rand(3), f) == "x must have shape [B, C] or [B, C, *spatial], got [3]"
    assert msg(ValueError, gate, f, rand(4)) == "f_prev must have shape [B, C] or [B, C, *spatial], got [4]"
    assert msg(ValueError, gate, rand(4), f) == "f must have shape [B, C] or [B, C, *spatial], got [4]"
    assert msg(ValueError, G.SecantStepGate, 0) == "channels must be >= 1, got 0"
    assert msg(ValueError, G.SecantStepGate, 4, 0) == "reduction must be >= 1, got 0"


def test_recurrent_gate_carries_state():
    gate = G.RecurrentStepGate(6, reduction=2).double()
    f = torch.randn(2, 6, dtype=torch.float64)
    a1, st1 = gate(f, torch.zeros_like(f))
    a2, _ = gate(f, torch.zeros_like(f), st1)
    assert a1.shape == (2, 6) and bool(((a1 > 0) & (a1 < 1)).all())
    assert not torch.allclose(a1, a2)  # same input, different history: a different gate


def _recurrent_reference(gate, f, fp, s, c):
    g, gp = f, fp

    def mlp(seq, u):
        return lin(seq[2], torch.relu(lin(seq[0], u)))

    pre = mlp(gate.inp, torch.cat([g, g - gp], -1)) + mlp(gate.rec, s)
    C = gate.channels
    i, fg, gg, o = pre[:, :C], pre[:, C : 2 * C], pre[:, 2 * C : 3 * C], pre[:, 3 * C :]
    c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(gg)
    return torch.sigmoid(o) * torch.sigmoid(c), c


def test_recurrent_gate_sizes_and_formula():
    gate = G.RecurrentStepGate(8, dtype=F64)  # default reduction 4: hidden 2
    assert gate.channels == 8
    assert [m.in_features for m in (gate.inp[0], gate.inp[2], gate.rec[0], gate.rec[2])] == [16, 2, 8, 2]
    assert [m.out_features for m in (gate.inp[0], gate.inp[2], gate.rec[0], gate.rec[2])] == [2, 32, 2, 32]
    assert isinstance(gate.inp[1], torch.nn.ReLU) and isinstance(gate.rec[1], torch.nn.ReLU)
    assert all(p.dtype == F64 for p in gate.parameters())
    assert G.RecurrentStepGate(3, reduction=5).inp[0].out_features == 1
    f, fp = rand(2, 8, seed=15), rand(2, 8, seed=16)
    zero = torch.zeros(2, 8, dtype=F64)
    a, (s, c) = gate(f, fp)
    ref_a, ref_c = _recurrent_reference(gate, f, fp, zero, zero)
    torch.testing.assert_close(a, ref_a, rtol=0, atol=4 * EPS)
    torch.testing.assert_close(s, ref_a, rtol=0, atol=4 * EPS)
    torch.testing.assert_close(c, ref_c, rtol=0, atol=4 * EPS)
    a2, (_, c2) = gate(fp, f, (s, c))
    ref_a2, ref_c2 = _recurrent_reference(gate, fp, f, ref_a, ref_c)
    torch.testing.assert_close(a2, ref_a2, rtol=0, atol=8 * EPS)
    torch.testing.assert_close(c2, ref_c2, rtol=0, atol=8 * EPS)
    f4 = rand(2, 8, 3, 3, seed=17)
    torch.testing.assert_close(gate(f4, f4)[0], gate(f4.mean((2, 3)), f4.mean((2, 3)))[0], rtol=0, atol=4 * EPS)
    assert msg(ValueError, gate, f, rand(3, 8)) == "f_prev must have the shape of f [2, 8], got [3, 8]"
    assert msg(ValueError, gate, rand(8), f) == "f must have shape [B, C] or [B, C, *spatial], got [8]"
    assert msg(ValueError, gate, f, rand(8)) == "f_prev must have shape [B, C] or [B, C, *spatial], got [8]"
    assert msg(ValueError, G.RecurrentStepGate, 0) == "channels must be >= 1, got 0"
    assert msg(ValueError, G.RecurrentStepGate, 2, 0) == "reduction must be >= 1, got 0"


# ----------------------------------------------------------------------------- the learned adaptor's gate
def test_signed_log_is_odd_and_monotone():
    u = torch.linspace(-5, 5, 101, dtype=torch.float64)
    s = G.signed_log(u)
    torch.testing.assert_close(s, -G.signed_log(-u), rtol=0, atol=0)
    assert bool((s[1:] > s[:-1]).all())


def test_signed_log_values():
    u = torch.tensor([-3.0, 0.0, 0.5, math.e - 1], dtype=F64)
    ref = torch.tensor([-math.log(4.0), 0.0, math.log(1.5), 1.0], dtype=F64)
    torch.testing.assert_close(G.signed_log(u), ref, rtol=2 * EPS, atol=0)  # log1p: 1 ulp
    assert G.signed_log(torch.zeros(0, dtype=F64)).shape == (0,)
    assert msg(TypeError, G.signed_log, 1.0) == "u must be a torch.Tensor, got float"


def test_scalar_step_gate_sizes_features_and_output():
    sam = G.ScalarStepGate("sam", dtype=F64)
    assert sam.kind == "sam"
    layers = [m for m in sam.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in layers] == [(1, 32), (32, 32), (32, 1)]
    assert [type(m) for m in sam.net][1::2] == [torch.nn.Tanh, torch.nn.Tanh]
    assert all(p.dtype == F64 for p in sam.parameters())
    sn = G.ScalarStepGate("stepnet", hidden=5)
    assert [(m.in_features, m.out_features) for m in sn.net if isinstance(m, torch.nn.Linear)] == [
        (3, 5),
        (5, 5),
        (5, 1),
    ]
    f = torch.tensor([2.0, -0.5], dtype=F64)
    q = torch.tensor([-7.0, 0.0], dtype=F64)
    torch.testing.assert_close(sam.features(f, None, 3), G.signed_log(f)[:, None], rtol=0, atol=0)
    feats0 = G.ScalarStepGate("stepnet", dtype=F64).features(f, q, 0)
    torch.testing.assert_close(feats0, torch.stack([G.signed_log(f), G.signed_log(q), torch.ones(2, dtype=F64)], -1))
    feats2 = G.ScalarStepGate("stepnet", dtype=F64).features(f, q, 2)
    assert feats2.shape == (2, 3) and feats2[:, 2].tolist() == [0.0, 0.0]
    out = sam(sam.features(f, None, 0))
    x = sam.features(f, None, 0)
    h1 = torch.tanh(lin(layers[0], x))
    ref = torch.sigmoid(lin(layers[2], torch.tanh(lin(layers[1], h1))))[:, 0]
    assert out.shape == (2,)
    torch.testing.assert_close(out, ref, rtol=0, atol=4 * EPS)
    batched = sam(torch.stack([x, 2 * x, 3 * x]))  # leading batch dims [3, 2, 1] -> [3, 2]
    assert batched.shape == (3, 2)
    torch.testing.assert_close(batched[0], ref, rtol=0, atol=4 * EPS)
    assert msg(ValueError, G.ScalarStepGate, "sam", 0) == "hidden must be >= 1, got 0"
    assert msg(ValueError, G.ScalarStepGate, "se") == "kind must be one of ('sam', 'stepnet'), got 'se'"


# ----------------------------------------------------------------------------- the learned adaptor's runner
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


class _Recorder(G.ScalarStepGate):
    """A stepnet gate whose output is a fixed function of its inputs, recording what it sees."""

    def __init__(self, kind="stepnet"):
        super().__init__(kind, hidden=1, dtype=F64)
        self.seen = []

    def features(self, f, q, t):
        self.seen.append((f.clone(), None if q is None else q.clone(), t))
        return super().features(f, q, t)

    def forward(self, feats):
        return torch.full(feats.shape[:1], 0.5, dtype=feats.dtype)


def test_run_scalar_adaptor_probe_secant_and_gates():
    def field(x):
        return -(x**2) - x

    x0 = torch.tensor([1.0, 2.0], dtype=F64)
    h = 0.2
    gate = _Recorder()
    xs, gs = G.run_scalar_adaptor(gate, field, x0, h, 3)
    assert xs.shape == (4, 2) and gs.shape == (3, 2)
    assert torch.equal(gs, torch.full((3, 2), 0.5, dtype=F64))
    # reference: a = 1/2, x_{t+1} = x_t + a h f(x_t); q_0 through the probe x_0 + eps h f_0, eps = 1e-2
    x, f0 = x0, field(x0)
    probe = x0 + 1e-2 * h * f0
    qs = [(field(probe) - f0) / (probe - x0)]
    ref = [x0]
    for _ in range(3):
        x = x + 0.5 * h * field(x)
        ref.append(x)
    for t in (1, 2):
        qs.append((field(ref[t]) - field(ref[t - 1])) / (ref[t] - ref[t - 1]))
    torch.testing.assert_close(xs, torch.stack(ref), rtol=0, atol=4 * EPS)  # same ops
    assert [t for _, _, t in gate.seen] == [0, 1, 2]
    for (f_seen, q_seen, _), t in zip(gate.seen, range(3)):
        torch.testing.assert_close(f_seen, field(ref[t]), rtol=0, atol=4 * EPS)
        torch.testing.assert_close(q_seen, qs[t], rtol=1e-12, atol=0)  # difference quotients of O(1) values
    # a custom probe size: the t = 0 secant moves with eps
    gate2 = _Recorder()
    G.run_scalar_adaptor(gate2, field, x0, h, 1, eps=0.5)
    probe = x0 + 0.5 * h * f0
    torch.testing.assert_close(gate2.seen[0][1], (field(probe) - f0) / (probe - x0), rtol=1e-12, atol=0)


def test_run_scalar_adaptor_sam_gate_and_fixed_points():
    gate = _Recorder("sam")
    x0 = torch.tensor([0.0, 3.0], dtype=F64)
    xs, _ = G.run_scalar_adaptor(gate, lambda x: -x, x0, 0.5, 2)
    assert all(q is None for _, q, _ in gate.seen)  # SAM sees f only
    torch.testing.assert_close(xs[:, 1], 3.0 * 0.75 ** torch.arange(3, dtype=F64), rtol=2 * EPS, atol=0)
    # a state at a fixed point (dx = 0): the secant is reported as 0, not NaN
    sn = _Recorder()
    G.run_scalar_adaptor(sn, lambda x: -x, x0, 0.5, 2)
    for _, q, _ in sn.seen:
        assert q[0].item() == 0.0 and not torch.isnan(q).any()
        assert q[1].item() == pytest.approx(-1.0, rel=1e-12)  # the slope of -x


def test_run_scalar_adaptor_secant_over_a_unit_step():
    # x0 = 0, f = 1 + x^2, a = 1/2, h = 2: x1 = 1 exactly, so the t = 1 secant divides by dx = 1
    gate = _Recorder()
    G.run_scalar_adaptor(gate, lambda x: 1 + x**2, torch.zeros(1, dtype=F64), 2.0, 2)
    assert gate.seen[1][1].item() == 1.0  # (f(1) - f(0)) / 1


def test_run_scalar_adaptor_clamps_the_state():
    xs, gs = G.run_scalar_adaptor(None, lambda x: 10 * x**3, torch.tensor([10.0, -10.0], dtype=F64), 1.0, 3)
    assert xs[1].tolist() == [10.0 + 1e4, -10.0 - 1e4]
    assert xs[2].tolist() == [1e6, -1e6]  # default clamp 1e6
    assert torch.equal(gs, torch.ones(3, 2, dtype=F64))
    xs, _ = G.run_scalar_adaptor(None, lambda x: 10 * x**3, torch.tensor([10.0], dtype=F64), 1.0, 2, clamp=50.0)
    assert xs[:, 0].tolist() == [10.0, 50.0, 50.0]


def test_run_scalar_adaptor_rejects_bad_arguments():
    x0 = torch.ones(2, dtype=F64)
    assert msg(ValueError, G.run_scalar_adaptor, None, lambda x: x, x0, 0.1, 0) == "n_blocks must be >= 1, got 0"
    assert msg(ValueError, G.run_scalar_adaptor, None, lambda x: x, x0, -0.1, 1) == "h must be >= 0, got -0.1"
    assert msg(ValueError, G.run_scalar_adaptor, None, lambda x: x, torch.ones(2, 1, dtype=F64), 0.1, 1) == (
        "x0 must have 1 dimensions, got shape [2, 1]"
    )
    xs, gs = G.run_scalar_adaptor(None, lambda x: -x, x0, 0.0, 1)  # h = 0 is allowed
    assert torch.equal(xs[1], x0) and gs.shape == (1, 2)


# ----------------------------------------------------------------------------- bad input
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
