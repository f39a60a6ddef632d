r"""Claims on gates as step sizes: the exact gate phi1(h lambda) and its stable evaluation, the gated
block as Euler with a diagonal step matrix, and where exact gates should go (the lottery ticket).

The paper's body was not available: these statements make the abstract's reading of attention as a
stiffness-aware step-size adaptor, and its explanation of lottery tickets in self-attention, precise
in a reconstructed way built on classical facts (see the book's Sources appendix), so most are marked
``reconstructed``. Book: ``notebooks/50_stiffness``.
"""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np
import sympy as sp
import torch

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_least, at_most, claim, close, control, holds, symbolic

from .. import experiments
from ..experiments import PLACEMENT_STIFF_BLOCKS, enumerate_placements, placement_errors, stiffest_first_errors
from ..gates import exact_gate, gated_euler_step, phi1
from ..networks import ResidualMLP, Trace
from ..stability import rk_step
from .sizes import SIZES

SRC = "huang2023understanding"
SOURCES = "see the book's Sources appendix"


@claim(
    "stiffness.exact-gate",
    title="The gate a* = phi1(h lambda) makes the gated Euler block exact; a* in (0,1), decreasing, ~ 1/(h mu)",
    statement=r"x+a h\lambda x=e^{h\lambda}x\iff a^\star=\varphi_1(h\lambda);\quad \lambda=-\mu<0:\ a^\star\in(0,1)\downarrow,\ |1-a^\star h\mu|=e^{-h\mu},\ a^\star h\mu\to1,\ \text{stable iff } 0\le a\le\tfrac{2}{h\mu}",
    source=f"{SRC}, abstract (attention as a stiffness-aware step-size adaptor); reconstructed on classical algebra, {SOURCES}",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
    notes="The algebra is classical; reading a* as the optimal attention value is the reconstruction.",
)
def _exact_gate_is_phi1(tier: str):
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
    n = SIZES[tier].exact_gate_grid
    hmu = torch.logspace(-2, 2, n, dtype=torch.float64)
    h = 0.1
    mu = hmu / h
    g = torch_generator(0)
    x = torch.randn(n, 4, generator=g, dtype=torch.float64)
    ast = exact_gate(h, mu)
    x_next = gated_euler_step(x, -mu[:, None] * x, ast[:, None], h)
    err = ((x_next - torch.exp(-hmu)[:, None] * x).abs() / x.abs()).max()
    checks += [
        at_most(
            f"|x_(t+1) - e^(-h mu) x_t| / |x_t| on {n} h mu in [1e-2, 1e2]",
            float(err),
            1e-14,
            reason="absolute bound 1e-14 |x_t| (phi1 via expm1; relative to e^(-h mu) it is ill-conditioned)",
        ),
        holds("a* in (0, 1) on the grid", bool(((ast > 0) & (ast < 1)).all())),
        holds("a* strictly decreasing on the grid", bool((ast[1:] < ast[:-1]).all())),
    ]
    return checks


@control("stiffness.exact-gate", "Euler's gate a = 1 instead of phi1(-h mu)")
def _euler_gate():
    with mock.patch(f"{__name__}.exact_gate", lambda h, mu: torch.ones_like(mu)):
        yield


@claim(
    "stiffness.phi1-stable",
    title="phi1(z) = expm1(z)/z is accurate to a few ulp, where (exp(z) - 1)/z loses all digits near 0",
    statement=r"\varphi_1(z)=\frac{e^z-1}{z}=1+\frac z2+\frac{z^2}{6}+O(z^3),\quad \Big|\frac{\mathrm{fl}(\varphi_1(z))}{\varphi_1(z)}-1\Big|\le 4\,\varepsilon",
    source=f"{SRC}; hairer1996solving; evaluating phi1 via expm1, classical, {SOURCES}",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _phi1_via_expm1_is_stable(tier: str):
    import mpmath

    z = sp.Symbol("z")
    series = sp.series((sp.exp(z) - 1) / z, z, 0, 3).removeO()
    n = SIZES[tier].phi1_points_per_sign
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
            4 * F64_EPS,
            reason="expm1 within 1 ulp plus one division: 4 eps",
        ),
        at_least(
            "the naive (exp(z)-1)/z is off by > 1e-6 somewhere on that grid",
            float(np.max(np.abs(naive / ref - 1))),
            1e-6,
            reason="cancellation in exp(z) - 1 at |z| ~ 1e-12",
        ),
    ]


@control("stiffness.phi1-stable", "phi1 evaluated naively as (exp(z) - 1)/z (cancellation near 0)")
def _naive_phi1():
    with mock.patch(f"{__name__}.phi1", lambda z: (torch.exp(z) - 1) / z):
        yield


