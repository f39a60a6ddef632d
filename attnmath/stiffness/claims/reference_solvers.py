r"""Claims on adaptive reference solvers: accurate solutions of Van der Pol take steps that track
rho(J), and on Robertson's kinetics an explicit method needs far more steps than an implicit one.

The ODE side of the abstract's stiffness phenomenon, with classical solvers (scipy's ``solve_ivp``);
the thresholds leave margin over values measured here (see the book's Sources appendix).
Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

from unittest import mock

import numpy as np

from attnmath.base.report import sig
from attnmath.claims import at_least, at_most, claim, control

from .. import experiments
from ..experiments import robertson_run, vdp_run
from .sizes import SIZES

SRC = "huang2023understanding, abstract (the stiffness phenomenon, ODE side); hairer1996solving"


@claim(
    "stiffness.sp-in-accurate-solutions",
    title="Accurate adaptive solutions of Van der Pol take strongly non-uniform steps that track rho(J)",
    statement=r"\mathrm{Spearman}(h_n,\rho(J(y_n)))\le-0.6,\quad h_{\max}/h_{\min}\big|_{t\ge0.05T}\ge10\quad(\text{RK45},\ \mu\in\{10,100\})",
    source=f"{SRC}; classical, thresholds measured here, see the book's Sources appendix",
    status_of_source="classical",
    kinds=("numeric",),
)
def _vdp_steps_track_stiffness(tier: str):
    checks = []
    for mu, rtol in SIZES[tier].vdp_cases:
        r = vdp_run(mu, rtol)
        checks.append(
            at_most(
                f"mu={mu:g}, rtol={rtol:g}: Spearman(h_n, rho(J)) over ~{sig(r.n_steps)} steps",
                r.spearman,
                -0.6,
                reason="threshold with a tight margin (measured here <= -0.71 at rtol 1e-3, 1e-6)",
            )
        )
        checks.append(
            at_least(
                f"mu={mu:g}, rtol={rtol:g}: h_max / h_min over the settled steps (t >= 0.05 T, last step left out)",
                r.settled_ratio,
                10.0,
                reason=(
                    "an order of magnitude of step variation once the start-up ramp is over (measured here: "
                    "mu = 10: 19-25, mu = 100: 73-91; the non-stiff mu = 1: 2.4-4.8)"
                ),
            )
        )
    return checks


@control("stiffness.sp-in-accurate-solutions", "a non-stiff oscillator: Van der Pol at mu = 1 instead of 10 and 100")
def _vdp_not_stiff():
    def vdp_mu_one(mu, rtol, method="RK45"):
        return experiments.vdp_run(1.0, rtol, method)

    with mock.patch(f"{__name__}.vdp_run", vdp_mu_one):
        yield


@claim(
    "stiffness.robertson-explicit-vs-implicit",
    title="On Robertson's kinetics explicit RK45 needs over 100 times the steps of implicit Radau; all reach the reference y(40)",
    statement=r"\#\mathrm{steps}_{\rm RK45}/\#\mathrm{steps}_{\rm Radau}\ge100,\quad \frac{|y_i(40)-y_i^{\rm ref}(40)|}{10^{-4}|y_i^{\rm ref}|+10^{-8}}\le10\ \text{(each solver)}",
    source=f"{SRC}; robertson1966solution; classical, thresholds measured here, see the book's Sources appendix",
    status_of_source="classical",
    kinds=("numeric",),
)
def _robertson_explicit_vs_implicit(tier: str):
    runs = {m: robertson_run(m) for m in ("RK45", "Radau", "BDF", "LSODA")}
    ratio = runs["RK45"][0] / runs["Radau"][0]
    checks = [at_least("RK45 steps / Radau steps", ratio, 100.0, reason="threshold (measured here 34554 / 29 = 1191)")]
    ref = np.array(experiments.ROBERTSON_Y40)
    scale = experiments.ROBERTSON_RTOL * np.abs(ref) + experiments.ROBERTSON_ATOL
    for m in ("RK45", "Radau", "BDF", "LSODA"):
        checks.append(
            at_most(
                f"{m}: max_i |y_i(40) - y_i^ref(40)| / (rtol |y_i^ref| + atol), against the reference value",
                float(np.max(np.abs(runs[m][2] - ref) / scale)),
                10.0,
                reason=(
                    "the solver's own error norm (rtol 1e-4, atol 1e-8) times a global-error growth of 10 "
                    "(measured here <= 0.7 for RK45 and Radau, <= 3.8 for BDF and LSODA)"
                ),
            )
        )
    return checks


@control(
    "stiffness.robertson-explicit-vs-implicit",
    "non-stiff kinetics: rate constants (0.04, 1, 3) instead of (0.04, 1e4, 3e7)",
)
def _robertson_not_stiff():
    with (
        mock.patch.object(experiments, "ROBERTSON_K", (0.04, 1.0, 3.0)),
        mock.patch(f"{__name__}.robertson_run", experiments.robertson_run.__wrapped__),
    ):
        yield
