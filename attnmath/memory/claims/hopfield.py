"""Claim of the contrast section: softmax attention as one update of a modern Hopfield network.

Book: ``notebooks/30_pavlovian_memory``, section "Contrast: softmax attention as a modern Hopfield
network". Not in qiao2025pavlovian, whose analysis is of linear attention only; the result is
ramsauer2021hopfield's (classical, see the book's Sources appendix).
"""

from __future__ import annotations

import math
from unittest import mock

from attnmath.base.numerics import torch_generator
from attnmath.claims import at_least, at_most, claim, control, holds, rel_close

from .. import capacity as C
from .. import hopfield as Hp
from ..hebbian import hebbian_memory, retrieve
from ..hopfield import hopfield_error_bound, hopfield_tight_instance, separation, softmax_recall
from .sizes import SIZES


@claim(
    "memory.softmax-hopfield-contrast",
    title="Contrast (not in the paper): softmax recall errs at most 2(N-1) e^{-beta Delta} max|v|, a sharp bound, beyond the linear capacity",
    statement=r"\lVert \mathrm{softmax}(\beta K k_j)^\top V-v_j\rVert\le2(N-1)e^{-\beta\Delta_j}\max_i\lVert v_i\rVert,\ \Delta_j=1-\max_{i\ne j}k_i^\top k_j",
    source="ramsauer2021hopfield (retrieval with one update, exponentially small error); "
    "a contrast outside qiao2025pavlovian",
    status_of_source="classical",
    kinds=("numeric",),
)
def _softmax_recall_beyond_linear_capacity(tier: str):
    dk, N = SIZES[tier].hopfield_shape
    g = torch_generator(0)
    K, Vv = C.random_keys(N, dk, generator=g), C.random_values(N, 16, generator=g)
    betas = (10.0, 20.0, 40.0)  # the error is non-zero (well above roundoff) and the bound is finite at each
    checks = []
    for beta in betas:
        err = (softmax_recall(K, Vv, K, beta) - Vv).norm(dim=-1)
        bound = hopfield_error_bound(K, Vv, beta)
        checks.append(
            holds(
                f"random keys, beta={beta:g}: 0 < per-item error <= 2(N-1)e^(-beta Delta_j) max|v| (N={N}, d_k={dk})",
                bool((err > 0).all() and (err <= bound * (1 + 1e-9)).all()),
                details=f"errors in [{float(err.min()):.2g}, {float(err.max()):.2g}]; "
                f"largest error/bound {float((err / bound).max()):.2g}",
            )
        )
    # sharpness: on the extremal instance the bound exceeds the error by exactly 1 + (N-1) e^(-beta delta)
    nt, delta = dk, 0.5
    Kt, Vt = hopfield_tight_instance(nt, dk, delta, generator=g)
    for beta in betas:
        err0 = float((softmax_recall(Kt, Vt, Kt[:1], beta)[0] - Vt[0]).norm())
        bound0 = float(hopfield_error_bound(Kt, Vt, beta)[0])
        checks.append(
            rel_close(
                f"extremal instance (N={nt}, Delta=1/2), beta={beta:g}: bound / error vs 1 + (N-1)e^(-beta Delta)",
                bound0 / err0,
                1 + (nt - 1) * math.exp(-beta * delta),
                rtol=1e-6,
                reason="closed form of the extremal instance; float64: the error 2(1-p_0) loses eps/(1-p_0) "
                "<= 1e-8 relative at beta=40 (1-p_0 ~ 1e-7)",
            )
        )
    b_hi, gap_min = betas[-1], 0.4
    err = float((softmax_recall(K, Vv, K, b_hi) - Vv).norm(dim=-1).max() / Vv.norm(dim=-1).max())
    heb = float(((retrieve(hebbian_memory(K, Vv), K) - Vv) ** 2).sum() / (Vv**2).sum())
    gap = float(separation(K).min())
    checks.append(
        holds(
            f"every stored key is separated by Delta_j > {gap_min}",
            gap > gap_min,
            details=f"min separation {gap:.3f} (seed 0)",
        )
    )
    checks.append(
        at_most(
            f"softmax (beta={b_hi:g}) worst relative error at N = {N // dk} d_k",
            err,
            2 * (N - 1) * math.exp(-b_hi * gap_min),
            reason=f"the bound with every Delta_j > {gap_min}: 2(N-1) exp(-{b_hi:g} x {gap_min})",
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


@control("memory.softmax-hopfield-contrast", "beta used as a temperature (scores divided by beta, not multiplied)")
def _beta_as_temperature():
    def divided_by_beta(keys, values, queries, beta):
        return Hp.softmax_recall(keys, values, queries, 1.0 / beta)

    with mock.patch(f"{__name__}.softmax_recall", divided_by_beta):
        yield


@control(
    "memory.softmax-hopfield-contrast",
    "near-miss bound (N-1) e^(-beta Delta_j) max|v| (the factor 2 of |v_i - v_j| dropped)",
)
def _bound_without_factor_two():
    def half_bound(keys, values, beta):
        return Hp.hopfield_error_bound(keys, values, beta) / 2

    with mock.patch(f"{__name__}.hopfield_error_bound", half_bound):
        yield
