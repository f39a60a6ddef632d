"""Claims on depth, width and head redundancy: averaged heads, majority vote, compounding and residual errors.

Book: ``notebooks/30_pavlovian_memory``, section "Depth, width and head redundancy". The per-layer noise
and the majority bound are classical; the two composition models (compounding multi-hop retrieval,
residual accumulation) are our reconstruction of the abstract's depth/width/redundancy trade-off
(see the book's Sources appendix).
"""

from __future__ import annotations

import math
from unittest import mock

import sympy as sp

from attnmath.claims import at_most, band, claim, control, rel_band, symbolic

from .. import depth as D
from .sizes import SIZES


@claim(
    "memory.head-redundancy",
    title="Averaging H redundant heads divides the recall noise by H",
    statement=r"e_j=\tfrac1H\sum_h(M_hk^h_j-v_j):\quad \mathbb E\lVert e_j\rVert^2/s^2=\frac{N-1}{Hd_k}",
    source="per-layer noise of the residual model; see the book's Sources appendix",
    status_of_source="classical",
    kinds=("statistical",),
)
def _averaged_heads_divide_noise_by_h(tier: str):
    n, dk, trials, seed = 48, 64, SIZES[tier].head_trials, 0
    checks = []
    for H in (1, 2, 4, 8):
        r, _ = D.residual_accumulation(n, dk, 1, H, trials=trials, seed=seed)
        th = D.model_p_theory(n, dk, 1, H)
        checks.append(
            rel_band(
                f"H={H}: relMSE vs (N-1)/(H d_k) = {th:.4f}",
                r[0],
                th,
                rel=0.05,
                trials=trials,
                seed=seed,
                source="measured here: <= 1%",
            )
        )
    return checks


@control("memory.head-redundancy", "the H heads share one key set (redundant copies, not independent heads)")
def _heads_share_their_keys():
    def shared_keys(keys, values):
        return head_average_error(keys[..., :1, :, :].expand_as(keys), values)

    head_average_error = D._head_average_error
    with mock.patch.object(D, "_head_average_error", shared_keys):
        yield


