"""Claim of the contrast section: softmax attention as one update of a modern Hopfield network.

Book: ``notebooks/30_pavlovian_memory``, section "Contrast: softmax attention as a modern Hopfield
network". Not in qiao2025pavlovian, whose analysis is of linear attention only; the result is
ramsauer2021hopfield's (classical, see the book's Sources appendix).
"""

from __future__ import annotations

from unittest import mock

from attnmath.base.numerics import torch_generator
from attnmath.claims import at_least, at_most, claim, control, holds

from .. import capacity as C
from .. import hopfield as Hp
from ..hebbian import hebbian_memory, retrieve
from ..hopfield import hopfield_error_bound, separation, softmax_recall
from .sizes import SIZES


@claim(
    "memory.softmax-hopfield-contrast",
    title="Contrast (not in the paper): softmax recall errs like (N-1) e^{-beta Delta}, beyond the linear capacity",
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


@control("memory.softmax-hopfield-contrast", "beta used as a temperature (scores divided by beta, not multiplied)")
def _beta_as_temperature():
    def divided_by_beta(keys, values, queries, beta):
        return Hp.softmax_recall(keys, values, queries, 1.0 / beta)

    with mock.patch(f"{__name__}.softmax_recall", divided_by_beta):
        yield
