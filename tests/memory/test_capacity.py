"""attnmath.memory.capacity: random models, Monte-Carlo estimators, bisection, worst case, read-out, decay.

Monte-Carlo estimators are compared with their exact expectations (exact for unit keys) within 4 SE
at small sizes, and replayed exactly from the same seeded draws of the public samplers by an
independent formula (integer arithmetic, ``decayed_memory``); SEs with the sd / sqrt(n) they are
documented to be; the worst-case capacities with a brute-force recomputation of the documented
procedure on the documented pool; closed forms with hand values; every validated argument at its
boundary with the message naming it, the first bad argument in signature order.
"""

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
    decay_snr_theory,
    guarantee_capacity,
    largest_true,
    random_keys,
    ratio_of_means,
    relmse_curve,
    relmse_monte_carlo,
    relmse_theory,
    simplex_frame,
    welch_bound,
    worst_vs_average,
)
from attnmath.memory import capacity as C
from attnmath.memory.hebbian import decayed_memory
from tests._helpers import gen, msg

F64 = torch.float64


def within(est, target, se, nsigma=4.0):
    return abs(est - target) <= nsigma * se


# ----------------------------------------------------------------------------- closed forms
def test_theory_formulas():
    assert relmse_theory(33, 64) == 32 / 64 and relmse_theory(33, 64, "gaussian") == 34 / 64
    assert capacity_theory(128, 0.5) == 33 and capacity_theory(128, 0.5, "gaussian") == 31
    assert math.isclose(bit_error_theory(55, 400), stats.norm.cdf(-math.sqrt(400 / 54)), rel_tol=1e-12)
    assert guarantee_capacity(0.1, 0.5) == 6
    assert welch_bound(10, 16) == 0.0 and math.isclose(welch_bound(65, 64), 1 / 64, rel_tol=1e-12)
    gm, d, T, s = 0.9, 64, 50, 5
    noise = sum(gm ** (2 * (T - 1 - i)) for i in range(T) if i != T - 1 - s) / d
    assert math.isclose(decay_snr_theory(gm, d, T, s), gm ** (2 * s) / noise, rel_tol=1e-12)


def test_relmse_and_capacity_theory_by_hand():
    assert C.relmse_theory(9, 16) == 0.5 and C.relmse_theory(9, 16, "gaussian") == 0.625
    assert C.relmse_theory(1, 1) == 0.0
    assert C.capacity_theory(16, 0.5) == 5.0 and C.capacity_theory(16, 0.5, "gaussian") == 3.0
    assert C.capacity_theory(1, 1.0) == 2.0
    assert msg(ValueError, C.relmse_theory, 0, 16) == "n must be >= 1, got 0"
    assert msg(ValueError, C.relmse_theory, 9, 0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_theory, 9, 16, "x") == "kind must be one of ('unit', 'gaussian'), got 'x'"
    assert msg(ValueError, C.capacity_theory, 0, 0.5) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.capacity_theory, 16, 0.0) == "eps must be > 0, got 0.0"
    assert msg(ValueError, C.capacity_theory, 16, 0.5, "x") == "kind must be one of ('unit', 'gaussian'), got 'x'"


# ----------------------------------------------------------------------------- random models
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


def test_random_keys_and_values_follow_their_models():
    K = C.random_keys(3, 5, batch=(2, 4), generator=gen(1))
    assert K.shape == (2, 4, 3, 5) and K.dtype == F64
    assert torch.allclose(K.norm(dim=-1), torch.ones(2, 4, 3, dtype=F64), atol=1e-15, rtol=0)  # unit by default
    G = C.random_keys(4000, 8, kind="gaussian", generator=gen(2))  # N(0, I/d_k): E|k|^2 = 1, Var = 2/d_k
    sq = (G**2).sum(-1)
    assert not torch.allclose(sq, torch.ones_like(sq))
    assert within(float(sq.mean()), 1.0, math.sqrt(2 / 8 / 4000))
    Vv = C.random_values(4000, 8, generator=gen(3))  # gaussian by default
    assert within(float((Vv**2).sum(-1).mean()), 1.0, math.sqrt(2 / 8 / 4000))
    assert not torch.allclose((Vv**2).sum(-1), torch.ones(4000, dtype=F64))
    U = C.random_values(5, 3, kind="unit", batch=(2,), generator=gen(4))
    assert U.shape == (2, 5, 3) and torch.allclose(U.norm(dim=-1), torch.ones(2, 5, dtype=F64), atol=1e-15, rtol=0)
    assert torch.equal(C.random_keys(2, 3, generator=gen(5)), C.random_keys(2, 3, generator=gen(5)))
    assert C.random_keys(1, 1, generator=gen(0)).abs().item() == 1.0  # the smallest sizes
    assert C.random_values(1, 1, generator=gen(0)).shape == (1, 1)


