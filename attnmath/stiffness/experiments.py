r"""The chapter's seeded CPU experiments as memoised runs (shared by the claims and the notebook).

- Reference solves: :func:`vdp_run` (Van der Pol with ``solve_ivp``: RK45 and the implicit
  Radau/BDF/LSODA; accepted steps :math:`h_n` against :math:`\rho(J(y_n))`) and :func:`robertson_run`
  (Robertson kinetics, explicit RK45 against implicit solvers).
- The stability threshold: :func:`stiff_2x2_euler`, explicit Euler on the classic stiff 2×2 system.
- The learned step-size adaptor: :func:`fit_adaptor`, SAM against StepNet-lite trained with L-BFGS,
  and the untrained references :func:`adaptor_baseline`.
- Gate placement (the lottery ticket): :func:`placement_errors`, :func:`enumerate_placements`,
  :func:`stiffest_first_errors`: where to put four exact gates among 20 blocks.
- The step controller: :func:`controller_vs_uniform`, the secant controller against uniform steps at
  an equal budget.

The digits network lives in :mod:`attnmath.stiffness.network_experiment`. The recipes and the
thresholds the claims use are reconstructed and measured here (see the book's Sources appendix).
Results are cached per process: a notebook that plots a run and then shows its claim pays once.
Do not modify the returned tensors.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
import torch
from scipy.integrate import solve_ivp
from scipy.stats import spearmanr

from ..base import validation as V
from ..base.numerics import phi1, torch_generator
from ..base.runtime import single_thread
from .controller import stiffness_aware_euler, uniform_euler
from .gates import ScalarStepGate, run_scalar_adaptor

# ---------------------------------------------------------------- reference solves
VDP_Y0 = (2.0, 0.0)
#: The integrators of :func:`scipy.integrate.solve_ivp` the experiments accept.
OdeMethod = Literal["RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"]
VDP_SETTLED = 0.05  # fraction of the interval [0, 2 mu] treated as the solver's start-up


@dataclass(frozen=True)
class VdPRun:
    """Accepted steps of one solve: times ``t [n+1]``, states ``y [2, n+1]``, steps ``h [n]``, ``rho [n]``."""

    t: np.ndarray
    y: np.ndarray
    h: np.ndarray
    rho: np.ndarray
    spearman: float
    ratio: float

    @property
    def n_steps(self) -> int:
        return int(self.h.size)

    @property
    def settled_ratio(self) -> float:
        r""":math:`h_{\max}/h_{\min}` over the settled steps: those starting at :math:`t_n\ge0.05\,T`, the
        final step (cut to land on :math:`T`) left out. The start-up ramp from the solver's small first
        step, and the cut last step, make the full ratio large even on a non-stiff problem."""
        keep = self.t[:-1] >= VDP_SETTLED * self.t[-1]
        keep[-1] = False
        if keep.sum() < 2:
            raise ValueError(f"fewer than 2 settled steps ({int(keep.sum())}) to form a ratio")
        h = self.h[keep]
        return float(h.max() / h.min())


def vdp_jacobian_radius(mu: float, y: np.ndarray) -> np.ndarray:
    r""":math:`\rho(J)` of Van der Pol, :math:`J=\begin{pmatrix}0&1\\-2\mu y_1y_2-1&\mu(1-y_1^2)\end{pmatrix}`, for ``y [2, n]``."""
    y = np.asarray(y, dtype=np.float64)
    J = np.zeros((y.shape[1], 2, 2))
    J[:, 0, 1] = 1.0
    J[:, 1, 0] = -2 * mu * y[0] * y[1] - 1
    J[:, 1, 1] = mu * (1 - y[0] ** 2)
    return np.abs(np.linalg.eigvals(J)).max(1)


@cache
def vdp_run(mu: float, rtol: float, method: OdeMethod = "RK45") -> VdPRun:
    r"""Van der Pol: :math:`\dot y_1=y_2,\ \dot y_2=\mu(1-y_1^2)y_2-y_1`, :math:`y(0)=(2,0)`, :math:`t\in[0,2\mu]`, atol = 1e-3 rtol.

    Spearman correlation of :math:`h_n=t_{n+1}-t_n` with :math:`\rho(J(y_n))` and :math:`h_{\max}/h_{\min}`.
    """
    mu = V.real(mu, "mu", positive=True)
    rtol = V.real(rtol, "rtol", positive=True)
    V.choice(method, "method", ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"))

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]]

    sol = solve_ivp(rhs, (0.0, 2 * mu), VDP_Y0, method=method, rtol=rtol, atol=1e-3 * rtol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp({method}) failed on Van der Pol mu={mu}: {sol.message}")
    h = np.diff(sol.t)
    rho = vdp_jacobian_radius(mu, sol.y[:, :-1])
    return VdPRun(sol.t, sol.y, h, rho, float(spearmanr(h, rho).statistic), float(h.max() / h.min()))


ROBERTSON_K = (0.04, 1e4, 3e7)
# y(40) of Robertson's problem from (1, 0, 0): the classical reference value (reproduced here by Radau, BDF
# and LSODA at rtol 1e-11, atol 1e-16, which agree with it to 1e-10 relative)
ROBERTSON_Y40 = (0.7158270687, 9.185534764e-6, 0.2841637457)
ROBERTSON_RTOL, ROBERTSON_ATOL = 1e-4, 1e-8


@cache
def robertson_run(method: OdeMethod) -> tuple[int, int, np.ndarray]:
    r"""Robertson kinetics on :math:`[0,40]`, rtol 1e-4, atol 1e-8: ``(steps, nfev, y(40))``."""
    V.choice(method, "method", ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"))
    k1, k2, k3 = ROBERTSON_K

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        return [-k1 * y[0] + k2 * y[1] * y[2], k1 * y[0] - k2 * y[1] * y[2] - k3 * y[1] ** 2, k3 * y[1] ** 2]

    sol = solve_ivp(rhs, (0.0, 40.0), [1.0, 0.0, 0.0], method=method, rtol=ROBERTSON_RTOL, atol=ROBERTSON_ATOL)
    if not sol.success:
        raise RuntimeError(f"solve_ivp({method}) failed on Robertson: {sol.message}")
    return len(sol.t) - 1, int(sol.nfev), sol.y[:, -1].copy()


# ---------------------------------------------------------------- the stability threshold
STIFF_A = np.array([[998.0, 1998.0], [-999.0, -1999.0]])


def stiff_2x2_exact(t: np.ndarray) -> np.ndarray:
    r"""Closed form :math:`u=2e^{-t}-e^{-1000t}`, :math:`v=-e^{-t}+e^{-1000t}` from :math:`(1,0)`; ``[n, 2]``."""
    t = np.asarray(t, dtype=np.float64)
    return np.stack([2 * np.exp(-t) - np.exp(-1000 * t), -np.exp(-t) + np.exp(-1000 * t)], -1)


def stiff_2x2_euler(h: float, t_end: float = 1.0, implicit: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
    r"""Explicit Euler :math:`y_{n+1}=(I+hA)y_n` on :math:`y'=Ay` from :math:`(1,0)` to :math:`t_n\approx` ``t_end``.

    ``implicit=True``: backward Euler :math:`y_{n+1}=(I-hA)^{-1}y_n` instead (A-stable; the negative control
    of claim ``stiffness.stiff-2x2-threshold``). Returns ``(t [n+1], y [n+1, 2], error)`` with the error
    :math:`\max_i|y_{n,i}-y_i(t_n)|` at the end (the transient's first steps are far off the exact curve
    even when the method is stable).
    """
    h = V.real(h, "h", positive=True)
    n = round(V.real(t_end, "t_end", positive=True) / h)
    if not isinstance(implicit, bool):
        raise TypeError(f"implicit must be a bool, got {type(implicit).__name__}")
    M = np.linalg.inv(np.eye(2) - h * STIFF_A) if implicit else np.eye(2) + h * STIFF_A
    steps = [np.array([1.0, 0.0])]
    for _ in range(n):
        steps.append(M @ steps[-1])
    ys = np.stack(steps)
    t = h * np.arange(n + 1)
    return t, ys, float(np.abs(ys[-1] - stiff_2x2_exact(t[-1:])[0]).max())


# ---------------------------------------------------------------- the learned step-size adaptor
ADAPTOR_BLOCKS, ADAPTOR_H, ADAPTOR_TRAIN, ADAPTOR_TEST = 10, 0.1, 2048, 2048  # blocks, step, draws
LBFGS: dict[str, Any] = {
    "lr": 1.0,
    "max_iter": 300,
    "history_size": 50,
    "line_search_fn": "strong_wolfe",
    "tolerance_grad": 1e-12,
    "tolerance_change": 1e-15,
}


@cache
def adaptor_data() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    r"""The adaptor's data: :math:`\lambda=\exp U[\log1,\log100]`, :math:`y_0\sim U[0.5,2]`; 2048 train then 2048 test, seed 0."""
    g = torch_generator(0)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        lam = torch.exp(torch.empty(n, dtype=torch.float64).uniform_(0.0, math.log(100.0), generator=g))
        return lam, torch.empty(n, dtype=torch.float64).uniform_(0.5, 2.0, generator=g)

    return draw(ADAPTOR_TRAIN), draw(ADAPTOR_TEST)


