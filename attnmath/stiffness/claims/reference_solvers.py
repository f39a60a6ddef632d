r"""Claims on adaptive reference solvers: accurate solutions of Van der Pol take steps that track
rho(J), and on Robertson's kinetics an explicit method needs far more steps than an implicit one.

The ODE side of the abstract's stiffness phenomenon, with classical solvers (scipy's ``solve_ivp``);
the thresholds leave margin over values measured here (see the book's Sources appendix).
Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

from unittest import mock

from attnmath.base.report import sig
from attnmath.claims import at_least, at_most, claim, close, control

from .. import experiments
from ..experiments import robertson_run, vdp_run
from .sizes import SIZES

SRC = "huang2023understanding, abstract (the stiffness phenomenon, ODE side); hairer1996solving"


@claim(
    "stiffness.sp-in-accurate-solutions",
    title="Accurate adaptive solutions of Van der Pol take strongly non-uniform steps that track rho(J)",
    statement=r"\mathrm{Spearman}(h_n,\rho(J(y_n)))\le-0.6,\quad h_{\max}/h_{\min}\ge50\quad(\text{RK45},\ \mu\in\{10,100\})",
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
                f"mu={mu:g}, rtol={rtol:g}: h_max / h_min",
                r.ratio,
                50.0,
                reason="threshold (measured >= 102 on one machine, >= 116 on another)",
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
    title="On Robertson's kinetics explicit RK45 needs over 100 times the steps of implicit Radau; both agree",
    statement=r"\#\mathrm{steps}_{\rm RK45}/\#\mathrm{steps}_{\rm Radau}\ge100,\quad |y_1^{\rm RK45}(40)-y_1^{\rm Radau}(40)|\le10^{-3}",
    source=f"{SRC}; robertson1966solution; classical, thresholds measured here, see the book's Sources appendix",
    status_of_source="classical",
    kinds=("numeric",),
)
def _robertson_explicit_vs_implicit(tier: str):
    runs = {m: robertson_run(m) for m in ("RK45", "Radau", "BDF", "LSODA")}
    ratio = runs["RK45"][0] / runs["Radau"][0]
    checks = [at_least("RK45 steps / Radau steps", ratio, 100.0, reason="threshold (measured here 34554 / 29 = 1191)")]
    for m in ("Radau", "BDF", "LSODA"):
        checks.append(
            close(
                f"y_1(40): RK45 vs {m}",
                runs["RK45"][2][0],
                runs[m][2][0],
                atol=1e-3,
                reason="tolerance 1e-3 (rtol 1e-4 solves)",
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
