"""attnmath.memory.depth: composition models, head averaging, majority vote.

Monte-Carlo estimators are checked against the models' closed forms with the claims' own bands
(max(4 SE, 5%)) at small sizes, and replayed exactly from the same seeded draws by explicit hop
loops; closed forms against hand values; every validated argument at its boundary.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnmath.memory import capacity as C
from attnmath.memory import (
    compounding_multihop,
    head_average_error,
    heads_for_reliability,
    hoeffding_majority_bound,
    majority_failure,
    model_c_capacity,
    model_c_theory,
    model_p_capacity,
    model_p_theory,
    random_keys,
    residual_accumulation,
    signal_crosstalk,
)
from attnmath.memory import depth as D
from tests._helpers import gen, msg

F64 = torch.float64


def within(est, target, se, rel=0.05, nsigma=4.0):
    """The claims' band: |est - target| <= max(nsigma SE, rel |target|)."""
    return abs(est - target) <= max(nsigma * se, rel * abs(target))


# ----------------------------------------------------------------------------- head averaging
def test_head_average_error_with_one_head_is_the_crosstalk():
    g = torch.Generator().manual_seed(4)
    K = random_keys(10, 8, batch=(1,), generator=g)  # [H=1, N, d_k]
    V = torch.randn(10, 3, generator=g, dtype=F64)
    _, cross = signal_crosstalk(K[0], V)
    torch.testing.assert_close(head_average_error(K, V), cross, atol=1e-14, rtol=0)  # unit keys: signal = v_j


def test_head_average_error_is_the_mean_of_per_head_recall_errors():
    g = torch.Generator().manual_seed(1)
    keys = random_keys(5, 4, batch=(2, 3), generator=g)  # [B=2, H=3, N=5, d_k=4]
    values = torch.randn(2, 5, 6, generator=g, dtype=F64)  # [B, N, d_v]
    e = D.head_average_error(keys, values)
    assert e.shape == (2, 5, 6)
    for b in range(2):
        per_head = [keys[b, h] @ (values[b].T @ keys[b, h]).T - values[b] for h in range(3)]
        assert torch.allclose(e[b], sum(per_head) / 3, atol=1e-14, rtol=0)  # float64, 5-term sums


def test_head_average_error_input_errors():
    k, v = torch.ones(2, 5, 4, dtype=F64), torch.ones(5, 6, dtype=F64)
    assert msg(ValueError, D.head_average_error, torch.ones(5, 4, dtype=F64), v) == (
        "keys must have 3 or 4 or 5 or 6 dimensions, got shape [5, 4]"
    )
    seven = torch.ones(1, 1, 1, 1, 2, 5, 4, dtype=F64)
    assert msg(ValueError, D.head_average_error, seven, torch.ones(1, 1, 1, 1, 5, 6, dtype=F64)).startswith(
        "keys must have 3 or 4 or 5 or 6 dimensions"
    )
    assert msg(ValueError, D.head_average_error, k, torch.ones(1, 5, 6, dtype=F64)) == (
        "values must have 2 dimensions to match keys (shape [2, 5, 4]), got values of shape [1, 5, 6]"
    )
    assert msg(TypeError, D.head_average_error, k, v.float()) == (
        "keys has dtype torch.float64 but values has dtype torch.float32; they must match"
    )
    expect = "values must be [..., N, d_v] for keys [..., H, N, d_k], got keys [2, 5, 4], values [4, 6]"
    assert msg(ValueError, D.head_average_error, k, torch.ones(4, 6, dtype=F64)) == expect
    kb = torch.ones(3, 2, 5, 4, dtype=F64)  # batch 3, values batch 2: leading dims differ, N agrees
    assert msg(ValueError, D.head_average_error, kb, torch.ones(2, 5, 6, dtype=F64)).startswith(
        "values must be [..., N, d_v] for keys [..., H, N, d_k], got keys [3, 2, 5, 4]"
    )
    assert D.head_average_error(kb, torch.ones(3, 5, 6, dtype=F64)).shape == (3, 5, 6)


# ----------------------------------------------------------------------------- composition models
def test_depth_models_theory_and_capacity_inverses():
    assert math.isclose(model_c_theory(17, 64, 1, 2), 16 / 128, rel_tol=1e-15)
    assert model_c_theory(17, 64, 8) > 8 * 16 / 64  # compounding exceeds its linearisation
    assert model_p_theory(17, 64, 4, 2) == 4 * 16 / 128 and model_p_theory(17, 64, 4, 2, aligned=True) == 16 * 16 / 128
    eps = 0.3
    n = model_c_capacity(64, 6, 2, eps)
    assert math.isclose((1 + (n - 1) / (2 * 64)) ** 6 - 1, eps**2, rel_tol=1e-12)
    n = model_p_capacity(64, 6, 2, eps)
    assert math.isclose(6 * (n - 1) / (2 * 64), eps**2, rel_tol=1e-12)