def test_random_model_input_errors():
    assert msg(ValueError, C.random_keys, 0, 3) == "n must be >= 1, got 0"
    assert msg(ValueError, C.random_keys, 2, 0) == "d_k must be >= 1, got 0"
    assert (
        msg(ValueError, C.random_keys, 2, 3, kind="binary") == "kind must be one of ('unit', 'gaussian'), got 'binary'"
    )
    assert msg(ValueError, C.random_values, 2, 0) == "d_v must be >= 1, got 0"
    assert msg(ValueError, C.random_values, 0, 2) == "n must be >= 1, got 0"


def test_ratio_of_means_by_hand():
    r, se = C.ratio_of_means(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 1.0, 1.0]))
    assert r == 2.0 and math.isclose(se, 1 / math.sqrt(3), rel_tol=1e-15)  # sd(a - 2b) = sd(-1, 0, 1) = 1
    r, se = C.ratio_of_means(torch.tensor([[2.0], [4.0]]), torch.tensor([2.0, 2.0]))  # two samples suffice
    assert r == 1.5 and math.isclose(se, math.sqrt(2) / (math.sqrt(2) * 2), rel_tol=1e-15)
    assert msg(ValueError, C.ratio_of_means, torch.ones(1), torch.ones(1)) == (
        "num and den must be paired samples of equal length >= 2, got [1], [1]"
    )


# ----------------------------------------------------------------------------- average case
def test_relmse_monte_carlo_small_and_nested_prefixes():
    r, se = relmse_monte_carlo(17, 32, trials=400, seed=1)
    assert abs(r - 16 / 32) <= 4 * se  # 4 SE band (400 trials, seed 1)
    rc, _ = relmse_curve(32, [17], trials=400, seed=1)
    assert rc[0] == r  # one pool, same prefix: identical numbers


@pytest.mark.parametrize("kind", ["unit", "gaussian"])
def test_relmse_monte_carlo_matches_the_law(kind):
    r, se = C.relmse_monte_carlo(9, 16, trials=300, seed=1, kind=kind)
    assert se > 0 and within(r, C.relmse_theory(9, 16, kind), se), (r, se)
    assert C.relmse_monte_carlo(9, 16, trials=20, seed=2, kind=kind) == C.relmse_monte_carlo(
        9, 16, trials=20, seed=2, kind=kind, d_v=16
    )  # default d_v = 16
    assert C.relmse_monte_carlo(9, 16, trials=20, seed=2, kind=kind, d_v=4) != C.relmse_monte_carlo(
        9, 16, trials=20, seed=2, kind=kind
    )


def test_relmse_single_item_and_curve():
    r, _ = C.relmse_monte_carlo(1, 4, trials=2, seed=0)
    assert r < 1e-28  # one unit key is recalled exactly: M k = v |k|^2 = v
    rs, ses = C.relmse_curve(8, [2, 5], trials=10, seed=3)
    assert rs.shape == ses.shape == (2,) and np.all(ses > 0)
    assert (rs[1], ses[1]) == C.relmse_monte_carlo(5, 8, trials=10, seed=3)  # one pool of max(ns) pairs
    assert C.relmse_curve(8, [1], trials=2, seed=0)[0][0] < 1e-28


