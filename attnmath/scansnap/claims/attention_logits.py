r"""Claims of the Scan and Snap chapter: the dynamics of the attention logits (``tian2023scan``, §5).

The fates of distinct and common tokens (Theorem 2, Corollary 2), the relative-gain law and the
frequency bias (Theorem 3) and the suppression of common tokens. Per-token sign and ordering
statements are checked on the *population* flow (exact :math:`c_n`), where the theorems are exact;
on sampled SGD only aggregate forms, with thresholds calibrated here, are checked.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import sympy as sp
import torch
from scipy.stats import spearmanr

from attnmath.claims import at_most, claim, close, control, holds, symbolic

from .. import dynamics
from ..closed_forms import attention_ratio_decay
from ..data import distinct_attention, population_attention, syn_small
from ..dynamics import reduced_distinct_flow
from ..experiments import fig4_run, population_run, syn_medium_cached

SRC = "tian2023scan"
POP_ETA_Z = (0.3, 0.1, 0.03)  # eta_Z / eta_Y of the population flows, with eta_Y = 1
SGD_SEEDS = (1, 2, 3)  # seeds of the Fig. 4 SGD runs


def _query_logits(flow) -> torch.Tensor:
    return flow.zq[:, 0, :]  # Syn-Medium 1/2 has a single query: [S+1, M]


@claim(
    "scansnap.s06-fates",
    title="Fates of contextual tokens: distinct logits rise, common logits fall (population flow); aggregates under SGD",
    statement=r"\dot z_{ml} = \eta_Zf_{nl}^2\xi_n > 0\ (l\in G_{DT}(n)),\qquad \dot z_{ml} < 0\ (l\in G_{CT})",
    source=f"{SRC}, Theorem 2 and Corollary 2",
    status_of_source="stated",
    kinds=("numeric",),
)
def _distinct_logits_rise_common_logits_fall(tier: str):
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


_POPULATION_GRADIENTS = dynamics.population_gradients


def _population_gradients_descending_in_z(Y, Z, data):
    dY, dZ, alpha = _POPULATION_GRADIENTS(Y, Z, data)
    return dY, -dZ, alpha


@contextlib.contextmanager
def _z_descends_the_objective():
    """Population flows (uncached) in which Z takes gradient *descent* steps on J while Y ascends."""
    with (
        mock.patch.object(dynamics, "population_gradients", _population_gradients_descending_in_z),
        mock.patch(f"{__name__}.population_run", population_run.__wrapped__),
    ):
        yield


@control("scansnap.s06-fates", "attention logits Z trained by gradient descent on J (wrong sign of the Z update)")
def _fates_with_wrong_sign():
    with _z_descends_the_objective():
        yield


@claim(
    "scansnap.s07-relative-gain",
    title="Relative-gain law r(t) = r(0) chi(t): exact for the reduced ODE, approached as eta_Z/eta_Y -> 0",
    statement=r"r_{l_0/l\mid n}(t) = r_{l_0/l\mid n}(0)\,e^{2(z_{ml_0}(t)-z_{ml_0}(0))},\quad r = f_{nl_0}^2/f_{nl}^2 - 1",
    source=f"{SRC}, Theorem 3",
    status_of_source="stated",
    kinds=("symbolic", "numeric"),
)
def _relative_gain_law(tier: str):
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
                reason="solve_ivp rtol 1e-10: the identity holds to 1e-8",
            )
        )
    data = syn_medium_cached(1)
    errs = [_relative_gain_error(population_run(ez), data) for ez in POP_ETA_Z]
    checks.append(
        at_most(
            "population flow at eta_Z/eta_Y = 0.03: max |r - r0 chi| / |r|",
            errs[-1],
            0.06,
            reason="threshold calibrated here (measured 0.040)",
        )
    )
    checks.append(
        holds(
            "error decreases over eta_Z/eta_Y = 0.3, 0.1, 0.03 (time-scale separation: the decoder is faster)",
            errs[0] > errs[1] > errs[2],
            details=" > ".join(f"{e:.3f}" for e in errs),
        )
    )
    return checks


@control("scansnap.s07-relative-gain", "reduced ODE dz_l/dt = s(t) f_l instead of s(t) f_l^2")
def _reduced_flow_with_unsquared_f():
    from scipy.integrate import solve_ivp

    def flow_f(p_distinct, p_common, t_eval, *, s=None, common_rate=1.0, rtol=1e-10):
        pd, pc, t = (np.asarray(a, dtype=np.float64) for a in (p_distinct, p_common, t_eval))
        p, sign = np.concatenate([pd, pc]), np.concatenate([np.ones(pd.size), -common_rate * np.ones(pc.size)])

        def rhs(tt, z):
            c = p * np.exp(z - z.max())
            return s(tt) * sign * c / np.sqrt(c @ c)

        sol = solve_ivp(
            rhs, (0.0, float(t[-1])), np.zeros(p.size), t_eval=t, method="DOP853", rtol=rtol, atol=rtol * 1e-2
        )
        return sol.y[: pd.size].T, sol.y[pd.size :].T

    with mock.patch(f"{__name__}.reduced_distinct_flow", flow_f):
        yield


def _increasing(x: torch.Tensor) -> tuple[bool, float]:
    rho = spearmanr(np.arange(len(x)), x.numpy()).statistic
    return bool((x[1:] > x[:-1]).all()), float(rho)


@claim(
    "scansnap.s08-frequency-bias",
    title="Frequency bias: final attention on distinct tokens is ordered by P(l|n); rarer tokens are dwarfed first",
    statement=r"c_{l|n}(t)\ \text{increasing in}\ \mathbb P(l|n);\quad \frac{(c_l/c_{l_0})(t)}{(c_l/c_{l_0})(0)} = \sqrt{\frac{1+r_0}{1+r_0\chi_{l_0}(t)}}",
    source=f"{SRC}, Theorem 3 (frequency bias)",
    status_of_source="stated",
    kinds=("numeric",),
)
def _attention_ordered_by_frequency(tier: str):
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


@control("scansnap.s08-frequency-bias", "attention-ratio decay without the square root, (1 + r0)/(1 + r0 chi)")
def _ratio_decay_without_sqrt():
    with mock.patch(f"{__name__}.attention_ratio_decay", lambda r0, chi_l0: (1.0 + r0) / (1.0 + r0 * chi_l0)):
        yield


@claim(
    "scansnap.s09-common-suppression",
    title="Common tokens lose attention mass: monotonically in the population flow, more at eta_Y/eta_Z = 1 than 10 under SGD",
    statement=r"\textstyle\sum_{l\in G_{CT}} c_{l|n}(t)\ \downarrow\ \text{from}\ 10/15.5 = 0.645",
    source=f"{SRC}, Theorem 2(b), Corollary 2, Fig. 4",
    status_of_source="stated",
    kinds=("numeric",),
)
def _common_tokens_lose_mass(tier: str):
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
                reason="threshold calibrated here (measured 0.30-0.45)",
            )
        )
        checks.append(
            at_most(
                f"SGD seed {seed}: common mass at ratio 10 (both classes) < 0.62",
                float(m10.max()),
                0.62,
                reason="threshold calibrated here (measured 0.51-0.58)",
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


@control(
    "scansnap.s09-common-suppression",
    "attention logits Z trained by gradient descent on J (wrong sign of the Z update)",
)
def _suppression_with_wrong_sign():
    with _z_descends_the_objective():
        yield
