r"""Selectivity as an adaptive step: S6's :math:`\Delta_i` read with the stiffness chapter's tools.

Glue between :mod:`attnmath.dsf` (S6 and its transitions) and :mod:`attnmath.stiffness` (stability,
step sizes). Book: ``notebooks/90_synthesis``; claims ``synthesis.s4d-stiffness-euler-bound``,
``synthesis.delta-is-hold-time``, ``synthesis.selective-step-vs-stiffness``.

- :func:`s4d_transition_dsf`: the diagonal DSF of one S6 channel with S4D-real :math:`A=-\mathrm{diag}(1..n)`, with the
  exponential (ZOH, :func:`attnmath.dsf.s6_dsf`) or the explicit-Euler transition :math:`\Lambda=1+\Delta a`.
- :func:`held_input_ode_states`: the exact solution of :math:`\dot h=Ah+b_iu_i` with input *held* for
  :math:`\Delta_i` (``scipy.integrate.solve_ivp``), the reference for the warped-time reading.
- :func:`relaxation_task` and :func:`fit_selective_toy`: a toy selective SSM whose tokens relax the state at
  known stiffness :math:`\lambda_i` (the draws of the stiffness chapter's step-size adaptor), trained with the chapter's
  L-BFGS settings on targets from ``solve_ivp`` (not from the S6 code the toy itself runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F
from scipy.integrate import solve_ivp
from scipy.stats import spearmanr

from ..base import validation as V
from ..base.numerics import torch_generator
from ..base.runtime import single_thread
from ..dsf import DSF, s6_dsf
from ..stiffness.experiments import ADAPTOR_H, LBFGS, adaptor_data
from . import _checks as C

TRANSITIONS = ("zoh", "euler")
F64 = torch.float64

__all__ = [
    "TRANSITIONS",
    "ToyFit",
    "fit_selective_toy",
    "held_input_ode_states",
    "implied_euler_gate",
    "relaxation_task",
    "s4d_real",
    "s4d_transition_dsf",
    "toy_forward",
]


def s4d_real(n: int) -> torch.Tensor:
    r"""S4D-real's state matrix :math:`A=-\mathrm{diag}(1,\dots,n)` as its diagonal ``[n]`` (float64)."""
    n = V.integer(n, "n", minimum=1)
    return -torch.arange(1, n + 1, dtype=F64)


def s4d_transition_dsf(a: torch.Tensor, delta: torch.Tensor, transition: str = "zoh") -> DSF:
    r"""One S6 channel with diagonal :math:`A=\mathrm{diag}(a)` (``a [n]``, negative) and steps ``delta [L]``, as a DSF.

    ``"zoh"``: :func:`attnmath.dsf.s6_dsf` with exact ZOH, :math:`\Lambda_i=e^{\Delta_iA}`,
    :math:`B_i=\Delta_i\varphi_1(\Delta_iA)\mathbf 1`. ``"euler"``: the explicit-Euler discretisation
    :math:`\Lambda_i=I+\Delta_iA` (the stiffness chapter's :math:`R(z)=1+z`), :math:`B_i=\Delta_i\mathbf 1`.
    :math:`C_i=\mathbf 1^\top`. Input ``[L, 1]``. Claim ``synthesis.s4d-stiffness-euler-bound``.
    """
    V.choice(transition, "transition", TRANSITIONS)
    V.has_data(V.tensor(a, "a", ndim=1), "a")
    if bool((a >= 0).any()):
        raise ValueError("a must be negative (a stable continuous-time A)")
    V.has_data(V.tensor(delta, "delta", ndim=1), "delta")
    if bool((delta <= 0).any()):
        raise ValueError("delta must be positive (a step)")
    L, n = delta.shape[0], a.shape[0]
    ones = torch.ones(L, n, dtype=a.dtype)
    if transition == "zoh":
        return s6_dsf(torch.zeros(L, 1, dtype=a.dtype), delta[:, None], a[None, :], ones, ones, discretization="zoh")
    lam = 1.0 + delta[:, None] * a[None, :]
    return DSF(lam, (delta[:, None] * ones)[..., None], ones[:, None, :], structure="diagonal")