def test_relmse_curve_progress_bar(capsys):
    C.relmse_curve(8, [2, 3], trials=4, seed=0)
    assert capsys.readouterr().err == ""  # quiet by default
    C.relmse_curve(8, [2, 3], trials=4, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "relMSE d_k=8" in err
    assert err.rstrip("\r").split("\r")[-1].strip() == ""  # leave=False: the bar is cleared when done


def test_average_case_input_errors():
    assert msg(ValueError, C.relmse_monte_carlo, 0, 4, trials=2, seed=0) == "n must be >= 1, got 0"
    assert msg(ValueError, C.relmse_monte_carlo, 2, 0, trials=2, seed=0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_monte_carlo, 2, 4, trials=1, seed=0) == "trials must be >= 2, got 1"
    assert msg(ValueError, C.relmse_monte_carlo, 2, 4, trials=2, seed=-1) == "seed must be >= 0, got -1"
    assert msg(ValueError, C.relmse_curve, 0, [2], trials=2, seed=0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_curve, 4, [2, 0], trials=2, seed=0) == "ns[1] must be >= 1, got 0"


# ----------------------------------------------------------------------------- bisection
def test_largest_true_bisection():
    assert largest_true(lambda n: n <= 37, 1, 100) == 37
    assert largest_true(lambda n: n <= 500, 1, 100) == 100
    assert largest_true(lambda n: n <= 1, 1, 100) == 1
    with pytest.raises(ValueError, match="lo"):
        largest_true(lambda n: n > 5, 1, 100)


def test_largest_true_finds_every_threshold():
    for lo, hi in ((1, 1), (1, 2), (1, 10), (3, 17)):
        for t in range(lo, hi + 1):
            calls = []
            got = C.largest_true(lambda n, t=t, calls=calls: calls.append(n) or n <= t, lo, hi)
            assert got == t, (lo, hi, t)
            assert len(calls) <= 2 + math.ceil(math.log2(hi - lo + 1))  # a bisection, not a scan
    assert msg(ValueError, C.largest_true, lambda n: n < 3, 3, 9) == (
        "lo=3 must satisfy the predicate (bisection needs a valid lower bracket)"
    )
    assert msg(ValueError, C.largest_true, lambda n: True, 5, 3) == "hi must be >= 5, got 3"
    assert msg(TypeError, C.largest_true, lambda n: True, 1.0, 3) == "lo must be an int, got float"
    assert msg(TypeError, C.largest_true, lambda n: True, 1, 3.0) == "hi must be an int, got float"


def test_largest_true_makes_exactly_the_documented_probes():
    """1 + ceil(log2(hi - lo + 1)) calls, all inside [lo, hi]. The predicate itself fails once that budget
    is spent, so a loop that does not shrink the bracket fails at once instead of spinning."""
    for lo, hi in ((1, 1), (1, 2), (2, 3), (1, 5), (1, 10), (3, 17), (5, 6), (0, 64)):
        budget = 1 + math.ceil(math.log2(hi - lo + 1))  # pred(lo), then one probe per halving

        for t in range(lo, hi + 1):
            calls = []

            def pred(n, t=t, calls=calls, lo=lo, hi=hi, budget=budget):
                calls.append(n)
                assert lo <= n <= hi, f"probe {n} outside [{lo}, {hi}]"
                assert len(calls) <= budget, f"{len(calls)} probes for [{lo}, {hi}]: {calls}"
                return n <= t

            assert C.largest_true(pred, lo, hi) == t
            assert len(calls) == budget, (lo, hi, t, calls)


def _bisection_on_the_documented_pool(d_k, eps, trials, seed, kind="unit"):
    """The docstring: the largest N (bisection) with relMSE <= eps^2 on nested prefixes of one pool of
    2 (1 + eps^2 d_k) + 8 pairs; relmse_curve draws the same pool when its largest N is the pool size."""
    n_max = int(2 * (1 + eps**2 * d_k)) + 8
    curve, _ = C.relmse_curve(d_k, list(range(1, n_max + 1)), trials=trials, seed=seed, kind=kind)
    return C.largest_true(lambda n: curve[n - 1] <= eps**2, 1, n_max), curve


def test_capacity_bisection_is_the_last_n_below_eps_squared_on_its_pool():
    d_k, eps, trials, seed = 16, 0.5, 40, 2
    n_max = int(2 * (1 + eps**2 * d_k)) + 8  # the documented pool size
    curve, _ = C.relmse_curve(d_k, list(range(1, n_max + 1)), trials=trials, seed=seed)
    got = C.capacity_bisection(d_k, eps, trials=trials, seed=seed)
    assert curve[got - 1] <= eps**2 < curve[got]
    assert abs(got - C.capacity_theory(d_k, eps)) <= 3  # 40 trials: the law holds to a few items
    assert C.capacity_bisection(d_k, eps, trials=trials, seed=seed, d_v=16) == got  # default d_v
    assert msg(ValueError, C.capacity_bisection, 0, 0.5, trials=2, seed=0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.capacity_bisection, 4, 0.0, trials=2, seed=0) == "eps must be > 0, got 0.0"
    assert msg(ValueError, C.capacity_bisection, 4, 0.5, trials=1, seed=0) == "trials must be >= 2, got 1"


def test_capacity_bisection_gaussian_keys():
    d_k, eps, trials, seed = 16, 0.75, 40, 1
    n_max = int(2 * (1 + eps**2 * d_k)) + 8
    curve, _ = C.relmse_curve(d_k, list(range(1, n_max + 1)), trials=trials, seed=seed, kind="gaussian")
    got = C.capacity_bisection(d_k, eps, trials=trials, seed=seed, kind="gaussian")
    assert curve[got - 1] <= eps**2 < curve[got]


def test_capacity_bisection_replays_on_its_documented_pool():
    for d_k, eps, seed in ((8, 0.5, 0), (8, 0.5, 1), (8, 0.7, 2), (12, 0.5, 3)):
        ref, _ = _bisection_on_the_documented_pool(d_k, eps, 4, seed)  # 4 trials: noisy curves, pools differ
        assert C.capacity_bisection(d_k, eps, trials=4, seed=seed) == ref, (d_k, eps, seed)
    # eps = 1 at d_k = 16: the law says 1 + 16 = 17 items, far inside the pool of 42
    got = C.capacity_bisection(16, 1.0, trials=20, seed=0)
    assert got == _bisection_on_the_documented_pool(16, 1.0, 20, 0)[0] and 10 <= got <= 25
    # eps^2 = 0.01 < relMSE(2) ~ 1/16: only one item fits, N = 1 (stored exactly)
    assert C.capacity_bisection(16, 0.1, trials=20, seed=0) == 1


def test_capacity_bisection_without_a_bracket_says_so():
    # d_k = 1, d_v = 1, two trials: relMSE(N) = 1 + (N - 2) S^2 / sum|v|^2 fluctuates wildly (S = sum of
    # signed values), so some seeds stay below eps^2 even at the end of the pool
    eps, d_k = 3.0, 1
    n_max = int(2 * (1 + eps**2 * d_k)) + 8
    raised = 0
    for seed in range(12):
        r_end = C.relmse_monte_carlo(n_max, d_k, trials=2, seed=seed, d_v=1)[0]  # the same pool
        if r_end <= eps**2:
            raised += 1
            assert msg(ValueError, C.capacity_bisection, d_k, eps, trials=2, seed=seed, d_v=1) == (
                f"no bracket: relMSE at N={n_max} is still <= eps^2={eps**2}"
            )
        else:
            assert 1 <= C.capacity_bisection(d_k, eps, trials=2, seed=seed, d_v=1) < n_max
    assert raised >= 1  # the branch was exercised


def test_capacity_bisection_names_eps_when_one_pair_already_misses():
    # Gaussian keys: relMSE(1) = E(|k|^2 - 1)^2 ~ 2/d_k = 0.5 at d_k = 4, far above eps^2 = 0.01; the pool of
    # int(2 (1 + 0.04)) + 8 = 10 pairs brackets (relMSE(10) ~ 9/4), so only the lower bracket can fail
    # relmse_curve draws the bisection's pool when its largest N is the pool size (10)
    r1 = C.relmse_curve(4, list(range(1, 11)), trials=8, seed=0, kind="gaussian")[0][0]
    assert r1 > 0.1**2
    assert msg(ValueError, C.capacity_bisection, 4, 0.1, trials=8, seed=0, kind="gaussian") == (
        f"eps=0.1 is too small for kind='gaussian', d_k=4: relMSE at N=1 is {r1:.3g} > eps^2=0.01"
    )
    # unit keys store one pair exactly (relMSE(1) = 0): the same eps is a valid question there
    assert C.capacity_bisection(4, 0.1, trials=8, seed=0, kind="unit") == 1


def test_dimensions_are_checked_before_the_pool_is_sized_or_drawn():
    # d_k < 0 would size a pool of int(2 (1 + eps^2 d_k)) + 8 = 0 pairs: the error must name d_k
    assert msg(ValueError, C.capacity_bisection, -5, 1.0, trials=2, seed=0) == "d_k must be >= 1, got -5"
    assert msg(ValueError, C.worst_vs_average, -10, 1.0, draws=1, seed=0) == "d_k must be >= 1, got -10"
    # several bad arguments: the first in signature order is named
    assert msg(ValueError, C.capacity_bisection, 0, 0.0, trials=1, seed=0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_monte_carlo, 0, 0, trials=1, seed=-1) == "n must be >= 1, got 0"
    assert msg(ValueError, C.relmse_monte_carlo, 2, 0, trials=1, seed=-1) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_curve, 0, [2], trials=1, seed=-1) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_curve, 4, [], trials=2, seed=0) == ("ns must be non-empty, got []")


