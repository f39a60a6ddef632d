r"""Claims of the Scan and Snap chapter, part 3: training dynamics (dossier S6–S9, S11–S13, S15).

Per-token sign and ordering statements are checked on the *population* flow (exact
:math:`c_n`), where the theorems are exact; on sampled SGD only the aggregate forms the
dossier calibrated are checked. Book: ``notebooks/40_scan_and_snap``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch
from scipy.stats import spearmanr, ttest_ind

from ..claims import at_least, at_most, claim, close, holds, symbolic
from .claims_theory import pvalue_rejected
from .closed_forms import attention_ratio_decay
from .data import distinct_attention, entropy_distinct, population_attention, syn_small
from .dynamics import reduced_distinct_flow
from .experiments import (
    ZERO_INIT_ENTROPY,
    fig4_eval_loss,
    fig4_run,
    fig6_entropy,
    fig6_stored,
    population_run,
    substitute_run,
    syn_medium_cached,
)
from .joma import sparse_then_dense

SRC = "tian2023scan"
POP_ETA_Z = (0.3, 0.1, 0.03)  # eta_Z / eta_Y with eta_Y = 1 (dossier S6, S7)
SGD_SEEDS = (1, 2, 3)


def _query_logits(flow) -> torch.Tensor:
    return flow.zq[:, 0, :]  # Syn-Medium 1/2 has a single query: [S+1, M]


@claim(
    "scansnap.s06-fates",
    title="Fates of contextual tokens: distinct logits rise, common logits fall (population flow); aggregates under SGD",
    statement=r"\dot z_{ml} = \eta_Zf_{nl}^2\xi_n > 0\ (l\in G_{DT}(n)),\qquad \dot z_{ml} < 0\ (l\in G_{CT})",
    source=f"{SRC}, Theorem 2 and Corollary 2; dossier S6",
    status_of_source="stated",
    kinds=("numeric",),
)
def _s06(scale: str):
    data = syn_medium_cached(1)
    dist, com = data.distinct.any(0), data.common
    checks = []
    for ez in POP_ETA_Z:
        dz = torch.diff(_query_logits(population_run(ez)), dim=0)
        checks.append(
            close(
                f"eta_Z/eta_Y={ez}: step 0 moves no logit (Y(0) = 0)",
                dz[0],
                torch.zeros_like(dz[0]),
                atol=0.0,
                reason="exact: Y(0) = 0 makes Y(e_n - alpha) = 0",
            )
        )
        smallest = float(dz[1:, dist].min())
        checks.append(
            holds(
                f"eta_Z/eta_Y={ez}: all 20 distinct logits strictly increase at every step >= 1 "
                f"({dz.shape[0] - 1} steps)",
                smallest > 0,
                details=f"smallest increment {smallest:.2e}",
            )
        )
        largest = float(dz[1:, com].max())
        checks.append(
            holds(
                f"eta_Z/eta_Y={ez}: all 10 common logits strictly decrease at every step >= 1",
                largest < 0,
                details=f"largest increment {largest:.2e}",
            )
        )
    small = syn_small()
    for seed in SGD_SEEDS:
        for ratio in (1, 10):
            rows = fig4_run(seed, ratio).Z[small.query]  # [K, M]: the row of each class's query
            top_common = float(rows[:, small.common].max())
            checks.append(
                holds(
                    f"SGD Fig. 4 config, seed {seed}, ratio {ratio}: every common logit ends < 0",
                    top_common < 0,
                    details=f"largest {top_common:.3f}",
                )
            )
            mean_distinct = min(float(rows[n, small.distinct[n]].mean()) for n in range(small.K))
            checks.append(
                holds(
                    f"SGD seed {seed}, ratio {ratio}: mean distinct logit of each class ends > 0",
                    mean_distinct > 0,
                    details=f"smallest class mean {mean_distinct:.3f}",
                )
            )
    return checks


def _relative_gain_error(flow, data) -> float:
    """max over classes, distinct l != l0 and steps of |r - r0 e^{2 dz_l0}| / |r|."""
    z = _query_logits(flow)
    worst = 0.0
    for n in range(data.K):
        idx = torch.nonzero(data.distinct[n]).flatten()
        P = data.probs[n]
        l0 = idx[torch.argmax(P[idx])]
        c = torch.softmax(z + torch.log(P), dim=-1)
        for l in idx[idx != l0]:
            r = (c[:, l0] / c[:, l]) ** 2 - 1
            pred = ((P[l0] / P[l]) ** 2 - 1) * torch.exp(2 * (z[:, l0] - z[0, l0]))
            worst = max(worst, float(((r - pred).abs() / r.abs()).max()))
    return worst


@claim(
    "scansnap.s07-relative-gain",
    title="Relative-gain law r(t) = r(0) chi(t): exact for the reduced ODE, approached as eta_Z/eta_Y -> 0",
    statement=r"r_{l_0/l\mid n}(t) = r_{l_0/l\mid n}(0)\,e^{2(z_{ml_0}(t)-z_{ml_0}(0))},\quad r = f_{nl_0}^2/f_{nl}^2 - 1",
    source=f"{SRC}, Theorem 3; dossier S7",
    status_of_source="stated",
    kinds=("symbolic", "numeric"),
)
def _s07(scale: str):
    t, r0, A = sp.symbols("t r_0 A", positive=True)
    s, g = sp.Function("s")(t), sp.Function("g")(t)  # speed > 0 and f_{l'}^2
    dzl, dzp = sp.Function("Dz_l")(t), sp.Function("Dz_lp")(t)
    inv = sp.exp(-2 * dzl) - 1 - (r0 + 1) * (sp.exp(-2 * dzp) - 1)
    # f_l^2 / f_l'^2 = (r0 + 1) e^{2(dz_l - dz_l')} because c_l is proportional to P_l e^{z_l}
    flows = {sp.Derivative(dzl, t): s * g * (r0 + 1) * sp.exp(2 * (dzl - dzp)), sp.Derivative(dzp, t): s * g}
    r_on_I0 = (r0 + 1) * A * (1 + (1 / A - 1) / (r0 + 1)) - 1  # e^{-2dz_l'} from I = 0, A = e^{2 dz_l}
    checks = [
        symbolic("dI/dt = 0 along dz_l/dt = s f_l^2, dz_l'/dt = s f_l'^2", sp.diff(inv, t).subs(flows)),
        symbolic("on I = 0: r = (r0 + 1) e^{2(dz_l - dz_l')} - 1 = r0 e^{2 dz_l}", r_on_I0 - r0 * A),
    ]
    p_d = np.linspace(0.1, 1.0, 10) / 15.5
    p_c = np.ones(10) / 15.5
    tt = np.linspace(0.0, 50.0, 501)
    for label, speed in (("1/(1+t)", lambda x: 1.0 / (1.0 + x)), ("1 + sin(t)/2", lambda x: 1.0 + 0.5 * np.sin(x))):
        zd, _ = reduced_distinct_flow(p_d, p_c, tt, s=speed)
        r = (p_d[-1] / p_d[:-1]) ** 2 * np.exp(2 * (zd[:, -1:] - zd[:, :-1])) - 1
        pred = ((p_d[-1] / p_d[:-1]) ** 2 - 1) * np.exp(2 * zd[:, -1:])
        checks.append(
            at_most(
                f"reduced ODE, s(t) = {label}: max |r - r0 chi| / |r|",
                np.max(np.abs(r - pred) / np.abs(r)),
                1e-8,
                reason="solve_ivp rtol 1e-10 (dossier S7(ii): 1e-8)",
            )
        )
    data = syn_medium_cached(1)
    errs = [_relative_gain_error(population_run(ez), data) for ez in POP_ETA_Z]
    checks.append(
        at_most(
            "population flow at eta_Z/eta_Y = 0.03: max |r - r0 chi| / |r|",
            errs[-1],
            0.06,
            reason="dossier S7(iii) threshold (measured 0.040)",
        )
    )
    checks.append(
        holds(
            "error decreases over eta_Z/eta_Y = 0.3, 0.1, 0.03 (time-scale separation A1c)",
            errs[0] > errs[1] > errs[2],
            details=" > ".join(f"{e:.3f}" for e in errs),
        )
    )
    return checks


def _increasing(x: torch.Tensor) -> tuple[bool, float]:
    rho = spearmanr(np.arange(len(x)), x.numpy()).statistic
    return bool((x[1:] > x[:-1]).all()), float(rho)


@claim(
    "scansnap.s08-frequency-bias",
    title="Frequency bias: final attention on distinct tokens is ordered by P(l|n); rarer tokens are dwarfed first",
    statement=r"c_{l|n}(t)\ \text{increasing in}\ \mathbb P(l|n);\quad \frac{(c_l/c_{l_0})(t)}{(c_l/c_{l_0})(0)} = \sqrt{\frac{1+r_0}{1+r_0\chi_{l_0}(t)}}",
    source=f"{SRC}, Theorem 3 (frequency bias); dossier S8",
    status_of_source="stated",
    kinds=("numeric",),
)
def _s08(scale: str):
    checks = []
    data = syn_medium_cached(1)
    for ez in POP_ETA_Z:
        fin = distinct_attention(population_attention(population_run(ez).Z, data), data)
        for n in range(data.K):
            ok, rho = _increasing(fin[n])
            checks.append(
                holds(
                    f"population eta_Z/eta_Y={ez}, class {n + 1}: final c on distinct tokens strictly "
                    "increasing in P(l|n)",
                    ok,
                    details=f"Spearman {rho:.3f}",
                )
            )
    small = syn_small()
    for seed in SGD_SEEDS:
        for ratio in (1, 10):
            fin = distinct_attention(population_attention(fig4_run(seed, ratio).Z, small), small)
            for n in range(small.K):
                ok, rho = _increasing(fin[n])
                checks.append(
                    holds(
                        f"SGD Syn-Small seed {seed}, ratio {ratio}, class {n + 1}: same ordering",
                        ok,
                        details=f"Spearman {rho:.3f}",
                    )
                )
    p_d, p_c = np.linspace(0.1, 1.0, 10) / 15.5, np.ones(10) / 15.5
    tt = np.linspace(0.0, 200.0, 8001)
    zd, _ = reduced_distinct_flow(p_d, p_c, tt, s=lambda x: 1.0)
    decay = np.exp((zd[:, :-1] - zd[:, :-1][0]) - (zd[:, -1:] - zd[0, -1]))  # (c_l/c_l0)(t) / (c_l/c_l0)(0)
    r0 = (p_d[-1] / p_d[:-1]) ** 2 - 1
    checks.append(
        close(
            "reduced ODE: (c_l/c_l0)(t)/(c_l/c_l0)(0) = sqrt((1 + r0)/(1 + r0 chi_l0))",
            decay,
            attention_ratio_decay(r0, np.exp(2 * (zd[:, -1:] - zd[0, -1]))),
            atol=1e-8,
            reason="solve_ivp rtol 1e-10 on O(1) ratios",
        )
    )
    halves = np.array([np.interp(0.5, decay[::-1, j], tt[::-1]) for j in range(decay.shape[1])])
    reached = bool((decay[-1] < 0.5).all())
    checks.append(holds("every ratio halves within t <= 200", reached))
    rho = float(spearmanr(p_d[:-1], halves).statistic)
    checks.append(
        holds(
            "time to halve increases with P(l|n) (Spearman = 1)",
            bool(np.all(np.diff(halves) > 0)),
            details=f"Spearman {rho:.3f}; times {np.round(halves, 2).tolist()}",
        )
    )
    return checks


@claim(
    "scansnap.s09-common-suppression",
    title="Common tokens lose attention mass: monotonically in the population flow, more at eta_Y/eta_Z = 1 than 10 under SGD",
    statement=r"\textstyle\sum_{l\in G_{CT}} c_{l|n}(t)\ \downarrow\ \text{from}\ 10/15.5 = 0.645",
    source=f"{SRC}, Theorem 2(b), Corollary 2, Fig. 4; dossier S9",
    status_of_source="stated",
    kinds=("numeric",),
)
def _s09(scale: str):
    checks = []
    data = syn_medium_cached(1)
    for ez in POP_ETA_Z:
        z = _query_logits(population_run(ez))
        for n in range(data.K):
            mass = torch.softmax(z + torch.log(data.probs[n]), dim=-1)[:, data.common].sum(1)
            checks.append(
                close(
                    f"population eta_Z/eta_Y={ez}, class {n + 1}: starts at 10/15.5",
                    mass[0],
                    torch.tensor(10 / 15.5, dtype=mass.dtype),
                    atol=1e-15,
                    reason="float64 softmax at Z = 0",
                )
            )
            step = torch.diff(mass)
            checks.append(
                holds(
                    f"population eta_Z/eta_Y={ez}, class {n + 1}: strictly decreasing at every step >= 1",
                    bool((step[1:] < 0).all()),
                    details=f"final {float(mass[-1]):.3f}",
                )
            )
    small = syn_small()
    for seed in SGD_SEEDS:
        m1 = population_attention(fig4_run(seed, 1).Z, small)[:, small.common].sum(1)
        m10 = population_attention(fig4_run(seed, 10).Z, small)[:, small.common].sum(1)
        checks.append(
            at_most(
                f"SGD Syn-Small seed {seed}: common mass at ratio 1 (both classes) < 0.50",
                float(m1.max()),
                0.50,
                reason="dossier S9 calibrated threshold (measured 0.30-0.45)",
            )
        )
        checks.append(
            at_most(
                f"SGD seed {seed}: common mass at ratio 10 (both classes) < 0.62",
                float(m10.max()),
                0.62,
                reason="dossier S9 calibrated threshold (measured 0.51-0.58)",
            )
        )
        checks.append(
            holds(
                f"SGD seed {seed}: lower at ratio 1 than at ratio 10 for both classes",
                bool((m1 < m10).all()),
                details=f"{m1.numpy().round(3).tolist()} vs {m10.numpy().round(3).tolist()}",
            )
        )
    return checks


S11_CELLS = ((1, 0.5, 2), (1, 3.0, 2), (10, 0.5, 2), (10, 3.0, 2), (10, 1.0, 2), (10, 1.0, 10))


@claim(
    "scansnap.s11-lr-control",
    title="Learning rates control sparsity (Fig. 6): larger eta_Z sparser, larger eta_Y/eta_Z denser",
    statement=r"\bar H(\eta_Z{=}3) < \bar H(\eta_Z{=}0.5)\ \text{at}\ \eta_Y/\eta_Z = 2;\quad \bar H(\eta_Y/\eta_Z{=}10) > \bar H(2)\ \text{at}\ \eta_Z = 1\ (10/20)",
    source=f"{SRC}, Fig. 6 and Theorem 4 consequences (b)-(c); dossier S11",
    status_of_source="stated",
    kinds=("statistical", "numeric"),
)
def _s11(scale: str):
    seeds = tuple(range(1, 11))
    H = {cell: np.array([fig6_entropy(*cell, s) for s in seeds]) for cell in S11_CELLS}

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
    for cell, h in H.items():
        checks.append(
            at_most(
                f"mean entropy {cell} below the zero-init value 2.151",
                float(h.mean()),
                ZERO_INIT_ENTROPY,
                reason="dossier S11: every mean is below the zero-init entropy",
            )
        )
        if cell[0] == 10:
            stored = fig6_stored(*cell)[0]
            checks.append(
                close(
                    f"regression vs stored Fig. 6 cell {cell} = {stored}",
                    float(h.mean()),
                    stored,
                    atol=0.05,
                    reason="dossier S11 optional regression 0.05; stored +- there is <= 0.023, RNG streams differ",
                )
            )
    return checks


@claim(
    "scansnap.s12-fig4-contrast",
    title="Fig. 4: a faster decoder (eta_Y/eta_Z = 10) leaves attention less sparse and the loss lower",
    statement=r"H(c_n)\big|_{\eta_Y/\eta_Z=10} - H(c_n)\big|_{\eta_Y/\eta_Z=1} > 0.1,\quad \ell_{100}(10) < \ell_{100}(1)",
    source=f"{SRC}, Fig. 4; dossier S12",
    status_of_source="stated",
    kinds=("numeric",),
)
def _s12(scale: str):
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
                    reason="dossier S12 calibrated margin (measured 0.12-0.22)",
                )
            )
        l1, l10 = fig4_eval_loss(seed, 1), fig4_eval_loss(seed, 10)
        checks.append(
            holds(
                f"seed {seed}: loss after 100 iterations lower at ratio 10", l10 < l1, details=f"{l10:.1e} vs {l1:.1e}"
            )
        )
    return checks


@claim(
    "scansnap.s13-standard-substitute",
    title="Substitute for WikiText (standard parameterisation): sparser with larger eta_Z, denser and frozen with larger eta_Y",
    statement=r"H\downarrow\ \text{in}\ \eta_Z\ (\eta_Y = 0.25);\ H(\eta_Y{=}1) - H(\eta_Y{=}0.25) > 0.1\ (\eta_Z = 32);\ |H(299) - H(50)| < 0.05\ (\eta_Y = 1)",
    source=f"{SRC}, Figs. 7 and 10 (WikiText), replaced by the dossier's CPU substitute; dossier S13",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _s13(scale: str):
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
                reason="dossier S13 calibrated margin (measured 0.24)",
            )
        )
        checks.append(
            at_most(
                f"seed {seed}, eta_Y = 1: freeze |H(299) - H(50)| < 0.05",
                abs(fast[299] - fast[50]),
                0.05,
                reason="dossier S13 calibrated threshold (measured < 0.04)",
            )
        )
    return checks


@claim(
    "scansnap.s15-joma-sparse-then-dense",
    title="JoMA: with a nonlinearity the attention entropy drops (sparse) and then rebounds (dense)",
    statement=r"v \leftarrow v + \eta(\mu - v)\odot\mathrm{softmax}(v^2/\tau):\ H(\mathrm{softmax}(v^2/\tau))\ \text{has an interior minimum}",
    source="tian2024joma, Theorem 4 and Fig. 4 (joma/draw_figure_4.py); dossier S15",
    status_of_source="stated",
    kinds=("numeric",),
)
def _s15(scale: str):
    ent, _ = sparse_then_dense()
    k = int(np.argmin(ent))
    return [
        holds(
            "the entropy minimum is interior (0 < argmin < 4999)", 0 < k < len(ent) - 1, details=f"argmin at step {k}"
        ),
        at_least(
            "final entropy exceeds the minimum by > 0.3",
            float(ent[-1] - ent[k]),
            0.3,
            reason="dossier S15 margin (measured 2.303 -> 0.942 at step 669 -> 1.549)",
        ),
        close(
            "start, minimum and end vs the dossier's 2.303, 0.942, 1.549",
            np.array([ent[0], ent[k], ent[-1]]),
            np.array([2.303, 0.942, 1.549]),
            atol=6e-4,
            reason="dossier values rounded to 3 decimals",
        ),
    ]