def test_theories_and_capacities_by_hand():
    assert D.model_p_theory(9, 16, 3) == 3 * 8 / 16  # default heads = 1, independent layers
    assert D.model_p_theory(9, 16, 3, 2, aligned=True) == 9 * 8 / 32
    assert D.model_c_theory(9, 16, 2) == (1 + 8 / 16) ** 2 - 1
    assert D.model_c_theory(5, 4, 3, 2) == (1 + 4 / 8) ** 3 - 1
    assert math.isclose(D.model_c_capacity(16, 2, 3, 0.5), 1 + 48 * (1.25**0.5 - 1), rel_tol=1e-15)
    assert math.isclose(D.model_p_capacity(16, 2, 3, 0.5), 1 + 0.25 * 48 / 2, rel_tol=1e-15)
    assert math.isclose(D.model_p_capacity(16, 2, 3, 0.5, aligned=True), 1 + 0.25 * 48 / 4, rel_tol=1e-15)
    assert D.model_p_capacity(16, 1, 1, 0.5) == 5.0  # the aligned default is False: L = L^2 = 1 only here
    assert msg(ValueError, D.model_c_capacity, 16, 2, 3, 0.0) == "eps must be > 0, got 0.0"
    assert msg(ValueError, D.model_p_capacity, 16, 2, 3, -1.0) == "eps must be > 0, got -1.0"


def test_model_p_capacity_aligned_divides_by_l_squared():
    # L = 3 aligned: 1 + eps^2 H d_k / L^2 = 1 + 0.25 * 32 / 9 (L^2 = 9, not 2 L = 6)
    assert math.isclose(D.model_p_capacity(16, 3, 2, 0.5, aligned=True), 1 + 8 / 9, rel_tol=1e-15)
    assert math.isclose(D.model_p_capacity(16, 3, 2, 0.5), 1 + 8 / 3, rel_tol=1e-15)


def test_residual_and_compounding_shapes_and_alignment():
    r, se = residual_accumulation(8, 16, 5, 2, trials=20, seed=0)
    ra, _ = residual_accumulation(8, 16, 5, 2, trials=20, seed=0, aligned=True)
    assert r.shape == se.shape == (5,)
    np.testing.assert_allclose(ra, np.arange(1, 6) ** 2 * r[0], rtol=1e-12)  # same first layer, repeated
    m, s = compounding_multihop(8, 16, 3, trials=20, seed=0)
    mc, _ = compounding_multihop(8, 16, 3, 2, trials=20, seed=0, space="coefficient")
    assert m.shape == s.shape == mc.shape == (3,) and np.all(m > 0) and np.all(mc > 0)


def test_residual_accumulation_matches_model_p():
    n, dk, layers, heads, trials = 9, 16, 3, 2, 300
    r, se = D.residual_accumulation(n, dk, layers, heads, trials=trials, seed=3)
    assert r.shape == se.shape == (layers,) and np.all(se > 0)
    for L in range(1, layers + 1):
        assert within(r[L - 1], D.model_p_theory(n, dk, L, heads), se[L - 1]), (L, r, se)
    ra, sa = D.residual_accumulation(n, dk, layers, heads, trials=trials, seed=3, aligned=True)
    assert np.allclose(ra, np.arange(1, layers + 1) ** 2 * r[0], rtol=1e-12, atol=0)  # same error, L times
    assert np.allclose(sa, np.arange(1, layers + 1) ** 2 * se[0], rtol=1e-12, atol=0)
    # defaults: heads = 1, d_v = 16, independent layers
    r1, _ = D.residual_accumulation(n, dk, 2, trials=20, seed=1)
    assert np.array_equal(r1, D.residual_accumulation(n, dk, 2, 1, trials=20, seed=1, d_v=16, aligned=False)[0])
    assert not np.array_equal(r1, D.residual_accumulation(n, dk, 2, 1, trials=20, seed=1, d_v=8)[0])
    # the SE is the delta-method SE of a ratio of means: it shrinks like 1/sqrt(trials)
    _, se_big = D.residual_accumulation(n, dk, 1, heads, trials=4 * trials, seed=4)
    assert 0.3 < se_big[0] / se[0] < 0.7


