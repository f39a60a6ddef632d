"""Delta rule (Rescorla–Wagner / DeltaNet) and Rescorla–Wagner conditioning (attnmath.memory.rules)."""

from __future__ import annotations

import itertools

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
)

F64 = torch.float64
EPS = torch.finfo(F64).eps


def _unit(n, d, seed):
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return x / x.norm(dim=1, keepdim=True)


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def test_delta_rule_one_step_literal():
    k, v, q = _rand(1, 3, seed=1), _rand(1, 2, seed=2), _rand(1, 3, seed=3)
    M0 = _rand(2, 3, seed=4)
    o, M = delta_rule_recurrent(q, k, v, 0.3, initial_state=M0)
    expected = M0 + 0.3 * torch.outer(v[0] - M0 @ k[0], k[0])
    torch.testing.assert_close(M, expected, atol=16 * EPS, rtol=0)  # a handful of O(1) products
    torch.testing.assert_close(o[0], expected @ q[0], atol=16 * EPS, rtol=0)


def test_beta_one_overwrites_with_unit_keys():
    k, v = _unit(25, 8, seed=5), _rand(25, 4, seed=6)
    o, _ = delta_rule_recurrent(k, k, v, 1.0)  # query = the key just written
    torch.testing.assert_close(o, v, atol=1e-14, rtol=0)  # |k|^2 = 1 to roundoff


def test_delta_rule_with_zero_beta_is_inert_and_beta_tensor_works():
    k, v = _unit(6, 4, seed=7), _rand(6, 3, seed=8)
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
    K, V = _unit(N, dk, seed), _rand(N, 3, seed=seed + 1)
    M = delta_rule_cyclic(K, V, beta, sweeps)
    if sweeps == 0:
        assert float(M.abs().max()) == 0.0
        return
    _, M_loop = delta_rule_recurrent(K.repeat(sweeps, 1), K.repeat(sweeps, 1), V.repeat(sweeps, 1), beta)
    torch.testing.assert_close(M, M_loop, atol=1e-11, rtol=0)  # <= 40 contractive writes of O(1) entries, float64


def test_delta_rule_converges_to_olam_for_independent_keys():
    K, V = _unit(8, 16, seed=9), _rand(8, 5, seed=10)
    M = delta_rule_cyclic(K, V, 1.0, 500)
    torch.testing.assert_close(M, olam_memory(K, V), atol=1e-10, rtol=0)  # geometric convergence, well conditioned


def test_sweep_map_is_affine():
    K, V = _unit(5, 6, seed=11), _rand(5, 2, seed=12)
    P, Q = delta_sweep_map(K, V, 0.5)
    M0 = _rand(2, 6, seed=13)
    torch.testing.assert_close(delta_rule_cyclic(K, V, 0.5, 1, initial_state=M0), M0 @ P + Q, atol=0, rtol=0)


def test_beta_outside_the_convergence_interval_raises():
    K, V = _unit(4, 6, seed=14), _rand(4, 2, seed=15)
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


# ---------------------------------------------------------------------------- Rescorla–Wagner
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