MAX_RHS_EVALS = 200_000  # per interval: DOP853 takes 12 evaluations a step, so ~16k steps; the claims need < 1k


def _bounded(
    fun: Callable[[float, np.ndarray], np.ndarray], what: str, i: int
) -> Callable[[float, np.ndarray], np.ndarray]:
    """``fun`` that raises ``ValueError`` after :data:`MAX_RHS_EVALS` calls: a solve never spins (a far too stiff input)."""
    calls = 0

    def counted(t: float, y: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls > MAX_RHS_EVALS:
            raise ValueError(
                f"{what} too stiff for the explicit solver: interval {i} needed more than {MAX_RHS_EVALS} "
                "right-hand-side evaluations; use smaller steps or decay rates"
            )
        return fun(t, y)

    return counted


def held_input_ode_states(
    a: np.ndarray | torch.Tensor,
    b: np.ndarray | torch.Tensor,
    u: np.ndarray | torch.Tensor,
    delta: np.ndarray | torch.Tensor,
    *,
    rtol: float = 1e-12,
    atol: float = 1e-14,
) -> np.ndarray:
    r"""Exact states of :math:`\dot h=\mathrm{diag}(a)h+b_iu_i` on :math:`(t_{i-1},t_i]`, :math:`t_i=\sum_{l\le i}\Delta_l`, :math:`h(0)=0`.

    Token :math:`i` is held for :math:`\Delta_i`: one ``solve_ivp`` (DOP853) per interval, restarted at every
    breakpoint so the piecewise-constant input never crosses a step. a ``[n]``, b ``[L, n]``, u, delta ``[L]``
    (numpy or torch) → ``h(t_i)`` ``[L, n]``. Claim ``synthesis.delta-is-hold-time``.
    """
    a = V.real_array(a, "a", ndim=1)
    b = V.real_array(b, "b", ndim=2)
    u = V.real_array(u, "u", ndim=1)
    d = V.real_array(delta, "delta", ndim=1)
    if b.shape != (u.shape[0], a.shape[0]) or d.shape != u.shape:
        raise ValueError(
            f"shapes must be a [n], b [L, n], u [L], delta [L]; got {a.shape}, {b.shape}, {u.shape}, {d.shape}"
        )
    if np.any(d <= 0):
        raise ValueError("delta must be positive (hold times)")
    # the state grows like e^{a_k t}: a positive a_k over the whole time sum(delta) must not overflow
    growth = float(a.max()) * float(d.sum())
    if growth > C.exp_bound(torch.float64):
        raise ValueError(
            f"a and delta make the state grow like e^(max(a) sum(delta)) = e^{growth:.4g}, which overflows: "
            f"max(a) * sum(delta) must be <= {C.exp_bound(torch.float64):.4g}"
        )
    rtol, atol = V.real(rtol, "rtol", positive=True), V.real(atol, "atol", positive=True)
    h = np.zeros_like(a)
    out = np.empty_like(b)
    for i in range(u.shape[0]):
        force = b[i] * u[i]
        rhs = _bounded(lambda _t, y, f=force: a * y + f, "a and delta (|a_k| delta_i)", i)  # type: ignore[misc]  # mypy cannot infer a lambda that binds loop values as default arguments
        sol = solve_ivp(rhs, (0.0, d[i]), h, method="DOP853", rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover - scipy reports a failed solve
            raise RuntimeError(f"solve_ivp failed on interval {i}: {sol.message}")
        h = sol.y[:, -1]
        out[i] = h
    return out


def relaxation_task(
    lam: torch.Tensor, seed: int, h: float = ADAPTOR_H, *, rtol: float = 1e-12, atol: float = 1e-14
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Token :math:`i` relaxes the state toward :math:`u_i` at stiffness :math:`\lambda_i` for a hold time :math:`h`.

    The targets solve :math:`\dot y=-\lambda_i(y-u_i)` on :math:`(t_{i-1},t_i]`, :math:`t_i=ih`, :math:`y(0)=0`
    numerically (``scipy.integrate.solve_ivp``, DOP853, one call per token for the whole batch, restarted at
    every breakpoint), independently of the S6 code the toy model uses; the exact flow is
    :math:`y_i=e^{-h\lambda_i}y_{i-1}+(1-e^{-h\lambda_i})u_i`. lam ``[B, L]`` (positive);
    :math:`u\sim\mathcal N(0,1)` from ``Generator(seed)``. Returns (u, y), ``[B, L]`` each, float64.
    """
    V.has_data(V.tensor(lam, "lam", ndim=2), "lam")
    if bool((lam <= 0).any()):
        raise ValueError("lam must be positive (a decay rate)")
    h = V.real(h, "h", positive=True)
    rtol, atol = V.real(rtol, "rtol", positive=True), V.real(atol, "atol", positive=True)
    g = torch_generator(seed)
    u = torch.randn(*lam.shape, generator=g, dtype=F64)
    la, ua = lam.detach().to(F64).numpy(), u.numpy()
    y = np.zeros(la.shape[0])
    out = np.empty_like(la)
    for i in range(la.shape[1]):
        li, ui = la[:, i], ua[:, i]
        rhs = _bounded(lambda _t, x, li=li, ui=ui: -li * (x - ui), "lam and h (lam_i h)", i)  # type: ignore[misc]  # mypy cannot infer a lambda that binds loop values as default arguments
        sol = solve_ivp(rhs, (0.0, h), y, method="DOP853", rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover - scipy reports a failed solve
            raise RuntimeError(f"solve_ivp failed on token {i}: {sol.message}")
        y = sol.y[:, -1]
        out[:, i] = y
    return u, torch.from_numpy(out)


def toy_forward(
    params: torch.Tensor, lam: torch.Tensor, u: torch.Tensor, transition: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The toy selective SSM: :math:`\Delta_i=\mathrm{softplus}(w_1\ln\lambda_i+w_2u_i+c)`, :math:`a=-e^{\alpha}`, one state.

    ``params = (w_1, w_2, c, \alpha)``. ``"zoh"``: S6 (:func:`attnmath.dsf.s6_dsf`, exact ZOH) with input gain
    :math:`b=|a|`, i.e. :math:`h_i=e^{\Delta_ia}h_{i-1}+(1-e^{\Delta_ia})u_i`; ``"euler"``: the explicit-Euler
    transition :math:`h_i=(1+\Delta_ia)h_{i-1}+\Delta_i|a|u_i`. lam, u ``[B, L]`` → (y ``[B, L]``, Δ ``[B, L]``, a).
    Raises ``ValueError`` for a non-positive ``lam`` (its log is taken), a ``u`` of another shape, or
    :math:`\alpha` above 700 (:math:`e^\alpha` would overflow).
    """
    V.choice(transition, "transition", TRANSITIONS)
    V.has_data(V.tensor(lam, "lam", ndim=2), "lam")
    V.has_data(V.tensor_like(u, "u", lam, "lam", ndim=2), "u")
    V.same_size("lam", lam, 0, "u", u, 0, "the batch size B")
    V.same_size("lam", lam, 1, "u", u, 1, "the length L")
    if bool((lam <= 0).any()):
        raise ValueError(f"lam must be positive (a stiffness: its log is taken), got min {float(lam.min()):.4g}")
    V.has_data(V.tensor_like(params, "params", lam, "lam", shape=(4,)), "params")
    C.exp_argument(params[3], "params[3] (alpha, a = -e^alpha)")
    w1, w2, c, alpha = params
    a = -torch.exp(alpha)
    delta = F.softplus(w1 * torch.log(lam) + w2 * u + c)
    if transition == "zoh":
        gain = (-a) * torch.ones_like(u)[..., None]
        dsf = s6_dsf(u[..., None], delta[..., None], a.reshape(1, 1), gain, torch.ones_like(gain), discretization="zoh")
    else:
        z = (delta * (-a))[..., None]
        dsf = DSF(1.0 - z, z[..., None], torch.ones_like(z)[..., None], structure="diagonal")
    return dsf.recurrent(u[..., None])[..., 0], delta, a


@dataclass(frozen=True)
class ToyFit:
    """A fitted toy: parameters ``[4]``, test stiffness ``lam``, steps ``delta`` and ``a``, test RMSE, Spearman(Δ, λ)."""

    params: torch.Tensor
    lam: torch.Tensor
    delta: torch.Tensor
    a: float
    rmse: float
    spearman: float

    @property
    def z(self) -> torch.Tensor:
        r"""The dimensionless step :math:`\Delta_i|a|` (the argument of the stability function)."""
        return self.delta * abs(self.a)


TOY_SHAPE = (32, 32)  # [B, L]: the first 1024 of the adaptor's train draws and of its test draws


@cache
@single_thread()
def fit_selective_toy(transition: str, seed: int) -> ToyFit:
    r"""Fit :func:`toy_forward` by one L-BFGS step (the stiffness chapter's ``LBFGS`` settings) from a seeded init.

    Data: :math:`\lambda` = the stiffness chapter's adaptor draws (:func:`attnmath.stiffness.experiments.adaptor_data`,
    log-uniform on [1, 100]) reshaped to ``[32, 32]``, targets :func:`relaxation_task` (seeds 1 train, 2 test),
    loss the mean squared error. Init :math:`0.5\,\mathcal N(0,I_4)` from ``Generator(100 + seed)``.
    Claim ``synthesis.selective-step-vs-stiffness``.
    """
    V.choice(transition, "transition", TRANSITIONS)
    V.integer(seed, "seed", minimum=0)
    (ltr, _), (lte, _) = adaptor_data()
    n = TOY_SHAPE[0] * TOY_SHAPE[1]
    ltr, lte = ltr[:n].reshape(TOY_SHAPE), lte[:n].reshape(TOY_SHAPE)
    (utr, ytr), (ute, yte) = relaxation_task(ltr, 1), relaxation_task(lte, 2)
    g = torch_generator(100 + seed)
    p = (0.5 * torch.randn(4, generator=g, dtype=F64)).requires_grad_(True)
    opt = torch.optim.LBFGS([p], **LBFGS)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = ((toy_forward(p, ltr, utr, transition)[0] - ytr) ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        y, delta, a = toy_forward(p.detach(), lte, ute, transition)
    rmse = float(((y - yte) ** 2).mean().sqrt())
    rho = float(spearmanr(delta.flatten().numpy(), lte.flatten().numpy()).statistic)
    return ToyFit(p.detach(), lte, delta, float(a), rmse, rho)


def implied_euler_gate(fit: ToyFit, h: float = ADAPTOR_H) -> torch.Tensor:
    r"""The gate of the stiffness chapter's gated Euler block that the ZOH update implements.

    :math:`h_i=h_{i-1}+g_i\,h\,f_i` with the token's field :math:`f_i=-\lambda_i(h_{i-1}-u_i)`:
    :math:`g_i=(1-e^{\Delta_ia})/(h\lambda_i)`, to compare with the exact gate :math:`\varphi_1(-h\lambda_i)`
    (:func:`attnmath.stiffness.exact_gate`). ``[B, L]``.
    """
    C.instance(fit, "fit", ToyFit, "attnmath.synthesis.ToyFit")
    h = V.real(h, "h", positive=True)
    return -torch.expm1(-fit.z) / (h * fit.lam)
