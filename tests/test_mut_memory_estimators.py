"""attnmath.memory.capacity / depth: Monte-Carlo estimators replayed exactly, bisection, validation order.

Complements tests/test_mut_memory_capacity.py and tests/test_mut_memory_depth.py (issue 9, mutation
survivors). Every Monte-Carlo estimator is documented to be deterministic given (trials, seed) and to draw
from a stated random model; here each one is recomputed from the same seeded draws of the public samplers
(``random_keys`` / ``random_values`` or ``torch.randint``) by an independent formula (integer arithmetic,
``decayed_memory``, explicit hop loops), so a change of the draws, of the model or of the formula fails.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from attnmath.memory import capacity as C
from attnmath.memory import depth as D
from attnmath.memory.hebbian import decayed_memory
from tests._helpers import gen, msg

F64 = torch.float64


# ----------------------------------------------------------------------------- bisection
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


# ----------------------------------------------------------------------------- validation order
def test_dimensions_are_checked_before_the_pool_is_sized_or_drawn():
    # d_k < 0 would size a pool of int(2 (1 + eps^2 d_k)) + 8 = 0 pairs: the error must name d_k
    assert msg(ValueError, C.capacity_bisection, -5, 1.0, trials=2, seed=0) == "d_k must be >= 1, got -5"
    assert msg(ValueError, C.worst_vs_average, -10, 1.0, draws=1, seed=0) == "d_k must be >= 1, got -10"
    # several bad arguments: the first in signature order is named
    assert msg(ValueError, C.capacity_bisection, 0, 0.0, trials=1, seed=0) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_monte_carlo, 0, 0, trials=1, seed=-1) == "n must be >= 1, got 0"
    assert msg(ValueError, C.relmse_monte_carlo, 2, 0, trials=1, seed=-1) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_curve, 0, [2], trials=1, seed=-1) == "d_k must be >= 1, got 0"
    assert msg(ValueError, C.relmse_curve, 4, [], trials=2, seed=0) == (
        "ns must hold at least one N, got an empty sequence"
    )


# ----------------------------------------------------------------------------- exact replays
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


def test_model_p_capacity_aligned_divides_by_l_squared():
    # L = 3 aligned: 1 + eps^2 H d_k / L^2 = 1 + 0.25 * 32 / 9 (L^2 = 9, not 2 L = 6)
    assert math.isclose(D.model_p_capacity(16, 3, 2, 0.5, aligned=True), 1 + 8 / 9, rel_tol=1e-15)
    assert math.isclose(D.model_p_capacity(16, 3, 2, 0.5), 1 + 8 / 3, rel_tol=1e-15)


# ----------------------------------------------------------------------------- worst case, pool doubling
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