def adaptor_loss(gate: ScalarStepGate | None, lam: torch.Tensor, y0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Dense relative trajectory loss :math:`\mathrm{mean}_{i,k}((x_k-y_0e^{-\lambda t_k})/y_0)^2` and the gates ``[N, B]``."""
    xs, gs = run_scalar_adaptor(gate, lambda x: -lam * x, y0, ADAPTOR_H, ADAPTOR_BLOCKS)
    tk = ADAPTOR_H * torch.arange(1, ADAPTOR_BLOCKS + 1, dtype=torch.float64)
    exact = y0[None] * torch.exp(-lam[None] * tk[:, None])
    return (((xs[1:] - exact) / y0[None]) ** 2).mean(), gs


@dataclass(frozen=True)
class AdaptorResult:
    """Test RMSE, Spearman(a, λ) over blocks t ≥ 1, the oracle gap, the test gates ``[N, B]`` and the fitted gate."""

    rmse: float
    spearman: float
    oracle_gap: float
    gates: torch.Tensor
    gate: ScalarStepGate | None


@cache
@single_thread()
def fit_adaptor(kind: str, seed: int, n_train: int = ADAPTOR_TRAIN) -> AdaptorResult:
    r"""Train one adaptor arm (``"sam"`` or ``"stepnet"``) with L-BFGS from ``torch.manual_seed(seed)`` init.

    One ``LBFGS.step(closure)`` with lr 1, max_iter 300, history 50, strong Wolfe, tolerances
    1e-12/1e-15 (Adam alone was unreliable in the runs measured here), on the first ``n_train`` of the
    2048 training draws (the recipe uses all 2048; the ci tier uses 1024 to halve the cost).
    Tested on all 2048 test draws. About 4–9 s per 2048-sample fit on one core.
    """
    V.choice(kind, "kind", ("sam", "stepnet"))
    V.integer(seed, "seed", minimum=0)
    n_train = V.integer(n_train, "n_train", minimum=1, maximum=ADAPTOR_TRAIN)
    (ltr, ytr), (lte, yte) = adaptor_data()
    ltr, ytr = ltr[:n_train], ytr[:n_train]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        gate = ScalarStepGate(kind, dtype=torch.float64)
    opt = torch.optim.LBFGS(gate.parameters(), **LBFGS)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss, _ = adaptor_loss(gate, ltr, ytr)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        loss, gs = adaptor_loss(gate, lte, yte)
    return _adaptor_result(loss, gs, lte, gate)


def _adaptor_result(
    loss: torch.Tensor, gs: torch.Tensor, lam: torch.Tensor, gate: ScalarStepGate | None
) -> AdaptorResult:
    rho = lam[None].expand_as(gs)
    sp = float(spearmanr(gs[1:].flatten().numpy(), rho[1:].flatten().numpy()).statistic) if gate else math.nan
    gap = float((gs - phi1(-ADAPTOR_H * rho)).abs().mean())
    return AdaptorResult(float(loss.sqrt()), sp, gap, gs, gate)


@cache
def adaptor_baseline(kind: str) -> AdaptorResult:
    r"""Untrained references on the test set: ``"none"`` (:math:`a=1`) and ``"oracle"`` (:math:`a=\varphi_1(-h\lambda)`)."""
    V.choice(kind, "kind", ("none", "oracle"))
    _, (lam, y0) = adaptor_data()
    with torch.no_grad():
        if kind == "none":
            loss, gs = adaptor_loss(None, lam, y0)
        else:
            a = phi1(-ADAPTOR_H * lam)
            k = torch.arange(ADAPTOR_BLOCKS + 1, dtype=torch.float64)[:, None]
            xs = y0[None] * (1 - a * ADAPTOR_H * lam)[None] ** k  # x_k = y0 (1 - a h lam)^k
            tk = ADAPTOR_H * k[1:]
            loss = (((xs[1:] - y0[None] * torch.exp(-lam[None] * tk)) / y0[None]) ** 2).mean()
            gs = a[None].expand(ADAPTOR_BLOCKS, -1)
    return _adaptor_result(loss, gs, lam, None)


# ---------------------------------------------------------------- gate placement (the lottery ticket)
PLACEMENT_BLOCKS, PLACEMENT_H, PLACEMENT_STIFF_BLOCKS = 20, 0.05, (6, 7, 8, 9)


def placement_rates() -> torch.Tensor:
    r""":math:`\lambda_t=100` on blocks 6–9, 1 elsewhere (``[20]``)."""
    lam = torch.ones(PLACEMENT_BLOCKS, dtype=torch.float64)
    lam[list(PLACEMENT_STIFF_BLOCKS)] = 100.0
    return lam


def placement_errors(masks: torch.Tensor, lam: torch.Tensor | None = None, h: float = PLACEMENT_H) -> torch.Tensor:
    r"""Relative error at :math:`T` of :math:`x_{t+1}=(1-a_t h\lambda_t)x_t`, :math:`a_t=\varphi_1(-h\lambda_t)` on the mask, 1 off it.

    ``masks``: bool ``[M, N]``; ``lam``: ``[N]`` (default :func:`placement_rates`). Exact
    :math:`x_T=x_0e^{-h\sum\lambda_t}`; returns ``[M]``. Reconstructed (see the book's Sources appendix).
    """
    lam = placement_rates() if lam is None else V.tensor(lam, "lam", ndim=1)
    if not isinstance(masks, torch.Tensor) or masks.dtype != torch.bool:
        raise TypeError("masks must be a bool tensor [M, N]")
    if masks.ndim != 2 or masks.shape[1] != lam.shape[0]:
        raise ValueError(f"masks must have shape [M, {lam.shape[0]}], got {list(masks.shape)}")
    h = V.real(h, "h", positive=True)
    a = torch.where(masks, phi1(-h * lam)[None], torch.ones_like(lam)[None])
    amp = (1 - a * h * lam[None]).prod(1)
    return (amp / torch.exp(-h * lam.sum()) - 1).abs()


@cache
def enumerate_placements(k: int = 4) -> tuple[tuple[int, ...], torch.Tensor, list[tuple[int, ...]]]:
    r"""All :math:`\binom{20}{k}` placements: ``(best mask, errors [M], masks)``."""
    k = V.integer(k, "k", minimum=0, maximum=PLACEMENT_BLOCKS)
    combos = list(itertools.combinations(range(PLACEMENT_BLOCKS), k))
    masks = torch.zeros(len(combos), PLACEMENT_BLOCKS, dtype=torch.bool)
    for i, c in enumerate(combos):
        masks[i, list(c)] = True
    err = placement_errors(masks)
    return combos[int(err.argmin())], err, combos


def stiffest_first_errors(k_max: int = 5) -> torch.Tensor:
    r"""Errors when gating the top-:math:`k` blocks by :math:`h\lambda_t`, :math:`k=0..k_{\max}` (stable order)."""
    order = torch.argsort(-placement_rates(), stable=True)
    masks = torch.zeros(k_max + 1, PLACEMENT_BLOCKS, dtype=torch.bool)
    for k in range(k_max + 1):
        masks[k, order[:k]] = True
    return placement_errors(masks)


# ---------------------------------------------------------------- the step controller against uniform steps
CONTROLLER_STEPS, CONTROLLER_T, CONTROLLER_SAMPLES = 12, 1.0, 4096  # budget, horizon, draws


def cubic_decay_exact(y0: torch.Tensor, lam: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    r"""Exact solution of :math:`\dot y=-\lambda(y+y^3)`, :math:`y_0>0`: :math:`\sqrt{ce^{-2\lambda t}/(1-ce^{-2\lambda t})}`, :math:`c=y_0^2/(1+y_0^2)`."""
    c = y0**2 / (1 + y0**2)
    e = c * torch.exp(-2 * lam * t)
    return torch.sqrt(e / (1 - e))


@dataclass(frozen=True)
class ControllerComparison:
    """End errors ``[B]`` of both arms, the draws, and the controller's steps ``[N, B]``."""

    lam: torch.Tensor
    y0: torch.Tensor
    err_uniform: torch.Tensor
    err_controller: torch.Tensor
    steps_controller: torch.Tensor


@cache
def controller_vs_uniform(seed: int, n_samples: int = CONTROLLER_SAMPLES) -> ControllerComparison:
    r"""Uniform steps and the secant controller on :math:`\dot y=-\lambda(y+y^3)`, :math:`T=1`, :math:`N=12` steps each.

    Draws :math:`\lambda=\exp U[0,\log30]` then :math:`y_0\sim U[0.5,2]` from ``torch_generator(seed)``.
    """
    V.integer(seed, "seed", minimum=0)
    n = V.integer(n_samples, "n_samples", minimum=1)
    g = torch_generator(seed)
    lam = torch.exp(torch.empty(n, dtype=torch.float64).uniform_(0.0, math.log(30.0), generator=g))
    y0 = torch.empty(n, dtype=torch.float64).uniform_(0.5, 2.0, generator=g)

    def f(y: torch.Tensor) -> torch.Tensor:
        return -lam * (y + y**3)

    exact = cubic_decay_exact(y0, lam, CONTROLLER_T)
    xu, _ = uniform_euler(f, y0, CONTROLLER_T, CONTROLLER_STEPS)
    err_u = (xu[-1] - exact).abs().nan_to_num(nan=math.inf)
    xc, hc, _ = stiffness_aware_euler(f, y0, CONTROLLER_T, CONTROLLER_STEPS, c=0.5, rho0=50.0)
    return ControllerComparison(lam, y0, err_u, (xc[-1] - exact).abs(), hc)
