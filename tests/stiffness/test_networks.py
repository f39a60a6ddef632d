"""attnmath.stiffness.networks: the residual MLP read as explicit Euler, with plain, SE, secant and
recurrent gates.

Layer sizes read back from the constructor arguments, the residual branch and the forward pass
recomputed from their formulas, each gate fed what its docstring says, seeded initialisation
independent of the default dtype, and the argument checks.
"""

from __future__ import annotations

import pytest
import torch

from attnmath.base.numerics import F64_EPS as EPS
from attnmath.stiffness import gates as G
from attnmath.stiffness.networks import GATES, ResidualMLP, Trace
from tests._helpers import F64, msg, rand


def lin(layer, x):
    out = x @ layer.weight.T
    return out + layer.bias if layer.bias is not None else out


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


def test_residual_mlp_layers_follow_the_arguments():
    net = ResidualMLP(5, 8, 3, 4, dtype=F64)
    assert net.gate_kind == "plain" and net.h == 1.0 and net.n_blocks == 3
    assert (net.stem.in_features, net.stem.out_features) == (5, 8)
    assert len(net.norms) == len(net.fc1) == len(net.fc2) == 3
    assert all(isinstance(n, torch.nn.LayerNorm) and n.normalized_shape == (8,) for n in net.norms)
    assert all((m.in_features, m.out_features) == (8, 8) for m in list(net.fc1) + list(net.fc2))
    assert isinstance(net.head[0], torch.nn.LayerNorm) and (net.head[1].in_features, net.head[1].out_features) == (8, 4)
    assert all(p.dtype == F64 for p in net.parameters())
    assert not hasattr(net, "gates") and not hasattr(net, "shared")
    assert net.stem.bias is not None and net.fc1[2].bias is not None and net.fc2[2].bias is not None
    bare = ResidualMLP(5, 8, 2, 4, norm=False, bias=False, h=0.5)
    assert all(isinstance(n, torch.nn.Identity) for n in bare.norms) and isinstance(bare.head[0], torch.nn.Identity)
    assert bare.stem.bias is None and bare.fc1[0].bias is None and bare.fc2[1].bias is None
    assert bare.head[1].bias is not None  # the head keeps its bias
    assert bare.h == 0.5
    se = ResidualMLP(5, 8, 2, 4, "se", reduction=2, bias=False, dtype=F64)
    assert len(se.gates) == 2 and all(isinstance(g, G.SEGate) for g in se.gates)
    assert se.gates[0].fc1.out_features == 4 and se.gates[1].fc1.bias is None
    assert se.gates[0].fc1.weight.dtype == F64
    sec = ResidualMLP(5, 8, 3, 4, "secant", dtype=F64)
    assert len(sec.gates) == 3 and all(isinstance(g, G.SecantStepGate) for g in sec.gates)
    assert sec.gates[0].fc1.out_features == 2 and sec.gates[2].fc1.bias is not None  # default reduction 4
    assert ResidualMLP(5, 8, 3, 4, "secant", bias=False).gates[0].fc1.bias is None
    assert ResidualMLP(5, 8, 3, 4, "secant", reduction=2).gates[1].fc1.out_features == 4
    assert ResidualMLP(5, 8, 1, 4, "se").gates[0].fc2.bias is not None
    rec = ResidualMLP(5, 8, 3, 4, "recurrent", reduction=8, dtype=F64)
    assert isinstance(rec.shared, G.RecurrentStepGate) and rec.shared.inp[0].out_features == 1
    assert rec.shared.inp[0].weight.dtype == F64
    assert GATES == ("plain", "se", "secant", "recurrent")


def test_residual_mlp_rejects_bad_arguments():
    for i, name in enumerate(("d_in", "width", "n_blocks", "n_classes")):
        args = [2, 2, 2, 2]
        args[i] = 0
        assert msg(ValueError, ResidualMLP, *args) == f"{name} must be >= 1, got 0"
    assert msg(ValueError, ResidualMLP, 2, 2, 2, 2, h=0.0) == "h must be > 0, got 0.0"
    assert msg(ValueError, ResidualMLP, 2, 2, 2, 2, "dia").startswith("gate must be one of")
    net = ResidualMLP(2, 3, 1, 2, dtype=F64)
    assert msg(ValueError, net, rand(2)) == "x must have 2 dimensions, got shape [2]"
    assert msg(ValueError, net.trajectory, rand(3)) == "x0 must have 2 dimensions, got shape [3]"


def test_residual_branch_and_forward_formula():
    torch.manual_seed(0)
    net = ResidualMLP(3, 4, 2, 5, dtype=F64)
    x = rand(6, 4, seed=20)
    ln = torch.nn.functional.layer_norm(x, (4,), net.norms[1].weight, net.norms[1].bias)
    ref = lin(net.fc2[1], torch.relu(lin(net.fc1[1], ln)))
    torch.testing.assert_close(net.residual(1, x), ref, rtol=0, atol=8 * EPS)
    inp = rand(6, 3, seed=21)
    out = net(inp)
    assert isinstance(out, torch.Tensor) and out.shape == (6, 5)
    s = lin(net.stem, inp)
    for t in range(2):
        s = s + net.residual(t, s)
    head = lin(net.head[1], torch.nn.functional.layer_norm(s, (4,), net.head[0].weight, net.head[0].bias))
    torch.testing.assert_close(out, head, rtol=0, atol=16 * EPS)
    logits, tr = net(inp, return_trace=True)
    assert isinstance(tr, Trace)
    torch.testing.assert_close(logits, out, rtol=0, atol=0)
    torch.testing.assert_close(tr.xs[0], lin(net.stem, inp), rtol=0, atol=4 * EPS)


@pytest.mark.parametrize("gate", ["se", "secant", "recurrent"])
def test_trajectory_feeds_each_gate_what_its_docstring_says(gate):
    torch.manual_seed(1)
    net = ResidualMLP(3, 4, 3, 2, gate, h=0.5, reduction=2, dtype=F64)
    x0 = rand(5, 4, seed=22)
    tr = net.trajectory(x0)
    assert tr.xs.shape == (4, 5, 4) and tr.fs.shape == (3, 5, 4) and tr.gates.shape == (3, 5, 4)
    x, f_prev, state = x0, torch.zeros(5, 4, dtype=F64), None
    for t in range(3):
        f = net.residual(t, x)
        if gate == "se":
            a = net.gates[t](f)
        elif gate == "secant":
            a = net.gates[t](f, f_prev)
        else:
            a, state = net.shared(f, f_prev, state)
        torch.testing.assert_close(tr.fs[t], f, rtol=0, atol=0)
        torch.testing.assert_close(tr.gates[t], a, rtol=0, atol=0)
        x = x + 0.5 * a * f
        torch.testing.assert_close(tr.xs[t + 1], x, rtol=0, atol=0)
        f_prev = f


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
