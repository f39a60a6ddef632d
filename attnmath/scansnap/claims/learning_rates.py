r"""Claims of the Scan and Snap chapter: the learning rates set how sparse attention becomes.

The paper's synthetic experiments (``tian2023scan``, Figs. 4 and 6) re-run with sampled SGD, and
a CPU substitute for its WikiText experiments (Figs. 7 and 10). On sampled SGD only aggregate forms,
with thresholds calibrated here, are checked (see the book's Sources appendix).
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from scipy.stats import ttest_ind

from attnmath.claims import Cell, at_least, at_most, claim, control, gather, holds, pvalue_rejected

from ..data import entropy_distinct, syn_small
from ..experiments import (
    FIG6_RATIOS,
    FIG6_SEEDS,
    FIG6_STORED,
    ZERO_INIT_ENTROPY,
    fig4_eval_loss,
    fig4_run,
    fig6_compare,
    fig6_entropy,
    fig6_stored_cells,
    substitute_run,
)
from .sizes import SIZES

SRC = "tian2023scan"
SGD_SEEDS = (1, 2, 3)  # seeds of the Fig. 4 SGD runs

# Fig. 6 cells (number of query tokens, eta_Z, eta_Y / eta_Z) of the three Welch tests
FIG6_CELLS = ((1, 0.5, 2), (1, 3.0, 2), (10, 0.5, 2), (10, 3.0, 2), (10, 1.0, 2), (10, 1.0, 10))
FIG6_CI_SEED = 6  # numpy seed of the ci tier's choice of regression cells


def fig6_regression_cells(tier: str) -> tuple[tuple[int, float, int], ...]:
    """Stored Fig. 6 cells regressed at ``tier``: all 36 at ``paper``; at ``ci`` the Welch-test cells plus,
    for each stored row (#q, eta_Z) they do not touch, one ratio drawn with ``default_rng(FIG6_CI_SEED)``."""
    cells = fig6_stored_cells()
    if SIZES[tier].fig6_all_stored:
        return cells
    rng = np.random.default_rng(FIG6_CI_SEED)
    covered = {(p, e) for p, e, _ in FIG6_CELLS}
    extra = tuple((p, e, int(rng.choice(FIG6_RATIOS))) for (p, e) in FIG6_STORED if (p, e) not in covered)
    return tuple(c for c in cells if c in FIG6_CELLS or c in extra)


@claim(
    "scansnap.s11-lr-control",
    title="Learning rates control sparsity (Fig. 6): larger eta_Z sparser, larger eta_Y/eta_Z denser; "
    "the stored table reproduced cell by cell",
    statement=r"\bar H(\eta_Z{=}3) < \bar H(\eta_Z{=}0.5)\ \text{at}\ \eta_Y/\eta_Z = 2;\quad \bar H(\eta_Y/\eta_Z{=}10) > \bar H(2)\ \text{at}\ \eta_Z = 1\ (10/20);\quad |\bar H - \bar H^*| \le \max(0.05, 2\,\mathrm{se}_\Delta)",
    source=f"{SRC}, Fig. 6 (directions: Theorem 4 consequences (b)-(c)); stored cells from the official "
    "code's figure_6_data.pkl",
    status_of_source="reconstructed",
    kinds=("statistical", "numeric"),
    notes=(
        "Reconstructed, not stated: Fig. 6 is a plot, the paper prints no cell values; the cells compared "
        "here are the official code's stored data, the entropy metric is our reconstruction (the authors' "
        "statistics script is not public), and the directions are re-run with our random streams. "
        "Paper tier: every one of the 36 stored cells; ci tier: the Welch-test cells plus one seeded cell "
        "of each other stored row. A cell misses when |diff| > 0.05; a miss is explained (and passes) when "
        "|diff| <= 2 se_diff = 2 sqrt(2) se (two independent 10-seed means of the same process); the "
        "summary check lists every miss."
    ),
)
def _learning_rates_control_sparsity(tier: str):
    seeds = FIG6_SEEDS
    cells = tuple(dict.fromkeys(FIG6_CELLS + fig6_regression_cells(tier)))
    # one sweep cell per (Fig. 6 cell, seed): `verify --workers N` runs them in parallel
    runs = gather([Cell.of(fig6_entropy, *cell, s) for cell in cells for s in seeds])
    H = {cell: np.array(runs[i * len(seeds) : (i + 1) * len(seeds)]) for i, cell in enumerate(cells)}

    def welch_less(a, b):
        return float(ttest_ind(a, b, equal_var=False, alternative="less").pvalue)

    checks = [
        pvalue_rejected(
            "#q/#n = 1/2, ratio 2: H(eta_Z = 3) < H(eta_Z = 0.5)",
            welch_less(H[1, 3.0, 2], H[1, 0.5, 2]),
            0.01,
            test="one-sided Welch t-test",
            n=10,
            seed="1-10",
        ),
        pvalue_rejected(
            "#q/#n = 10/20, ratio 2: H(eta_Z = 3) < H(eta_Z = 0.5)",
            welch_less(H[10, 3.0, 2], H[10, 0.5, 2]),
            0.01,
            test="one-sided Welch t-test",
            n=10,
            seed="1-10",
        ),
        pvalue_rejected(
            "#q/#n = 10/20, eta_Z = 1: H(ratio 10) > H(ratio 2)",
            welch_less(H[10, 1.0, 2], H[10, 1.0, 10]),
            0.01,
            test="one-sided Welch t-test",
            n=10,
            seed="1-10",
        ),
    ]
    for cell in FIG6_CELLS:
        checks.append(
            at_most(
                f"mean entropy {cell} below the zero-init value 2.151",
                float(H[cell].mean()),
                ZERO_INIT_ENTROPY,
                reason="every mean is below the zero-init entropy",
            )
        )
    rows = fig6_compare({c: H[c] for c in fig6_regression_cells(tier)}, FIG6_STORED_TABLE)
    for row in rows:
        tag = "within 0.05" if row.within_band else f"misses 0.05, explained if <= 2 se_diff = {row.tolerance:.3f}"
        checks.append(
            at_most(
                f"|ours - stored| at Fig. 6 cell ({row.num_last}, {row.eta_Z:g}, {row.ratio}) "
                f"(stored {row.stored_mean:.3f}): {tag}",
                abs(row.diff),
                row.tolerance,
                reason="max(0.05, 2 sqrt(2) se): band 0.05 as our RNG streams differ from the official runs; "
                "beyond it a miss is explained by seed noise if within 2 standard errors of the difference of "
                "two independent 10-seed means (se_diff = sqrt(2) x our se)",
            )
        )
    misses = [r for r in rows if not r.within_band]
    checks.append(
        holds(
            f"{len(rows) - len(misses)} of {len(rows)} stored cells within 0.05; every miss explained by 2 se_diff",
            all(r.passed for r in rows),
            details="misses: "
            + (
                "; ".join(
                    f"({r.num_last}, {r.eta_Z:g}, {r.ratio}) diff {r.diff:+.3f}, 2 se_diff {r.tolerance:.3f}"
                    for r in misses
                )
                or "none"
            ),
        )
    )
    return checks


# the stored table the regression reads (a module attribute so that a control can patch it)
FIG6_STORED_TABLE = FIG6_STORED


@control("scansnap.s11-lr-control", "eta_Z of the Fig. 6 sweep mislabelled: the runs at eta_Z = 0.5 and 3 swapped")
def _fig6_eta_z_swapped():
    swap, cached = {0.5: 3.0, 3.0: 0.5}, fig6_entropy

    def swapped(num_last, eta_Z, ratio, seed):
        return cached(num_last, swap.get(eta_Z, eta_Z), ratio, seed)

    with mock.patch(f"{__name__}.fig6_entropy", swapped):
        yield


@control("scansnap.s11-lr-control", "stored table mis-transcribed: the 3/6 rows eta_Z = 1 and 3 swapped")
def _fig6_stored_rows_swapped():
    table = dict(FIG6_STORED)
    table[3, 1.0], table[3, 3.0] = FIG6_STORED[3, 3.0], FIG6_STORED[3, 1.0]
    with mock.patch(f"{__name__}.FIG6_STORED_TABLE", table):
        yield


@control("scansnap.s11-lr-control", "stored table shifted: the 1/2 panel transcribed 0.1 too high")
def _fig6_stored_shifted():
    table = {k: tuple((m + 0.1, pm) for m, pm in v) if k[0] == 1 else v for k, v in FIG6_STORED.items()}
    with mock.patch(f"{__name__}.FIG6_STORED_TABLE", table):
        yield


@claim(
    "scansnap.s12-fig4-contrast",
    title="Fig. 4: a faster decoder (eta_Y/eta_Z = 10) leaves attention less sparse and the loss lower",
    statement=r"H(c_n)\big|_{\eta_Y/\eta_Z=10} - H(c_n)\big|_{\eta_Y/\eta_Z=1} > 0.1,\quad \ell_{100}(10) < \ell_{100}(1)",
    source=f"{SRC}, Fig. 4 (its direction: a larger eta_Y gives faster, less sparse attention)",
    status_of_source="reconstructed",
    kinds=("numeric",),
    notes=(
        "Reconstructed, not stated: Fig. 4 shows heat-maps and prints no entropy or loss; the entropy metric is "
        "our reconstruction and the margin 0.1 is calibrated here, so this is a re-run of the figure's direction."
    ),
)
def _faster_decoder_leaves_attention_denser(tier: str):
    small = syn_small()
    checks = []
    for seed in SGD_SEEDS:
        gap = entropy_distinct(fig4_run(seed, 10).Z, small) - entropy_distinct(fig4_run(seed, 1).Z, small)
        for n in range(small.K):
            checks.append(
                at_least(
                    f"seed {seed}, class {n + 1}: H(ratio 10) - H(ratio 1) > 0.1",
                    float(gap[n]),
                    0.1,
                    reason="margin calibrated here (measured 0.12-0.22)",
                )
            )
        l1, l10 = fig4_eval_loss(seed, 1), fig4_eval_loss(seed, 10)
        checks.append(
            holds(
                f"seed {seed}: loss after 100 iterations lower at ratio 10", l10 < l1, details=f"{l10:.1e} vs {l1:.1e}"
            )
        )
    return checks


@control("scansnap.s12-fig4-contrast", "decoder learning rate ignored: both Fig. 4 runs at eta_Y = eta_Z = 1")
def _fig4_ratio_ignored():
    run = fig4_run
    with mock.patch(f"{__name__}.fig4_run", lambda seed, ratio: run(seed, 1)):
        yield


@claim(
    "scansnap.s13-standard-substitute",
    title="Substitute for WikiText (standard parameterisation): sparser with larger eta_Z, denser and frozen with larger eta_Y",
    statement=r"H\downarrow\ \text{in}\ \eta_Z\ (\eta_Y = 0.25);\ H(\eta_Y{=}1) - H(\eta_Y{=}0.25) > 0.1\ (\eta_Z = 32);\ |H(299) - H(50)| < 0.05\ (\eta_Y = 1)",
    source=f"{SRC}, Figs. 7 and 10 (WikiText), replaced by a CPU substitute reconstructed here "
    "(see the book's Sources appendix)",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _substitute_shows_the_same_effects(tier: str):
    checks = []
    for seed in (1, 2):
        hs = [substitute_run(0.25, ez, seed)[299] for ez in (1.0, 8.0, 32.0)]
        checks.append(
            holds(
                f"seed {seed}, eta_Y = 0.25: entropy strictly decreasing over eta_Z = 1, 8, 32",
                hs[0] > hs[1] > hs[2],
                details=" > ".join(f"{h:.3f}" for h in hs),
            )
        )
        fast = substitute_run(1.0, 32.0, seed)
        checks.append(
            at_least(
                f"seed {seed}, eta_Z = 32: H(eta_Y = 1) - H(eta_Y = 0.25) > 0.1",
                fast[299] - hs[2],
                0.1,
                reason="margin calibrated here (measured 0.24)",
            )
        )
        checks.append(
            at_most(
                f"seed {seed}, eta_Y = 1: freeze |H(299) - H(50)| < 0.05",
                abs(fast[299] - fast[50]),
                0.05,
                reason="threshold calibrated here (measured < 0.04)",
            )
        )
    return checks


@control("scansnap.s13-standard-substitute", "decoder learning rate ignored: every substitute run at eta_Y = 0.25")
def _substitute_eta_y_ignored():
    run = substitute_run
    with mock.patch(f"{__name__}.substitute_run", lambda eta_Y, eta_Z, seed: run(0.25, eta_Z, seed)):
        yield
