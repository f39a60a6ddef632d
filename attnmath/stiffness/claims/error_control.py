r"""Claims on local error and step-size control: the Heun-Euler estimate from two residual outputs,
the error-optimal step and the classical controller, and the secant controller against uniform steps.

The first two are classical (hairer1993solving, hairer1996solving); reading them as what an attention
gate would need, and the controller experiment, are reconstructed (see the book's Sources appendix).
Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import sympy as sp
import torch

from attnmath.base.numerics import torch_generator
from attnmath.claims import at_least, at_most, claim, close, control, symbolic

from .. import controller, experiments, gates
from ..controller import classical_step_update, error_optimal_step
from ..experiments import controller_vs_uniform
from ..gates import heun_euler
from .sizes import SIZES

SRC = "huang2023understanding; hairer1996solving"


@claim(
    "stiffness.heun-euler-estimate",
    title="Heun minus Euler = h/2 (f(x + h f(x)) - f(x)): two consecutive residual outputs give the error estimate",
    statement=r"x_n+\tfrac h2\big(f(x_n)+f(x_n+hf(x_n))\big)-\big(x_n+hf(x_n)\big)=\tfrac h2\big(f(x^E_{n+1})-f(x_n)\big)",
    source=f"{SRC}; the embedded Euler-Heun pair, classical, see the book's Sources appendix",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _heun_minus_euler_estimate(tier: str):
    S = SIZES[tier]
    x, h, lam = sp.symbols("x h lambda")
    f = sp.Function("f")
    xe = x + h * f(x)
    diff = (x + h / 2 * (f(x) + f(xe))) - xe - h / 2 * (f(xe) - f(x))
    lin = (h / 2 * (lam * (x + h * lam * x) - lam * x)) - h**2 * lam**2 * x / 2
    g = torch_generator(0)
    d = 8
    W1, W2 = (torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d) for _ in range(2))
    xs = torch.randn(S.heun_states, d, generator=g, dtype=torch.float64)
    x_h, x_e, est = heun_euler(lambda u: torch.tanh(u @ W1.T) @ W2.T, xs, 0.1)
    return [
        symbolic("Heun - Euler - h/2 (f(x^E) - f(x)) for a symbolic f", diff),
        symbolic("on f = lambda x the estimate is h^2 lambda^2 x / 2", sp.expand(lin)),
        close(
            "random tanh MLP (seed 0, d=8): (x_H - x_E) - estimate",
            x_h - x_e,
            est,
            atol=1e-12,
            reason="tolerance 1e-12 (float64)",
        ),
    ]


@control("stiffness.heun-euler-estimate", "error estimate without the factor 1/2: h (f(x^E) - f(x))")
def _estimate_without_half():
    def heun_euler_full_h(f, x, h):
        x_h, x_e, est = gates.heun_euler(f, x, h)
        return x_h, x_e, 2 * est

    with mock.patch(f"{__name__}.heun_euler", heun_euler_full_h):
        yield


@claim(
    "stiffness.error-optimal-step",
    title="The Euler step that meets a local tolerance is proportional to 1/|lambda|; the standard controller",
    statement=r"\mathrm{LTE}=\tfrac{h^2\lambda^2}{2}|x|\ \Rightarrow\ h^\star=\frac{\sqrt{2\,\mathrm{tol}/|x|}}{|\lambda|},\quad h_{\rm new}=h\min\!\big(f_{\max},\max(f_{\min},\kappa(\mathrm{tol}/\mathrm{err})^{1/(q+1)})\big)",
    source=f"{SRC}; hairer1993solving, II.4 (step size control); classical, see the book's Sources appendix",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _error_optimal_step_and_controller(tier: str):
    h, lam, tol = sp.symbols("h lambda tol", positive=True)
    x = sp.Symbol("x", positive=True)
    lte = sp.series(sp.exp(-h * lam) - (1 - h * lam), h, 0, 3).removeO() * x
    sol = [s for s in sp.solve(sp.Eq(lte, tol), h) if s.is_positive]
    hs = np.array([error_optimal_step(1e-6, xv, lv) for xv, lv in ((1.0, 1.0), (1.0, 10.0), (2.0, 100.0), (0.5, -3.0))])
    ref = np.sqrt(2e-6 / np.array([1.0, 1.0, 2.0, 0.5])) / np.array([1.0, 10.0, 100.0, 3.0])
    return [
        symbolic("leading local error of Euler on x' = -lambda x: h^2 lambda^2 x / 2", lte - h**2 * lam**2 * x / 2),
        symbolic("h* = sqrt(2 tol / x) / lambda", sol[0] - sp.sqrt(2 * tol / x) / lam),
        close(
            "error_optimal_step vs formula", hs, ref, atol=1e-15, reason="float64 sqrt and division of O(1e-3) numbers"
        ),
        close(
            "controller at err = tol grows h by kappa = 0.9",
            classical_step_update(0.1, 1e-4, 1e-4),
            0.09,
            atol=1e-15,
            reason="float64, 2 eps x 0.1",
        ),
        close(
            "controller clamps to fmin = 0.2 and fmax = 5",
            np.array([classical_step_update(1.0, 1e6, 1e-6), classical_step_update(1.0, 1e-12, 1.0)]),
            np.array([0.2, 5.0]),
            atol=0.0,
            reason="exact clamp",
        ),
    ]


@control(
    "stiffness.error-optimal-step",
    "h* = sqrt(tol/|x|)/|lambda| (the 1/2 of the local error h^2 lambda^2 |x| / 2 dropped)",
)
def _optimal_step_without_two():
    def step_without_two(tol, x, lam):
        return controller.error_optimal_step(tol, x, lam) / math.sqrt(2)

    with mock.patch(f"{__name__}.error_optimal_step", step_without_two):
        yield


@claim(
    "stiffness.controller-beats-uniform",
    title="At an equal budget of 12 Euler steps the secant step controller keeps every error small; uniform steps do not",
    statement=r"\Pr[|x_N-y(1)|>0.1]_{\rm uniform}\ge0.25,\quad \max|x_N-y(1)|_{\rm controller}\le0.12,\quad h_t=\min(\mathrm{rem},0.5/\hat\rho_t)",
    source=(
        "huang2023understanding, abstract (measuring stiffness at the feature level, read training-free); "
        "reconstructed and measured here, see the book's Sources appendix"
    ),
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _controller_beats_uniform(tier: str):
    S = SIZES[tier]
    checks = []
    for s in S.controller_seeds:
        r = controller_vs_uniform(s)
        frac = float((r.err_uniform > 0.1).double().mean())
        checks.append(
            at_least(
                f"seed {s}: uniform, fraction of 4096 samples with error > 0.1",
                frac,
                0.25,
                reason="measured here 0.332 / 0.334 / 0.326",
            )
        )
        checks.append(
            at_most(
                f"seed {s}: controller, max error",
                float(r.err_controller.max()),
                0.12,
                reason="threshold 0.12 (measured here 0.111-0.119; the reconstruction followed reports 0.089, see the chapter)",
            )
        )
    return checks


@control(
    "stiffness.controller-beats-uniform",
    "controller constant c = 2 (h rho = 2, the edge of Euler's interval) instead of 0.5",
)
def _controller_at_the_stability_edge():
    def comparison_c2(seed, n_samples=experiments.CONTROLLER_SAMPLES):
        g = torch_generator(seed)
        lam = torch.exp(torch.empty(n_samples, dtype=torch.float64).uniform_(0.0, math.log(30.0), generator=g))
        y0 = torch.empty(n_samples, dtype=torch.float64).uniform_(0.5, 2.0, generator=g)

        def f(y):
            return -lam * (y + y**3)

        T, N = experiments.CONTROLLER_T, experiments.CONTROLLER_STEPS
        exact = experiments.cubic_decay_exact(y0, lam, T)
        xu, _ = controller.uniform_euler(f, y0, T, N)
        xc, hc, _ = controller.stiffness_aware_euler(f, y0, T, N, c=2.0, rho0=50.0)
        err_u = (xu[-1] - exact).abs().nan_to_num(nan=math.inf)
        return experiments.ControllerComparison(lam, y0, err_u, (xc[-1] - exact).abs(), hc)

    with mock.patch(f"{__name__}.controller_vs_uniform", comparison_c2):
        yield