# ----------------------------------------------------------------------------- moments
def test_crosstalk_moment_unit_and_gaussian():
    d, pairs = 8, 3000
    c, c_se, m, m_se = C.crosstalk_moment(d, pairs, seed=1)
    # unit keys: E(k.k')^2 = 1/d, Var = E(k.k')^4 - 1/d^2 = 3/(d(d+2)) - 1/d^2; |k|^2 = 1 exactly
    sd = math.sqrt(3 / (d * (d + 2)) - 1 / d**2)
    assert within(c, 1 / d, c_se) and 0.9 < c_se / (sd / math.sqrt(pairs)) < 1.1
    assert m < 1e-28 and m_se < 1e-28
    c, c_se, m, m_se = C.crosstalk_moment(d, pairs, seed=2, kind="gaussian")
    # Gaussian N(0, I/d): E(k.k')^2 = 1/d; E(|k|^2 - 1)^2 = 2/d, Var = E(|k|^2-1)^4 - 4/d^2 = (12/d^2 + 48/d^3) - 4/d^2
    assert within(c, 1 / d, c_se) and within(m, 2 / d, m_se)
    sd_m = math.sqrt(8 / d**2 + 48 / d**3)
    assert 0.85 < m_se / (sd_m / math.sqrt(pairs)) < 1.15
    assert C.crosstalk_moment(d, 2, seed=0)[0] >= 0  # two pairs suffice
    assert msg(ValueError, C.crosstalk_moment, d, 1, seed=0) == "pairs must be >= 2, got 1"
    assert msg(ValueError, C.crosstalk_moment, d, 10, seed=-1) == "seed must be >= 0, got -1"
    assert msg(ValueError, C.crosstalk_moment, 0, 10, seed=0) == "d must be >= 1, got 0"


