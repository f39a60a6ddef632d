r"""Claims of the Scan and Snap chapter: the phase transition ("snap", ``tian2023scan``, §6 and Theorem 4).

Includes the correction of the paper's printed :math:`B_n(t) = \tfrac14\ln(C_0+4\Gamma)` (Eqns. 124
and 129) to :math:`\tfrac14\ln(1+4\Gamma/C_0)`, the solution of its own ODE from :math:`B_n(0) = 0`:
the printed form is off by the constant :math:`\tfrac14\ln C_0` (reconstructed here; see the book's
Sources appendix). Here :math:`t_0 = 2K\ln M/\eta_Y`, Lemma 9's :math:`(1+\omega_1)` factor dropped.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import sympy as sp

from attnmath.claims import at_least, at_most, claim, close, control, holds, symbolic

from .. import closed_forms as cf
from .sizes import SIZES

SRC = "tian2023scan"


@claim(
    "scansnap.s10-snap-closed-form",
    title="Theorem 4 by sympy: Gamma(h), the corrected B_n = (1/4) ln(1 + 4 Gamma/C0), its two branches, B_n(t0) free of eta_Z",
    statement=r"\Gamma = \frac{\eta_Z}{\eta_Y}\frac{K(M-1)^2}{2}h^2,\quad B_n(t) = \tfrac14\ln\!\Big(1+\frac{4\Gamma(t)}{C_0}\Big)\ \text{(the paper prints }\tfrac14\ln(C_0+4\Gamma)\text{, off by }\tfrac14\ln C_0)",
    source=f"{SRC}, Theorem 4, Eqns. 124, 129 and 132-133; the corrected constant of B_n and the closed form of "
    "Gamma are reconstructed here (see the book's Sources appendix)",
    status_of_source="reconstructed",
    kinds=("symbolic",),
)
def _snap_closed_form_by_sympy():
    t, tau, u, M, K, eY, eZ, C0, nu = sp.symbols("t tau u M K eta_Y eta_Z C_0 nu", positive=True)
    h = sp.Function("h")(tau)  # h(tau), tau = t/K
    Gam_tau = eZ / eY * K * (M - 1) ** 2 / 2 * h**2
    gamma = (M - 1) ** 2 * h / ((M - 1) + sp.exp(M * h))
    dGam_dt = (sp.diff(Gam_tau, tau) / K).subs(sp.Derivative(h, tau), eY / ((M - 1) + sp.exp(M * h)))
    G = sp.Function("Gamma")(t)
    B = sp.log(1 + 4 * G / C0) / 4
    B_printed = sp.log(C0 + 4 * G) / 4
    z = -sp.log(1 + 4 * G / C0) / 4
    g0 = sp.symbols("g", positive=True)  # a value of Gamma
    # the two regimes of h: t(u) = K (e^u + (M-1)u - 1)/(M eta_Y) with u = M h(t/K) (Lemma 6)
    t_of_u = K * (sp.exp(u) + (M - 1) * u - 1) / (M * eY)

    def four_gamma_over_c0(hval):
        return 4 * (eZ / eY * K * (M - 1) ** 2 / 2 * hval**2) / C0

    H = sp.Function("H")  # h depends on (eta_Y, tau) only through eta_Y * tau (implicit equation)
    t0 = 2 * K * sp.log(M) / eY
    B_t0 = sp.log(1 + 4 * (eZ / eY * K * (M - 1) ** 2 / 2 * H(eY * t0 / K) ** 2) / C0) / 4
    return [
        symbolic("dGamma/dt = eta_Z gamma(t) for Gamma = (eta_Z/eta_Y) K (M-1)^2 h(t/K)^2 / 2", dGam_dt - eZ * gamma),
        symbolic(
            "B = (1/4) ln(1 + 4 Gamma/C0) solves dB/dt = Gamma'/(C0 + 4 Gamma)",
            sp.diff(B, t) - sp.diff(G, t) / (C0 + 4 * G),
        ),
        symbolic("and B = 0 when Gamma = 0", B.subs(G, 0)),
        symbolic(
            "z = -(1/4) ln(1 + 4 Gamma/C0) solves dz/dt = -Gamma' e^{4z}/C0, z(0) = 0",
            sp.diff(z, t) + sp.diff(G, t) * sp.exp(4 * z) / C0,
        ),
        symbolic(
            "printed (1/4) ln(C0 + 4 Gamma) = corrected + (1/4) ln C0",
            sp.expand_log((B_printed - B).subs(G, g0), force=True) - sp.log(C0) / 4,
        ),
        symbolic("so the printed form starts at B(0) = (1/4) ln C0, not 0", B_printed.subs(G, 0) - sp.log(C0) / 4),
        symbolic(
            "scanning regime: dt/du at u = 0 is K/eta_Y, i.e. h(t/K) ~ eta_Y t/(K M)",
            sp.diff(t_of_u, u).subs(u, 0) - K / eY,
        ),
        symbolic(
            "snapping regime: ln(M eta_Y t(u)/K) - u -> 0 as u -> oo, i.e. h ~ ln(M eta_Y t/K)/M",
            sp.limit(sp.log(M * eY * t_of_u / K) - u, u, sp.oo),
        ),
        symbolic(
            "branch t < t0': 4 Gamma/C0 = 2 (M-1)^2 eta_Y eta_Z t^2/(C0 K M^2)",
            four_gamma_over_c0(eY * t / (K * M)) - 2 * (M - 1) ** 2 * eY * eZ * t**2 / (C0 * K * M**2),
        ),
        symbolic(
            "branch t >= t0: 4 Gamma/C0 = 2 K (M-1)^2 (eta_Z/eta_Y) ln^2(M eta_Y t/K)/(C0 M^2)",
            four_gamma_over_c0(sp.log(M * eY * t / K) / M)
            - 2 * K * (M - 1) ** 2 * eZ / eY * sp.log(M * eY * t / K) ** 2 / (C0 * M**2),
        ),
        symbolic("B_n(t0) at fixed nu = eta_Y/eta_Z does not depend on eta_Z", sp.diff(B_t0.subs(eY, nu * eZ), eZ)),
    ]


@control("scansnap.s10-snap-closed-form", "logarithms in base 10 instead of natural logarithms")
def _snap_with_log10():
    ln = sp.log

    def log10(x, *base):
        return ln(x, *base) if base else ln(x, 10)

    with mock.patch.object(sp, "log", log10):
        yield


@claim(
    "scansnap.s10-snap-numeric",
    title="The snap: ODE = corrected closed form, B(t0) fixed by (K, M, nu), slope 1/2 then ~1/(2 ln t), ordering in eta_Y",
    statement=r"B_n(t) = \tfrac14\ln(1+4\Gamma/C_0);\ \tfrac{dB}{d\ln t}\approx\tfrac12\ (t<t_0'),\ \approx\tfrac1{2\ln(M\eta_Yt/K)}\ (t\gg t_0);\ B(T)\downarrow\text{ in }\eta_Y",
    source=f"{SRC}, Theorem 4, Fig. 3, Fig. 9, consequences (a)-(c); with the corrected constant of B_n and a "
    "C0 of our choosing",
    status_of_source="reconstructed",
    kinds=("numeric",),
    notes=(
        "Reconstructed, not stated: the checks assert the corrected B_n = (1/4) ln(1 + 4 Gamma/C0) (the paper "
        "prints (1/4) ln(C0 + 4 Gamma)), with C0 = 0.1 and 1e-6 chosen here (the paper leaves C0 unstated for "
        "Fig. 3), and slope bands and reference values calibrated here. The directions (a)-(c) and the "
        "eta_Z-independence of B(t0) are the paper's. "
        "The exact local slope dB/d ln t falls to 0.489 at t = 0.25 t0 (h(t/K) leaves its linear regime), "
        "so the 0.5 +- 0.01 band calibrated here holds for the local slope on [1, 0.2 t0] and for the "
        "least-squares slope on the whole window [1, 0.25 t0]; both are checked."
    ),
)
def _snap_numerics(tier: str):
    K, M, eY, eZ, C0 = 10, 1000, 1.0, 0.5, 0.1
    tt = np.linspace(0.0, 700.0, SIZES[tier].snap_times)
    z_ode, B_ode = cf.snap_ode(tt, M, K, eY, eZ, C0)
    B = cf.B_snap(tt, M, K, eY, eZ, C0)
    checks = [
        close(
            "ODE B(t) vs (1/4) ln(1 + 4 Gamma/C0), t in [0, 700]",
            B_ode,
            B,
            atol=1e-8,
            reason="solve_ivp rtol 1e-12 on B = O(1): <= 1e-8 (measured here: 2e-9)",
        ),
        close("ODE z(t) vs -(1/4) ln(1 + 4 Gamma/C0)", z_ode, -B, atol=1e-8, reason="same solve as above"),
        close(
            "printed (1/4) ln(C0 + 4 Gamma) misses the ODE by the constant (1/4) ln C0",
            B_ode - cf.B_snap_printed(tt, M, K, eY, eZ, C0),
            np.full_like(tt, -0.25 * np.log(C0)),
            atol=1e-8,
            reason="same solve as above",
        ),
    ]
    for nu, Mf in ((10.0, 100), (1.0, 10_000)):
        vals = [float(cf.B_snap(cf.t0_snap(Mf, K, nu * ez), Mf, K, nu * ez, ez, C0)) for ez in (0.5, 1, 2, 4, 8)]
        checks.append(
            at_most(
                f"spread of B(t0) over eta_Z in (0.5..8) at nu = {nu:g}, M = {Mf} (C0 = 0.1, K = 10)",
                max(vals) - min(vals),
                1e-12,
                reason="identical up to float64 roundoff of eta_Y * (2 K ln M / eta_Y)",
            )
        )
    Ms, C0s = 1000, 1e-6
    t0 = cf.t0_snap(Ms, K, 1.0)
    win = np.geomspace(1.0, 0.25 * t0, 400)
    fit = float(np.polyfit(np.log(win), cf.B_snap(win, Ms, K, 1.0, 1.0, C0s), 1)[0])
    local = cf.dB_dlog_t(np.geomspace(1.0, 0.2 * t0, 400), Ms, K, 1.0, 1.0, C0s)
    checks += [
        close(
            "least-squares slope dB/d ln t on [1, 0.25 t0] (C0 = 1e-6, M = 1e3, K = 10, eta = 1)",
            fit,
            0.5,
            atol=0.01,
            reason="band 0.5 +- 0.01 calibrated here",
        ),
        close(
            "exact local slope on [1, 0.2 t0]",
            local,
            np.full_like(local, 0.5),
            atol=0.01,
            reason="band 0.5 +- 0.01 calibrated here",
        ),
        at_least(
            "exact local slope at 0.25 t0 (0.489: h leaves its linear regime)",
            float(cf.dB_dlog_t(0.25 * t0, Ms, K, 1.0, 1.0, C0s)),
            0.48,
            reason="measured here 0.4893; the 0.5 +- 0.01 band is checked on [1, 0.2 t0] above",
        ),
    ]
    late = np.geomspace(10 * t0, 1e4 * t0, 200)
    ratio = cf.dB_dlog_t(late, Ms, K, 1.0, 1.0, C0s) * 2 * np.log(Ms * late / K)
    checks += [
        at_most(
            "max |slope / (1/(2 ln(M eta_Y t/K))) - 1| for t in [10 t0, 1e4 t0]",
            np.abs(ratio - 1).max(),
            0.15,
            reason="calibrated here: within 15% for t >= 10 t0",
        ),
        at_most("same ratio at t = 1e4 t0", abs(ratio[-1] - 1), 0.01, reason="calibrated here: equal at 1e4 t0 to 1%"),
    ]
    Bs = np.array([float(cf.B_snap(700.0, M, K, ey, 0.5, 0.1)) for ey in (0.5, 1, 2, 5)])
    checks += [
        holds(
            "B(700) strictly decreasing over eta_Y in (0.5, 1, 2, 5) (eta_Z = 0.5, C0 = 0.1)",
            bool(np.all(np.diff(Bs) < 0)),
            details=" ".join(f"{b:.3f}" for b in Bs),
        ),
        close(
            "B(700) vs the values measured here, 2.48, 2.35, 2.21, 2.02",
            Bs,
            np.array([2.48, 2.35, 2.21, 2.02]),
            atol=0.006,
            reason="reference values rounded to 2 decimals",
        ),
    ]
    return checks


@control("scansnap.s10-snap-numeric", "B_n as printed in the paper, (1/4) ln(C0 + 4 Gamma) (off by (1/4) ln C0)")
def _snap_as_printed():
    with mock.patch.object(cf, "B_snap", cf.B_snap_printed):
        yield