def test_compounding_multihop_matches_model_c():
    n, dk, layers, trials = 9, 32, 3, 400
    m, se = D.compounding_multihop(n, dk, layers, trials=trials, seed=5)
    assert m.shape == se.shape == (layers,) and np.all(se > 0)
    for L in range(1, layers + 1):
        assert within(m[L - 1], D.model_c_theory(n, dk, L), se[L - 1]), (L, m, se)
    mc, sc = D.compounding_multihop(n, dk, layers, 3, trials=trials, seed=6, space="coefficient")
    for L in range(1, layers + 1):
        assert within(mc[L - 1], D.model_c_theory(n, dk, L, 3), sc[L - 1]), (L, mc, sc)
    # defaults: heads = 1 and the vector space
    default = D.compounding_multihop(n, dk, 2, trials=10, seed=1)[0]
    assert np.array_equal(default, D.compounding_multihop(n, dk, 2, 1, trials=10, seed=1, space="vector")[0])
    # SE = sd over trials / sqrt(trials): four times the trials, about half the SE
    _, se4 = D.compounding_multihop(n, dk, 1, trials=4 * trials, seed=7)
    assert 0.3 < se4[0] / se[0] < 0.7


def test_compounding_multihop_replays_both_spaces():
    n, d_k, layers, trials, seed = 4, 3, 2, 5, 9
    m, se = D.compounding_multihop(n, d_k, layers, trials=trials, seed=seed)
    g = gen(seed)  # vector space: y_{l+1} = M_{l+1} y_l with M_{l+1} = sum_i u^{l+1}_i u^{l T}_i
    U = C.random_keys(n, d_k, batch=(trials,), generator=g)
    Y = U.clone()
    for layer in range(layers):
        U_next = C.random_keys(n, d_k, batch=(trials,), generator=g)
        Y = torch.einsum("tiv,tik,tjk->tjv", U_next, U, Y)  # row j: sum_i u'_i (u_i . y_j)
        U = U_next
        err = ((Y - U) ** 2).sum(-1).mean(-1)  # [trials]
        assert math.isclose(m[layer], float(err.mean()), rel_tol=1e-12), (layer, m)
        assert math.isclose(se[layer], float(err.std() / math.sqrt(trials)), rel_tol=1e-10), (layer, se)
    # coefficient space, 2 heads: a_{l+1} = mean_h G_h a_l from a_0 = e_j, deterministic given the seed
    mc, sc = D.compounding_multihop(n, d_k, layers, 2, trials=trials, seed=seed, space="coefficient")
    again = D.compounding_multihop(n, d_k, layers, 2, trials=trials, seed=seed, space="coefficient")
    assert np.array_equal(mc, again[0]) and np.array_equal(sc, again[1])
    g = gen(seed)
    A = torch.eye(n, dtype=F64).repeat(trials, 1, 1)
    for layer in range(layers):
        K = C.random_keys(n, d_k, batch=(trials, 2), generator=g)
        A = ((K[:, 0] @ K[:, 0].mT + K[:, 1] @ K[:, 1].mT) / 2) @ A
        err = ((A - torch.eye(n, dtype=F64)) ** 2).sum(dim=(1, 2)) / n
        assert math.isclose(mc[layer], float(err.mean()), rel_tol=1e-12), (layer, mc)
    assert not np.allclose(m, mc)  # the two spaces are different experiments


# ----------------------------------------------------------------------------- majority vote
def test_majority_vote():
    assert math.isclose(majority_failure(0.7, 1), 0.3, rel_tol=1e-15)
    assert math.isclose(majority_failure(0.7, 3), 0.3**3 + 3 * 0.7 * 0.3**2, rel_tol=1e-14)
    for p in (0.55, 0.8):
        for h in (1, 5, 21):
            assert majority_failure(p, h) <= hoeffding_majority_bound(p, h)
    h = heads_for_reliability(0.6, 10, 0.05)
    assert h == math.ceil(math.log(10 / 0.05) / (2 * 0.1**2))
    assert 10 * hoeffding_majority_bound(0.6, h) <= 0.05


def test_majority_failure_and_bounds():
    assert D.majority_failure(0.75, 2) == 0.25**2 + 2 * 0.75 * 0.25  # a 1-1 tie counts as a failure
    assert D.majority_failure(0.75, 4) == sum(math.comb(4, m) * 0.75**m * 0.25 ** (4 - m) for m in range(3))
    assert D.majority_failure(1.0, 3) == 0.0 and D.majority_failure(0.0, 3) == 1.0
    assert msg(ValueError, D.majority_failure, 1.5, 3) == "p must be <= 1.0, got 1.5"
    assert msg(ValueError, D.majority_failure, -0.5, 3) == "p must be >= 0.0, got -0.5"
    assert msg(ValueError, D.majority_failure, 0.5, 0) == "heads must be >= 1, got 0"
    assert D.hoeffding_majority_bound(0.75, 4) == math.exp(-2 * 4 * 0.0625)
    assert D.hoeffding_majority_bound(1.0, 1) == math.exp(-0.5)
    assert msg(ValueError, D.hoeffding_majority_bound, 0.5, 3) == "p must be > 0.5, got 0.5"
    assert msg(ValueError, D.hoeffding_majority_bound, 1.5, 3) == "p must be <= 1.0, got 1.5"
    assert msg(ValueError, D.hoeffding_majority_bound, 0.75, 0) == "heads must be >= 1, got 0"