def test_crosstalk_moment_replays_its_draws():
    for kind, seed in (("unit", 3), ("gaussian", 4)):
        got = C.crosstalk_moment(5, 40, seed=seed, kind=kind)
        assert got == C.crosstalk_moment(5, 40, seed=seed, kind=kind)  # deterministic given the seed
        K = C.random_keys(2, 5, kind=kind, batch=(40,), generator=gen(seed))  # one [2, d] pair per row
        c2 = torch.einsum("pd,pd->p", K[:, 0], K[:, 1]) ** 2
        n2 = (torch.einsum("pd,pd->p", K[:, 0], K[:, 0]) - 1) ** 2
        ref = (c2.mean(), c2.std() / math.sqrt(40), n2.mean(), n2.std() / math.sqrt(40))
        # float64, sums of 5 products over 40 pairs: a few ulps of reordering
        assert np.allclose(got, [float(x) for x in ref], rtol=1e-12, atol=1e-15), (kind, got, ref)


# ----------------------------------------------------------------------------- worst case
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


def test_coherence_and_error_bound_by_hand_and_batched():
    keys = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, -1.0]], dtype=F64)
    assert C.coherence(keys).item() == pytest.approx(0.8, abs=1e-15)  # |k_2 . k_3| = 0.8
    values = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]], dtype=F64)
    err, bound = C.coherence_error_bound(keys, values)
    Mk = (values.T @ keys @ keys.T).T
    assert err.item() == pytest.approx(float((Mk - values).norm(dim=-1).max()), abs=1e-15)
    assert bound.item() == pytest.approx(2 * 0.8 * 2.0, abs=1e-15)  # (N-1) mu max|v|
    K = C.random_keys(5, 4, batch=(2, 3), generator=gen(7))
    Vv = C.random_values(5, 6, batch=(2, 3), generator=gen(8))
    Vv[1, 2] *= 10
    mu = C.coherence(K)
    err, bound = C.coherence_error_bound(K, Vv)
    assert mu.shape == err.shape == bound.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            G = (K[i, j] @ K[i, j].T).abs() - torch.eye(5, dtype=F64)
            assert torch.allclose(mu[i, j], G.max(), atol=1e-15, rtol=0)
            e = ((Vv[i, j].T @ K[i, j] @ K[i, j].T).T - Vv[i, j]).norm(dim=-1).max()
            assert torch.allclose(err[i, j], e, atol=1e-13, rtol=0)
            b = 4 * G.max() * Vv[i, j].norm(dim=-1).max()
            assert torch.allclose(bound[i, j], b, atol=1e-13, rtol=0)
    assert bool((err <= bound).all())
    assert C.coherence(keys[:2]).item() == pytest.approx(0.6, abs=1e-15)  # two vectors suffice
    assert (
        msg(ValueError, C.coherence, keys[:1]) == "keys must hold at least 2 vectors for a coherence, got shape [1, 2]"
    )
    assert msg(ValueError, C.coherence, keys[0]) == "keys must have 2 or 3 or 4 or 5 dimensions, got shape [2]"
    assert msg(ValueError, C.coherence, torch.ones(1, 1, 1, 1, 2, 2, dtype=F64)).startswith(
        "keys must have 2 or 3 or 4"
    )


def test_guarantee_welch_and_simplex():
    assert C.guarantee_capacity(0.25, 0.5) == 3 and C.guarantee_capacity(0.3, 0.5) == 2
    assert msg(ValueError, C.guarantee_capacity, 0.0, 0.5) == "mu must be > 0, got 0.0"
    assert msg(ValueError, C.guarantee_capacity, 0.25, 0.0) == "eps must be > 0, got 0.0"
    assert C.welch_bound(2, 3) == 0.0 and C.welch_bound(3, 3) == 0.0  # N <= d_k: orthogonal sets exist
    assert math.isclose(C.welch_bound(4, 2), math.sqrt(2 / 6), rel_tol=1e-15)
    assert math.isclose(C.welch_bound(2, 1), 1.0, rel_tol=1e-15)
    assert msg(ValueError, C.welch_bound, 1, 3) == "n must be >= 2, got 1"
    assert msg(ValueError, C.welch_bound, 4, 0) == "d_k must be >= 1, got 0"
    S = C.simplex_frame(3)
    assert S.shape == (4, 3)
    assert torch.allclose(S @ S.T, (4 * torch.eye(4, dtype=F64) - 1) / 3, atol=1e-15, rtol=0)
    assert torch.allclose(C.coherence(S), torch.tensor(C.welch_bound(4, 3), dtype=F64), atol=1e-15, rtol=0)
    assert torch.allclose(C.simplex_frame(1).abs(), torch.ones(2, 1, dtype=F64), atol=1e-15, rtol=0)
    assert msg(ValueError, C.simplex_frame, 0) == "d_k must be >= 1, got 0"


def test_worst_vs_average_small():
    guar, emp = worst_vs_average(64, 0.5, draws=3, seed=0)
    assert guar.shape == emp.shape == (3,)
    assert np.all(guar >= 2) and np.all(emp >= guar)  # the guarantee is a valid (deterministic) lower bound


