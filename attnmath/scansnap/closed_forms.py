r"""Closed forms of Scan and Snap: the decoder solution, the speed control and the snap.

All functions are float64 numpy (scalars or arrays of times ``t``). Conventions (ours):
:math:`t_0' = K\ln M/\eta_Y` (end of scanning) and :math:`t_0 = 2K\ln M/\eta_Y` (snap; the
:math:`(1+\omega_1)` factor of Lemma 9 of ``tian2023scan`` dropped). The closed forms marked
*classical* (Wright omega, Lambert W) and the corrected constant of Theorem 4 are derived here, not
printed in the paper (see the book's Sources appendix). Book: ``notebooks/40_scan_and_snap``
(claims ``scansnap.s04-decoder-solution``, ``scansnap.s05-gamma-two-stages``,
``scansnap.s08-frequency-bias``, ``scansnap.s10-snap-closed-form``, ``scansnap.s10-snap-numeric``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from numbers import Real
from typing import Any

import numpy as np
import torch
from scipy.special import lambertw, wrightomega

from ..base import validation as V

#: Relative tolerances the reference ODE solves accept: below ~100 unit roundoffs DOP853 cannot deliver more, and 0
#: (with the absolute tolerance tied to it) made the solver spin; above 0.1 the "reference" would not be one.
RTOL_MIN, RTOL_MAX = 1e-14, 0.1
#: The largest logit increment :func:`chi` accepts: e^{2 x 350} = 1e304 is finite, e^{2 x 355} overflows float64.
CHI_MAX_DZ = 350.0


def _common(M: int, eta_Y: float) -> tuple[int, float]:
    M = V.integer(M, "M", minimum=2)
    return M, V.real(eta_Y, "eta_Y", positive=True)


def _real_array(x: Any, name: str, **kwargs: Any) -> np.ndarray:
    """:func:`V.real_array`, also for exact numbers (``Fraction``, ``Decimal``, alone or in a list): float64 numpy."""
    if not isinstance(x, torch.Tensor) and x is not None and not isinstance(x, str | bytes):
        try:
            raw = np.asarray(x)
        except ValueError:  # a ragged nesting: let V.real_array name it
            raw = None
        if raw is not None and raw.dtype == object and raw.size:
            if all(isinstance(v, Real | Decimal) and not isinstance(v, bool) for v in raw.flat):
                x = raw.astype(np.float64)
    return V.real_array(x, name, **kwargs)


def _times(t: float | np.ndarray | Sequence[float], name: str = "t") -> np.ndarray:
    """Times: a real scalar or array (any shape, empty too: the closed forms act elementwise), finite and >= 0."""
    arr = _real_array(t, name, nonempty=False)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (times), got min {arr.min():.6g}")
    return arr


def _time_grid(t: float | np.ndarray | Sequence[float], name: str = "t_eval") -> np.ndarray:
    """The output times of an ODE solve: a non-empty 1-D array, finite, >= 0 and sorted (``solve_ivp``'s ``t_eval``)."""
    arr = _real_array(t, name, ndim=1)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (times), got min {arr.min():.6g}")
    if np.any(np.diff(arr) < 0):
        raise ValueError(f"{name} must be sorted in increasing order")
    return arr


def _snap_args(M: int, K: int, eta_Y: float, eta_Z: float, C0: float) -> tuple[int, int, float, float, float]:
    """The parameters of the snap formulas: ``M >= 2``, ``K >= 1``, ``eta_Y > 0``, ``eta_Z >= 0``, ``C0 > 0``."""
    M, eY = _common(M, eta_Y)
    K = V.integer(K, "K", minimum=1)
    eZ = V.real(eta_Z, "eta_Z", nonnegative=True)
    return M, K, eY, eZ, V.real(C0, "C0", positive=True)


def h_star(steps: int, M: int, eta_Y: float) -> np.ndarray:
    r"""Lemma 5, exact discrete decoder: :math:`h^*(s) = h^*(s-1) + \eta_Y/((M-1)+e^{Mh^*(s-1)})`, :math:`h^*(0)=0`.

    Returns ``[steps + 1]``. With one-hot :math:`f` and a fixed label :math:`n`, plain GD from
    :math:`Y=0` gives logits :math:`w_n(s) = (M-1)h^*(s)\zeta_n` exactly (claim ``scansnap.s04-decoder-solution``).
    """
    M, eY = _common(M, eta_Y)
    S = V.integer(steps, "steps", minimum=0)
    h = np.zeros(S + 1)
    for s in range(1, S + 1):
        h[s] = h[s - 1] + eY / ((M - 1) + np.exp(M * h[s - 1]))
    return h


def zeta(n: int, M: int) -> np.ndarray:
    r""":math:`\zeta_n = \frac{M}{M-1}(e_n - \frac1M\mathbf 1)`: ``[M]``."""
    M = V.integer(M, "M", minimum=2)
    n = V.integer(n, "n", minimum=0, maximum=M - 1)
    z = -np.ones(M) / (M - 1)
    z[n] = 1.0
    return z


def h_closed(t: float | np.ndarray | Sequence[float], M: int, eta_Y: float) -> np.ndarray:
    r"""Lemma 6 in closed form (classical): :math:`Mh = a - \omega(a - \ln(M-1)) = \ln\big((M-1)\,\omega(a-\ln(M-1))\big)`, :math:`a = (M\eta_Yt+1)/(M-1)`.

    Solves :math:`\dot h = \eta_Y/((M-1)+e^{Mh})`, :math:`h(0)=0`, i.e. the implicit
    :math:`e^{Mh}+(M-1)Mh = M\eta_Yt+1`; :math:`\omega` is ``scipy.special.wrightomega``
    (:math:`\omega(x) = W_0(e^x)` without overflow); the logarithmic form, from
    :math:`\omega + \ln\omega = x`, avoids the cancellation of :math:`a - \omega` at large ``t``.
    """
    M, eY = _common(M, eta_Y)
    t = _times(t)
    a = (M * eY * t + 1.0) / (M - 1)
    # a - omega(x) = ln(M-1) + ln omega(x) since omega + ln omega = x = a - ln(M-1): no cancellation at large t
    u = np.log((M - 1) * np.real(wrightomega(a - np.log(M - 1))))
    # For tiny t the log form returns u = O(eps) of either sign (log of (M-1) omega ~ 1): two Newton steps on
    # f(u) = expm1(u) + (M-1) u - M eta_Y t (the implicit equation, free of that cancellation) restore the
    # relative accuracy (u ~ eta_Y t); for large u a step changes u by O(eps) (skipped where e^u would overflow).
    for _ in range(2):
        uc = np.minimum(u, 700.0)
        u = np.where(u < 700.0, u - (np.expm1(uc) + (M - 1) * uc - M * eY * t) / (np.exp(uc) + (M - 1)), u)
    return np.where(t == 0, 0.0, u / M)


def h_ode(t_eval: float | np.ndarray | Sequence[float], M: int, eta_Y: float, *, rtol: float = 1e-11) -> np.ndarray:
    """Reference for :func:`h_closed`: ``solve_ivp`` (DOP853) of :math:`\\dot h = \\eta_Y/((M-1)+e^{Mh})`."""
    from scipy.integrate import solve_ivp

    M, eY = _common(M, eta_Y)
    t = _time_grid(t_eval, "t_eval")
    rtol = V.real(rtol, "rtol", low=RTOL_MIN, high=RTOL_MAX)  # 0, NaN or Inf made the solver spin
    sol = solve_ivp(
        lambda _, h: eY / ((M - 1) + np.exp(M * h)),
        (0.0, float(t.max())),
        [0.0],
        t_eval=t,
        method="DOP853",
        rtol=rtol,
        atol=rtol * 1e-3,
    )
    return sol.y[0]


def gamma_speed(
    t: float | np.ndarray | Sequence[float], M: int, K: int, eta_Y: float, *, discrete: bool = False
) -> np.ndarray:
    r"""Speed-control coefficient :math:`\gamma(t) = (M-1)^2 h/((M-1)+e^{Mh})`, :math:`h = h(t/K)`.

    ``discrete=True`` uses :math:`h^*(\lceil t/K\rceil)` (the paper's definition);
    otherwise the continuous :math:`h(t/K)` of :func:`h_closed` (claim ``scansnap.s05-gamma-two-stages``).
    """
    M, eY = _common(M, eta_Y)
    K = V.integer(K, "K", minimum=1)
    t = _times(t)
    if V.flag(discrete, "discrete"):
        s = np.ceil(t / K).astype(int)
        h = h_star(int(s.max()) if s.size else 0, M, eY)[s]
    else:
        h = h_closed(t / K, M, eY)
    return (M - 1) ** 2 * h / ((M - 1) + np.exp(M * h))


def dlog_gamma_dlog_t(t: float | np.ndarray | Sequence[float], M: int, K: int, eta_Y: float) -> np.ndarray:
    r"""Exact local slope :math:`\frac{d\ln\gamma}{d\ln t} = \frac{t\,\eta_Y}{KD}\Big(\frac1h - \frac{Me^{Mh}}{D}\Big)`, :math:`D = (M-1)+e^{Mh}`."""
    M, eY = _common(M, eta_Y)
    K = V.integer(K, "K", minimum=1)
    t = _times(t)
    h = h_closed(t / K, M, eY)
    D = (M - 1) + np.exp(M * h)
    # at t = 0 (h = 0) the formula reads 0 * inf; its limit is 1 (h ~ eta_Y t / (K M), gamma ~ t)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = t * eY / (K * D) * (1.0 / h - M * np.exp(M * h) / D)
    return np.where(t == 0, 1.0, slope)


def gamma_argmax(M: int, K: int, eta_Y: float) -> float:
    r"""Time of the peak of :math:`\gamma` (classical): :math:`u = Mh = 1 + W_0((M-1)/e)`, :math:`t^* = K\,(e^u + (M-1)u - 1)/(M\eta_Y)`."""
    M, eY = _common(M, eta_Y)
    K = V.integer(K, "K", minimum=1)
    u = 1.0 + float(np.real(lambertw((M - 1) / np.e, 0)))
    return float(K * (np.exp(u) + (M - 1) * u - 1.0) / (M * eY))


def omega1(M: int) -> float:
    r"""Lemmas 8-9 in closed form (classical): :math:`u^* = -W_{-1}(-1/(M-1))` solves :math:`e^u = (M-1)u`; :math:`\omega_1 = u^*/\ln M - 1`."""
    M = V.integer(M, "M", minimum=4)
    u = -float(np.real(lambertw(-1.0 / (M - 1), -1)))
    return u / np.log(M) - 1.0


def t0_scan(M: int, K: int, eta_Y: float) -> float:
    """End of the scanning stage, :math:`t_0' = K\\ln M/\\eta_Y`."""
    M, eY = _common(M, eta_Y)
    K = V.integer(K, "K", minimum=1)
    return K * np.log(M) / eY


def t0_snap(M: int, K: int, eta_Y: float) -> float:
    """Snap time, :math:`t_0 = 2K\\ln M/\\eta_Y` (our convention: Lemma 9's :math:`(1+\\omega_1)` dropped)."""
    return 2.0 * t0_scan(M, K, eta_Y)


def Gamma_closed(t: float | np.ndarray | Sequence[float], M: int, K: int, eta_Y: float, eta_Z: float) -> np.ndarray:
    r""":math:`\Gamma(t) = \eta_Z\int_0^t\gamma = \frac{\eta_Z}{\eta_Y}\frac{K(M-1)^2}{2}h^2(t/K)` (exact for the continuous :math:`h`; derived here)."""
    M, eY = _common(M, eta_Y)
    K = V.integer(K, "K", minimum=1)
    eZ = V.real(eta_Z, "eta_Z", nonnegative=True)
    return eZ / eY * K * (M - 1) ** 2 / 2.0 * h_closed(_times(t) / K, M, eY) ** 2


def B_snap(
    t: float | np.ndarray | Sequence[float], M: int, K: int, eta_Y: float, eta_Z: float, C0: float
) -> np.ndarray:
    r"""Theorem 4, corrected (reconstructed here): :math:`B_n(t) = \tfrac14\ln(1 + 4\Gamma(t)/C_0)`, so :math:`B_n(0) = 0`.

    The paper prints :math:`\tfrac14\ln(C_0+4\Gamma)` (:func:`B_snap_printed`), off by
    :math:`\tfrac14\ln C_0` (claim ``scansnap.s10-snap-closed-form``).
    """
    c0 = _snap_args(M, K, eta_Y, eta_Z, C0)[-1]
    return 0.25 * np.log1p(4.0 * Gamma_closed(t, M, K, eta_Y, eta_Z) / c0)


def B_snap_printed(
    t: float | np.ndarray | Sequence[float], M: int, K: int, eta_Y: float, eta_Z: float, C0: float
) -> np.ndarray:
    r"""The paper's printed Eqn. 124/129, :math:`\tfrac14\ln(C_0+4\Gamma)`: kept only to show it is off by :math:`\tfrac14\ln C_0`."""
    c0 = _snap_args(M, K, eta_Y, eta_Z, C0)[-1]
    return 0.25 * np.log(c0 + 4.0 * Gamma_closed(t, M, K, eta_Y, eta_Z))


def dB_dlog_t(
    t: float | np.ndarray | Sequence[float], M: int, K: int, eta_Y: float, eta_Z: float, C0: float
) -> np.ndarray:
    r"""Exact local slope :math:`dB/d\ln t = t\,\eta_Z\gamma(t)/(C_0 + 4\Gamma(t))`."""
    M, K, eta_Y, eta_Z, C0 = _snap_args(M, K, eta_Y, eta_Z, C0)
    t = _times(t)
    return t * eta_Z * gamma_speed(t, M, K, eta_Y) / (C0 + 4.0 * Gamma_closed(t, M, K, eta_Y, eta_Z))


def B_snap_branches(
    t: float | np.ndarray | Sequence[float], M: int, K: int, eta_Y: float, eta_Z: float, C0: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""The two asymptotic branches of :math:`B_n`: scanning (:math:`t < t_0'`) and snapping (:math:`t \ge t_0`).

    :math:`\tfrac14\ln(1+\frac{2(M-1)^2}{C_0KM^2}\eta_Y\eta_Zt^2)` and
    :math:`\tfrac14\ln(1+\frac{2K(M-1)^2}{C_0M^2}\frac{\eta_Z}{\eta_Y}\ln^2(M\eta_Yt/K))`. Returns both arrays.
    At ``t = 0`` the snapping branch is ``inf`` (:math:`\ln^2 0`), without a warning.
    """
    M, K, eta_Y, eta_Z, C0 = _snap_args(M, K, eta_Y, eta_Z, C0)
    t = _times(t)
    scan = 0.25 * np.log1p(2 * (M - 1) ** 2 / (C0 * K * M**2) * eta_Y * eta_Z * t**2)
    with np.errstate(divide="ignore"):
        snap = 0.25 * np.log1p(2 * K * (M - 1) ** 2 / (C0 * M**2) * eta_Z / eta_Y * np.log(M * eta_Y * t / K) ** 2)
    return scan, snap


def snap_ode(
    t_eval: float | np.ndarray | Sequence[float],
    M: int,
    K: int,
    eta_Y: float,
    eta_Z: float,
    C0: float,
    *,
    rtol: float = 1e-12,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Reference ODE of the paper's §6: :math:`\dot z = -\eta_Z\gamma(t)e^{4z}/C_0`, :math:`\dot B = \eta_Z\gamma(t)e^{4z}/C_0`, :math:`z(0)=B(0)=0`.

    ``solve_ivp`` (DOP853) with :math:`\gamma` from :func:`gamma_speed`. Returns ``(z, B)`` at ``t_eval``.
    """
    from scipy.integrate import solve_ivp

    M, K, eta_Y, eta_Z, c0 = _snap_args(M, K, eta_Y, eta_Z, C0)
    t = _time_grid(t_eval, "t_eval")
    rtol = V.real(rtol, "rtol", low=RTOL_MIN, high=RTOL_MAX)

    def rhs(tt: float, y: np.ndarray) -> list[float]:
        rate = eta_Z * float(gamma_speed(tt, M, K, eta_Y)) * np.exp(4.0 * y[0]) / c0
        return [-rate, rate]

    sol = solve_ivp(rhs, (0.0, float(t.max())), [0.0, 0.0], t_eval=t, method="DOP853", rtol=rtol, atol=1e-14)
    return sol.y[0], sol.y[1]


def relative_gain(f: np.ndarray, l: int, lp: int) -> np.ndarray:
    r"""Theorem 3: :math:`r_{l/l'\mid n} = f_{nl}^2/f_{nl'}^2 - 1` along the last axis of ``f`` (or of ``c``: same ratio).

    ``f``: a real array (leading axes free), ``l``, ``lp``: token indices in ``[0, f.shape[-1])``; ``f[..., lp]``
    must be nonzero. Raises ``TypeError``/``ValueError`` naming the argument otherwise.
    """
    f = _real_array(f, "f")
    if f.ndim == 0:
        raise ValueError("f must have at least 1 dimension (the token axis last), got a scalar")
    n = f.shape[-1]
    l = V.integer(l, "l", minimum=0)
    lp = V.integer(lp, "lp", minimum=0)
    for name, idx in (("l", l), ("lp", lp)):
        if idx >= n:
            raise ValueError(f"{name} must index the last axis of f (size {n}), got {idx}")
    if np.any(f[..., lp] == 0):
        raise ValueError(f"f[..., lp] (lp = {lp}) must be nonzero: it is the denominator of the ratio")
    r = f[..., l] ** 2 / f[..., lp] ** 2 - 1.0
    if not np.all(np.isfinite(r)):
        raise ValueError(f"f: the ratio f[..., l]^2 / f[..., lp]^2 overflows for l = {l}, lp = {lp}")
    return r


def chi(z: float | np.ndarray | Sequence[float], z0: float | np.ndarray | Sequence[float]) -> np.ndarray:
    r""":math:`\chi_l(t) = e^{2(z_{ml}(t) - z_{ml}(0))}`, so that :math:`r(t) = r(0)\chi_l(t)` (Theorem 3).

    ``z``: logits (any shape); ``z0`` broadcasts to ``z``'s shape (e.g. a scalar). Raises ``ValueError``
    when ``z0`` does not broadcast to ``z``, or when ``z - z0`` exceeds 350 (``e^{2 \cdot 350}`` is near the float64 maximum).
    """
    za = _real_array(z, "z")
    z0a = _real_array(z0, "z0")
    try:
        same = np.broadcast_shapes(za.shape, z0a.shape) == za.shape
    except ValueError:
        same = False
    if not same:
        raise ValueError(f"z0 must broadcast to the shape of z: z has shape {list(za.shape)}, z0 {list(z0a.shape)}")
    dz = za - z0a
    # the exponent e^{2 dz} overflows float64 past dz ~ 354.9: refuse rather than return Inf
    if np.any(dz > CHI_MAX_DZ):
        raise ValueError(f"z - z0 must be <= {CHI_MAX_DZ} (e^(2 (z - z0)) overflows), got {dz.max():.6g}")
    return np.exp(2.0 * dz)


def attention_ratio_decay(
    r0: float | np.ndarray | Sequence[float], chi_l0: float | np.ndarray | Sequence[float]
) -> np.ndarray:
    r""":math:`(c_l/c_{l_0})(t)/(c_l/c_{l_0})(0) = \sqrt{(1+r_0)/(1+r_0\chi_{l_0})}` with :math:`r_0 = r_{l_0/l}(0)` (claim ``scansnap.s08-frequency-bias``)."""
    r0 = _real_array(r0, "r0")
    # chi_l0 = e^{2 dz} legitimately exceeds the product bound of V.real_array (e^{2 x 194} = 6e168 in claim
    # scansnap.s08-frequency-bias): only NaN/Inf are refused; 1 + r0 chi_l0 may overflow to Inf, giving the exact limit 0
    chi = _real_array(chi_l0, "chi_l0", finite=False)
    if not np.all(np.isfinite(chi)):
        raise ValueError("chi_l0 must contain only finite values (found NaN or Inf)")
    if np.any(r0 <= -1):  # r0 = f_{l0}^2/f_l^2 - 1 > -1
        raise ValueError(f"r0 must be > -1 (a ratio of squares minus 1), got min {r0.min():.6g}")
    if np.any(chi <= 0):  # chi = e^{2 dz} > 0
        raise ValueError(f"chi_l0 must be > 0 (an exponential), got min {chi.min():.6g}")
    with np.errstate(over="ignore"):
        den = 1.0 + r0 * chi
    if np.any(den <= 0):
        raise ValueError("r0 and chi_l0 must give 1 + r0 * chi_l0 > 0 (r(t) = r0 chi_l0 > -1)")
    return np.sqrt((1.0 + r0) / den)