def _layer_norm_np(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis, written in numpy (biased variance, as torch.nn.LayerNorm)."""
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _se_stack_by_euler_solver(net: ResidualMLP, x0: np.ndarray, h: float) -> np.ndarray:
    """The SE-gated stack as explicit Euler, one solver step of size h per block, on the numpy field
    F_t(x) = a_t(x) * f_t(x) (f_t, a_t rebuilt in numpy from the module's weights): the step goes
    through the solver's Euler (stability.rk_step), not through the network's update line."""
    P = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    xs = [x0]
    for t in range(net.n_blocks):
        eps = net.norms[t].eps

        def field(x, t=t, eps=eps):
            u = _layer_norm_np(x, P[f"norms.{t}.weight"], P[f"norms.{t}.bias"], eps)
            f = np.maximum(u @ P[f"fc1.{t}.weight"].T + P[f"fc1.{t}.bias"], 0) @ P[f"fc2.{t}.weight"].T
            f = f + P[f"fc2.{t}.bias"]
            z = np.maximum(f @ P[f"gates.{t}.fc1.weight"].T + P[f"gates.{t}.fc1.bias"], 0)
            a = 1 / (1 + np.exp(-(z @ P[f"gates.{t}.fc2.weight"].T + P[f"gates.{t}.fc2.bias"])))
            return a * f

        xs.append(rk_step(field, xs[-1], h, "euler"))
    return np.stack(xs)


@claim(
    "stiffness.gated-block-is-diagonal-euler",
    title="A gated residual block x + h a * f(x) is explicit Euler with the diagonal step matrix h diag(a)",
    statement=r"x_{t+1}=x_t+h\,a_t\odot f(x_t)=x_t+H_t f(x_t),\quad H_t=h\,\mathrm{diag}(a_t)\ (h=1\text{ in the teaser}),\ a_t=\sigma(W_2\mathrm{ReLU}(W_1\mathrm{GAP}(f(x_t))))",
    source=(
        f"{SRC}, teaser figure (Fig. 1 of arXiv 2308.09939, figure number unconfirmed): the residual block "
        "x_(t+1) = x_t + f(x_t) (x) Attention, attention as the adaptive step size of explicit Euler; SE gate "
        f"form read from the authors' ASR code, {SOURCES}"
    ),
    status_of_source="stated",
    kinds=("numeric",),
    notes=(
        "The identification is the teaser figure's; the step h and the SE form of the gate are the chapter's "
        "choices. The library's block is checked against an independent computation: the SE gate and the "
        "residual branch rebuilt in numpy from the weights, the step taken by the Euler method of a solver."
    ),
)
def _gated_block_is_diagonal_euler(tier: str):
    d, B, h, L = 16, SIZES[tier].se_block_samples, 0.3, 3
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = ResidualMLP(d, d, L, 2, "se", h=1.0, dtype=torch.float64)  # the teaser's block: step 1
    g = torch_generator(0)
    x0 = torch.randn(B, d, generator=g, dtype=torch.float64)
    with torch.no_grad():
        tr = net.trajectory(x0)
        f0, a0 = tr.fs[0], tr.gates[0]
        one_block = gated_euler_step(x0, f0, a0, h).numpy()
    ref = _se_stack_by_euler_solver(net, x0.numpy(), 1.0)
    ref_h = _se_stack_by_euler_solver(net, x0.numpy(), h)
    # the step matrix, read back from the block's increment: H_ii = (x_(t+1) - x_t)_i / f_i
    f_np = tr.fs.numpy()
    keep = np.abs(f_np) > 1e-3
    H = (tr.xs[1:].numpy() - tr.xs[:-1].numpy())[keep] / f_np[keep]
    return [
        close(
            f"SE-gated ResidualMLP (d=16, {L} blocks, step 1, seed 0) vs numpy field a(x) f(x) stepped by the "
            f"solver's Euler, {B} samples",
            tr.xs.numpy(),
            ref,
            atol=1e-12,
            reason="float64: unit roundoff 1.1e-16 x ~1e3 growth (LayerNorm, 16-term dot products, 3 blocks, O(1) states)",
        ),
        close(
            "gated_euler_step(x, f, a, h=0.3) vs the solver's Euler step h = 0.3 on the first block's field",
            one_block,
            ref_h[1],
            atol=1e-12,
            reason="float64: unit roundoff 1.1e-16 x ~1e3 growth",
        ),
        close(
            "step matrix read from the network's increments, (x_(t+1) - x_t)_i / f_i, vs a_i (|f_i| > 1e-3)",
            H,
            tr.gates.numpy()[keep],
            atol=1e-10,
            reason="float64 increment of O(1) states divided by |f_i| > 1e-3: 1e3 x ~1e-13",
        ),
        holds("gates in (0, 1)", bool(((tr.gates > 0) & (tr.gates < 1)).all())),
    ]


@control("stiffness.gated-block-is-diagonal-euler", "the step h dropped from the gated block: x + a f")
def _step_dropped():
    def gated_step_without_h(x, f, a, h=1.0):
        return x + a * f

    with mock.patch(f"{__name__}.gated_euler_step", gated_step_without_h):
        yield


@control(
    "stiffness.gated-block-is-diagonal-euler",
    "a post-activation block x_(t+1) = ReLU(x_t + a f) in the network (not an Euler step)",
)
def _post_activation_block():
    def trajectory_post_relu(self, x0):
        x, xs, fs, gs = x0, [x0], [], []
        for t in range(self.n_blocks):
            f = self.residual(t, x)
            a = self.gates[t](f)
            x = torch.relu(x + self.h * a * f)
            xs.append(x)
            fs.append(f)
            gs.append(a)
        return Trace(torch.stack(xs), torch.stack(fs), torch.stack(gs))

    with mock.patch.object(ResidualMLP, "trajectory", trajectory_post_relu):
        yield


@claim(
    "stiffness.lottery-ticket-placement",
    title="Exact gates on the four stiff blocks give the best 4-block placement (the lottery ticket)",
    statement=r"\arg\min_{|m|=4}\ \mathrm{err}_T(m)=\{6,7,8,9\}=\{t: h\lambda_t>2\};\quad \mathrm{err(top}\text{-}k)\ \text{non-increasing},\ k=0..4",
    source=f"{SRC}, abstract (lottery tickets in self-attention); huang2022lottery; reconstructed, {SOURCES}",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _stiffest_blocks_are_best_placement(tier: str):
    best, _, combos = enumerate_placements(4)
    masks = torch.zeros(3, 20, dtype=torch.bool)
    masks[1] = True
    masks[2, list(PLACEMENT_STIFF_BLOCKS)] = True
    none, full, stiff = placement_errors(masks).tolist()
    topk = stiffest_first_errors(5).tolist()
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
            tuple(best) == PLACEMENT_STIFF_BLOCKS,
            details=f"argmin {best}",
        ),
        at_least("stiff-only error >= 0.015", stiff, 0.015, reason="band [0.015, 0.03] (measured here 0.02048)"),
        at_most("stiff-only error <= 0.03", stiff, 0.03, reason="band [0.015, 0.03]"),
        at_most("full gating error", full, 1e-12, reason="round-off only (measured here 5.9e-15)"),
        at_least("no gating error", none, 1e10, reason="diverges (measured here 1.2166e11)"),
        holds(
            "top-k error non-increasing for k = 0..4",
            all(topk[i + 1] <= topk[i] for i in range(4)),
            details=", ".join(f"{e:.3g}" for e in topk),
        ),
    ]


def _placement_world(placement_errors_fn=None, rates_fn=None):
    """Patches for a wrong placement world: the library's placement functions, recomputed (not from the cache)."""
    patches = [mock.patch(f"{__name__}.enumerate_placements", experiments.enumerate_placements.__wrapped__)]
    if placement_errors_fn is not None:
        patches += [
            mock.patch.object(experiments, "placement_errors", placement_errors_fn),
            mock.patch(f"{__name__}.placement_errors", placement_errors_fn),
        ]
    if rates_fn is not None:
        patches.append(mock.patch.object(experiments, "placement_rates", rates_fn))
    return patches


@control(
    "stiffness.lottery-ticket-placement",
    "the exact gate with the sign flipped: phi1(+h lambda) instead of phi1(-h lambda)",
)
def _gate_sign_flipped():
    def errors_sign_flipped(masks, lam=None, h=experiments.PLACEMENT_H):
        lam = experiments.placement_rates() if lam is None else lam
        a = torch.where(masks, phi1(h * lam)[None], torch.ones_like(lam)[None])
        amp = (1 - a * h * lam[None]).prod(1)
        return (amp / torch.exp(-h * lam.sum()) - 1).abs()

    with contextlib.ExitStack() as stack:
        for p in _placement_world(placement_errors_fn=errors_sign_flipped):
            stack.enter_context(p)
        yield


@control("stiffness.lottery-ticket-placement", "no stiff block: lambda = 30 on blocks 6-9 (h lambda = 1.5 < 2)")
def _no_stiff_block():
    def rates_not_stiff():
        lam = torch.ones(experiments.PLACEMENT_BLOCKS, dtype=torch.float64)
        lam[list(experiments.PLACEMENT_STIFF_BLOCKS)] = 30.0
        return lam

    with contextlib.ExitStack() as stack:
        for p in _placement_world(rates_fn=rates_not_stiff):
            stack.enter_context(p)
        yield
