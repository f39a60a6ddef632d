r"""Claims on the feature-level stiffness measures: the secant lies in the spectrum, power iteration on
Jacobian-vector products finds rho(J), and SAI and the secant are scale-free.

The first two are classical; the measures themselves are reconstructed (see the book's Sources
appendix). Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import torch

from attnmath.base.numerics import numpy_rng, torch_generator
from attnmath.claims import at_most, claim, close, control, holds, rel_close

from .. import measures, networks
from ..measures import jacobian_spectral_radius, secant_rho, trajectory_measures
from ..networks import ResidualMLP
from .sizes import SIZES

SRC = "huang2023understanding; hairer1996solving"


@claim(
    "stiffness.secant-bound",
    title="For symmetric J the secant estimate lies between the smallest and largest |eigenvalue|",
    statement=r"J=J^\top:\quad \min_i|\lambda_i|\le\hat\rho_n=\frac{\lVert J(x_{n+1}-x_n)\rVert}{\lVert x_{n+1}-x_n\rVert}\le\max_i|\lambda_i|",
    source=f"{SRC}; the secant (Rayleigh-type) stiffness estimate, classical, see the book's Sources appendix",
    status_of_source="classical",
    kinds=("numeric",),
)
def _secant_within_spectrum(tier: str):
    n_mat = SIZES[tier].secant_matrices
    rng = numpy_rng(0)
    worst = 0.0
    for _ in range(n_mat):
        Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
        lam = -np.exp(rng.uniform(0, 5, 5))
        J = torch.from_numpy(Q @ np.diag(lam) @ Q.T)
        h = rng.uniform(1e-3, 0.1)
        x = torch.from_numpy(rng.standard_normal(5))[None]
        xs = [x]
        for _ in range(10):
            xs.append(xs[-1] + h * xs[-1] @ J.T)
        X = torch.cat(xs)
        F = X @ J.T
        rho = secant_rho(X[:-1], X[1:], F[:-1], F[1:]).numpy()
        lo, hi = np.abs(lam).min(), np.abs(lam).max()
        worst = max(worst, float(np.max((rho - hi) / hi)), float(np.max((lo - rho) / lo)))
    return [
        at_most(
            f"largest relative excursion outside [min|lambda|, max|lambda|] ({n_mat} matrices x 10 steps, rng 0)",
            worst,
            1e-9,
            reason="tolerance 1e-9",
        )
    ]


@control("stiffness.secant-bound", "secant divided by the state |x_(t+1)| instead of the step |x_(t+1) - x_t|")
def _secant_over_state():
    def secant_over_state(x, x_next, f, f_next):
        return (f_next - f).norm(dim=-1) / x_next.norm(dim=-1)

    with mock.patch(f"{__name__}.secant_rho", secant_over_state):
        yield


@claim(
    "stiffness.jvp-power-iteration",
    title="Power iteration on Jacobian-vector products recovers the spectral radius rho(J)",
    statement=r"v_{k+1}=\frac{Jv_k}{\lVert Jv_k\rVert},\quad \lVert Jv_k\rVert\to\rho(J)\ \text{(dominant eigenvalue real, simple)}",
    source=f"{SRC}; power iteration (rho^J with 20 JVPs), classical, see the book's Sources appendix",
    status_of_source="classical",
    kinds=("numeric",),
)
def _jvp_power_iteration_finds_rho(tier: str):
    rng = numpy_rng(0)
    d, n = 6, SIZES[tier].jvp_matrices
    ests, refs = [], []
    for _ in range(n):
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        lam = -np.concatenate([[10.0], rng.uniform(0.5, 2.5, d - 1)])  # |lambda_2/lambda_1| <= 1/4
        J = torch.from_numpy(Q @ np.diag(lam) @ Q.T)
        x = torch.from_numpy(rng.standard_normal((1, d)))
        ests.append(jacobian_spectral_radius(lambda u, J=J: u @ J.T, x, n_iter=20)[0].item())  # type: ignore[misc]  # mypy cannot infer a lambda that binds loop values as default arguments
        refs.append(10.0)
    return [
        rel_close(
            f"20 JVP power iterations vs the dominant |lambda| = 10 ({n} symmetric 6x6, gap 1/4, rng 0)",
            np.array(ests),
            np.array(refs),
            rtol=1e-9,
            reason="error ~ (1/4)^38 (c2/c1)^2 = 1e-23 (c2/c1)^2 for a random start v0 = c1 e1 + c2 e2 + ...; 1e-9 absorbs an unlucky start and float64 roundoff",
        )
    ]


@control("stiffness.jvp-power-iteration", "power iteration stopped after 3 JVPs instead of 20")
def _three_jvps():
    def three_iterations(func, x, n_iter=20, generator=None):
        return measures.jacobian_spectral_radius(func, x, n_iter=3, generator=generator)

    with mock.patch(f"{__name__}.jacobian_spectral_radius", three_iterations):
        yield


@claim(
    "stiffness.metrics-scale-invariant",
    title="SAI_t and the secant estimate are unchanged when a positively homogeneous stack's input is scaled",
    statement=r"f(cx)=cf(x)\ (c>0)\Rightarrow \mathrm{SAI}_t(cx_0)=\mathrm{SAI}_t(x_0),\ \hat\rho_t(cx_0)=\hat\rho_t(x_0)",
    source="huang2023understanding; the feature-level measures are reconstructed, see the book's Sources appendix",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _measures_are_scale_invariant(tier: str):
    width, blocks, B = SIZES[tier].scale_invariance_net
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = ResidualMLP(width, width, blocks, 2, "plain", norm=False, bias=False, h=0.5, dtype=torch.float64)
    g = torch_generator(0)
    x0 = torch.randn(B, width, generator=g, dtype=torch.float64)
    checks = []
    with torch.no_grad():
        base = net.trajectory(x0)
        m0 = trajectory_measures(base.xs, base.fs, h=0.5)
        for c in (0.1, 10.0):
            tr = net.trajectory(c * x0)
            m = trajectory_measures(tr.xs, tr.fs, h=0.5)
            for key in ("sai", "secant"):
                checks.append(
                    close(
                        f"{key} at c = {c} (bias-free ReLU stack, {blocks} blocks, seed 0)",
                        m[key],
                        m0[key],
                        atol=1e-10,
                        reason="tolerance 1e-10 (float64)",
                    )
                )
    checks.append(
        holds(
            "the profiles are not trivial (SAI varies over blocks)",
            bool(m0["sai"].mean(1).std() > 0) and math.isfinite(float(m0["secant"].max())),
        )
    )
    return checks


@control(
    "stiffness.metrics-scale-invariant", "SAI without the |x_t| normaliser (the absolute speed |x_(t+1) - x_t| / h)"
)
def _sai_not_normalised():
    def measures_absolute_speed(xs, fs, h=1.0):
        out = measures.trajectory_measures(xs, fs, h)
        out["sai"] = (xs[1:] - xs[:-1]).norm(dim=-1) / h
        return out

    with mock.patch(f"{__name__}.trajectory_measures", measures_absolute_speed):
        yield


@control("stiffness.metrics-scale-invariant", "a stack with biases (not positively homogeneous: f(cx) != c f(x))")
def _stack_with_biases():
    def with_biases(*args, **kw):
        return networks.ResidualMLP(*args, **{**kw, "bias": True})

    with mock.patch(f"{__name__}.ResidualMLP", with_biases):
        yield