def test_heads_for_reliability():
    # ln(L/delta) / (2 (p - 1/2)^2) with L = 4, delta = 0.5, p = 0.75: ln 8 / 0.125 = 16.6 -> 17
    assert D.heads_for_reliability(0.75, 4, 0.5) == math.ceil(math.log(8) / 0.125) == 17
    assert D.heads_for_reliability(1.0, 1, 0.9) == 1  # ln(1/0.9)/0.5 = 0.21 -> 1 (at least one head)
    assert D.heads_for_reliability(1.0, 3, 0.5) == 4  # ln 6 / 0.5 = 3.58 -> 4
    assert msg(ValueError, D.heads_for_reliability, 0.5, 3, 0.5) == "p must be > 0.5, got 0.5"
    assert msg(ValueError, D.heads_for_reliability, 1.5, 3, 0.5) == "p must be <= 1.0, got 1.5"
    assert msg(ValueError, D.heads_for_reliability, 0.75, 0, 0.5) == "layers must be >= 1, got 0"
    assert msg(ValueError, D.heads_for_reliability, 0.75, 3, 0.0) == "delta must be > 0.0, got 0.0"
    assert msg(ValueError, D.heads_for_reliability, 0.75, 3, 1.0) == "delta must be < 1.0, got 1.0"
    assert msg(ValueError, D.heads_for_reliability, 0.75, 3, -0.5) == "delta must be > 0.0, got -0.5"
    assert msg(ValueError, D.heads_for_reliability, 0.75, 3, 1.5) == "delta must be < 1.0, got 1.5"


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 16, 1, 1), "n must be >= 1, got 0"),
        ((1, 0, 1, 1), "d_k must be >= 1, got 0"),
        ((1, 16, 0, 1), "layers must be >= 1, got 0"),
        ((1, 16, 1, 0), "heads must be >= 1, got 0"),
    ],
)
def test_dimensions_must_be_positive(args, message):
    assert msg(ValueError, D.model_p_theory, *args) == message
    assert msg(ValueError, D.model_c_theory, *args) == message
    assert D.model_p_theory(1, 1, 1, 1) == 0.0  # the smallest valid sizes
    assert D.model_c_theory(1, 1, 1, 1) == 0.0


def test_monte_carlo_input_errors():
    assert msg(ValueError, D.residual_accumulation, 4, 4, 1, trials=1, seed=0) == "trials must be >= 2, got 1"
    assert msg(ValueError, D.residual_accumulation, 4, 4, 1, trials=2, seed=-1) == "seed must be >= 0, got -1"
    assert D.residual_accumulation(4, 4, 1, trials=2, seed=0)[0].shape == (1,)
    assert msg(ValueError, D.compounding_multihop, 4, 4, 1, trials=1, seed=0) == "trials must be >= 2, got 1"
    assert msg(ValueError, D.compounding_multihop, 4, 4, 1, trials=2, seed=-1) == "seed must be >= 0, got -1"
    assert D.compounding_multihop(4, 4, 1, trials=2, seed=0)[0].shape == (1,)
    assert msg(ValueError, D.compounding_multihop, 4, 4, 1, 2, trials=2, seed=0) == (
        "heads must be 1 in vector space (the H-head model is stated in coefficient space), got 2"
    )
    assert msg(ValueError, D.compounding_multihop, 4, 4, 1, trials=2, seed=0, space="matrix") == (
        "space must be one of ('vector', 'coefficient'), got 'matrix'"
    )


def test_non_positive_dk_raises():
    for bad in (0, -4):
        with pytest.raises(ValueError, match="d_k"):
            model_c_theory(10, bad, 2)


def test_other_bad_inputs_raise():
    with pytest.raises(ValueError, match="heads"):
        compounding_multihop(8, 16, 2, 3, trials=4, seed=0, space="vector")
    with pytest.raises(ValueError, match="space"):
        compounding_multihop(8, 16, 2, trials=4, seed=0, space="matrix")
    with pytest.raises(ValueError, match="p"):
        hoeffding_majority_bound(0.5, 3)
