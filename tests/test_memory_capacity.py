"""Capacity estimators, depth models and their bad inputs (attnmath.memory.capacity, attnmath.memory.depth)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from attnmath.memory import (
    bit_error_theory,
    capacity_theory,
    coherence,
    coherence_error_bound,
    compounding_multihop,
    decay_snr_theory,
    guarantee_capacity,
    head_average_error,
    heads_for_reliability,
    hoeffding_majority_bound,
    largest_true,
    majority_failure,
    model_c_capacity,
    model_c_theory,
    model_p_capacity,
    model_p_theory,
    random_keys,
    ratio_of_means,
    relmse_curve,
    relmse_monte_carlo,
    relmse_theory,
    residual_accumulation,
    signal_crosstalk,
    simplex_frame,
    welch_bound,
    worst_vs_average,
)

F64 = torch.float64


def test_theory_formulas():
    assert relmse_theory(33, 64) == 32 / 64 and relmse_theory(33, 64, "gaussian") == 34 / 64
    assert capacity_theory(128, 0.5) == 33 and capacity_theory(128, 0.5, "gaussian") == 31
    assert math.isclose(bit_error_theory(55, 400), stats.norm.cdf(-math.sqrt(400 / 54)), rel_tol=1e-12)
    assert guarantee_capacity(0.1, 0.5) == 6
    assert welch_bound(10, 16) == 0.0 and math.isclose(welch_bound(65, 64), 1 / 64, rel_tol=1e-12)
    gm, d, T, s = 0.9, 64, 50, 5
    noise = sum(gm ** (2 * (T - 1 - i)) for i in range(T) if i != T - 1 - s) / d
    assert math.isclose(decay_snr_theory(gm, d, T, s), gm ** (2 * s) / noise, rel_tol=1e-12)


def test_random_keys_and_ratio_of_means():
    g = torch.Generator().manual_seed(0)
    K = random_keys(50, 16, batch=(3,), generator=g)
    assert K.shape == (3, 50, 16)
    torch.testing.assert_close(K.norm(dim=-1), torch.ones(3, 50, dtype=F64), atol=1e-14, rtol=0)
    a, b = torch.tensor([1.0, 2.0, 4.0, 3.0], dtype=F64), torch.tensor([2.0, 2.0, 3.0, 5.0], dtype=F64)
    r, se = ratio_of_means(a, b)
    R = 10 / 12
    expected_se = np.std(a.numpy() - R * b.numpy(), ddof=1) / (2 * 3.0)  # sqrt(n) * mean(b) = 2 * 3
    assert math.isclose(r, R, rel_tol=1e-14) and math.isclose(se, expected_se, rel_tol=1e-12)


def test_largest_true_bisection():
    assert largest_true(lambda n: n <= 37, 1, 100) == 37
    assert largest_true(lambda n: n <= 500, 1, 100) == 100
    assert largest_true(lambda n: n <= 1, 1, 100) == 1
    with pytest.raises(ValueError, match="lo"):
        largest_true(lambda n: n > 5, 1, 100)


def test_relmse_monte_carlo_small_and_nested_prefixes():
    r, se = relmse_monte_carlo(17, 32, trials=400, seed=1)
    assert abs(r - 16 / 32) <= 4 * se  # 4 SE band (400 trials, seed 1)
    rc, _ = relmse_curve(32, [17], trials=400, seed=1)
    assert rc[0] == r  # one pool, same prefix: identical numbers


def test_coherence_welch_and_simplex():
    K = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=F64)
    assert math.isclose(float(coherence(K)), 0.8, rel_tol=1e-15)
    S = simplex_frame(7)
    G = S @ S.T
    # -1/d off the diagonal (roundoff of the QR construction)
    torch.testing.assert_close(G, (1 + 1 / 7) * torch.eye(8, dtype=F64) - 1 / 7, atol=1e-14, rtol=0)
    g = torch.Generator().manual_seed(3)
    for _ in range(5):
        K = random_keys(40, 12, generator=g)
        V = torch.randn(40, 4, generator=g, dtype=F64)
        err, bound = coherence_error_bound(K, V)
        assert float(err) <= float(bound)
        assert float(coherence(K)) >= welch_bound(40, 12)


def test_worst_vs_average_small():
    guar, emp = worst_vs_average(64, 0.5, draws=3, seed=0)
    assert guar.shape == emp.shape == (3,)
    assert np.all(guar >= 2) and np.all(emp >= guar)  # the guarantee is a valid (deterministic) lower bound


def test_depth_models_theory_and_capacity_inverses():
    assert math.isclose(model_c_theory(17, 64, 1, 2), 16 / 128, rel_tol=1e-15)
    assert model_c_theory(17, 64, 8) > 8 * 16 / 64  # compounding exceeds its linearisation
    assert model_p_theory(17, 64, 4, 2) == 4 * 16 / 128 and model_p_theory(17, 64, 4, 2, aligned=True) == 16 * 16 / 128
    eps = 0.3
    n = model_c_capacity(64, 6, 2, eps)
    assert math.isclose((1 + (n - 1) / (2 * 64)) ** 6 - 1, eps**2, rel_tol=1e-12)
    n = model_p_capacity(64, 6, 2, eps)
    assert math.isclose(6 * (n - 1) / (2 * 64), eps**2, rel_tol=1e-12)


def test_head_average_error_with_one_head_is_the_crosstalk():
    g = torch.Generator().manual_seed(4)
    K = random_keys(10, 8, batch=(1,), generator=g)  # [H=1, N, d_k]
    V = torch.randn(10, 3, generator=g, dtype=F64)
    _, cross = signal_crosstalk(K[0], V)
    torch.testing.assert_close(head_average_error(K, V), cross, atol=1e-14, rtol=0)  # unit keys: signal = v_j


def test_residual_and_compounding_shapes_and_alignment():
    r, se = residual_accumulation(8, 16, 5, 2, trials=20, seed=0)
    ra, _ = residual_accumulation(8, 16, 5, 2, trials=20, seed=0, aligned=True)
    assert r.shape == se.shape == (5,)
    np.testing.assert_allclose(ra, np.arange(1, 6) ** 2 * r[0], rtol=1e-12)  # same first layer, repeated
    m, s = compounding_multihop(8, 16, 3, trials=20, seed=0)
    mc, _ = compounding_multihop(8, 16, 3, 2, trials=20, seed=0, space="coefficient")
    assert m.shape == s.shape == mc.shape == (3,) and np.all(m > 0) and np.all(mc > 0)


def test_majority_vote():
    assert math.isclose(majority_failure(0.7, 1), 0.3, rel_tol=1e-15)
    assert math.isclose(majority_failure(0.7, 3), 0.3**3 + 3 * 0.7 * 0.3**2, rel_tol=1e-14)
    for p in (0.55, 0.8):
        for h in (1, 5, 21):
            assert majority_failure(p, h) <= hoeffding_majority_bound(p, h)
    h = heads_for_reliability(0.6, 10, 0.05)
    assert h == math.ceil(math.log(10 / 0.05) / (2 * 0.1**2))
    assert 10 * hoeffding_majority_bound(0.6, h) <= 0.05


def test_non_positive_dk_raises():
    for bad in (0, -4):
        with pytest.raises(ValueError, match="d_k"):
            relmse_theory(10, bad)
        with pytest.raises(ValueError, match="d_k"):
            capacity_theory(bad, 0.5)
        with pytest.raises(ValueError, match="d_k"):
            welch_bound(10, bad)
        with pytest.raises(ValueError, match="d_k"):
            random_keys(10, bad)
        with pytest.raises(ValueError, match="d_k"):
            relmse_monte_carlo(10, bad, trials=10, seed=0)
        with pytest.raises(ValueError, match="d_k"):
            model_c_theory(10, bad, 2)
        with pytest.raises(ValueError, match="d_k"):
            decay_snr_theory(0.9, bad, 50, 3)
        with pytest.raises(ValueError, match="d_k"):
            worst_vs_average(bad, 0.5, draws=1, seed=0)


def test_other_bad_inputs_raise():
    with pytest.raises(ValueError, match="kind"):
        relmse_theory(10, 16, "binary")
    with pytest.raises(ValueError, match="heads"):
        compounding_multihop(8, 16, 2, 3, trials=4, seed=0, space="vector")
    with pytest.raises(ValueError, match="space"):
        compounding_multihop(8, 16, 2, trials=4, seed=0, space="matrix")
    with pytest.raises(ValueError, match="p"):
        hoeffding_majority_bound(0.5, 3)
    with pytest.raises(ValueError, match="mu"):
        guarantee_capacity(0.0, 0.5)
    with pytest.raises(ValueError, match="keys"):
        coherence(torch.ones(1, 4, dtype=F64))
    with pytest.raises(ValueError, match="num and den"):
        ratio_of_means(torch.ones(3), torch.ones(4))
