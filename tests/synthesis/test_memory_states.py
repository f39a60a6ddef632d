"""DSF states read as associative memories (attnmath.synthesis.memory_states): identities, estimators, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.memory import decayed_memory, delta_rule_recurrent, hebbian_memory, random_keys, random_values
from attnmath.synthesis import (
    decayed_relmse_theory,
    dsf_recall,
    effective_load,
    memory_dsf,
    softmax_capacity,
    softmax_relmse,
    state_as_memory,
    state_recall_relmse,
)

F64 = torch.float64
EPS = torch.finfo(F64).eps


def _final_memory(k, v, kind, **kw):
    dsf = memory_dsf(k, v, kind, **kw)
    u = v[..., None, :, :] if kind == "mamba2" else v
    _, H = dsf.recurrent(u, return_state=True)
    h = H[..., 0, -1, :] if kind == "mamba2" else H[..., -1, :]
    return state_as_memory(h, k.shape[-1], v.shape[-1])


@settings(max_examples=20, deadline=None)
@given(
    T=st.integers(1, 12),
    dk=st.integers(1, 6),
    dv=st.integers(1, 4),
    gamma=st.floats(0.3, 1.0),
    dt=st.floats(0.1, 2.0),
    seed=st.integers(0, 2**16),
)
def test_final_states_are_the_memory_chapters_memories(T, dk, dv, gamma, dt, seed):
    g = torch.Generator().manual_seed(seed)
    k, v = torch.randn(2, T, dk, generator=g, dtype=F64), torch.randn(2, T, dv, generator=g, dtype=F64)
    tol = 64 * T * EPS * 16  # float64: T products of entries up to ~4 (16), 64 eps margin
    torch.testing.assert_close(_final_memory(k, v, "linear"), hebbian_memory(k, v), atol=tol, rtol=0)
    torch.testing.assert_close(
        _final_memory(k, v, "retnet", gamma=gamma), decayed_memory(k, v, gamma), atol=tol, rtol=0
    )
    # Mamba-2 with a = ln(gamma)/dt has Λ = gamma and writes dt x the same outer products
    torch.testing.assert_close(
        _final_memory(k, v, "mamba2", gamma=gamma, dt=dt) / dt, decayed_memory(k, v, gamma), atol=tol, rtol=0
    )
    _, M_delta = delta_rule_recurrent(k, k, v, 0.3)
    torch.testing.assert_close(_final_memory(k, v, "deltanet", beta=0.3), M_delta, atol=tol * 10, rtol=0)


def test_state_layout_is_vec_of_k_vt_column_major():
    k, v = torch.tensor([[1.0, 2.0, 3.0]], dtype=F64), torch.tensor([[10.0, 20.0]], dtype=F64)
    _, H = memory_dsf(k, v, "linear").recurrent(v, return_state=True)
    # vec(k vᵀ) column-major = [k v_1, k v_2]
    assert H[0].tolist() == [10.0, 20.0, 30.0, 20.0, 40.0, 60.0]
    assert state_as_memory(H[0], 3, 2).tolist() == [[10.0, 20.0, 30.0], [20.0, 40.0, 60.0]]


def test_dsf_recall_does_not_depend_on_the_chunk_size():
    g = torch.Generator().manual_seed(3)
    K, V = random_keys(7, 5, batch=(9,), generator=g), random_values(7, 2, batch=(9,), generator=g)
    for kind in ("linear", "retnet", "deltanet"):
        a = dsf_recall(K, V, kind, chunk=1, gamma=0.8)
        b = dsf_recall(K, V, kind, chunk=64, gamma=0.8)
        assert torch.equal(a, b), kind


def test_effective_load_and_decay_formula_from_direct_sums():
    g, T, dk = 0.85, 40, 16
    assert math.isclose(effective_load(g, T), sum(g ** (2 * a) for a in range(T)), rel_tol=1e-14)
    assert math.isclose(effective_load(g, 10_000), 1 / (1 - g**2), rel_tol=1e-14)
    # independent of memory.decay_snr_theory: signal loss (1-g^s)^2 plus crosstalk sum_{a != s} g^(2a) / d_k
    direct = np.mean([(1 - g**s) ** 2 + (effective_load(g, T) - g ** (2 * s)) / dk for s in range(T)])
    assert math.isclose(decayed_relmse_theory(g, dk, T), direct, rel_tol=1e-12)
    # no decay: Hebbian law (N-1)/d_k
    assert math.isclose(decayed_relmse_theory(1.0, dk, T), (T - 1) / dk, rel_tol=1e-12)


def test_state_relmse_estimator_is_seeded_and_near_the_hebbian_law():
    a = state_recall_relmse("linear", 6, 24, 4, trials=300, seed=1)
    assert a == state_recall_relmse("linear", 6, 24, 4, trials=300, seed=1)
    assert abs(a[0] - 5 / 24) <= 4 * a[1]  # 4 SE band of the ratio-of-means estimator


def test_softmax_relmse_limits():
    # beta -> 0: recall is the mean value, relMSE -> 1 - 1/N for independent zero-mean values
    N, dk = 5, 16
    r, se = softmax_relmse(dk, [N], 1e-9, trials=400, seed=2)
    assert abs(r[0] - (1 - 1 / N)) <= 4 * se[0]  # 4 SE band, 400 trials
    # beta large: a stored key wins with weight ~1, recall error vanishes
    r, _ = softmax_relmse(dk, [N], 2000.0, trials=4, seed=2)
    assert r[0] < 1e-12  # e^{-2000 x separation} underflows; separation > 0.05 for 5 unit keys in R^16


def test_softmax_capacity_grows_with_beta_and_brackets():
    small = softmax_capacity(6, 0.5, 3.0, n_max=64, trials=4, seed=0)
    large = softmax_capacity(6, 0.5, 6.0, n_max=64, trials=4, seed=0)
    assert 1 <= small < large <= 64
    with pytest.raises(ValueError, match="no bracket"):
        softmax_capacity(16, 0.5, 16.0, n_max=8, trials=2, seed=0)


def test_bad_inputs_name_the_argument():
    k, v = torch.zeros(4, 3, dtype=F64), torch.zeros(4, 2, dtype=F64)
    with pytest.raises(ValueError, match="kind"):
        memory_dsf(k, v, "softmax")
    with pytest.raises(ValueError, match="values"):
        memory_dsf(k, torch.zeros(5, 2, dtype=F64), "linear")
    with pytest.raises(ValueError, match="gamma"):
        memory_dsf(k, v, "retnet", gamma=1.5)
    with pytest.raises(ValueError, match="dt"):
        memory_dsf(k, v, "mamba2", gamma=0.5, dt=0.0)
    with pytest.raises(ValueError, match="beta"):
        memory_dsf(k, v, "deltanet", beta=-1.0)
    with pytest.raises(TypeError, match="values"):
        memory_dsf(k, v.float(), "linear")
    with pytest.raises(ValueError, match="h must have last dimension"):
        state_as_memory(torch.zeros(7, dtype=F64), 3, 2)
    with pytest.raises(ValueError, match="keys"):
        dsf_recall(k, v, "linear")  # needs [trials, N, d_k]
    with pytest.raises(ValueError, match="gamma"):
        effective_load(1.0, 10)
    with pytest.raises(ValueError, match="n"):
        decayed_relmse_theory(0.9, 8, 1)
    with pytest.raises(ValueError, match="beta"):
        softmax_relmse(4, [3], 0.0, trials=2, seed=0)
