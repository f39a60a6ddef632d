r"""Claims T5, T7, T12, T14: the gate as a step size (dossier §2, a reconstruction built on classical facts).

The paper's body was not available: these statements make the abstract's claims C3 (attention as
a stiffness-aware step-size adaptor) and C4 (lottery tickets in SAM) precise in the way the
dossier reconstructs them, so they are marked ``reconstructed``. Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

from ..claims import at_least, at_most, claim, close, holds, symbolic
from .experiments import E5_STIFF, lottery_enumeration, lottery_errors, lottery_topk
from .gates import SEGate, exact_gate, gated_euler_step
from .measures import trajectory_measures
from .networks import ResidualMLP

SRC = "huang2023understanding"
EPS = float(np.finfo(np.float64).eps)


@claim(
    "stiffness.exact-gate",
    title="The gate a* = phi1(h lambda) makes the gated Euler block exact; a* in (0,1), decreasing, ~ 1/(h mu)",
    statement=r"x+a h\lambda x=e^{h\lambda}x\iff a^\star=\varphi_1(h\lambda);\quad \lambda=-\mu<0:\ a^\star\in(0,1)\downarrow,\ |1-a^\star h\mu|=e^{-h\mu},\ a^\star h\mu\to1,\ \text{stable iff } 0\le a\le\tfrac{2}{h\mu}",
    source=f"{SRC}, abstract C3; dossier §2.1-2.2 (reconstructed), §4.7, T5",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
    notes="The algebra is classical (dossier §4.7 [C]); reading a* as the optimal attention value is the reconstruction [R].",
)
def _t5(scale: str):
    a, hl = sp.symbols("a z")
    z = sp.Symbol("z", positive=True)  # z = h mu > 0
    k = sp.Symbol("k", integer=True, nonnegative=True)
    a_star = sp.solve(sp.Eq(1 + a * hl, sp.exp(hl)), a)
    phi = (1 - sp.exp(-z)) / z
    checks = [
        holds("1 + a z = e^z has one solution a", len(a_star) == 1),
        symbolic("a* - (e^z - 1)/z", a_star[0] - (sp.exp(hl) - 1) / hl),
        symbolic("1 - a* h mu - e^{-h mu} (amplification)", 1 - phi * z - sp.exp(-z)),
        symbolic("z^2 e^z d/dz phi1(-z) = -(e^z - 1 - z)", sp.diff(phi, z) * z**2 * sp.exp(z) + (sp.exp(z) - 1 - z)),
        symbolic(
            "e^z - 1 - z = sum_{k>=2} z^k/k! (> 0 for z > 0: decreasing)",
            sp.summation(z**k / sp.factorial(k), (k, 2, sp.oo)) - (sp.exp(z) - 1 - z),
        ),
        symbolic("lim a* h mu = 1 as h mu -> oo", sp.limit(phi * z, z, sp.oo) - 1),
        holds(
            "|1 - a z| <= 1 iff a in [0, 2/z]",
            sp.solve_univariate_inequality(sp.Abs(1 - a * z) <= 1, a, relational=False) == sp.Interval(0, 2 / z),
        ),
    ]
    n = 50 if scale == "ci" else 1000
    hmu = torch.logspace(-2, 2, n, dtype=torch.float64)
    h = 0.1
    mu = hmu / h
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g, dtype=torch.float64)
    ast = exact_gate(h, mu)
    x_next = gated_euler_step(x, -mu[:, None] * x, ast[:, None], h)
    err = ((x_next - torch.exp(-hmu)[:, None] * x).abs() / x.abs()).max()
    checks += [
        at_most(
            f"|x_(t+1) - e^(-h mu) x_t| / |x_t| on {n} h mu in [1e-2, 1e2]",
            float(err),
            1e-14,
            reason="dossier T5: absolute bound 1e-14 |x_t| (phi1 via expm1)",
        ),
        holds("a* in (0, 1) on the grid", bool(((ast > 0) & (ast < 1)).all())),
        holds("a* strictly decreasing on the grid", bool((ast[1:] < ast[:-1]).all())),
    ]
    return checks


@claim(
    "stiffness.gated-block-is-diagonal-euler",
    title="A gated residual block x + a * f(x) is explicit Euler with the diagonal step matrix h diag(a)",
    statement=r"x_{t+1}=x_t+h\,a_t\odot f(x_t)=x_t+H_t f(x_t),\quad H_t=h\,\mathrm{diag}(a_t),\ a_t=\sigma(W_2\mathrm{ReLU}(W_1\mathrm{GAP}(f(x_t))))",
    source=f"{SRC}, abstract C3; dossier §1.1 (SE gate form read from zhongshsh/ASR [S]; the identification [R]), T7",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _t7(scale: str):
    d, B, h = 16, 32 if scale == "ci" else 512, 0.3
    with torch.random.fork_rng():
        torch.manual_seed(0)
        gate = SEGate(d, reduction=16, bias=False, dtype=torch.float64)
        W1 = torch.nn.Linear(d, d, bias=False, dtype=torch.float64)
        W2 = torch.nn.Linear(d, d, bias=False, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, d, generator=g, dtype=torch.float64)
    with torch.no_grad():
        f = W2(torch.relu(W1(x)))
        a = gate(f)
        out = gated_euler_step(x, f, a, h).numpy()
    xn, fn, an = x.numpy(), f.numpy(), a.numpy()
    ref = np.stack([xn[i] + (h * np.diag(an[i])) @ fn[i] for i in range(B)])
    return [
        close(
            f"torch SE block (bias-free, d=16, seed 0) vs numpy x + h diag(a) f, {B} samples",
            out,
            ref,
            atol=1e-12,
            reason="dossier T7 tolerance 1e-12 (float64)",
        ),
        holds("gates in (0, 1)", bool(((a > 0) & (a < 1)).all())),
    ]


@claim(
    "stiffness.lottery-ticket-placement",
    title="Exact gates on the four stiff blocks give the best 4-block placement (lottery ticket, E5)",
    statement=r"\arg\min_{|m|=4}\ \mathrm{err}_T(m)=\{6,7,8,9\}=\{t: h\lambda_t>2\};\quad \mathrm{err(top}\text{-}k)\ \text{non-increasing},\ k=0..4",
    source=f"{SRC}, abstract C4; dossier §2.5 (reconstructed), §3.2 E5, T12",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _t12(scale: str):
    best, _, combos = lottery_enumeration(4)
    masks = torch.zeros(3, 20, dtype=torch.bool)
    masks[1] = True
    masks[2, list(E5_STIFF)] = True
    none, full, stiff = lottery_errors(masks).tolist()
    topk = lottery_topk(5).tolist()
    hs = sp.Rational(1, 20)
    stiff_exact = (1 - hs) ** 16 * sp.exp(16 * hs) - 1  # only the 16 non-stiff Euler factors are inexact
    return [
        symbolic(
            "stiff-only error = (1-h)^16 e^(16h) - 1 (the O(h) consistency error of the 16 ungated blocks)",
            stiff_exact - ((sp.Rational(19, 20)) ** 16 * sp.exp(sp.Rational(4, 5)) - 1),
        ),
        close(
            "stiff-only error vs its closed form",
            abs(float(stiff_exact)),
            stiff,
            atol=1e-12,
            reason="float64 product of 20 factors: 1e4 eps",
        ),
        holds(
            f"argmin over all {len(combos)} four-block masks is {{6,7,8,9}}",
            tuple(best) == E5_STIFF,
            details=f"argmin {best}",
        ),
        at_least("stiff-only error >= 0.015", stiff, 0.015, reason="dossier T12 band [0.015, 0.03] (measured 0.02048)"),
        at_most("stiff-only error <= 0.03", stiff, 0.03, reason="dossier T12 band [0.015, 0.03]"),
        at_most("full gating error", full, 1e-12, reason="dossier T12 (measured 5.9e-15)"),
        at_least("no gating error", none, 1e10, reason="dossier T12 (measured 1.2166e11)"),
        holds(
            "top-k error non-increasing for k = 0..4",
            all(topk[i + 1] <= topk[i] for i in range(4)),
            details=", ".join(f"{e:.3g}" for e in topk),
        ),
    ]


@claim(
    "stiffness.metrics-scale-invariant",
    title="SAI_t and the secant estimate are unchanged when a positively homogeneous stack's input is scaled",
    statement=r"f(cx)=cf(x)\ (c>0)\Rightarrow \mathrm{SAI}_t(cx_0)=\mathrm{SAI}_t(x_0),\ \hat\rho_t(cx_0)=\hat\rho_t(x_0)",
    source=f"{SRC}; dossier §1.4 (measures reconstructed), T14",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _t14(scale: str):
    width, blocks, B = (16, 6, 64) if scale == "ci" else (64, 16, 512)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = ResidualMLP(width, width, blocks, 2, "plain", norm=False, bias=False, h=0.5, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
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
                        reason="dossier T14 tolerance 1e-10 (float64)",
                    )
                )
    checks.append(
        holds(
            "the profiles are not trivial (SAI varies over blocks)",
            bool(m0["sai"].mean(1).std() > 0) and math.isfinite(float(m0["secant"].max())),
        )
    )
    return checks
