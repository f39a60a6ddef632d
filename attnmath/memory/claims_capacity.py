"""Claims of the Pavlovian-memory chapter, part 2: capacity (dossier P5–P8, §2.6 contrast).

Book chapter ``notebooks/30_pavlovian_memory``. Tags follow the dossier ``pavlov.md``: capacity formulas are
classical; the reconciliation of the two abstracts' capacity orders (v1 O(sqrt d_k), v2 O(d_k)) is reconstructed.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ..claims import at_least, at_most, claim, close, holds, symbolic, symbolic_true
from . import capacity as C
from ._bands import CI, F64_EPS, band
from ._bands import gen as _gen
from .hebbian import (
    hebbian_memory,
    retrieve,
)
from .hopfield import hopfield_error_bound, separation, softmax_recall


@claim(
    "memory.relmse-law",
    title="Average-case recall error: relMSE = (N-1)/d_k (unit keys), (N+1)/d_k (Gaussian keys)",
    statement=r"\frac{\mathbb E\lVert Mk_j-v_j\rVert^2}{\mathbb E\lVert v_j\rVert^2}=\frac{N-1}{d_k}\ \text{(unit)},\quad\frac{N+1}{d_k}\ \text{(Gaussian)}",
    source="dossier §2.3, P5 (classical; matches the O(d_k) order of the abstract of qiao2025pavlovian v2)",
    status_of_source="classical",
    kinds=("symbolic", "statistical"),
)
def _relmse_law(scale: str):
    N, d = sp.symbols("N d", positive=True)
    cross, norm_unit, norm_gauss = 1 / d, 0, 2 / d  # moments of memory.crosstalk-moment
    checks = [
        symbolic("unit: E(|k|^2-1)^2 + (N-1) E(k.k')^2 - (N-1)/d", norm_unit + (N - 1) * cross - (N - 1) / d),
        symbolic("Gaussian: 2/d + (N-1)/d - (N+1)/d", norm_gauss + (N - 1) * cross - (N + 1) / d),
    ]
    dks, ns, trials = (
        ((32, 64, 128), (8, 32, 64, 128), 200) if scale == CI else ((32, 64, 128, 256), (8, 32, 64, 128, 256), 1000)
    )
    seed = 0
    for kind in C.KEY_KINDS:
        for dk in dks:
            r, se = C.relmse_curve(dk, ns, trials=trials, seed=seed, kind=kind)
            for n, ri, si in zip(ns, r, se):
                checks.append(
                    band(
                        f"{kind} keys, d_k={dk}, N={n}",
                        ri,
                        C.relmse_theory(n, dk, kind),
                        si,
                        trials=trials,
                        seed=seed,
                        rel=0.02,
                        source="dossier P5; N values are nested prefixes of one pool",
                    )
                )
    return checks


@claim(
    "memory.linear-capacity",
    title="Average-case capacity is linear in d_k: N* = 1 + eps^2 d_k",
    statement=r"\mathrm{relMSE}(N^\star)\le\varepsilon^2\iff N^\star\le1+\varepsilon^2d_k\ \text{(unit keys)},\ \varepsilon^2d_k-1\ \text{(Gaussian)}",
    source="dossier §2.3, P6 (classical; the Theta(d_k) order of qiao2025pavlovian v2's abstract)",
    status_of_source="classical",
    kinds=("symbolic", "statistical"),
)
def _linear_capacity(scale: str):
    N, d, e = sp.symbols("N d epsilon", positive=True)
    checks = [
        symbolic("solve((N-1)/d = eps^2) - (1 + eps^2 d)", sp.solve(sp.Eq((N - 1) / d, e**2), N)[0] - (1 + e**2 * d)),
        symbolic("solve((N+1)/d = eps^2) - (eps^2 d - 1)", sp.solve(sp.Eq((N + 1) / d, e**2), N)[0] - (e**2 * d - 1)),
    ]
    dks, trials, seed, eps = (
        ((16, 32, 64, 128, 256), 200, 0, 0.5) if scale == CI else ((16, 32, 64, 128, 256, 512, 1024), 1000, 0, 0.5)
    )
    nstar = [C.capacity_bisection(dk, eps, trials=trials, seed=seed) for dk in dks]
    slope = float(np.polyfit(np.log(dks), np.log(nstar), 1)[0])
    why = f"dossier P6 calibrated band ({trials} trials per N, seed {seed}; [M] slope 0.945)"
    checks.append(at_least("log-log slope of N*(d_k) >= 0.9", slope, 0.9, reason=why, kind="statistical"))
    checks.append(at_most("log-log slope of N*(d_k) <= 1.1", slope, 1.1, reason=why, kind="statistical"))
    for dk, ns in zip(dks, nstar):
        th = C.capacity_theory(dk, eps)
        checks.append(
            at_most(
                f"|N* - (1 + eps^2 d_k)| at d_k={dk}",
                abs(ns - th),
                max(2, 0.1 * ns),
                reason=f"dossier P6: max(2, 0.1 N*) ({trials} trials, seed {seed})",
                kind="statistical",
            )
        )
    return checks


@claim(
    "memory.coherence-guarantee",
    title="Worst-case guarantee: error <= (N-1) mu max|v|, so N <= 1 + eps/mu; Welch: mu >~ 1/sqrt(d_k)",
    statement=r"\lVert Mk_j-v_j\rVert\le(N-1)\mu\max_i\lVert v_i\rVert;\quad \mu^2\ge\frac{N-d_k}{d_k(N-1)}\ (N>d_k)",
    source="welch1974lower; dossier §2.4, P7 (classical)",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _coherence_guarantee(scale: str):
    N, d, mu, e = sp.symbols("N d mu epsilon", positive=True)
    l1, l2, l3 = sp.symbols("lambda1:4", real=True)
    welch = (N - d) / (d * (N - 1))
    checks = [
        symbolic("solve((N-1) mu = eps) - (1 + eps/mu)", sp.solve(sp.Eq((N - 1) * mu, e), N)[0] - (1 + e / mu)),
        symbolic(
            "Cauchy-Schwarz on 3 eigenvalues: 3 sum l^2 - (sum l)^2 - sum_{i<j}(l_i-l_j)^2",
            3 * (l1**2 + l2**2 + l3**2) - (l1 + l2 + l3) ** 2 - ((l1 - l2) ** 2 + (l1 - l3) ** 2 + (l2 - l3) ** 2),
        ),
        symbolic("Welch: (N^2/d - N)/(N(N-1)) - (N-d)/(d(N-1))", (N**2 / d - N) / (N * (N - 1)) - welch),
        symbolic("lim_{N->oo} Welch mu^2 - 1/d", sp.limit(welch, N, sp.oo) - 1 / d),
    ]
    draws, dk = (50, 64) if scale == CI else (200, 256)
    g = _gen(0)
    ok_bound, ok_welch = True, True
    for _ in range(draws):
        K, Vv = C.random_keys(dk // 2, dk, generator=g), C.random_values(dk // 2, 16, generator=g)
        err, bound = C.coherence_error_bound(K, Vv)
        ok_bound &= bool(err <= bound * (1 + 1e-12))
        K2 = C.random_keys(2 * dk, dk, generator=g)
        ok_welch &= bool(C.coherence(K2) >= C.welch_bound(2 * dk, dk))
    checks.append(holds(f"error <= (N-1) mu max|v| in all {draws} draws (N={dk // 2}, d_k={dk}, seed 0)", ok_bound))
    checks.append(holds(f"coherence of {2 * dk} random unit keys >= Welch bound in all {draws} draws", ok_welch))
    S = C.simplex_frame(dk)
    checks.append(
        close(
            f"regular simplex ({dk + 1} vectors) attains the Welch bound",
            C.coherence(S),
            C.welch_bound(dk + 1, dk),
            atol=64 * F64_EPS,
            reason="float64 roundoff of the QR construction: 64 eps",
        )
    )
    return checks


@claim(
    "memory.worst-vs-average",
    title="Reconciling the abstracts: the coherence guarantee grows like sqrt(d_k), the all-pairs capacity like d_k",
    statement=r"N_{\rm guar}=\max\{N:(N-1)\mu_N\le\varepsilon\}=\tilde O(\sqrt{d_k}),\quad N_{\rm emp}=\max\{N:\max_j\lVert Mk_j-v_j\rVert\le\varepsilon\}=\Theta(d_k)",
    source="qiao2025pavlovian abstracts v1 (O(sqrt d_k)) and v2 (O(d_k)); reconciliation: dossier §2.4, P7",
    status_of_source="reconstructed",
    kinds=("statistical",),
)
def _worst_vs_average(scale: str):
    dks, draws, seed, eps = ((64, 256, 1024), 25, 0, 0.5) if scale == CI else ((64, 256, 1024, 4096), 25, 0, 0.5)
    src = f"{draws} draws per d_k, seed {seed}, eps={eps}; dossier P7 uses 5 draws, more draws resolve the trend"
    res = [C.worst_vs_average(dk, eps, draws=draws, seed=seed) for dk in dks]
    g_med = [float(np.median(gv)) for gv, _ in res]
    ratios = [ev / (eps**2 * dk) for (_, ev), dk in zip(res, dks)]
    slope = float(np.polyfit(np.log(dks), np.log(g_med), 1)[0])
    checks = [
        at_least(
            "guarantee capacity: log-log slope >= 0.25",
            slope,
            0.25,
            reason=f"dossier P7 band [0.25, 0.6] ([M] 0.33); {src}",
            kind="statistical",
        ),
        at_most(
            "guarantee capacity: log-log slope <= 0.6",
            slope,
            0.6,
            reason=f"dossier P7 band [0.25, 0.6]; {src}",
            kind="statistical",
        ),
    ]
    for dk, (gv, ev), r in zip(dks, res, ratios):
        med = float(np.median(r))
        checks.append(
            at_least(
                f"d_k={dk}: median empirical / (eps^2 d_k) >= 0.4",
                med,
                0.4,
                reason=f"dossier P7 band [0.4, 1.05]; {src}",
                kind="statistical",
            )
        )
        checks.append(
            at_most(
                f"d_k={dk}: median empirical / (eps^2 d_k) <= 1.05",
                med,
                1.05,
                reason=f"dossier P7 band [0.4, 1.05]; {src}",
                kind="statistical",
            )
        )
        checks.append(
            at_least(
                f"d_k={dk}: median empirical / median guarantee > 2",
                float(np.median(ev) / np.median(gv)),
                2.0 + 1e-9,
                reason=f"dossier P7; {src}",
                kind="statistical",
            )
        )
    diff = float(ratios[-1].mean() - ratios[0].mean())
    se = math.sqrt(ratios[-1].var(ddof=1) / draws + ratios[0].var(ddof=1) / draws)
    checks.append(
        at_least(
            f"mean ratio to eps^2 d_k grows from d_k={dks[0]} to d_k={dks[-1]} by > 4 SE",
            diff,
            4 * se,
            reason=f"one-sided 4 SE test on the mean ratio; {src}",
            kind="statistical",
        )
    )
    return checks


@claim(
    "memory.bit-error-law",
    title="Sign read-out of +-1 patterns: bit error = Phi(-sqrt(d/(N-1)))",
    statement=r"P\big(\mathrm{sign}(W\xi^\nu)_a\ne\eta^\nu_a\big)\approx\Phi\!\big(-\sqrt{d/(N-1)}\big),\quad \Phi(-1/\sqrt{0.138})=0.00355",
    source="hopfield1982neural; amit1985storing; dossier §2.5, P8 (classical)",
    status_of_source="classical",
    kinds=("symbolic", "statistical"),
)
def _bit_error(scale: str):
    phi = sp.erfc(1 / sp.sqrt(2 * sp.Rational(138, 1000))) / 2
    checks = [
        symbolic_true(
            "|Phi(-1/sqrt(0.138)) - 0.00355| < 5e-6",
            sp.Abs(sp.N(phi, 30) - sp.Rational(355, 100000)) < sp.Rational(5, 10**6),
        )
    ]
    d, trials, seed = (400, 50, 0) if scale == CI else (400, 500, 0)
    for n in (55, 120):
        p, se = C.bit_error_monte_carlo(n, d, trials=trials, seed=seed)
        checks.append(
            band(
                f"bit error at d={d}, N={n} vs Phi(-sqrt(d/(N-1)))",
                p,
                C.bit_error_theory(n, d),
                se,
                trials=trials,
                seed=seed,
                rel=0.1,
                combine="sum",
                source="dossier P8: 0.1 Phi + 4 SE",
            )
        )
    return checks


@claim(
    "memory.softmax-hopfield-contrast",
    title="Contrast (not in the paper): softmax recall errs like (N-1) e^{-beta Delta}, beyond the linear capacity",
    statement=r"\lVert \mathrm{softmax}(\beta K k_j)^\top V-v_j\rVert\le2(N-1)e^{-\beta\Delta_j}\max_i\lVert v_i\rVert,\ \Delta_j=1-\max_{i\ne j}k_i^\top k_j",
    source="ramsauer2021hopfield (retrieval with one update, exponentially small error); dossier §2.6 contrast",
    status_of_source="classical",
    kinds=("numeric",),
)
def _hopfield_contrast(scale: str):
    dk, N = (64, 256) if scale == CI else (128, 2048)
    g = _gen(0)
    K, Vv = C.random_keys(N, dk, generator=g), C.random_values(N, 16, generator=g)
    checks = []
    for beta in (1.0, 10.0, 100.0):
        err = (softmax_recall(K, Vv, K, beta) - Vv).norm(dim=-1)
        bound = hopfield_error_bound(K, Vv, beta)
        checks.append(
            holds(
                f"per-item error <= 2(N-1)e^(-beta Delta_j) max|v| at beta={beta:g} (N={N}, d_k={dk})",
                bool((err <= bound * (1 + 1e-9) + 1e-15).all()),
                details=f"worst error {float(err.max()):.3g}",
            )
        )
    err = float((softmax_recall(K, Vv, K, 100.0) - Vv).norm(dim=-1).max() / Vv.norm(dim=-1).max())
    heb = float(((retrieve(hebbian_memory(K, Vv), K) - Vv) ** 2).sum() / (Vv**2).sum())
    gap = float(separation(K).min())
    checks.append(
        holds("every stored key is separated by Delta_j > 0.2", gap > 0.2, details=f"min separation {gap:.4f} (seed 0)")
    )
    checks.append(
        at_most(
            f"softmax (beta=100) worst relative error at N = {N // dk} d_k",
            err,
            1e-6,
            reason="with every Delta_j > 0.2 the bound 2(N-1)exp(-100 Delta_j) is below 1e-6",
        )
    )
    checks.append(
        at_least(
            f"Hebbian relMSE on the same {N} pairs (theory (N-1)/d_k = {(N - 1) / dk:.2f})",
            heb,
            1.0,
            reason="N > 2 d_k: far past the linear capacity",
        )
    )
    return checks
