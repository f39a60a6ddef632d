r"""Claims T9–T11, T13, T15: the dossier's CPU experiments E1, E2, E4, E6 and E7 with its [M] thresholds.

Thresholds are the dossier's (§5), calibrated with scipy 1.17 / torch on this machine kind; each
check's reason quotes the measured value it leaves margin over. Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

import numpy as np

from ..base.report import sig
from ..claims import at_least, at_most, claim, close, holds
from .experiments import e4_baseline, e4_fit, e6_run, robertson_run, vdp_run
from .network_experiment import E7_EPOCHS, e7_run

SRC = "huang2023understanding"
E4_SEEDS = {
    "ci": (0, 1, 2),
    "paper": (0, 1, 2, 3, 4),
}  # seeds 3, 4 measured here: SAM 0.080 / 0.071, StepNet-lite 4.7e-4 / 6.2e-4
E4_TRAIN_SIZE = {
    "ci": 1024,
    "paper": 2048,
}  # ci: the first 1024 training draws (measured: StepNet-lite 2.6-4.9e-4, SAM 0.07-0.08)
E6_SEEDS = (0, 1, 2)  # the max error grows with the sample size: kept at the calibrated 3 x 4096 on both scales
E7_ARMS = ("plain", "se", "secant")
E7_SEEDS = {"ci": (0, 1, 2), "paper": (0, 1, 2, 3, 4)}


def vdp_cases(scale: str) -> list[tuple[float, float]]:
    """(mu, rtol) pairs of claim T9: mu in {10, 100}, rtol in {1e-3, 1e-6} (paper scale adds 1e-9)."""
    rtols = (1e-3, 1e-6) if scale == "ci" else (1e-3, 1e-6, 1e-9)
    return [(mu, r) for mu in (10.0, 100.0) for r in rtols]


@claim(
    "stiffness.sp-in-accurate-solutions",
    title="Accurate adaptive solutions of Van der Pol take strongly non-uniform steps that track rho(J)",
    statement=r"\mathrm{Spearman}(h_n,\rho(J(y_n)))\le-0.6,\quad h_{\max}/h_{\min}\ge50\quad(\text{RK45},\ \mu\in\{10,100\})",
    source=f"{SRC}, abstract C1 (ODE side); hairer1996solving; dossier §3.2 E1, §4.9, T9",
    status_of_source="classical",
    kinds=("numeric",),
)
def _t9(scale: str):
    checks = []
    for mu, rtol in vdp_cases(scale):
        r = vdp_run(mu, rtol)
        checks.append(
            at_most(
                f"mu={mu:g}, rtol={rtol:g}: Spearman(h_n, rho(J)) over ~{sig(r.n_steps)} steps",
                r.spearman,
                -0.6,
                reason="dossier T9 threshold (tight margin; measured <= -0.71 at rtol 1e-3, 1e-6)",
            )
        )
        checks.append(
            at_least(
                f"mu={mu:g}, rtol={rtol:g}: h_max / h_min",
                r.ratio,
                50.0,
                reason="dossier T9 threshold (dossier measured >= 116; here >= 102)",
            )
        )
    return checks


@claim(
    "stiffness.robertson-explicit-vs-implicit",
    title="On Robertson's kinetics explicit RK45 needs over 100 times the steps of implicit Radau; both agree",
    statement=r"\#\mathrm{steps}_{\rm RK45}/\#\mathrm{steps}_{\rm Radau}\ge100,\quad |y_1^{\rm RK45}(40)-y_1^{\rm Radau}(40)|\le10^{-3}",
    source=f"{SRC}, abstract C1 (ODE side); hairer1996solving; dossier §3.2 E2, T10",
    status_of_source="classical",
    kinds=("numeric",),
)
def _t10(scale: str):
    runs = {m: robertson_run(m) for m in ("RK45", "Radau", "BDF", "LSODA")}
    ratio = runs["RK45"][0] / runs["Radau"][0]
    checks = [
        at_least("RK45 steps / Radau steps", ratio, 100.0, reason="dossier T10 threshold (measured 34554 / 29 = 1191)")
    ]
    for m in ("Radau", "BDF", "LSODA"):
        checks.append(
            close(
                f"y_1(40): RK45 vs {m}",
                runs["RK45"][2][0],
                runs[m][2][0],
                atol=1e-3,
                reason="dossier T10 tolerance 1e-3 (rtol 1e-4 solves)",
            )
        )
    return checks


@claim(
    "stiffness.learned-adaptor",
    title="A learned gate stabilises Euler (SAM), and a secant-fed gate (StepNet-lite) resolves the stiffness",
    statement=r"\mathrm{RMSE}_{\rm none}>10^3,\ \mathrm{RMSE}_{\rm SAM}<1,\ \mathrm{RMSE}_{\rm StepNet\text{-}lite}<5\cdot10^{-3},\ \frac{\min\mathrm{RMSE}_{\rm SAM}}{\max\mathrm{RMSE}_{\rm StepNet\text{-}lite}}\ge10,\ \mathrm{Spearman}(a,\rho)\le-0.99",
    source=f"{SRC}, abstract C3 and C6; dossier §2.6 (StepNet-lite reconstruction), §3.2 E4, T11",
    status_of_source="reconstructed",
    kinds=("numeric",),
    notes="ci scale trains on the first 1024 of the dossier's 2048 training draws (paper scale: all 2048); thresholds unchanged.",
)
def _t11(scale: str):
    seeds = E4_SEEDS[scale]
    n_train = E4_TRAIN_SIZE[scale]
    sam = [e4_fit("sam", s, n_train) for s in seeds]
    step = [e4_fit("stepnet", s, n_train) for s in seeds]
    checks = [
        at_least(
            "no gate (a = 1): test RMSE",
            e4_baseline("none").rmse,
            1e3,
            reason="dossier T11 (measured 2.1e5: Euler diverges for lambda > 20)",
        )
    ]
    for s, r in zip(seeds, sam):
        checks.append(
            at_most(
                f"SAM seed {s}: test RMSE (trained on {n_train})", r.rmse, 1.0, reason="dossier T11 (measured <= 0.23)"
            )
        )
    for s, r in zip(seeds, step):
        checks.append(
            at_most(
                f"StepNet-lite seed {s}: test RMSE (trained on {n_train})",
                r.rmse,
                5e-3,
                reason="dossier T11 (measured <= 4.4e-4)",
            )
        )
        checks.append(
            at_most(
                f"StepNet-lite seed {s}: Spearman(a, rho), t >= 1",
                r.spearman,
                -0.99,
                reason="dossier T11 (measured -1.000)",
            )
        )
    ratio = min(r.rmse for r in sam) / max(r.rmse for r in step)
    checks.append(at_least("min SAM RMSE / max StepNet-lite RMSE", ratio, 10.0, reason="dossier T11 (measured 167)"))
    return checks


@claim(
    "stiffness.controller-beats-uniform",
    title="At an equal budget of 12 Euler steps the secant step controller keeps every error small; uniform steps do not",
    statement=r"\Pr[|x_N-y(1)|>0.1]_{\rm uniform}\ge0.25,\quad \max|x_N-y(1)|_{\rm controller}\le0.12,\quad h_t=\min(\mathrm{rem},0.5/\hat\rho_t)",
    source=f"{SRC}, abstract C2 (training-free reading); dossier §2.3, §3.2 E6, T13",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _t13(scale: str):
    checks = []
    for s in E6_SEEDS:
        r = e6_run(s)
        frac = float((r.err_uniform > 0.1).double().mean())
        checks.append(
            at_least(
                f"seed {s}: uniform, fraction of 4096 samples with error > 0.1",
                frac,
                0.25,
                reason="dossier T13 (measured 0.332 / 0.334 / 0.326)",
            )
        )
        checks.append(
            at_most(
                f"seed {s}: controller, max error",
                float(r.err_controller.max()),
                0.12,
                reason="dossier T13 threshold (dossier measured 0.089; this implementation 0.111-0.119, see the chapter)",
            )
        )
    return checks


@claim(
    "stiffness.network-smoke-test",
    title="Plain, SE-gated and StepNet-lite-gated residual MLPs all learn digits (exploratory; no ordering)",
    statement=r"\overline{\mathrm{acc}}_{\rm arm}\ge0.95\ \text{for each arm},\quad a_t\in(0,1)",
    source=f"{SRC}, abstract C1, C2, C7 (paraphrased); dossier §3.2 E7, T15",
    status_of_source="reconstructed",
    kinds=("numeric",),
    notes="ci scale trains 15 epochs instead of the dossier's 60 (paper scale); the threshold is unchanged.",
)
def _t15(scale: str):
    epochs = E7_EPOCHS[scale]
    checks = []
    for arm in E7_ARMS:
        runs = [e7_run(arm, s, epochs) for s in E7_SEEDS[scale]]
        acc = float(np.mean([r.accuracy for r in runs]))
        checks.append(
            at_least(
                f"{arm}: mean test accuracy, seeds {E7_SEEDS[scale]}, {epochs} epochs",
                acc,
                0.95,
                reason="dossier T15 threshold (measured 0.981-0.985 at 60 epochs)",
            )
        )
        if arm != "plain":
            lo, hi = min(r.gate_min for r in runs), max(r.gate_max for r in runs)
            checks.append(
                holds(
                    f"{arm}: gates in (0, 1) on the test set", 0 < lo and hi < 1, details=f"range [{lo:.3g}, {hi:.3g}]"
                )
            )
    return checks