@claim(
    "memory.majority-vote",
    title="Majority vote over H heads fails with probability <= exp(-2H(p-1/2)^2); heads grow like log(depth)",
    statement=r"P(\text{majority fails})\le e^{-2H(p-\frac12)^2};\quad H\ge\frac{\ln(L/\delta)}{2(p-\frac12)^2}\Rightarrow P(\text{any of }L\text{ layers fails})\le\delta",
    source="hoeffding1963probability",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _majority_vote_hoeffding_bound(tier: str):
    H, p, L, d = sp.symbols("H p L delta", positive=True)
    sol = sp.solve(sp.Eq(L * sp.exp(-2 * H * (p - sp.Rational(1, 2)) ** 2), d), H)
    checks = [
        symbolic(
            "solve(L exp(-2H(p-1/2)^2) = delta, H) - ln(L/delta)/(2(p-1/2)^2)",
            sp.expand_log(sol[0] - sp.log(L / d) / (2 * (p - sp.Rational(1, 2)) ** 2), force=True),
        )
    ]
    worst = -1.0
    for pp in (0.55, 0.6, 0.75, 0.9):
        for h in range(1, 102, 2):
            worst = max(worst, D.majority_failure(pp, h) - D.hoeffding_majority_bound(pp, h))
    checks.append(
        at_most(
            "max over p in {0.55,0.6,0.75,0.9}, odd H <= 101 of exact binomial tail - Hoeffding bound",
            worst,
            0.0,
            reason="an inequality: the exact tail never exceeds the bound",
        )
    )
    for pp, layers, delta in ((0.6, 12, 0.01), (0.75, 96, 0.001)):
        h = D.heads_for_reliability(pp, layers, delta)
        checks.append(
            at_most(
                f"p={pp}, L={layers}: H={h} heads give L x exact failure <= delta={delta}",
                layers * D.majority_failure(pp, h),
                delta,
                reason="union bound over layers with the Hoeffding-sized H",
            )
        )
    return checks


@control("memory.majority-vote", "Hoeffding exponent H(2p-1)^2 = 4H(p-1/2)^2 (twice the true rate)")
def _hoeffding_rate_doubled():
    def doubled_rate(p, heads):
        return math.exp(-heads * (2 * p - 1) ** 2)

    with mock.patch.object(D, "hoeffding_majority_bound", doubled_rate):
        yield


@claim(
    "memory.depth-compounding",
    title="Model C (multi-hop): errors compound as (1 + (N-1)/(H d_k))^L - 1",
    statement=r"\mathbb E\lVert y_L-u^L_j\rVert^2=\Big(1+\frac{N-1}{Hd_k}\Big)^L-1\approx\frac{L(N-1)}{Hd_k}",
    source="qiao2025pavlovian abstract (depth, width and head redundancy); the compounding model C: "
    "see the book's Sources appendix",
    status_of_source="reconstructed",
    kinds=("symbolic", "statistical"),
)
def _multihop_errors_compound(tier: str):
    l = sp.symbols("l", integer=True, nonnegative=True)
    N, d, Hs = sp.symbols("N d H", positive=True)
    a = sp.Function("a")
    sol = sp.rsolve(a(l + 1) - (1 + (N - 1) / (Hs * d)) * a(l), a(l), {a(0): 1})
    checks = [symbolic("E|a_l|^2 recursion solves to (1 + (N-1)/(H d))^l", sol - (1 + (N - 1) / (Hs * d)) ** l)]
    n, dk, trials, seed = 16, 64, SIZES[tier].compounding_trials, 0
    m, se = D.compounding_multihop(n, dk, 8, trials=trials, seed=seed)
    for L in (1, 2, 4, 8):
        th = D.model_c_theory(n, dk, L)
        checks.append(
            band(
                f"L={L}, H=1, vector space (linearisation L(N-1)/d_k = {L * (n - 1) / dk:.4f})",
                m[L - 1],
                th,
                se[L - 1],
                trials=trials,
                seed=seed,
                rel=0.05,
                source="heavy tails; depths share draws",
            )
        )
    m, _ = D.compounding_multihop(n, dk, 8, 4, trials=trials, seed=seed, space="coefficient")
    checks.append(
        rel_band(
            "L=8, H=4, coefficient space",
            m[-1],
            D.model_c_theory(n, dk, 8, 4),
            rel=0.05,
            trials=trials,
            seed=seed,
        )
    )
    return checks


@control("memory.depth-compounding", "errors merely add over hops, L(N-1)/(H d_k), instead of compounding")
def _hop_errors_add():
    def additive(n, d_k, layers, heads=1):
        return D.model_p_theory(n, d_k, layers, heads)

    with mock.patch.object(D, "model_c_theory", additive):
        yield


@claim(
    "memory.depth-residual",
    title="Model P (residual stream): independent layer errors add, relMSE = L(N-1)/(H d_k); aligned errors give L^2(N-1)/(H d_k)",
    statement=r"\mathbb E\lVert e_L\rVert^2/s^2=\frac{L(N-1)}{Hd_k}\ \text{(independent)},\quad \lVert e_L\rVert=L\lVert e_1\rVert\ \text{(aligned)}",
    source="qiao2025pavlovian abstract (depth, width and head redundancy); the residual model P: "
    "see the book's Sources appendix",
    status_of_source="reconstructed",
    kinds=("statistical",),
)
def _residual_errors_add_over_layers(tier: str):
    n, dk, trials, seed = 16, 64, SIZES[tier].residual_trials, 0
    checks = []
    for H in (1, 4):
        r, se = D.residual_accumulation(n, dk, 16, H, trials=trials, seed=seed)
        for L in (1, 4, 16):
            th = D.model_p_theory(n, dk, L, H)
            checks.append(
                band(
                    f"H={H}, L={L}: relMSE vs L(N-1)/(H d_k) = {th:.4f}",
                    r[L - 1],
                    th,
                    se[L - 1],
                    trials=trials,
                    seed=seed,
                    rel=0.03,
                    source="depths share draws",
                )
            )
        ra, sa = D.residual_accumulation(n, dk, 16, H, trials=trials, seed=seed, aligned=True)
        for L in (1, 4, 16):
            th = D.model_p_theory(n, dk, L, H, aligned=True)
            checks.append(
                band(
                    f"H={H}, L={L}, aligned errors: relMSE vs L^2(N-1)/(H d_k) = {th:.4f}",
                    ra[L - 1],
                    th,
                    sa[L - 1],
                    trials=trials,
                    seed=seed,
                    rel=0.03,
                    source="depths share draws",
                )
            )
    return checks


@control(
    "memory.depth-residual", "every layer repeats layer 1's error (aligned) where the layers should be independent"
)
def _layers_aligned():
    def always_aligned(*args, aligned=False, **kwargs):
        return residual_accumulation(*args, aligned=True, **kwargs)

    residual_accumulation = D.residual_accumulation
    with mock.patch.object(D, "residual_accumulation", always_aligned):
        yield


@control("memory.depth-residual", "aligned errors said to add like independent ones: L(N-1)/(H d_k), not L^2")
def _aligned_theory_linear_in_depth():
    def linear(n, d_k, layers, heads=1, *, aligned=False):
        return model_p_theory(n, d_k, layers, heads)

    model_p_theory = D.model_p_theory
    with mock.patch.object(D, "model_p_theory", linear):
        yield
