"""Hebbian (linear-attention) memory: parallel == recurrent, closed forms, bad inputs (attnmath.memory.hebbian)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.memory import (
    decayed_memory,
    decayed_recurrent,
    hebbian_memory,
    hebbian_parallel,
    hebbian_recurrent,
    hopfield_error_bound,
    least_squares_residual,
    olam_memory,
    relative_recall_error,
    retrieve,
    separation,
    signal_crosstalk,
    softmax_recall,
)

F64 = torch.float64
EPS = torch.finfo(F64).eps


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


@settings(max_examples=25, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    T=st.integers(1, 24),
    dk=st.integers(1, 9),
    dv=st.integers(1, 7),
    seed=st.integers(0, 2**16),
)
def test_parallel_equals_recurrent_and_final_state_is_vt_k(lead, T, dk, dv, seed):
    g = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(*lead, T, dk, generator=g, dtype=F64) for _ in range(2))
    v = torch.randn(*lead, T, dv, generator=g, dtype=F64)
    o_rec, M = hebbian_recurrent(q, k, v)
    tol = 16 * T * dk * EPS * 16  # float64 roundoff: T d_k products of entries up to ~4 each (16), 16 eps margin
    torch.testing.assert_close(hebbian_parallel(q, k, v), o_rec, atol=tol, rtol=0)
    torch.testing.assert_close(M, hebbian_memory(k, v), atol=tol, rtol=0)
    # non-causal parallel form reads the final memory: Q K^T V = (M_T q_t)_t
    torch.testing.assert_close(hebbian_parallel(q, k, v, causal=False), retrieve(M, q), atol=tol, rtol=0)


def test_memory_is_the_sum_of_outer_products():
    k, v = _rand(6, 4, seed=1), _rand(6, 3, seed=2)
    M = torch.zeros(3, 4, dtype=F64)
    for i in range(6):
        M += torch.outer(v[i], k[i])  # post (US) x pre (CS)
    torch.testing.assert_close(hebbian_memory(k, v), M, atol=32 * EPS, rtol=0)  # 6 additions of O(1) terms
    q = _rand(5, 4, seed=3)
    torch.testing.assert_close(retrieve(M, q), (M @ q.T).T, atol=32 * EPS, rtol=0)


def test_recurrent_state_can_be_carried_across_chunks():
    q, k, v = _rand(2, 20, 5, seed=4), _rand(2, 20, 5, seed=5), _rand(2, 20, 3, seed=6)
    o_full, M_full = hebbian_recurrent(q, k, v)
    o1, M1 = hebbian_recurrent(q[:, :8], k[:, :8], v[:, :8])
    o2, M2 = hebbian_recurrent(q[:, 8:], k[:, 8:], v[:, 8:], initial_state=M1)
    torch.testing.assert_close(torch.cat([o1, o2], dim=1), o_full, atol=1e-13, rtol=0)  # roundoff of 20 x 5 products
    torch.testing.assert_close(M2, M_full, atol=1e-13, rtol=0)


def test_decayed_memory_limits_and_closed_form():
    q, k, v = _rand(12, 4, seed=7), _rand(12, 4, seed=8), _rand(12, 2, seed=9)
    o1, M1 = decayed_recurrent(q, k, v, 1.0)
    o_h, M_h = hebbian_recurrent(q, k, v)
    torch.testing.assert_close(o1, o_h, atol=0, rtol=0)
    torch.testing.assert_close(M1, M_h, atol=0, rtol=0)  # gamma = 1 is the Hebbian memory, bit for bit
    _, M0 = decayed_recurrent(q, k, v, 0.0)
    torch.testing.assert_close(M0, torch.outer(v[-1], k[-1]), atol=0, rtol=0)  # gamma = 0 keeps the last pair only
    _, Mg = decayed_recurrent(q, k, v, 0.7)
    expected = sum(0.7 ** (11 - i) * torch.outer(v[i], k[i]) for i in range(12))
    torch.testing.assert_close(Mg, expected, atol=1e-14, rtol=0)  # 12 scaled additions
    torch.testing.assert_close(decayed_memory(k, v, 0.7), expected, atol=1e-14, rtol=0)


def test_signal_crosstalk_split():
    K, V = _rand(9, 5, seed=10), _rand(9, 3, seed=11)
    sig, cross = signal_crosstalk(K, V)
    M = hebbian_memory(K, V)
    torch.testing.assert_close(sig + cross, retrieve(M, K), atol=1e-13, rtol=0)
    j = 4
    expected = sum(float(K[i] @ K[j]) * V[i] for i in range(9) if i != j)
    torch.testing.assert_close(cross[j], expected, atol=1e-13, rtol=0)
    Q = torch.linalg.qr(_rand(5, 5, seed=12)).Q.T  # orthonormal rows: no crosstalk
    sig, cross = signal_crosstalk(Q, V[:5])
    assert float(cross.abs().max()) < 1e-14
    torch.testing.assert_close(sig, V[:5], atol=1e-14, rtol=0)


def test_olam_and_least_squares():
    K, V = _rand(6, 10, seed=13), _rand(6, 4, seed=14)  # N < d_k: exact storage
    A = olam_memory(K, V)
    torch.testing.assert_close(retrieve(A, K), V, atol=1e-12, rtol=0)  # pinv of a well-conditioned 6 x 10 matrix
    assert float(least_squares_residual(K, V)) < 1e-20
    K, V = _rand(30, 10, seed=15), _rand(30, 4, seed=16)  # N > d_k: residual = energy outside col-space of K
    sol = torch.linalg.lstsq(K, V).solution  # [d_k, d_v], K sol ~ V
    expected = float(((K @ sol - V) ** 2).sum())
    assert math.isclose(float(least_squares_residual(K, V)), expected, rel_tol=1e-10)
    hebb = float(relative_recall_error(hebbian_memory(K, V), K, V))
    assert hebb > float(least_squares_residual(K, V) / (V**2).sum())  # LS is optimal among linear memories


def test_softmax_recall_and_hopfield_bound():
    g = torch.Generator().manual_seed(17)
    K = torch.randn(40, 16, generator=g, dtype=F64)
    K = K / K.norm(dim=1, keepdim=True)
    V = torch.randn(40, 3, generator=g, dtype=F64)
    beta = 8.0
    W = torch.softmax(beta * K @ K.T, dim=-1)
    torch.testing.assert_close(softmax_recall(K, V, K, beta), W @ V, atol=1e-14, rtol=0)
    err = (softmax_recall(K, V, K, beta) - V).norm(dim=1)
    assert bool((err <= hopfield_error_bound(K, V, beta)).all())
    G = K @ K.T
    j = 3
    assert math.isclose(
        float(separation(K)[j]), float(G[j, j] - torch.cat([G[j, :j], G[j, j + 1 :]]).max()), rel_tol=1e-14
    )


# ---------------------------------------------------------------------------- bad inputs
def test_mismatched_key_and_value_counts_raise():
    with pytest.raises(ValueError, match="values"):
        hebbian_memory(_rand(5, 4), _rand(6, 3))
    with pytest.raises(ValueError, match="values"):
        olam_memory(_rand(5, 4), _rand(4, 3))
    with pytest.raises(ValueError, match="values"):
        signal_crosstalk(_rand(5, 4), _rand(6, 3))
    with pytest.raises(ValueError, match="v must hold one vector per key"):
        hebbian_recurrent(_rand(5, 4), _rand(5, 4), _rand(7, 3))
    with pytest.raises(ValueError, match="q must have the shape of k"):
        hebbian_parallel(_rand(5, 3), _rand(5, 4), _rand(5, 3))


def test_other_bad_inputs_raise():
    with pytest.raises(ValueError, match="queries"):
        retrieve(_rand(3, 4), _rand(2, 5))
    with pytest.raises(ValueError, match="gamma"):
        decayed_recurrent(_rand(5, 4), _rand(5, 4), _rand(5, 3), 1.5)
    with pytest.raises(ValueError, match="initial_state"):
        hebbian_recurrent(_rand(5, 4), _rand(5, 4), _rand(5, 3), initial_state=_rand(4, 3))
    with pytest.raises(TypeError, match="keys"):
        hebbian_memory(torch.ones(3, 2, dtype=torch.int64), _rand(3, 2))
    with pytest.raises(ValueError, match="beta"):
        softmax_recall(_rand(3, 2), _rand(3, 2), _rand(1, 2), 0.0)
