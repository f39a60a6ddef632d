"""attnmath.memory.rules: the delta rule (Rescorla–Wagner / DeltaNet) and Rescorla–Wagner conditioning.

Literal writes against the recurrence and the sweep map, convergence to the OLAM, closed forms of
blocking and extinction against simulation, batched inputs against a per-slice loop, dtypes and
devices (the ``meta`` device), and every validated argument at its boundary.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.memory import (
    blocking_closed_form,
    blocking_design,
    delta_rule_cyclic,
    delta_rule_recurrent,
    delta_sweep_map,
    extinction_closed_form,
    hebbian_conditioning,
    olam_memory,
    rescorla_wagner,
    rules,
)
from tests._helpers import meta, msg, rand

F64 = torch.float64
EPS = torch.finfo(F64).eps
META = torch.device("meta")


def _unit(n, d, seed):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return x / x.norm(dim=1, keepdim=True)


# ----------------------------------------------------------------------------- delta rule
def test_delta_rule_one_step_literal():
    k, v, q = rand(1, 3, seed=1), rand(1, 2, seed=2), rand(1, 3, seed=3)
    M0 = rand(2, 3, seed=4)
    o, M = delta_rule_recurrent(q, k, v, 0.3, initial_state=M0)
    expected = M0 + 0.3 * torch.outer(v[0] - M0 @ k[0], k[0])
    torch.testing.assert_close(M, expected, atol=16 * EPS, rtol=0)  # a handful of O(1) products
    torch.testing.assert_close(o[0], expected @ q[0], atol=16 * EPS, rtol=0)


def test_beta_one_overwrites_with_unit_keys():
    k, v = _unit(25, 8, seed=5), rand(25, 4, seed=6)
    o, _ = delta_rule_recurrent(k, k, v, 1.0)  # query = the key just written
    torch.testing.assert_close(o, v, atol=1e-14, rtol=0)  # |k|^2 = 1 to roundoff


def test_delta_rule_with_zero_beta_is_inert_and_beta_tensor_works():
    k, v = _unit(6, 4, seed=7), rand(6, 3, seed=8)
    _, M = delta_rule_recurrent(k, k, v, 0.0)
    assert float(M.abs().max()) == 0.0
    beta = torch.linspace(0.1, 0.9, 6, dtype=F64)
    _, M_t = delta_rule_recurrent(k, k, v, beta)
    M_ref = torch.zeros(3, 4, dtype=F64)
    for t in range(6):
        M_ref = M_ref + beta[t] * torch.outer(v[t] - M_ref @ k[t], k[t])
    torch.testing.assert_close(M_t, M_ref, atol=64 * EPS, rtol=0)  # 6 writes, O(1) entries


@settings(max_examples=20, deadline=None)
@given(
    N=st.integers(1, 10),
    dk=st.integers(1, 8),
    sweeps=st.integers(0, 4),
    beta=st.floats(0.05, 1.9),
    seed=st.integers(0, 999),
)
def test_sweep_map_equals_literal_cyclic_writes(N, dk, sweeps, beta, seed):
    K, V = _unit(N, dk, seed), rand(N, 3, seed=seed + 1)
    M = delta_rule_cyclic(K, V, beta, sweeps)
    if sweeps == 0:
        assert float(M.abs().max()) == 0.0
        return
    _, M_loop = delta_rule_recurrent(K.repeat(sweeps, 1), K.repeat(sweeps, 1), V.repeat(sweeps, 1), beta)
    torch.testing.assert_close(M, M_loop, atol=1e-11, rtol=0)  # <= 40 contractive writes of O(1) entries, float64


def test_delta_rule_converges_to_olam_for_independent_keys():
    K, V = _unit(8, 16, seed=9), rand(8, 5, seed=10)
    M = delta_rule_cyclic(K, V, 1.0, 500)
    torch.testing.assert_close(M, olam_memory(K, V), atol=1e-10, rtol=0)  # geometric convergence, well conditioned


def test_sweep_map_is_affine():
    K, V = _unit(5, 6, seed=11), rand(5, 2, seed=12)
    P, Q = delta_sweep_map(K, V, 0.5)
    M0 = rand(2, 6, seed=13)
    torch.testing.assert_close(delta_rule_cyclic(K, V, 0.5, 1, initial_state=M0), M0 @ P + Q, atol=0, rtol=0)


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


def test_beta_outside_the_convergence_interval_raises():
    K, V = _unit(4, 6, seed=14), rand(4, 2, seed=15)
    edge = 2 / float((K**2).sum(1).max())  # the open end of (0, 2/max|k|^2); ~2 for unit keys
    for beta in (0.0, -0.1, edge, 2.001, 2.5):
        with pytest.raises(ValueError, match="beta"):
            delta_rule_cyclic(K, V, beta, 3)
    with pytest.raises(ValueError, match="beta"):
        delta_rule_cyclic(2 * K, V, 0.6, 3)  # |k|^2 = 4: the interval shrinks to (0, 0.5)
    with pytest.raises(ValueError, match="beta"):
        delta_rule_recurrent(K, K, V, -1.0)
    with pytest.raises(ValueError, match="beta"):
        delta_rule_recurrent(K, K, V, torch.ones(5, dtype=F64))  # one strength per time step (T = 4)
    with pytest.raises(ValueError, match="values"):
        delta_rule_cyclic(K, V[:3], 0.5, 3)  # mismatched key and value counts


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


# ----------------------------------------------------------------------------- delta rule: dtypes and devices
def test_delta_rule_keeps_the_dtype_of_k():
    k, v = rand(3, 2, dtype=torch.bfloat16), rand(3, 2, dtype=torch.bfloat16)
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


def test_device_mismatch_names_both_arguments():
    cpu = torch.ones(3, 2, dtype=F64)
    assert msg(ValueError, rules.delta_rule_recurrent, cpu, cpu, meta(3, 4), 0.5) == (
        "k is on cpu but v is on meta; put them on one device"
    )


def test_recurrence_allocates_on_the_input_device():
    q, v = meta(2, 3, 5, 4), meta(2, 3, 5, 6)  # [B, H, T, d_k], [B, H, T, d_v]
    out, state = rules.delta_rule_recurrent(q, q, v, 0.5)  # scalar beta: the write strengths are allocated
    assert out.device == state.device == META
    assert out.shape == (2, 3, 5, 6) and state.shape == (2, 3, 6, 4)


def test_sweep_map_allocates_on_the_input_device(monkeypatch):
    keys, values = meta(2, 5, 4), meta(2, 5, 3)
    # the convergence check of beta reads key norms (values), which a meta tensor has not: stub it
    monkeypatch.setattr(rules, "_convergent_beta", lambda keys, beta: beta)
    P, Q = rules.delta_sweep_map(keys, values, 0.25)
    assert P.device == Q.device == META
    assert P.shape == (2, 4, 4) and Q.shape == (2, 3, 4)


def test_allocations_follow_the_inputs_not_the_default_device():
    """torch.set_default_device("cuda") with CPU inputs is a real setting: every tensor a function allocates
    must follow its inputs. Here the default device is meta and the inputs live on the CPU."""
    g = torch.Generator().manual_seed(5)
    keys = torch.nn.functional.normalize(torch.randn(2, 4, 3, generator=g, dtype=F64), dim=-1)
    values = torch.randn(2, 4, 2, generator=g, dtype=F64)
    calls = {
        "sweep": lambda: rules.delta_sweep_map(keys, values, 0.5),
        "delta": lambda: rules.delta_rule_recurrent(keys, keys, values, 0.5),
    }
    ref = {name: fn() for name, fn in calls.items()}
    with torch.device("meta"):
        got = {name: fn() for name, fn in calls.items()}
    for name in calls:
        for x, y in zip(got[name], ref[name]):
            assert x.device.type == "cpu" and torch.equal(x, y), name


# ----------------------------------------------------------------------------- Rescorla–Wagner
def test_rw_acquisition_and_hebbian_growth():
    cs, us = np.ones((30, 1)), np.full(30, 2.0)
    rw = rescorla_wagner(cs, us, 0.2)[:, 0]
    np.testing.assert_allclose(rw, 2.0 * (1 - 0.8 ** np.arange(31)), atol=1e-14, rtol=0)  # V_n = lam (1 - (1-a)^n)
    hb = hebbian_conditioning(cs, us, 0.2)[:, 0]
    np.testing.assert_allclose(hb, 0.4 * np.arange(31), atol=1e-13, rtol=0)  # grows without bound


@settings(max_examples=30, deadline=None)
@given(alpha=st.floats(0.01, 0.6), lam=st.floats(0.1, 3.0), n1=st.integers(0, 60), n2=st.integers(1, 40))
def test_blocking_closed_form_matches_simulation(alpha, lam, n1, n2):
    cs, us = blocking_design(n1, n2, lam)
    V = rescorla_wagner(cs, us, alpha)
    va, vb = blocking_closed_form(alpha, lam, n1, n2)
    assert abs(V[-1, 1] - vb) <= 1e-12 * max(1.0, lam)  # float64 roundoff of <= 100 updates
    assert abs(V[-1, 0] - va) <= 1e-12 * max(1.0, lam)
    assert hebbian_conditioning(cs, us, alpha)[-1, 1] == pytest.approx(n2 * alpha * lam, rel=1e-12)


def test_blocking_grows_with_pretraining_and_extinction_decays():
    vbs = [blocking_closed_form(0.1, 1.0, n1, 50)[1] for n1 in (0, 5, 20, 100)]
    assert all(a > b for a, b in itertools.pairwise(vbs)) and vbs[-1] < 1e-3
    V = rescorla_wagner(np.ones((40, 1)), np.zeros(40), 0.25, initial=3.0)[:, 0]
    np.testing.assert_allclose(V, extinction_closed_form(3.0, 0.25, 40), atol=1e-14, rtol=0)
    H = hebbian_conditioning(np.ones((40, 1)), np.zeros(40), 0.25, initial=3.0)[:, 0]
    assert np.all(H == 3.0)


def test_rescorla_wagner_hand_trials():
    # two trials of CS A with lambda = 1, alpha = 0.5, beta = 0.5: effective rate 0.25
    Vs = rules.rescorla_wagner([[1.0, 0.0], [1.0, 0.0]], [1.0, 1.0], 0.5, beta=0.5)
    assert np.allclose(Vs, [[0, 0], [0.25, 0], [0.4375, 0]], atol=0, rtol=0)
    Vs = rules.rescorla_wagner([[1, 1]], [0], [1.0, 0.5], initial=[0.5, 0.25])  # integer design
    assert np.allclose(Vs, [[0.5, 0.25], [-0.25, -0.125]], atol=1e-15, rtol=0)  # delta = -0.75
    H = rules.hebbian_conditioning([[1, 0], [1, 1]], [2, 0], [0.5, 0.25], initial=[1, 1])
    assert np.allclose(H, [[1, 1], [2, 1], [2, 1]], atol=0, rtol=0)


def test_rescorla_wagner_computes_in_float64_from_float32_rates():
    a32 = np.float32(0.7)
    Vs = rules.rescorla_wagner([[1.0]], [1.0], np.array([a32]), beta=0.9)
    # one trial from V = 0: Delta V = alpha beta lambda, with alpha = float32(0.7) widened exactly to float64
    # (a float32 product alpha * beta would round to 0.6299999952..., not 0.6299999892...)
    assert Vs[1, 0] == float(a32) * 0.9
    assert Vs.dtype == np.float64


def test_rw_bad_inputs_raise():
    with pytest.raises(ValueError, match="cs"):
        rescorla_wagner(np.ones(5), np.ones(5), 0.1)
    with pytest.raises(ValueError, match="us"):
        rescorla_wagner(np.ones((5, 2)), np.ones(4), 0.1)
    with pytest.raises(ValueError, match="alpha"):
        rescorla_wagner(np.ones((5, 2)), np.ones(5), 1.5)
    with pytest.raises(ValueError, match="alpha"):
        blocking_closed_form(0.0, 1.0, 10, 10)
    with pytest.raises(ValueError, match="n2"):
        blocking_design(10, 0)


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
