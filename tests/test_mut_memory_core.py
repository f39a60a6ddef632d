"""attnmath.memory (bands, Hebbian memory, Hopfield contrast, learning rules): exact contracts (issue 9).

Complements tests/test_memory_*.py. Three kinds of test, each against the docstrings:

- batched inputs ``[2, 3, N, d]`` (all sizes distinct) against the 2-D definition slice by slice,
  so an axis counted from the wrong end fails;
- closed forms on small hand-worked inputs (Gram matrices, separations, conditioning trials);
- every validated argument at its boundary: the value on the boundary is accepted and the first
  value outside raises with the message that names the argument (DESIGN: inputs are validated).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from attnmath.claims import Check
from attnmath.memory import _bands, hebbian, hopfield, rules
from tests._helpers import msg, rand

F64 = torch.float64


def per_slice(fn, *tensors):
    """Apply a 2-D function to each [i, j] slice of [2, 3, ...] inputs; outputs stacked back."""
    rows = []
    for i in range(tensors[0].shape[0]):
        outs = [fn(*(t[i, j] for t in tensors)) for j in range(tensors[0].shape[1])]
        rows.append(outs)
    if isinstance(rows[0][0], tuple):
        return tuple(torch.stack([torch.stack([o[m] for o in r]) for r in rows]) for m in range(len(rows[0][0])))
    return torch.stack([torch.stack(r) for r in rows])


# ----------------------------------------------------------------------------- _bands
def test_band_reason_and_tolerance_rules():
    chk = _bands.band("b", 1.5, 1.0, 0.125, trials=10, seed=2)
    reason = "4 SE band of the Monte-Carlo estimate (10 trials, seed 2)"
    assert chk == Check("statistical", "b", True, 0.5, 0.5, reason, "estimate 1.5, target 1, stderr 0.125")
    # relative floor: max(4 x 0.125, 50% x |-2|) = 1
    chk = _bands.band("b", -1.0, -2.0, 0.125, trials=3, seed=0, rel=0.5, source="dossier P5")
    assert (chk.passed, chk.error, chk.tolerance) == (True, 1.0, 1.0)
    assert chk.reason == "max(4 SE, 50%) band of the Monte-Carlo estimate (3 trials, seed 0); dossier P5"
    chk = _bands.band("b", 3.5, 2.0, 0.25, trials=3, seed=0, rel=0.25, combine="sum", nsigma=2.5)
    assert (chk.passed, chk.error, chk.tolerance) == (False, 1.5, 1.125)
    assert chk.reason == "25% + 2.5 SE band of the Monte-Carlo estimate (3 trials, seed 0)"
    chk = _bands.band("b", 3.0, 2.0, 0.25, trials=3, seed=0, nsigma=2.5)
    assert chk.reason.startswith("2.5 SE band") and chk.tolerance == 0.625
    assert _bands.band("b", 1.0, 2.0, 0.25, trials=1, seed=1).passed
    assert not _bands.band("b", math.nan, 2.0, 1.0, trials=1, seed=1).passed
    assert msg(ValueError, _bands.band, "b", 1.0, 1.0, 0.1, trials=1, seed=0, combine="avg") == (
        "combine must be 'max' or 'sum', got 'avg'"
    )


def test_rel_band():
    chk = _bands.rel_band("r", 2.5, -2.0, rel=0.25, trials=100, seed=1, source="P6")
    assert chk == Check(
        "statistical", "r", False, 4.5, 0.5, "25% relative band (100 trials, seed 1); P6", "estimate 2.5, target -2"
    )
    chk = _bands.rel_band("r", 2.5, 2.0, rel=0.25, trials=100, seed=1)
    assert (chk.passed, chk.error, chk.tolerance, chk.reason) == (
        True,
        0.5,
        0.5,
        "25% relative band (100 trials, seed 1)",
    )
    assert not _bands.rel_band("r", math.inf, 2.0, rel=10.0, trials=1, seed=1).passed


def test_gen_is_a_seeded_local_generator():
    a = torch.rand(3, generator=_bands.gen(5))
    assert torch.equal(a, torch.rand(3, generator=torch.Generator().manual_seed(5)))
    assert not torch.equal(a, torch.rand(3, generator=_bands.gen(6)))


# ----------------------------------------------------------------------------- hebbian
def test_batched_hebbian_functions_equal_their_2d_definition():
    k, v, q = rand(2, 3, 5, 4, seed=1), rand(2, 3, 5, 6, seed=2), rand(2, 3, 5, 4, seed=3)
    M = hebbian.hebbian_memory(k, v)
    assert M.shape == (2, 3, 6, 4)
    assert torch.allclose(M, per_slice(lambda k, v: v.T @ k, k, v), atol=1e-14, rtol=0)  # float64, 5-term sums
    assert torch.allclose(hebbian.retrieve(M, q), per_slice(lambda m, q: q @ m.T, M, q), atol=1e-14, rtol=0)
    sig, cross = hebbian.signal_crosstalk(k, v)
    sig2, cross2 = per_slice(
        lambda k, v: ((k * k).sum(-1)[:, None] * v, (k @ k.T - torch.diag((k * k).sum(-1))) @ v), k, v
    )
    assert torch.allclose(sig, sig2, atol=1e-14, rtol=0) and torch.allclose(cross, cross2, atol=1e-13, rtol=0)
    A = hebbian.olam_memory(k, v)
    assert torch.allclose(A, per_slice(lambda k, v: v.T @ torch.linalg.pinv(k.T), k, v), atol=1e-12, rtol=0)
    res = hebbian.least_squares_residual(k, v)
    assert res.shape == (2, 3)
    assert torch.allclose(
        res, per_slice(lambda k, v: ((k @ torch.linalg.pinv(k.T).T @ v - v) ** 2).sum(), k, v), atol=1e-11, rtol=0
    )
    rel = hebbian.relative_recall_error(M, k, v)
    assert rel.shape == (2, 3)
    expect = per_slice(lambda m, k, v: ((k @ m.T - v) ** 2).sum() / (v**2).sum(), M, k, v)
    assert torch.allclose(rel, expect, atol=1e-12, rtol=0)
    out, state = hebbian.hebbian_recurrent(q, k, v)
    assert torch.allclose(out, hebbian.hebbian_parallel(q, k, v), atol=1e-13, rtol=0)
    assert torch.allclose(state, M, atol=1e-14, rtol=0)


def test_decayed_memory_weights_old_items_by_powers_of_gamma():
    k, v = rand(2, 3, 4, 5, seed=4), rand(2, 3, 4, 2, seed=5)
    g = 0.5
    expect = sum(g ** (3 - i) * v[..., i, :, None] * k[..., i, None, :] for i in range(4))
    assert torch.allclose(hebbian.decayed_memory(k, v, g), expect, atol=1e-14, rtol=0)
    _, state = hebbian.decayed_recurrent(k, k, v, g)
    assert torch.allclose(state, expect, atol=1e-14, rtol=0)
    assert hebbian.decayed_memory(k, v, 0.0).equal(v[..., 3, :, None] * k[..., 3, None, :])  # gamma = 0: last item
    assert torch.allclose(hebbian.decayed_memory(k, v, 1.0), hebbian.hebbian_memory(k, v), atol=1e-14, rtol=0)


def test_recurrences_keep_the_dtype_of_k():
    k, v = rand(3, 2, dtype=torch.bfloat16), rand(3, 2, dtype=torch.bfloat16)
    out, state = hebbian.decayed_recurrent(k, k, v, 0.5)
    assert out.dtype == state.dtype == torch.bfloat16
    out, state = hebbian.hebbian_recurrent(k.double(), k.double(), v.double(), initial_state=torch.zeros(2, 2))
    assert out.dtype == state.dtype == F64
    out, state = rules.delta_rule_recurrent(k, k, v, 0.5)
    assert out.dtype == state.dtype == torch.bfloat16
    k32 = k.float()
    out, state = rules.delta_rule_recurrent(k32, k32, v.float(), torch.full((3,), 0.5, dtype=F64))
    assert out.dtype == state.dtype == torch.float32
    out, state = rules.delta_rule_recurrent(k32, k32, v.float(), 0.5, initial_state=torch.zeros(2, 2, dtype=F64))
    assert out.dtype == state.dtype == torch.float32
    P, Q = rules.delta_sweep_map(k, v, 0.25)
    assert P.dtype == Q.dtype == torch.bfloat16
    M = rules.delta_rule_cyclic(k32, v.float(), 0.25, 2, initial_state=torch.zeros(2, 2, dtype=F64))
    assert M.dtype == torch.float32


def test_hebbian_input_errors_name_the_argument():
    k, v = rand(4, 3), rand(4, 2)
    assert (
        msg(ValueError, hebbian.hebbian_memory, rand(3), v)
        == "keys must have 2 or 3 or 4 or 5 or 6 dimensions, got shape [3]"
    )
    seven = torch.zeros(1, 1, 1, 1, 1, 2, 2, dtype=F64) + 1
    assert msg(ValueError, hebbian.hebbian_memory, seven, seven).startswith(
        "keys must have 2 or 3 or 4 or 5 or 6 dimensions"
    )
    assert (
        msg(ValueError, hebbian.hebbian_memory, k, rand(1, 4, 2))
        == "values must have 2 dimensions, got shape [1, 4, 2]"
    )
    assert msg(TypeError, hebbian.hebbian_memory, k, v.float()) == (
        "keys has dtype torch.float64 but values has dtype torch.float32; they must match"
    )
    assert msg(ValueError, hebbian.hebbian_memory, rand(2, 4, 3), rand(3, 4, 2)) == (
        "keys and values must share leading (batch/head) dims, got [2, 4, 3] and [3, 4, 2]"
    )
    assert msg(TypeError, hebbian.hebbian_parallel, k, k.float(), v.float()) == (
        "q has dtype torch.float64 but k has dtype torch.float32; they must match"
    )
    assert (
        msg(ValueError, hebbian.hebbian_parallel, rand(1, 4, 3), k, v)
        == "q must have 2 dimensions, got shape [1, 4, 3]"
    )
    assert (
        msg(ValueError, hebbian.hebbian_parallel, k, rand(4), v)
        == "k must have 2 or 3 or 4 or 5 or 6 dimensions, got shape [4]"
    )
    assert msg(ValueError, hebbian.hebbian_parallel, k, k, rand(3, 2)).startswith(
        "v must hold one vector per key: k has N=4"
    )
    assert msg(TypeError, hebbian.hebbian_parallel, k, k, v.float()).startswith("k has dtype torch.float64 but v has")
    M = rand(2, 3)
    assert (
        msg(ValueError, hebbian.retrieve, rand(3), k)
        == "memory must have 2 or 3 or 4 or 5 or 6 dimensions, got shape [3]"
    )
    assert msg(ValueError, hebbian.retrieve, seven, seven).startswith("memory must have 2 or 3 or 4 or 5 or 6")
    assert msg(ValueError, hebbian.retrieve, M, rand(1, 4, 3)) == "queries must have 2 dimensions, got shape [1, 4, 3]"
    assert msg(TypeError, hebbian.retrieve, M, k.float()) == (
        "memory has dtype torch.float64 but queries has dtype torch.float32; they must match"
    )
    assert msg(ValueError, hebbian.retrieve, rand(5, 2, 3), rand(5, 4, 2)) == (
        "queries must have width d_k=3 (memory is [d_v, d_k] = [2, 3]), got [5, 4, 2]"
    )
    assert hebbian.retrieve(rand(5, 2, 3), rand(5, 4, 3)).shape == (5, 4, 2)
    assert msg(ValueError, hebbian.decayed_recurrent, k, k, v, -0.5) == "gamma must be >= 0.0, got -0.5"
    assert msg(ValueError, hebbian.decayed_recurrent, k, k, v, 1.5) == "gamma must be <= 1.0, got 1.5"
    assert msg(ValueError, hebbian.decayed_memory, k, v, -0.5) == "gamma must be >= 0.0, got -0.5"
    assert msg(ValueError, hebbian.decayed_memory, k, v, 1.5) == "gamma must be <= 1.0, got 1.5"
    assert msg(ValueError, hebbian.decayed_recurrent, k, k, v, 0.5, initial_state=rand(3, 2)) == (
        "initial_state must have shape [2, 3], got [3, 2]"
    )


# ----------------------------------------------------------------------------- hopfield
def test_separation_and_hopfield_bound_on_a_hand_example():
    keys = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]], dtype=F64)
    # Gram: [[1, .6, 0], [.6, 1, 1.6], [0, 1.6, 4]] -> Delta_j = G_jj - max_{i != j} G_ji
    assert torch.allclose(hopfield.separation(keys), torch.tensor([0.4, -0.6, 2.4], dtype=F64), atol=1e-15, rtol=0)
    values = torch.tensor([[3.0, 4.0], [0.0, 1.0], [1.0, 0.0]], dtype=F64)  # max ||v|| = 5
    bound = hopfield.hopfield_error_bound(keys, values, beta=2.0)
    expect = 2 * 2 * torch.exp(-2.0 * torch.tensor([0.4, -0.6, 2.4], dtype=F64)) * 5
    assert torch.allclose(bound, expect, atol=1e-13, rtol=0)


def test_hopfield_functions_batched():
    keys, values = rand(2, 3, 5, 4, seed=6), rand(2, 3, 5, 2, seed=7)
    values[1, 2] *= 10  # batch elements with different max ||v||
    sep = hopfield.separation(keys)
    assert sep.shape == (2, 3, 5)
    for i in range(2):
        for j in range(3):
            G = keys[i, j] @ keys[i, j].T
            off = G - torch.diag(torch.full((5,), math.inf, dtype=F64))
            assert torch.allclose(sep[i, j], G.diagonal() - off.amax(-1), atol=1e-14, rtol=0)
    bound = hopfield.hopfield_error_bound(keys, values, 0.5)
    vmax = values.norm(dim=-1).amax(-1)
    assert torch.allclose(bound, 2 * 4 * torch.exp(-0.5 * sep) * vmax[..., None], atol=1e-12, rtol=0)
    rec = hopfield.softmax_recall(keys, values, keys[..., :2, :], 3.0)
    w = torch.softmax(3.0 * keys[..., :2, :] @ keys.transpose(-1, -2), dim=-1)
    assert torch.allclose(rec, w @ values, atol=1e-14, rtol=0)


def test_hopfield_input_errors():
    k, v = rand(3, 2), rand(3, 2)
    assert msg(ValueError, hopfield.separation, rand(1, 3)) == "keys must hold at least 2 patterns, got shape [1, 3]"
    assert hopfield.separation(rand(2, 3)).shape == (2,)  # two patterns suffice
    assert msg(ValueError, hopfield.separation, rand(4)) == "keys must have 2 or 3 or 4 or 5 dimensions, got shape [4]"
    six = torch.ones(1, 1, 1, 1, 2, 2, dtype=F64)
    assert msg(ValueError, hopfield.separation, six).startswith("keys must have 2 or 3 or 4 or 5 dimensions")
    assert msg(ValueError, hopfield.hopfield_error_bound, k, v, 0.0) == "beta must be > 0, got 0.0"
    assert msg(ValueError, hopfield.softmax_recall, k, v, k, -1.0) == "beta must be > 0, got -1.0"


# ----------------------------------------------------------------------------- rules: delta rule
def test_delta_rule_batched_equals_2d_and_per_step_beta():
    k, v, q = rand(2, 3, 5, 4, seed=8), rand(2, 3, 5, 6, seed=9), rand(2, 3, 5, 4, seed=10)
    k = k / k.norm(dim=-1, keepdim=True)
    beta = torch.rand(2, 3, 5, generator=torch.Generator().manual_seed(11), dtype=F64)
    beta[0, 0, 0] = 0.0  # a zero write strength is allowed
    out, M = rules.delta_rule_recurrent(q, k, v, beta)
    assert out.shape == (2, 3, 5, 6) and M.shape == (2, 3, 6, 4)
    for i in range(2):
        for j in range(3):
            Mij = torch.zeros(6, 4, dtype=F64)
            for t in range(5):
                kt = k[i, j, t]
                Mij = Mij + beta[i, j, t] * torch.outer(v[i, j, t] - Mij @ kt, kt)
                assert torch.allclose(out[i, j, t], Mij @ q[i, j, t], atol=1e-13, rtol=0)
            assert torch.allclose(M[i, j], Mij, atol=1e-13, rtol=0)
    P, Q = rules.delta_sweep_map(k, v, 0.5)
    assert P.shape == (2, 3, 4, 4) and Q.shape == (2, 3, 6, 4)
    _, M_lit = rules.delta_rule_recurrent(k, k, v, 0.5)
    assert torch.allclose(Q, M_lit, atol=1e-13, rtol=0)  # one sweep from M = 0
    M0 = rand(2, 3, 6, 4, seed=12)
    _, M_lit = rules.delta_rule_recurrent(k, k, v, 0.5, initial_state=M0)
    assert torch.allclose(M0 @ P + Q, M_lit, atol=1e-13, rtol=0)
    M2 = rules.delta_rule_cyclic(k, v, 0.5, 2, initial_state=M0)
    assert torch.allclose(M2, (M0 @ P + Q) @ P + Q, atol=1e-13, rtol=0)
    assert torch.equal(rules.delta_rule_cyclic(k, v, 0.5, 0, initial_state=M0), M0)  # zero sweeps: unchanged
    assert torch.equal(rules.delta_rule_cyclic(k, v, 0.5, 0), torch.zeros(2, 3, 6, 4, dtype=F64))


def test_convergent_beta_uses_the_largest_squared_key_norm_per_row():
    keys = torch.zeros(2, 3, 2, dtype=F64)
    keys[0, 0] = torch.tensor([2.0, 0.0])  # ||k||^2 = 4: beta < 2/4
    keys[1, 2] = torch.tensor([0.0, 1.0])
    values = torch.ones(2, 3, 1, dtype=F64)
    assert rules.delta_sweep_map(keys, values, 0.49)[0].shape == (2, 2, 2)
    assert msg(ValueError, rules.delta_sweep_map, keys, values, 0.5) == (
        "beta must lie in (0, 2/max||k||^2) = (0, 0.5) for the cyclic delta rule to converge "
        "(each write must be a contraction along its key), got 0.5"
    )
    assert msg(ValueError, rules.delta_sweep_map, torch.zeros(2, 2, dtype=F64), torch.ones(2, 1, dtype=F64), 0.1) == (
        "keys must not all be zero: the delta rule learns nothing from a zero key"
    )
    assert msg(ValueError, rules.delta_sweep_map, keys, values, math.nan) == "beta must be finite, got nan"
    # the norm is per key (last axis), not per column: two copies of e_1 allow beta up to 2
    twin = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]], dtype=F64)
    assert rules.delta_sweep_map(twin, torch.ones(1, 2, 1, dtype=F64), 1.5)[0].shape == (1, 2, 2)


def test_delta_rule_input_errors():
    k, v = rand(4, 3), rand(4, 2)
    assert msg(ValueError, rules.delta_rule_recurrent, k, k, v, torch.tensor([0.5, -0.5, 0.0, 1.0], dtype=F64)) == (
        "beta must be >= 0 (a write strength), got min -0.5"
    )
    assert msg(ValueError, rules.delta_rule_recurrent, k, k, v, torch.ones(3, dtype=F64)) == (
        "beta must have shape [4], got [3]"
    )
    assert msg(ValueError, rules.delta_rule_recurrent, k, k, v, -0.1) == "beta must be >= 0, got -0.1"
    assert msg(ValueError, rules.delta_rule_recurrent, k, k, v, 0.5, initial_state=rand(3, 2)) == (
        "initial_state must have shape [2, 3], got [3, 2]"
    )
    assert msg(ValueError, rules.delta_rule_cyclic, k, v, 0.1, -1) == "sweeps must be >= 0, got -1"
    assert msg(ValueError, rules.delta_rule_cyclic, k, v, 0.1, 1, initial_state=rand(3, 2)) == (
        "initial_state must have shape [2, 3], got [3, 2]"
    )


# ----------------------------------------------------------------------------- rules: conditioning
def test_rescorla_wagner_hand_trials():
    # two trials of CS A with lambda = 1, alpha = 0.5, beta = 0.5: effective rate 0.25
    Vs = rules.rescorla_wagner([[1.0, 0.0], [1.0, 0.0]], [1.0, 1.0], 0.5, beta=0.5)
    assert np.allclose(Vs, [[0, 0], [0.25, 0], [0.4375, 0]], atol=0, rtol=0)
    Vs = rules.rescorla_wagner([[1, 1]], [0], [1.0, 0.5], initial=[0.5, 0.25])  # integer design
    assert np.allclose(Vs, [[0.5, 0.25], [-0.25, -0.125]], atol=1e-15, rtol=0)  # delta = -0.75
    H = rules.hebbian_conditioning([[1, 0], [1, 1]], [2, 0], [0.5, 0.25], initial=[1, 1])
    assert np.allclose(H, [[1, 1], [2, 1], [2, 1]], atol=0, rtol=0)


def test_conditioning_input_errors():
    cs, us = np.ones((3, 2)), np.ones(3)
    assert msg(ValueError, rules.rescorla_wagner, np.ones((0, 2)), np.ones(0), 0.5) == (
        "cs must be a [trials, n_cs] array of stimulus intensities, got shape [0, 2]"
    )
    assert rules.rescorla_wagner(np.ones((3, 0)), us, 0.5).shape == (4, 0)  # no CS: nothing to learn
    assert msg(ValueError, rules.rescorla_wagner, np.ones(3), us, 0.5).startswith("cs must be a [trials, n_cs]")
    assert msg(ValueError, rules.rescorla_wagner, cs, np.ones(2), 0.5) == (
        "us must have one US magnitude per trial, shape [3], got [2]"
    )
    assert rules.rescorla_wagner(cs, us, 1.0).shape == (4, 2)  # alpha = 1 is allowed
    assert msg(ValueError, rules.rescorla_wagner, cs, us, [0.5, 0.0]) == (
        "alpha (learning rate per CS) must lie in (0, 1], got [0.5, 0.0]"
    )
    assert msg(ValueError, rules.hebbian_conditioning, cs, us, 1.5).endswith("got [1.5, 1.5]")
    assert msg(ValueError, rules.rescorla_wagner, cs, us, 0.5, beta=0.0) == "beta must be > 0, got 0.0"


def test_blocking_and_extinction_helpers():
    cs, us = rules.blocking_design(2, 1)
    assert cs.tolist() == [[1, 0], [1, 0], [1, 1]] and us.tolist() == [1.0, 1.0, 1.0]  # default lambda = 1
    cs, us = rules.blocking_design(0, 2, lam=0.5)
    assert cs.tolist() == [[1, 1], [1, 1]] and us.tolist() == [0.5, 0.5]
    assert msg(ValueError, rules.blocking_design, -1, 1) == "n1 must be >= 0, got -1"
    assert msg(ValueError, rules.blocking_design, 1, 0) == "n2 must be >= 1, got 0"
    assert msg(ValueError, rules.blocking_design, 1, 1, lam=math.inf) == "lam must be finite, got inf"
    # closed form at the edges: no phase 2 leaves V_B = 0; alpha = 1 learns in one trial
    assert rules.blocking_closed_form(0.5, 2.0, 1, 0) == (1.0, 0.0)
    # alpha = 1 on the compound overshoots (each CS takes the whole error): the simulation agrees
    assert rules.blocking_closed_form(1.0, 2.0, 0, 1) == (2.0, 2.0)
    assert rules.rescorla_wagner(*rules.blocking_design(0, 1, lam=2.0), 1.0)[-1].tolist() == [2.0, 2.0]
    assert msg(ValueError, rules.blocking_closed_form, 0.0, 1.0, 1, 1) == "alpha must be > 0.0, got 0.0"
    assert msg(ValueError, rules.blocking_closed_form, 1.5, 1.0, 1, 1) == "alpha must be <= 1.0, got 1.5"
    assert msg(ValueError, rules.blocking_closed_form, 0.5, math.nan, 1, 1) == "lam must be finite, got nan"
    assert msg(ValueError, rules.blocking_closed_form, 0.5, 1.0, -1, 1) == "n1 must be >= 0, got -1"
    assert msg(ValueError, rules.blocking_closed_form, 0.5, 1.0, 1, -1) == "n2 must be >= 0, got -1"
    assert rules.extinction_closed_form(2.0, 1.0, 0).tolist() == [2.0]
    assert rules.extinction_closed_form(2.0, 0.5, 2).tolist() == [2.0, 1.0, 0.5]
    assert msg(ValueError, rules.extinction_closed_form, math.nan, 0.5, 1) == "v0 must be finite, got nan"
    assert msg(ValueError, rules.extinction_closed_form, 1.0, 0.0, 1) == "alpha must be > 0.0, got 0.0"
    assert msg(ValueError, rules.extinction_closed_form, 1.0, -0.5, 1) == "alpha must be > 0.0, got -0.5"
    assert msg(ValueError, rules.extinction_closed_form, 1.0, 1.5, 1) == "alpha must be <= 1.0, got 1.5"
    assert msg(ValueError, rules.extinction_closed_form, 1.0, 0.5, -1) == "n must be >= 0, got -1"
