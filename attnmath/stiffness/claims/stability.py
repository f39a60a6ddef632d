r"""Claims on classical linear stability: Euler's disc, the real stability intervals of RK1-RK4, local
error orders, and the stiff 2x2 system whose Euler threshold is h = 2/1000.

Classical numerical analysis (hairer1996solving; see the book's Sources appendix); the chapter uses
these facts to read a residual stack as explicit Euler. Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import sympy as sp

from attnmath.base.numerics import numpy_rng
from attnmath.claims import at_least, at_most, claim, close, control, holds, symbolic

from .. import experiments, stability
from ..experiments import STIFF_A, stiff_2x2_euler, stiff_2x2_exact
from ..stability import (
    euler_max_step,
    fixed_step_solve,
    real_stability_boundary,
    stability_function,
    stability_function_sympy,
    stiffness_ratio,
)
from .sizes import SIZES

SRC = "huang2023understanding; hairer1996solving"
CLASSICAL = "classical, see the book's Sources appendix"


@claim(
    "stiffness.euler-stability",
    title="Explicit Euler is stable iff |1 + h lambda| <= 1: h_max = 2/|lambda|, or -2 Re(lambda)/|lambda|^2",
    statement=r"|1+z|\le1;\quad h_{\max}=\frac{2}{|\lambda|}\ (\lambda<0),\quad h_{\max}=\frac{-2\,\mathrm{Re}\,\lambda}{|\lambda|^2}\ (\lambda\in\mathbb C)",
    source=f"{SRC}; Euler's stability disc, {CLASSICAL}",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _euler_stability_disc(tier: str):
    S = SIZES[tier]
    al, be, h = sp.symbols("alpha beta h", real=True)
    roots = sp.solve(sp.Eq((1 + h * al) ** 2 + (h * be) ** 2, 1), h)
    nonzero = [r for r in roots if r != 0]
    lam = sp.Symbol("lambda", negative=True)
    checks = [
        holds("(1+h alpha)^2 + (h beta)^2 = 1 has roots h = 0 and one other", len(roots) == 2 and len(nonzero) == 1),
        symbolic("nonzero root - (-2 alpha/(alpha^2+beta^2))", nonzero[0] + 2 * al / (al**2 + be**2)),
        symbolic("real lambda < 0: 1 + h lambda = -1 at h = 2/|lambda|", (1 + (2 / sp.Abs(lam)) * lam) + 1),
    ]
    n = S.complex_eigenvalues
    rng = numpy_rng(0)
    r = 10 ** rng.uniform(-1, 2, n)
    theta = rng.uniform(np.pi / 2 + 0.05, 3 * np.pi / 2 - 0.05, n)
    lam_c = r * np.exp(1j * theta)
    hmax = euler_max_step(lam_c)
    hs = hmax * 10 ** rng.uniform(-0.5, 0.5, n)
    keep = np.abs(hs / hmax - 1) > 0.01  # classification is asserted away from a +-1% band
    amp = np.abs(stability_function("euler", hs * lam_c))
    with np.errstate(over="ignore"):
        grows = amp**200 > 1  # |y_200| > |y_0| after 200 steps of y <- (1 + h lambda) y
    agree = (grows == (hs > hmax))[keep]
    checks.append(
        holds(f"{int(keep.sum())} of {n} complex lambdas (rng 0): grows in 200 steps iff h > h_max", bool(agree.all()))
    )
    return checks


@control(
    "stiffness.euler-stability", "h_max = 2/|lambda| for complex lambda (the real-axis formula, Im lambda ignored)"
)
def _real_axis_max_step():
    def two_over_abs(lam):
        stability.euler_max_step(lam)  # same validation
        return 2.0 / np.abs(np.asarray(lam))

    with mock.patch(f"{__name__}.euler_max_step", two_over_abs):
        yield


@claim(
    "stiffness.rk-real-boundaries",
    title="Real stability intervals of RK1-RK4: [-2,0], [-2,0], [-2.5127453266,0], [-2.7852935634,0]",
    statement=r"\beta_{\rm RK3}:\ z^3+3z^2+6z+12=0,\quad \beta_{\rm RK4}:\ z^3+4z^2+12z+24=0",
    source=f"{SRC}; real stability intervals of explicit Runge-Kutta methods, {CLASSICAL}",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _rk_real_stability_boundaries(tier: str):
    z = sp.Symbol("z")
    R = {m: stability_function_sympy(m, z) for m in ("euler", "rk2", "rk3", "rk4")}
    cbrt = sp.cbrt(108 + 27 * sp.sqrt(17))
    closed = -1 - cbrt / 3 + 3 / cbrt
    checks = [
        symbolic("R_Euler(-2) = -1", R["euler"].subs(z, -2) + 1),
        symbolic("R_RK2(-2) = 1", R["rk2"].subs(z, -2) - 1),
        symbolic(
            "6 (R_RK3 + 1) = z^3 + 3z^2 + 6z + 12", sp.expand(6 * (R["rk3"] + 1) - (z**3 + 3 * z**2 + 6 * z + 12))
        ),
        symbolic(
            "24 (R_RK4 - 1) = z (z^3 + 4z^2 + 12z + 24)",
            sp.expand(24 * (R["rk4"] - 1) - z * (z**3 + 4 * z**2 + 12 * z + 24)),
        ),
        symbolic(
            "closed form's minimal polynomial is z^3+3z^2+6z+12",
            sp.minimal_polynomial(closed, z) - (z**3 + 3 * z**2 + 6 * z + 12),
        ),
    ]
    exact = {
        "euler": -2.0,
        "rk2": -2.0,
        "rk3": float(sp.N(sp.real_roots(z**3 + 3 * z**2 + 6 * z + 12)[0], 30)),
        "rk4": float(sp.N(sp.real_roots(z**3 + 4 * z**2 + 12 * z + 24)[0], 30)),
    }
    checks.append(
        close(
            "sympy root vs closed form (RK3)",
            float(sp.N(closed, 30)),
            exact["rk3"],
            atol=1e-14,
            reason="float64 rounding of two 30-digit evaluations",
        )
    )
    for m, ref in exact.items():
        checks.append(
            close(
                f"brentq on |R(z)| - 1 vs sympy ({m}, {ref:.10f})",
                real_stability_boundary(m),
                ref,
                atol=1e-10,
                reason="tolerance 1e-10 (brentq xtol 1e-15)",
            )
        )
    checks.append(
        holds(
            "backward Euler and trapezoid: no left end (A-stable)",
            all(real_stability_boundary(m) == -math.inf for m in ("backward_euler", "trapezoid")),
        )
    )
    return checks


@control(
    "stiffness.rk-real-boundaries", "boundary read off the 20001-point grid of [-10, 0] without the brentq refinement"
)
def _boundary_without_refinement():
    def grid_boundary(method, zmax=10.0):
        if method not in stability.EXPLICIT:
            return -math.inf
        grid = -np.linspace(0.0, zmax, 20001)[1:]
        out = np.nonzero(np.abs(stability.stability_function(method, grid)) - 1.0 > 0)[0]
        return float(grid[out[0]]) if out.size else -math.inf

    with mock.patch(f"{__name__}.real_stability_boundary", grid_boundary):
        yield


@claim(
    "stiffness.local-error-order",
    title="Local error e^z - R_p(z) = z^(p+1)/(p+1)! + ...; global error ratios 2 (Euler) and 16 (RK4)",
    statement=r"e^z-R_p(z)=\frac{z^{p+1}}{(p+1)!}+O(z^{p+2})\ (p=1..4),\quad e^z-R_{\rm BE}=-\tfrac{z^2}{2}+\dots,\quad e^z-R_{\rm trap}=-\tfrac{z^3}{12}+\dots",
    source=f"{SRC}; local truncation errors and observed orders, {CLASSICAL}",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _local_error_orders(tier: str):
    S = SIZES[tier]
    z = sp.Symbol("z")
    checks = []
    for m, p in (("euler", 1), ("rk2", 2), ("rk3", 3), ("rk4", 4)):
        lead = sp.series(sp.exp(z) - stability_function_sympy(m, z), z, 0, p + 2).removeO()
        checks.append(
            symbolic(f"{m}: e^z - R = z^{p + 1}/{p + 1}! + O(z^{p + 2})", lead - z ** (p + 1) / sp.factorial(p + 1))
        )
    for m, lead_ref, order in (("backward_euler", -(z**2) / 2, 3), ("trapezoid", -(z**3) / 12, 4)):
        lead = sp.series(sp.exp(z) - stability_function_sympy(m, z), z, 0, order).removeO()
        checks.append(symbolic(f"{m}: leading local error", lead - lead_ref))
    # k = 4..8; the paper tier extends Euler to k = 12. RK4 stays at k <= 8: at h = 2^-10 its global
    # error (~3e-15) is round-off, and the measured ratio was 21.7.
    k_max = {"euler": S.euler_halvings_k_max, "rk4": 8}
    for m, lo, hi in (("euler", 1.95, 2.10), ("rk4", 15.5, 17.0)):
        ks = range(4, k_max[m] + 1)
        errs = [
            abs(fixed_step_solve(lambda y: -y, np.array([1.0]), 2.0**-k, 2**k, m)[-1, 0] - math.exp(-1)) for k in ks
        ]
        ratios = [errs[i] / errs[i + 1] for i in range(len(errs) - 1)]
        checks.append(
            at_least(
                f"{m}: min error ratio h -> h/2 (k={ks[0]}..{ks[-1]})",
                min(ratios),
                lo,
                reason=f"band [{lo}, {hi}] around 2^order (order {1 if m == 'euler' else 4})",
            )
        )
        checks.append(
            at_most(f"{m}: max error ratio h -> h/2", max(ratios), hi, reason=f"band [{lo}, {hi}] around 2^order")
        )
    return checks


@control(
    "stiffness.local-error-order", "RK4 with its third stage at y + h/2 k1 instead of y + h/2 k2 (order 2 on y' = -y)"
)
def _rk4_wrong_third_stage():
    def wrong_rk4_step(f, y, h, method):
        if method != "rk4":
            return stability.rk_step(f, y, h, method)
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k1)
        k4 = f(y + h * k3)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    def solve(f, y0, h, n_steps, method="euler"):
        ys = [np.asarray(y0, dtype=np.float64)]
        for _ in range(n_steps):
            ys.append(wrong_rk4_step(f, ys[-1], h, method))
        return np.stack(ys)

    with mock.patch(f"{__name__}.fixed_step_solve", solve):
        yield


@claim(
    "stiffness.stiff-2x2-threshold",
    title="The 2x2 system with eigenvalues -1, -1000 (S = 1000): Euler stable at h = 0.0019, divergent at 0.0021",
    statement=r"A=\begin{pmatrix}998&1998\\-999&-1999\end{pmatrix},\ \sigma(A)=\{-1,-1000\},\ S=1000,\ h_{\max}=0.002",
    source=f"{SRC}; the classic stiff 2x2 system, {CLASSICAL}",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _stiff_2x2_threshold(tier: str):
    A = sp.Matrix(STIFF_A.astype(int).tolist())
    t = sp.Symbol("t", real=True)
    closed = sp.Matrix([2 * sp.exp(-t) - sp.exp(-1000 * t), -sp.exp(-t) + sp.exp(-1000 * t)])
    ev = A.eigenvals()
    _, _, err_ok = stiff_2x2_euler(0.0019)
    _, _, err_bad = stiff_2x2_euler(0.0021)
    ts = np.linspace(0, 1, 11)
    return [
        holds("eigenvals = {-1, -1000}", set(ev) == {-1, -1000}),
        symbolic("exp(A t) (1, 0) - closed form", (A * t).exp() * sp.Matrix([1, 0]) - closed),
        close(
            "stiffness_ratio(A)",
            stiffness_ratio(STIFF_A),
            1000.0,
            atol=1e-9,
            reason="float64 eigenvalues of a matrix with entries ~2e3: 1e3 x 2e3 eps",
        ),
        close(
            "closed form vs sympy at t = 0..1",
            stiff_2x2_exact(ts),
            np.array([[float(c.subs(t, ti)) for c in closed] for ti in ts]),
            atol=1e-15,
            reason="float64 exp, 4 eps",
        ),
        at_most("Euler h = 0.0019: error at t ~ 1", err_ok, 2e-3, reason="stable side (measured here 7.0e-4)"),
        at_least("Euler h = 0.0021: error at t ~ 1", err_bad, 1e10, reason="unstable side (measured here 5.0e19)"),
    ]


@control(
    "stiffness.stiff-2x2-threshold", "backward Euler in place of explicit Euler (A-stable: no blow-up at h = 0.0021)"
)
def _backward_euler_on_the_2x2():
    def backward_euler(h, t_end=1.0):
        return experiments.stiff_2x2_euler(h, t_end, implicit=True)

    with mock.patch(f"{__name__}.stiff_2x2_euler", backward_euler):
        yield


@control(
    "stiffness.stiff-2x2-threshold", "a mildly stiff system: eigenvalues -1 and -100 (S = 100) instead of -1 and -1000"
)
def _mildly_stiff_2x2():
    with mock.patch(f"{__name__}.STIFF_A", np.array([[98.0, 198.0], [-99.0, -199.0]])):
        yield