def _reference_worst_vs_average(d_k, eps, draws, seed):
    """The docstring's procedure on its documented pool, by brute force: (guarantee, predicate of the empirical bound).

    The pool doubling is not replayed: the start pool 2 eps^2 d_k + 8 exceeds the average-case capacity
    1 + eps^2 d_k, itself above the worst-case one, so the tests check that it was not needed.
    """
    g = gen(seed)
    out = []
    for _ in range(draws):
        pool = int(2 * eps**2 * d_k) + 8
        K = C.random_keys(pool, d_k, generator=g)
        Vv = C.random_values(pool, d_k, kind="unit", generator=g)

        def ok(n, K=K, Vv=Vv):
            M = Vv[:n].T @ K[:n]
            return bool(((K[:n] @ M.T - Vv[:n]) ** 2).sum(-1).max() <= eps**2)

        mus = [0.0] + [float(C.coherence(K[:n])) for n in range(2, pool + 1)]
        guar = max(n for n in range(1, pool + 1) if (n - 1) * mus[n - 1] <= eps)
        out.append((guar, ok, pool))
    return out


@pytest.mark.parametrize(("d_k", "eps", "seed"), [(6, 0.6, 4), (12, 0.8, 5)])
def test_worst_vs_average_follows_its_documented_procedure(d_k, eps, seed):
    draws = 3
    guar, emp = C.worst_vs_average(d_k, eps, draws=draws, seed=seed)
    assert guar.shape == emp.shape == (draws,)
    for (g_ref, ok, pool), g_got, e_got in zip(_reference_worst_vs_average(d_k, eps, draws, seed), guar, emp):
        assert g_got == g_ref
        assert e_got < pool and ok(int(e_got)) and not ok(int(e_got) + 1)  # bisection bracket on the pool
        assert e_got >= g_got  # the guarantee is a lower bound


def _reference_with_doubling(d_k, eps, draws, seed):
    """The docstring's procedure including the doubling: draw a pool; if the empirical capacity reaches it,
    draw a fresh pool of twice the size. Returns (guarantee, empirical, pools tried) per draw."""
    g = gen(seed)
    out = []
    for _ in range(draws):
        pool, pools = int(2 * eps**2 * d_k) + 8, []
        while True:
            pools.append(pool)
            K = C.random_keys(pool, d_k, generator=g)
            Vv = C.random_values(pool, d_k, kind="unit", generator=g)

            def ok(n, K=K, Vv=Vv):
                M = Vv[:n].T @ K[:n]
                return bool(((K[:n] @ M.T - Vv[:n]) ** 2).sum(-1).max() <= eps**2)

            n_emp = C.largest_true(ok, 1, pool)
            if n_emp < pool:
                break
            pool *= 2
        mus = [0.0] + [float(C.coherence(K[:n])) for n in range(2, pool + 1)]
        guar = max(n for n in range(1, pool + 1) if (n - 1) * mus[n - 1] <= eps)
        out.append((guar, n_emp, pools))
    return out


def test_worst_vs_average_doubles_its_pool(monkeypatch):
    # d_k = 1, eps = 2: the crosstalk is a +-1 walk, so a pool of 16 is sometimes all within eps
    d_k, eps, seed, draws = 1, 2.0, 0, 3
    ref = _reference_with_doubling(d_k, eps, draws, seed)
    assert any(len(pools) > 1 for _, _, pools in ref)  # the doubling is exercised
    sizes = []
    real_keys = C.random_keys

    def spy(n, d, **kwargs):  # the pool only grows, and keys and values follow their unit models
        assert not sizes or n >= min(sizes), f"pool shrank to {n} after {sizes}"
        sizes.append(n)
        x = real_keys(n, d, **kwargs)
        assert torch.allclose(x.norm(dim=-1), torch.ones(n, dtype=F64), atol=1e-14, rtol=0)
        return x

    monkeypatch.setattr(C, "random_keys", spy)
    guar, emp = C.worst_vs_average(d_k, eps, draws=draws, seed=seed)
    assert [int(x) for x in guar] == [r[0] for r in ref]
    assert [int(x) for x in emp] == [r[1] for r in ref]
    assert sizes == [p for _, _, pools in ref for p in pools for _ in (0, 1)]  # keys, then values, per pool


