r"""Classical linear stability: stability functions, real stability boundaries, stiffness ratio.

For the test equation :math:`\dot y=\lambda y` one step of a Runge–Kutta method is
:math:`y_{n+1}=R(z)\,y_n`, :math:`z=h\lambda` (Hairer–Wanner II, IV.2). The methods here:

==================  =======================================  ====================
method              :math:`R(z)`                             real interval
==================  =======================================  ====================
``euler``           :math:`1+z`                              :math:`[-2,0]`
``rk2``             :math:`1+z+z^2/2`                        :math:`[-2,0]`
``rk3``             :math:`1+z+z^2/2+z^3/6`                  :math:`[-2.5127,0]`
``rk4``             :math:`\dots+z^4/24`                     :math:`[-2.7853,0]`
``backward_euler``  :math:`1/(1-z)`                          :math:`(-\infty,0]`
``trapezoid``       :math:`(1+z/2)/(1-z/2)`                  :math:`(-\infty,0]`
==================  =======================================  ====================

Claims: ``stiffness.euler-stability``, ``stiffness.rk-real-boundaries``,
``stiffness.local-error-order``, ``stiffness.stiff-2x2-threshold``. Book:
``notebooks/50_stiffness``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import sympy as sp
import torch
from scipy.optimize import brentq

from ..base import validation as V
from ._checks import complex_array

METHODS = ("euler", "rk2", "rk3", "rk4", "backward_euler", "trapezoid")
EXPLICIT = ("euler", "rk2", "rk3", "rk4")
_ORDER = {"euler": 1, "rk2": 2, "rk3": 3, "rk4": 4}
# R(z) is a polynomial of degree <= 4: |z| <= 1e75 keeps z**4 (<= 1e300) finite.
Z_MAX = 1e75
# h_max = -2 Re(lam) / |lam|^2: |lam|^2 must neither overflow nor underflow to 0 (which gave Inf).
LAM_MAX = V.MAX_ABS_F64
LAM_MIN = 1.0 / V.MAX_ABS_F64


def stability_function_sympy(method: str, z: sp.Symbol | None = None) -> sp.Expr:
    r"""The stability function :math:`R(z)` of ``method`` as a sympy expression in ``z``.

    Explicit RK of order :math:`p\le4` with :math:`p` stages: :math:`R=\sum_{k\le p}z^k/k!`;
    backward Euler :math:`1/(1-z)`; trapezoid :math:`(1+z/2)/(1-z/2)`. Claims ``stiffness.euler-stability``,
    ``stiffness.rk-real-boundaries``, ``stiffness.local-error-order``.
    """
    V.choice(method, "method", METHODS)
    z = sp.Symbol("z") if z is None else z
    if method in EXPLICIT:
        return sum(z**k / sp.factorial(k) for k in range(_ORDER[method] + 1))
    if method == "backward_euler":
        return 1 / (1 - z)
    return (1 + z / 2) / (1 - z / 2)


def stability_function(method: str, z: complex | np.ndarray | Sequence[complex]) -> np.ndarray:
    r""":math:`R(z)` evaluated on a real or complex array ``z`` (numpy, any shape; returns complex128).

    Same formulas as :func:`stability_function_sympy`. Claims ``stiffness.euler-stability``,
    ``stiffness.rk-real-boundaries``.

    Raises ``TypeError`` for a non-numeric or empty ``z``, ``ValueError`` for NaN/Inf or
    :math:`|z|>10^{75}` (where :math:`z^4` would overflow).
    """
    V.choice(method, "method", METHODS)
    z = complex_array(z, "z", max_abs=Z_MAX)
    if method in EXPLICIT:
        return cast(np.ndarray, sum(z**k / math.factorial(k) for k in range(_ORDER[method] + 1)))
    if method == "backward_euler":
        return 1 / (1 - z)
    return (1 + z / 2) / (1 - z / 2)


def real_stability_boundary(method: str, zmax: float = 10.0) -> float:
    r"""The left end :math:`-\beta` of the real stability interval :math:`\{z\le0:|R(z)|\le1\}\ni0`.

    Found as the first sign change of :math:`|R(z)|-1` on a grid of :math:`[-z_{\max},0)`, refined
    with ``scipy.optimize.brentq`` (xtol 1e-15), on a shorter interval when the grid's first point
    is already outside (``zmax`` far larger than the interval). A-stable methods return ``-inf``, and so
    does an explicit method whose interval reaches past ``-zmax``. Values:
    :math:`-2,-2,-2.5127453266,-2.7852935634` for Euler, RK2, RK3, RK4 (claim ``stiffness.rk-real-boundaries``).
    """
    V.choice(method, "method", METHODS)
    zmax = V.real(zmax, "zmax", positive=True)
    if method not in EXPLICIT:
        return -math.inf
    grid = -np.linspace(0.0, zmax, 20001)[1:]
    g = np.abs(stability_function(method, grid)) - 1.0
    out = np.nonzero(g > 0)[0]
    if out.size == 0:
        return -math.inf
    i = int(out[0])
    if i == 0:  # the first grid point is already outside: the grid is too coarse, look closer to 0
        return real_stability_boundary(method, float(-grid[0]))
    hi = float(grid[i - 1])

    def gfun(x: float) -> float:
        return float(np.abs(stability_function(method, np.array([x])))[0] - 1.0)

    return float(brentq(gfun, float(grid[i]), hi, xtol=1e-15, rtol=1e-15))


def euler_max_step(lam: complex | np.ndarray | Sequence[complex]) -> np.ndarray:
    r"""Largest stable explicit-Euler step for :math:`\dot y=\lambda y`, :math:`\mathrm{Re}\,\lambda<0`.

    :math:`|1+h\lambda|\le1 \iff h\le h_{\max}=-2\,\mathrm{Re}\,\lambda/|\lambda|^2` (for real
    :math:`\lambda<0`: :math:`2/|\lambda|`). ``lam``: real or complex array of any shape. Claim
    ``stiffness.euler-stability``.

    Raises ``TypeError`` for a non-numeric or empty ``lam``, ``ValueError`` for NaN/Inf, a magnitude
    outside :math:`[7.5\cdot10^{-155},1.3\cdot10^{154}]` (:math:`|\lambda|^2` would over- or underflow)
    or :math:`\mathrm{Re}\,\lambda\ge0`.
    """
    lam = complex_array(lam, "lam", max_abs=LAM_MAX)
    if np.any(lam.real >= 0):
        raise ValueError("lam must have negative real part (no stable Euler step otherwise)")
    if float(np.abs(lam).min()) < LAM_MIN:
        raise ValueError(f"lam must have magnitude >= {LAM_MIN:.3g} (h_max overflows), got {np.abs(lam).min():.3g}")
    return -2.0 * lam.real / np.abs(lam) ** 2


def _as_matrix(A: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    if isinstance(A, np.ndarray):
        if A.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be a real matrix, got dtype {A.dtype}")
        A = torch.from_numpy(np.ascontiguousarray(A, dtype=np.float64))
    A = V.has_data(V.tensor(A, name, ndim=2), name)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {list(A.shape)}")
    return A.detach().cpu().double()  # the eigen-solvers below go through numpy: read the values, not the graph


def eigenvalues(A: np.ndarray | torch.Tensor) -> np.ndarray:
    """Eigenvalues of a real square matrix ``A`` ([d, d], numpy or torch) as complex128 numpy."""
    return torch.linalg.eigvals(_as_matrix(A, "A")).numpy()


def stiffness_ratio(A: np.ndarray | torch.Tensor) -> float:
    r"""Lambert's stiffness ratio :math:`S=\max_i|\mathrm{Re}\,\lambda_i|/\min_i|\mathrm{Re}\,\lambda_i|`.

    ``A``: real square matrix ``[d, d]`` (numpy or torch). Defined when every eigenvalue has
    negative real part; otherwise ``ValueError``. Example: the stiff 2×2 matrix of
    :data:`attnmath.stiffness.experiments.STIFF_A` gives 1000 (claim ``stiffness.stiff-2x2-threshold``).
    """
    ev = eigenvalues(A)
    if np.any(ev.real >= 0):
        raise ValueError(f"A must have eigenvalues with negative real parts for a stiffness ratio, got {ev}")
    re = np.abs(ev.real)
    return float(re.max() / re.min())


def spectral_radius(A: np.ndarray | torch.Tensor) -> float:
    r""":math:`\rho(A)=\max_i|\lambda_i|` of a real square matrix ``[d, d]``."""
    return float(np.abs(eigenvalues(A)).max())


def rk_step(f: Callable[[np.ndarray], np.ndarray], y: np.ndarray, h: float, method: str) -> np.ndarray:
    r"""One explicit step: Euler, Heun (``rk2``), Kutta's third order (``rk3``) or classical RK4.

    ``f`` maps a state array to its derivative (autonomous); ``y``: a real state array of any shape
    (computed in float64). Their stability functions are those of :func:`stability_function` (claim
    ``stiffness.local-error-order``). Raises ``TypeError``/``ValueError`` naming ``f``, ``y``, ``h`` or
    ``method`` (a non-callable ``f``, a non-real, empty or non-finite ``y``, ``h < 0``, an unknown method).
    """
    V.function(f, "f")
    y = V.real_array(y, "y")
    V.choice(method, "method", EXPLICIT)
    h = V.real(h, "h", nonnegative=True)
    return _rk_step(f, y, h, method)


def _rk_step(f: Callable[[np.ndarray], np.ndarray], y: np.ndarray, h: float, method: str) -> np.ndarray:
    """:func:`rk_step` unvalidated (a fixed-step solve may run into Inf on purpose)."""
    k1 = f(y)
    if method == "euler":
        return y + h * k1
    if method == "rk2":
        return y + h / 2 * (k1 + f(y + h * k1))
    if method == "rk3":
        k2 = f(y + h / 2 * k1)
        k3 = f(y - h * k1 + 2 * h * k2)
        return y + h / 6 * (k1 + 4 * k2 + k3)
    k2 = f(y + h / 2 * k1)
    k3 = f(y + h / 2 * k2)
    k4 = f(y + h * k3)
    return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def fixed_step_solve(
    f: Callable[[np.ndarray], np.ndarray],
    y0: float | np.ndarray | Sequence[float],
    h: float,
    n_steps: int,
    method: str = "euler",
) -> np.ndarray:
    r"""``n_steps`` fixed steps of :func:`rk_step` from ``y0``; returns the trajectory ``[n_steps+1, *y0.shape]``.

    ``y0``: a finite real number or array (float64); ``n_steps >= 0``. A trajectory that blows up runs
    into Inf/NaN quietly (the unstable case is a result). Raises ``TypeError``/``ValueError`` naming the
    bad argument.
    """
    V.function(f, "f")
    y = V.real_array(y0, "y0")
    h = V.real(h, "h", nonnegative=True)
    n_steps = V.integer(n_steps, "n_steps", minimum=0)
    V.choice(method, "method", EXPLICIT)
    out = [y]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            y = _rk_step(f, y, h, method)
            out.append(y)
    return np.stack(out)
