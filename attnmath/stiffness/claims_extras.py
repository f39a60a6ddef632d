r"""Classical extras the chapter relies on: a stable :math:`\varphi_1`, JVP power iteration, the error-optimal step.

Dossier §1.4, §2.1, §2.3, §4.7, §4.9 [C]. Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from ..claims import at_least, at_most, claim, close, rel_close, symbolic
from .controller import classical_step_update, error_optimal_step
from .gates import phi1
from .measures import jacobian_spectral_radius

SRC = "huang2023understanding; hairer1996solving"
EPS = float(np.finfo(np.float64).eps)  # 2.2e-16


@claim(
    "stiffness.phi1-stable",
    title="phi1(z) = expm1(z)/z is accurate to a few ulp, where (exp(z) - 1)/z loses all digits near 0",
    statement=r"\varphi_1(z)=\frac{e^z-1}{z}=1+\frac z2+\frac{z^2}{6}+O(z^3),\quad \Big|\frac{\mathrm{fl}(\varphi_1(z))}{\varphi_1(z)}-1\Big|\le 4\,\varepsilon",
    source=f"{SRC}, dossier §2.1, T5 note",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _phi1(scale: str):
    import mpmath

    z = sp.Symbol("z")
    series = sp.series((sp.exp(z) - 1) / z, z, 0, 3).removeO()
    n = 41 if scale == "ci" else 401
    zs = np.concatenate([-np.logspace(-12, 2.5, n), np.logspace(-12, 2.5, n)])
    with mpmath.workdps(50):
        ref = np.array([float(mpmath.expm1(mpmath.mpf(v)) / mpmath.mpf(v)) for v in zs])
    ours = phi1(torch.from_numpy(zs)).numpy()
    naive = (np.exp(zs) - 1) / zs
    return [
        symbolic("series of phi1 to O(z^3)", series - (1 + z / 2 + z**2 / 6)),
        at_most(
            f"max relative error of expm1(z)/z on {2 * n} points in +-[1e-12, 10^2.5]",
            float(np.max(np.abs(ours / ref - 1))),
            4 * EPS,
            reason="expm1 within 1 ulp plus one division: 4 eps",
        ),
        at_least(
            "the naive (exp(z)-1)/z is off by > 1e-6 somewhere on that grid",
            float(np.max(np.abs(naive / ref - 1))),
            1e-6,
            reason="cancellation in exp(z) - 1 at |z| ~ 1e-12",
        ),
    ]


@claim(
    "stiffness.jvp-power-iteration",
    title="Power iteration on Jacobian-vector products recovers the spectral radius rho(J)",
    statement=r"v_{k+1}=\frac{Jv_k}{\lVert Jv_k\rVert},\quad \lVert Jv_k\rVert\to\rho(J)\ \text{(dominant eigenvalue real, simple)}",
    source=f"{SRC}, dossier §1.4 (rho^J with 20 JVPs)",
    status_of_source="classical",
    kinds=("numeric",),
)
def _jvp(scale: str):
    rng = np.random.default_rng(0)
    d, n = 6, 16 if scale == "ci" else 256
    ests, refs = [], []
    for _ in range(n):
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        lam = -np.concatenate([[10.0], rng.uniform(0.5, 2.5, d - 1)])  # |lambda_2/lambda_1| <= 1/4
        J = torch.from_numpy(Q @ np.diag(lam) @ Q.T)
        x = torch.from_numpy(rng.standard_normal((1, d)))
        ests.append(jacobian_spectral_radius(lambda u, J=J: u @ J.T, x, n_iter=20)[0].item())
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


@claim(
    "stiffness.error-optimal-step",
    title="The Euler step that meets a local tolerance is proportional to 1/|lambda|; the standard controller",
    statement=r"\mathrm{LTE}=\tfrac{h^2\lambda^2}{2}|x|\ \Rightarrow\ h^\star=\frac{\sqrt{2\,\mathrm{tol}/|x|}}{|\lambda|},\quad h_{\rm new}=h\min\!\big(f_{\max},\max(f_{\min},\kappa(\mathrm{tol}/\mathrm{err})^{1/(q+1)})\big)",
    source=f"{SRC}, dossier §2.3, §4.7, §4.9",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _hstar(scale: str):
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