def test_worst_vs_average_input_errors_and_progress(capsys):
    assert msg(ValueError, C.worst_vs_average, 0, 0.5, draws=1, seed=0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.worst_vs_average, 4, 0.0, draws=1, seed=0) == "eps must be > 0, got 0.0"
    assert msg(ValueError, C.worst_vs_average, 4, 0.5, draws=0, seed=0) == "draws must be >= 1, got 0"
    assert msg(ValueError, C.worst_vs_average, 4, 0.5, draws=1, seed=-1) == "seed must be >= 0, got -1"
    capsys.readouterr()
    C.worst_vs_average(1, 0.5, draws=1, seed=0)
    assert capsys.readouterr().err == ""  # quiet by default
    C.worst_vs_average(1, 0.5, draws=2, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "draws d_k=1" in err and "2/2" in err


# ----------------------------------------------------------------------------- discrete read-out
def test_bit_error_theory_by_hand():
    assert math.isclose(C.bit_error_theory(2, 1), 0.5 * math.erfc(1 / math.sqrt(2)), rel_tol=1e-15)  # Phi(-1)
    assert math.isclose(C.bit_error_theory(5, 16), 0.5 * math.erfc(2 / math.sqrt(2)), rel_tol=1e-15)  # Phi(-2)
    assert msg(ValueError, C.bit_error_theory, 1, 4) == "n must be >= 2, got 1"
    assert msg(ValueError, C.bit_error_theory, 2, 0) == "d must be >= 1, got 0"


def test_bit_error_monte_carlo_counts_ties_as_half():
    # d = 1, N = 2: the field of item nu is eta^nu + c eta^mu with c = +-1; it is 0 (a tie) with
    # probability 1/2 and 2 eta^nu otherwise, so the expected error rate is exactly 1/2 x 1/2 = 1/4
    p, se = C.bit_error_monte_carlo(2, 1, trials=2000, seed=1)
    assert within(p, 0.25, se) and 0.005 < se < 0.01  # per-trial rate in {0, 1/4, 1/2}: sd ~ 0.18
    p, se = C.bit_error_monte_carlo(5, 16, trials=400, seed=2)
    # N = 5, d = 16: Phi(-2) = 0.0228 in the Gaussian-crosstalk approximation (the claim's band: 10% + 4 SE)
    assert abs(p - C.bit_error_theory(5, 16)) <= 0.1 * C.bit_error_theory(5, 16) + 4 * se
    assert C.bit_error_monte_carlo(2, 1, trials=2, seed=0)[0] >= 0  # two trials suffice
    assert msg(ValueError, C.bit_error_monte_carlo, 1, 4, trials=2, seed=0) == "n must be >= 2, got 1"
    assert msg(ValueError, C.bit_error_monte_carlo, 2, 0, trials=2, seed=0) == "d must be >= 1, got 0"
    assert msg(ValueError, C.bit_error_monte_carlo, 2, 4, trials=1, seed=0) == "trials must be >= 2, got 1"
    assert msg(ValueError, C.bit_error_monte_carlo, 2, 4, trials=2, seed=-1) == "seed must be >= 0, got -1"


def _bit_error_reference(n, d, trials, seed):
    """Integer arithmetic: field = sum_mu eta^mu (xi^mu . xi^nu) (d W xi^nu; 1/d > 0 changes no sign)."""
    g = gen(seed)
    xi = torch.randint(0, 2, (trials, n, d), generator=g) * 2 - 1
    eta = torch.randint(0, 2, (trials, n, d), generator=g) * 2 - 1
    field = (xi @ xi.transpose(-1, -2)) @ eta  # int64, exact
    wrong = (torch.sign(field) != eta).double() - 0.5 * (field == 0).double()
    rate = wrong.mean(dim=(1, 2))
    return float(rate.mean()), float(rate.std() / math.sqrt(trials))


def test_bit_error_monte_carlo_replays_its_draws_with_exact_ties():
    # d = 6: 1/sqrt(6) is inexact, ties (even d, odd N) must still be found exactly
    for n, d, seed in ((3, 6, 0), (2, 1, 1), (5, 16, 2), (4, 3, 3)):
        got = C.bit_error_monte_carlo(n, d, trials=50, seed=seed)
        ref = _bit_error_reference(n, d, 50, seed)
        # means of multiples of 1/(2 n d) over 50 trials: float64 summation order only
        assert math.isclose(got[0], ref[0], rel_tol=1e-12, abs_tol=1e-15), (n, d, got, ref)
        assert math.isclose(got[1], ref[1], rel_tol=1e-12, abs_tol=1e-15), (n, d, got, ref)


# ----------------------------------------------------------------------------- decay
def test_decay_snr_theory_by_hand():
    # gamma = 0.5, T = 3: weights gamma^(2a) = 1, 1/4, 1/16 for ages 0, 1, 2
    assert math.isclose(C.decay_snr_theory(0.5, 4, 3, 0), 1 / ((0.25 + 0.0625) / 4), rel_tol=1e-15)
    assert math.isclose(C.decay_snr_theory(0.5, 4, 3, 2), 0.0625 / ((1 + 0.25) / 4), rel_tol=1e-15)
    assert math.isclose(C.decay_snr_theory(1.0, 8, 2, 1), 8.0, rel_tol=1e-15)  # no decay: d_k / (T - 1)
    assert math.isclose(C.decay_snr_theory(0.5, 1, 2, 0), 4.0, rel_tol=1e-15)
    assert msg(ValueError, C.decay_snr_theory, 0.0, 4, 3, 0) == "gamma must be > 0.0, got 0.0"
    assert msg(ValueError, C.decay_snr_theory, -0.5, 4, 3, 0) == "gamma must be > 0.0, got -0.5"
    assert msg(ValueError, C.decay_snr_theory, 1.5, 4, 3, 0) == "gamma must be <= 1.0, got 1.5"
    assert msg(ValueError, C.decay_snr_theory, 0.5, 0, 3, 0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.decay_snr_theory, 0.5, 4, 1, 0) == "T must be >= 2, got 1"
    assert msg(ValueError, C.decay_snr_theory, 0.5, 4, 3, 3) == "age must be <= 2, got 3"
    assert msg(ValueError, C.decay_snr_theory, 0.5, 4, 3, -1) == "age must be >= 0, got -1"


def test_decay_snr_monte_carlo_matches_theory():
    gamma, d_k, T, ages = 0.8, 8, 6, (0, 2, 5)
    snr, se = C.decay_snr_monte_carlo(gamma, d_k, T, ages, trials=600, seed=3)
    assert snr.shape == se.shape == (3,) and np.all(se > 0)
    for s, r, e in zip(ages, snr, se):
        assert within(r, C.decay_snr_theory(gamma, d_k, T, s), e), (s, r, e)
    assert snr[0] > snr[1] > snr[2]  # older items are fainter
    one, _ = C.decay_snr_monte_carlo(gamma, d_k, T, [2], trials=20, seed=4)
    assert one[0] == C.decay_snr_monte_carlo(gamma, d_k, T, [0, 2], trials=20, seed=4, d_v=16)[0][1]  # default d_v
    assert C.decay_snr_monte_carlo(1.0, d_k, 2, [1], trials=2, seed=0)[0].shape == (1,)
    assert msg(ValueError, C.decay_snr_monte_carlo, 0.0, 4, 3, [0], trials=2, seed=0) == "gamma must be > 0.0, got 0.0"
    assert msg(ValueError, C.decay_snr_monte_carlo, 1.5, 4, 3, [0], trials=2, seed=0) == "gamma must be <= 1.0, got 1.5"
    assert msg(ValueError, C.decay_snr_monte_carlo, 0.5, 4, 1, [0], trials=2, seed=0) == "T must be >= 2, got 1"
    assert msg(ValueError, C.decay_snr_monte_carlo, 0.5, 4, 3, [3], trials=2, seed=0) == "ages[0] must be <= 2, got 3"
    assert msg(ValueError, C.decay_snr_monte_carlo, 0.5, 4, 3, [-1], trials=2, seed=0) == "ages[0] must be >= 0, got -1"
    assert msg(ValueError, C.decay_snr_monte_carlo, 0.5, 4, 3, [0], trials=1, seed=0) == "trials must be >= 2, got 1"
    assert msg(ValueError, C.decay_snr_monte_carlo, 0.5, 4, 3, [0], trials=2, seed=-1) == "seed must be >= 0, got -1"


def test_decay_snr_monte_carlo_replays_decayed_memory():
    gm, d_k, T, trials, seed, d_v = 0.8, 4, 5, 30, 7, 3
    snr, se = C.decay_snr_monte_carlo(gm, d_k, T, [0, 1, 4], trials=trials, seed=seed, d_v=d_v)
    g = gen(seed)
    K = C.random_keys(T, d_k, batch=(trials,), generator=g)
    Vv = C.random_values(T, d_v, batch=(trials,), generator=g)
    M = decayed_memory(K, Vv, gm)  # sum_i gm^(T-1-i) v_i k_i^T, computed in float64
    for idx, s in enumerate([0, 1, 4]):
        j = T - 1 - s
        recall = torch.einsum("tvk,tk->tv", M, K[:, j])
        signal = gm**s * Vv[:, j]
        r, e = C.ratio_of_means((signal**2).sum(-1), ((recall - signal) ** 2).sum(-1))
        # float64 throughout: sums of T terms, relative error a few ulps x T; float32 weights would be 1e-8 off
        assert math.isclose(snr[idx], r, rel_tol=1e-12) and math.isclose(se[idx], e, rel_tol=1e-10), (s, snr, r)


# ----------------------------------------------------------------------------- bad inputs
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
            decay_snr_theory(0.9, bad, 50, 3)
        with pytest.raises(ValueError, match="d_k"):
            worst_vs_average(bad, 0.5, draws=1, seed=0)


def test_other_bad_inputs_raise():
    with pytest.raises(ValueError, match="kind"):
        relmse_theory(10, 16, "binary")
    with pytest.raises(ValueError, match="mu"):
        guarantee_capacity(0.0, 0.5)
    with pytest.raises(ValueError, match="keys"):
        coherence(torch.ones(1, 4, dtype=F64))
    with pytest.raises(ValueError, match="num and den"):
        ratio_of_means(torch.ones(3), torch.ones(4))
