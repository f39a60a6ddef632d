"""New public functions of attnmath.memory: exact bit error, interpolated capacity, mean squared overlap,
and the extremal instances of the coherence guarantee and of the softmax (Hopfield) bound."""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.memory import (
    bit_error_exact,
    bit_error_monte_carlo,
    capacity_interpolated,
    coherence,
    coherence_error_bound,
    coherence_tight_instance,
    hopfield_error_bound,
    hopfield_tight_instance,
    mean_square_overlap,
    random_keys,
    separation,
    softmax_recall,
)


def test_bit_error_exact_small_case_by_enumeration():
    # N=2, d=2: S is a sum of m=2 signs; error = P(S < -2) + P(S = -2)/2 = 0 + (1/4)/2
    assert bit_error_exact(2, 2) == pytest.approx(0.125, abs=1e-15)
    # N=3, d=1: m=2, threshold -1 odd, no tie: P(S < -1) = P(S = -2) = 1/4
    assert bit_error_exact(3, 1) == pytest.approx(0.25, abs=1e-15)
    p, se = bit_error_monte_carlo(12, 100, trials=400, seed=3)
    assert abs(p - bit_error_exact(12, 100)) <= 4 * se
    with pytest.raises(ValueError, match="n"):
        bit_error_exact(1, 10)


def test_capacity_interpolated_near_law_and_validates():
    n_hat, se = capacity_interpolated(32, 0.5, trials=200, seed=1)
    assert 0 < se < 0.5
    assert abs(n_hat - 9) <= 4 * se
    with pytest.raises(ValueError, match="eps"):
        capacity_interpolated(32, -0.5, trials=200, seed=1)


def test_mean_square_overlap_values():
    frame = torch.cat([torch.eye(4, dtype=torch.float64), torch.full((1, 4), 0.5, dtype=torch.float64)])
    # overlaps of e_i with (1,1,1,1)/2 are 1/2: 8 ordered pairs of 1/4 over 5*4 pairs
    assert float(mean_square_overlap(frame)) == pytest.approx(8 * 0.25 / 20, abs=1e-15)
    K = random_keys(64, 16, batch=(200,), generator=torch.Generator().manual_seed(0))
    m = mean_square_overlap(K)
    assert abs(float(m.mean()) - 1 / 16) <= 4 * float(m.std()) / math.sqrt(200)
    with pytest.raises(ValueError, match="keys"):
        mean_square_overlap(torch.ones(1, 3, dtype=torch.float64))


def test_coherence_tight_instance_attains_the_bound():
    K, V = coherence_tight_instance(10, 12, 0.2, d_v=5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(K.norm(dim=-1), torch.ones(10, dtype=torch.float64), atol=1e-14)
    assert float(coherence(K)) == pytest.approx(0.2, abs=1e-14)
    err, bound = coherence_error_bound(K, V)
    assert float(err) == pytest.approx(9 * 0.2, rel=1e-12) and float(bound) == pytest.approx(9 * 0.2, rel=1e-12)
    with pytest.raises(ValueError, match="d_k"):
        coherence_tight_instance(10, 8, 0.2)
    with pytest.raises(ValueError, match="mu"):
        coherence_tight_instance(4, 8, 1.0)


def test_hopfield_tight_instance_closed_form():
    n, beta, delta = 16, 12.0, 0.4
    K, V = hopfield_tight_instance(n, 16, delta, d_v=4, generator=torch.Generator().manual_seed(1))
    assert float(separation(K)[0]) == pytest.approx(delta, abs=1e-14)
    err = float((softmax_recall(K, V, K[:1], beta)[0] - V[0]).norm())
    x = (n - 1) * math.exp(-beta * delta)
    assert err == pytest.approx(2 * x / (1 + x), rel=1e-10)
    assert float(hopfield_error_bound(K, V, beta)[0]) == pytest.approx(2 * x, rel=1e-12)
    with pytest.raises(ValueError, match="delta"):
        hopfield_tight_instance(4, 8, 0.0)
