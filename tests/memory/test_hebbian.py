"""attnmath.memory.hebbian: the Hebbian (linear-attention) memory, its closed forms, dtypes, devices, bad inputs.

Three kinds of test, each against the docstrings: identities (parallel == recurrent, closed forms,
signal + crosstalk) checked on random and hand-worked inputs; batched inputs ``[2, 3, N, d]`` (all sizes
distinct) against the 2-D definition slice by slice, so an axis counted from the wrong end fails; every
validated argument at its boundary, with the message that names the argument. Device handling is checked
on the ``meta`` device (shapes and devices, no values): a CPU-only machine has one real device.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.memory import (
    decayed_memory,
    decayed_recurrent,
    hebbian,
    hebbian_memory,
    hebbian_parallel,
    hebbian_recurrent,
    least_squares_residual,
    olam_memory,
    relative_recall_error,
    retrieve,
    signal_crosstalk,
)
from tests._helpers import meta, msg, rand

F64 = torch.float64
EPS = torch.finfo(F64).eps
META = torch.device("meta")


def per_slice(fn, *tensors):
    """Apply a 2-D function to each [i, j] slice of [2, 3, ...] inputs; outputs stacked back."""
    rows = []
    for i in range(tensors[0].shape[0]):
        outs = [fn(*(t[i, j] for t in tensors)) for j in range(tensors[0].shape[1])]
        rows.append(outs)
    if isinstance(rows[0][0], tuple):
        return tuple(torch.stack([torch.stack([o[m] for o in r]) for r in rows]) for m in range(len(rows[0][0])))
    return torch.stack([torch.stack(r) for r in rows])


# ----------------------------------------------------------------------------- identities
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
    k, v = rand(6, 4, seed=1), rand(6, 3, seed=2)
    M = torch.zeros(3, 4, dtype=F64)
    for i in range(6):
        M += torch.outer(v[i], k[i])  # post (US) x pre (CS)
    torch.testing.assert_close(hebbian_memory(k, v), M, atol=32 * EPS, rtol=0)  # 6 additions of O(1) terms
    q = rand(5, 4, seed=3)
    torch.testing.assert_close(retrieve(M, q), (M @ q.T).T, atol=32 * EPS, rtol=0)


def test_recurrent_state_can_be_carried_across_chunks():
    q, k, v = rand(2, 20, 5, seed=4), rand(2, 20, 5, seed=5), rand(2, 20, 3, seed=6)
    o_full, M_full = hebbian_recurrent(q, k, v)
    o1, M1 = hebbian_recurrent(q[:, :8], k[:, :8], v[:, :8])
    o2, M2 = hebbian_recurrent(q[:, 8:], k[:, 8:], v[:, 8:], initial_state=M1)
    torch.testing.assert_close(torch.cat([o1, o2], dim=1), o_full, atol=1e-13, rtol=0)  # roundoff of 20 x 5 products
    torch.testing.assert_close(M2, M_full, atol=1e-13, rtol=0)


def test_decayed_memory_limits_and_closed_form():
    q, k, v = rand(12, 4, seed=7), rand(12, 4, seed=8), rand(12, 2, seed=9)
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
    K, V = rand(9, 5, seed=10), rand(9, 3, seed=11)
    sig, cross = signal_crosstalk(K, V)
    M = hebbian_memory(K, V)
    torch.testing.assert_close(sig + cross, retrieve(M, K), atol=1e-13, rtol=0)
    j = 4
    expected = sum(float(K[i] @ K[j]) * V[i] for i in range(9) if i != j)
    torch.testing.assert_close(cross[j], expected, atol=1e-13, rtol=0)
    Q = torch.linalg.qr(rand(5, 5, seed=12)).Q.T  # orthonormal rows: no crosstalk
    sig, cross = signal_crosstalk(Q, V[:5])
    assert float(cross.abs().max()) < 1e-14
    torch.testing.assert_close(sig, V[:5], atol=1e-14, rtol=0)


def test_olam_and_least_squares():
    K, V = rand(6, 10, seed=13), rand(6, 4, seed=14)  # N < d_k: exact storage
    A = olam_memory(K, V)
    torch.testing.assert_close(retrieve(A, K), V, atol=1e-12, rtol=0)  # pinv of a well-conditioned 6 x 10 matrix
    assert float(least_squares_residual(K, V)) < 1e-20
    K, V = rand(30, 10, seed=15), rand(30, 4, seed=16)  # N > d_k: residual = energy outside col-space of K
    sol = torch.linalg.lstsq(K, V).solution  # [d_k, d_v], K sol ~ V
    expected = float(((K @ sol - V) ** 2).sum())
    assert math.isclose(float(least_squares_residual(K, V)), expected, rel_tol=1e-10)
    hebb = float(relative_recall_error(hebbian_memory(K, V), K, V))
    assert hebb > float(least_squares_residual(K, V) / (V**2).sum())  # LS is optimal among linear memories


# ----------------------------------------------------------------------------- batched inputs
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


# ----------------------------------------------------------------------------- dtypes and devices
def test_recurrences_keep_the_dtype_of_k():
    k, v = rand(3, 2, dtype=torch.bfloat16), rand(3, 2, dtype=torch.bfloat16)
    out, state = hebbian.decayed_recurrent(k, k, v, 0.5)
    assert out.dtype == state.dtype == torch.bfloat16
    out, state = hebbian.hebbian_recurrent(k.double(), k.double(), v.double(), initial_state=torch.zeros(2, 2))
    assert out.dtype == state.dtype == F64


def test_decayed_recurrent_casts_the_initial_state_to_the_dtype_of_k():
    g = torch.Generator().manual_seed(3)
    k = torch.randn(4, 2, generator=g)  # float32
    v = torch.randn(4, 3, generator=g)
    M0 = torch.randn(3, 2, generator=g, dtype=F64)
    out, state = hebbian.decayed_recurrent(k, k, v, 0.3, initial_state=M0)
    assert out.dtype == state.dtype == torch.float32
    ref_out, ref_state = hebbian.decayed_recurrent(k, k, v, 0.3, initial_state=M0.float())
    assert torch.equal(out, ref_out) and torch.equal(state, ref_state)


def test_device_mismatch_names_both_arguments():
    cpu = torch.ones(3, 2, dtype=F64)
    assert msg(ValueError, hebbian.hebbian_memory, cpu, meta(3, 4)) == (
        "keys is on cpu but values is on meta; put them on one device"
    )
    assert msg(ValueError, hebbian.hebbian_memory, meta(3, 2), torch.ones(3, 4, dtype=F64)) == (
        "keys is on meta but values is on cpu; put them on one device"
    )
    # q against k (k and v agree): the query is named first
    assert msg(ValueError, hebbian.hebbian_parallel, meta(3, 2), cpu, torch.ones(3, 4, dtype=F64)) == (
        "q is on meta but k is on cpu; put them on one device"
    )
    assert msg(ValueError, hebbian.decayed_recurrent, cpu, meta(3, 2), meta(3, 4), 0.5) == (
        "q is on cpu but k is on meta; put them on one device"
    )


def test_recurrences_allocate_on_the_input_device():
    q, v = meta(2, 3, 5, 4), meta(2, 3, 5, 6)  # [B, H, T, d_k], [B, H, T, d_v]
    out, state = hebbian.decayed_recurrent(q, q, v, 0.5)
    assert out.device == state.device == META
    assert out.shape == (2, 3, 5, 6) and state.shape == (2, 3, 6, 4)


def test_closed_forms_allocate_on_the_input_device():
    keys, values = meta(2, 5, 4), meta(2, 5, 3)
    M = hebbian.decayed_memory(keys, values, 0.5)
    assert M.device == META and M.shape == (2, 3, 4)


def test_allocations_follow_the_inputs_not_the_default_device():
    """torch.set_default_device("cuda") with CPU inputs is a real setting: every tensor a function allocates
    must follow its inputs. Here the default device is meta and the inputs live on the CPU."""
    g = torch.Generator().manual_seed(5)
    keys = torch.nn.functional.normalize(torch.randn(2, 4, 3, generator=g, dtype=F64), dim=-1)
    values = torch.randn(2, 4, 2, generator=g, dtype=F64)
    calls = {
        "decayed": lambda: hebbian.decayed_recurrent(keys, keys, values, 0.5),
        "memory": lambda: (hebbian.decayed_memory(keys, values, 0.5),),
    }
    ref = {name: fn() for name, fn in calls.items()}
    with torch.device("meta"):
        got = {name: fn() for name, fn in calls.items()}
    for name in calls:
        for x, y in zip(got[name], ref[name]):
            assert x.device.type == "cpu" and torch.equal(x, y), name


# ----------------------------------------------------------------------------- bad inputs
def test_mismatched_key_and_value_counts_raise():
    with pytest.raises(ValueError, match="values"):
        hebbian_memory(rand(5, 4), rand(6, 3))
    with pytest.raises(ValueError, match="values"):
        olam_memory(rand(5, 4), rand(4, 3))
    with pytest.raises(ValueError, match="values"):
        signal_crosstalk(rand(5, 4), rand(6, 3))
    with pytest.raises(ValueError, match="v must hold one vector per key"):
        hebbian_recurrent(rand(5, 4), rand(5, 4), rand(7, 3))
    with pytest.raises(ValueError, match="q must have the shape of k"):
        hebbian_parallel(rand(5, 3), rand(5, 4), rand(5, 3))


def test_other_bad_inputs_raise():
    with pytest.raises(ValueError, match="queries"):
        retrieve(rand(3, 4), rand(2, 5))
    with pytest.raises(ValueError, match="gamma"):
        decayed_recurrent(rand(5, 4), rand(5, 4), rand(5, 3), 1.5)
    with pytest.raises(ValueError, match="initial_state"):
        hebbian_recurrent(rand(5, 4), rand(5, 4), rand(5, 3), initial_state=rand(4, 3))
    with pytest.raises(TypeError, match="keys"):
        hebbian_memory(torch.ones(3, 2, dtype=torch.int64), rand(3, 2))


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
        == "values must have 2 dimensions to match keys (shape [4, 3]), got values of shape [1, 4, 2]"
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
        == "q must have 2 dimensions to match k (shape [4, 3]), got q of shape [1, 4, 3]"
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
    assert msg(ValueError, hebbian.retrieve, M, rand(1, 4, 3)) == (
        "queries must have 2 dimensions to match memory (shape [2, 3]), got queries of shape [1, 4, 3]"
    )
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
