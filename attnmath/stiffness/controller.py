r"""Step-size control: the classical controller and the stiffness-aware secant controller.

- :func:`classical_step_update`: :math:`h_{\rm new}=h\min(f_{\max},\max(f_{\min},\kappa(\mathrm{tol}/\mathrm{err})^{1/(q+1)}))`
  (classical: hairer1993solving, II.4).
- :func:`error_optimal_step`: :math:`h^\star=\sqrt{2\,\mathrm{tol}/|x|}/|\lambda|` for Euler on :math:`\dot x=\lambda x`.
- :func:`uniform_euler` and :func:`stiffness_aware_euler`: :math:`N` Euler steps on :math:`[0,T]`, uniform
  (:math:`h_t=\mathrm{rem}/(N-t)`) or :math:`h_t=\min(\mathrm{rem},c/\hat\rho_t)` with the secant
  :math:`\hat\rho_t=|f_t-f_{t-1}|/|x_t-x_{t-1}|`, :math:`\hat\rho_0` given, the last step taking the
  remainder (reconstructed, see the book's Sources appendix; claim ``stiffness.controller-beats-uniform``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..base import validation as V


def classical_step_update(
    h: float, err: float, tol: float, q: int = 1, kappa: float = 0.9, fmin: float = 0.2, fmax: float = 5.0
) -> float:
    r"""The standard controller: :math:`h\cdot\min(f_{\max},\max(f_{\min},\kappa(\mathrm{tol}/\mathrm{err})^{1/(q+1)}))`.

    ``q`` is the order of the lower method of the embedded pair (1 for Euler/Heun). ``err = 0``
    gives the maximal growth ``fmax``. Classical (hairer1993solving, II.4).
    """
    h = V.real(h, "h", positive=True)
    err = V.real(err, "err", nonnegative=True)
    tol = V.real(tol, "tol", positive=True)
    q = V.integer(q, "q", minimum=1)
    kappa = V.real(kappa, "kappa", positive=True)
    fmin = V.real(fmin, "fmin", positive=True)
    fmax = V.real(fmax, "fmax", low=fmin)
    fac = fmax if err == 0 else min(fmax, max(fmin, kappa * (tol / err) ** (1.0 / (q + 1))))
    return h * fac


def error_optimal_step(tol: float, x: float, lam: float) -> float:
    r"""Euler step meeting a local-error tolerance on :math:`\dot x=\lambda x`: :math:`h^\star=\sqrt{2\,\mathrm{tol}/|x|}/|\lambda|`.

    From the local error :math:`\tfrac{h^2\lambda^2}{2}|x|` (classical; claim ``stiffness.error-optimal-step``).
    """
    tol = V.real(tol, "tol", positive=True)
    x = V.real(x, "x")
    lam = V.real(lam, "lam")
    if x == 0 or lam == 0:
        raise ValueError("x and lam must be non-zero (the local error vanishes otherwise)")
    h = math.sqrt(2 * tol / abs(x)) / abs(lam)
    if not math.isfinite(h):  # tiny |x| or |lam| against tol: the step overflows
        raise ValueError(f"tol / |x| / lam^2 overflows (tol={tol:.3g}, x={x:.3g}, lam={lam:.3g}): no finite step")
    return h


def _check(f: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, T: float, n_steps: int) -> tuple[float, int]:
    V.function(f, "f")
    V.tensor(x0, "x0", ndim=1)
    return V.real(T, "T", positive=True), V.integer(n_steps, "n_steps", minimum=1)


def uniform_euler(
    f: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, T: float, n_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``n_steps`` uniform Euler steps :math:`h=T/N` of an elementwise field; ``x0 [B]``.

    Returns ``(xs [N+1, B], hs [N, B])``.
    """
    T, n = _check(f, x0, T, n_steps)
    x, rem, xs, hs = x0, torch.full_like(x0, T), [x0], []
    for t in range(n):
        h = rem / (n - t)
        x = x + h * f(x)
        rem = rem - h
        xs.append(x)
        hs.append(h)
    return torch.stack(xs), torch.stack(hs)


def stiffness_aware_euler(
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    T: float,
    n_steps: int,
    c: float = 0.5,
    rho0: float = 50.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Euler with the secant controller :math:`h_t=\min(\mathrm{rem},c/\hat\rho_t)` at equal budget ``n_steps``.

    ``x0 [B]``, ``f`` elementwise. :math:`\hat\rho_0=` ``rho0``; then
    :math:`\hat\rho_t=|f_t-f_{t-1}|/|x_t-x_{t-1}|` (kept from the previous step where
    :math:`x_t=x_{t-1}`); the last step takes the remainder, so every sample reaches :math:`T`.
    Returns ``(xs [N+1, B], hs [N, B], rhos [N, B])``. Claim ``stiffness.controller-beats-uniform``.
    """
    T, n = _check(f, x0, T, n_steps)
    c = V.real(c, "c", positive=True)
    rho0 = V.real(rho0, "rho0", positive=True)
    x, rem, rho = x0, torch.full_like(x0, T), torch.full_like(x0, rho0)
    xs, hs, rhos = [x0], [], []
    x_prev: torch.Tensor | None = None
    f_prev: torch.Tensor | None = None
    for t in range(n):
        fx = f(x)
        if t > 0:
            assert x_prev is not None and f_prev is not None  # set at the end of step t - 1
            dx = (x - x_prev).abs()
            rho = torch.where(dx > 0, (fx - f_prev).abs() / dx.clamp_min(1e-300), rho)
        h = rem if t == n - 1 else torch.minimum(rem, c / rho.clamp_min(1e-300))
        x_prev, f_prev = x, fx
        x = x + h * fx
        rem = rem - h
        xs.append(x)
        hs.append(h)
        rhos.append(rho)
    return torch.stack(xs), torch.stack(hs), torch.stack(rhos)
