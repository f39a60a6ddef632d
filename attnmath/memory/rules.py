r"""Learning rules: Hebbian vs prediction error (delta / Rescorla–Wagner / DeltaNet).

Book chapter: ``notebooks/30_pavlovian_memory`` (claims ``memory.delta-rule-exact``,
``memory.delta-rule-least-squares``, ``memory.blocking-extinction``). Classical; see the book's Sources appendix.

Matrix form of Rescorla–Wagner (1972) = Widrow–Hoff / LMS = DeltaNet (Schlag et al. 2021):

.. math:: M_t = M_{t-1} + \beta_t\,(v_t - M_{t-1}k_t)\,k_t^\top .

Memories are ``[..., d_v, d_k]`` as in :mod:`attnmath.memory.hebbian`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ..base import validation as V
from .hebbian import _pairs, _qkv


def delta_rule_recurrent(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    beta: float | torch.Tensor,
    *,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""DeltaNet recurrence :math:`M_t=M_{t-1}+\beta_t(v_t-M_{t-1}k_t)k_t^\top`, :math:`o_t=M_tq_t`.

    q, k ``[..., T, d_k]``, v ``[..., T, d_v]``; ``beta`` a scalar or ``[..., T]`` of write
    strengths :math:`\beta_t\ge0` (no convergence is claimed here, so any non-negative
    strength is accepted); optional :math:`M_0` ``[..., d_v, d_k]``.
    Returns (outputs ``[..., T, d_v]``, final memory ``[..., d_v, d_k]``).
    With :math:`\beta_t=1` and :math:`\lVert k_t\rVert=1` the write is an exact overwrite,
    :math:`M_tk_t=v_t` (claim ``memory.delta-rule-exact``).
    """
    _qkv(q, k, v)
    lead, T, d_k, d_v = k.shape[:-2], k.shape[-2], k.shape[-1], v.shape[-1]
    if isinstance(beta, torch.Tensor):
        b = V.tensor(beta, "beta", shape=(*lead, T)).to(k.dtype)
        if bool((b < 0).any()):
            raise ValueError(f"beta must be >= 0 (a write strength), got min {float(b.min()):.3g}")
    else:
        b = torch.full((*lead, T), V.real(beta, "beta", nonnegative=True), dtype=k.dtype, device=k.device)
    if initial_state is None:
        M = torch.zeros(*lead, d_v, d_k, dtype=k.dtype, device=k.device)
    else:
        M = V.tensor(initial_state, "initial_state", shape=(*lead, d_v, d_k)).to(k.dtype).clone()
    outs = []
    for t in range(T):
        kt = k[..., t, :]
        err = v[..., t, :] - (M @ kt[..., None])[..., 0]
        M = M + b[..., t, None, None] * err[..., :, None] * kt[..., None, :]
        outs.append((M @ q[..., t, :, None])[..., 0])
    return torch.stack(outs, dim=-2), M


def _convergent_beta(keys: torch.Tensor, beta: float) -> float:
    b = V.real(beta, "beta")
    kmax = float((keys**2).sum(-1).max())
    if not math.isfinite(kmax):
        raise ValueError(
            f"keys must have a finite max||k||^2, got an overflow in {str(keys.dtype).replace('torch.', '')}"
        )
    if kmax == 0:
        raise ValueError("keys must not all be zero: the delta rule learns nothing from a zero key")
    if not 0 < b < 2 / kmax:
        raise ValueError(
            f"beta must lie in (0, 2/max||k||^2) = (0, {2 / kmax:.6g}) for the cyclic delta rule to converge "
            f"(each write must be a contraction along its key), got {b}"
        )
    return b


def delta_sweep_map(keys: torch.Tensor, values: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One cyclic sweep of the delta rule over the N pairs as an affine map :math:`M\mapsto MP+Q`.

    Each write is :math:`M\mapsto M(I-\beta kk^\top)+\beta vk^\top`, so a sweep gives
    :math:`P=\prod_{i=1}^N(I-\beta k_ik_i^\top)` ``[..., d_k, d_k]`` and :math:`Q` = the sweep's
    result from :math:`M=0`, ``[..., d_v, d_k]``. Requires :math:`0<\beta<2/\max\lVert k\rVert^2`.
    """
    _pairs(keys, values)
    b = _convergent_beta(keys, beta)
    lead, N, d_k, d_v = keys.shape[:-2], keys.shape[-2], keys.shape[-1], values.shape[-1]
    P = torch.eye(d_k, dtype=keys.dtype, device=keys.device).expand(*lead, d_k, d_k).clone()
    Q = keys.new_zeros((*lead, d_v, d_k))  # dtype and device of the keys
    for i in range(N):
        k = keys[..., i, :]
        step = torch.eye(d_k, dtype=keys.dtype, device=keys.device) - b * k[..., :, None] * k[..., None, :]
        P = P @ step
        Q = Q @ step + b * values[..., i, :, None] * k[..., None, :]
    return P, Q


def delta_rule_cyclic(
    keys: torch.Tensor,
    values: torch.Tensor,
    beta: float,
    sweeps: int,
    *,
    initial_state: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Memory after ``sweeps`` cyclic presentations of all pairs with the delta rule (constant :math:`\beta`).

    keys ``[..., N, d_k]``, values ``[..., N, d_v]`` → ``[..., d_v, d_k]``. Iterates the sweep map of
    :func:`delta_sweep_map` (identical to ``sweeps·N`` literal writes, up to rounding).
    For :math:`N\le d_k` independent keys and :math:`0<\beta<2/\lVert k\rVert^2` it converges to exact
    storage (the OLAM); for :math:`N>d_k` it approaches the least-squares memory as :math:`\beta\to0`
    (claims ``memory.delta-rule-exact``, ``memory.delta-rule-least-squares``).
    Raises ValueError when ``beta`` is outside the convergence interval.
    """
    P, Q = delta_sweep_map(keys, values, beta)
    n = V.integer(sweeps, "sweeps", minimum=0)
    if initial_state is None:
        M = torch.zeros_like(Q)
    else:
        M = V.tensor(initial_state, "initial_state", shape=tuple(Q.shape)).to(Q.dtype).clone()
    for _ in range(n):
        M = M @ P + Q
    return M


# --------------------------------------------------------------------------------------
# Rescorla–Wagner for conditioning experiments (scalar US, vector of CS)
# --------------------------------------------------------------------------------------
def _design(
    cs: np.ndarray | Sequence[Sequence[float]],
    us: float | np.ndarray | Sequence[float],
    alpha: float | np.ndarray | Sequence[float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = V.real_array(cs, "cs", nonempty=False)
    lam = V.real_array(us, "us", nonempty=False)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"cs must be a [trials, n_cs] array of stimulus intensities, got shape {list(x.shape)}")
    if lam.shape != (x.shape[0],):
        raise ValueError(f"us must have one US magnitude per trial, shape [{x.shape[0]}], got {list(lam.shape)}")
    a = V.real_array(alpha, "alpha", ndim=(0, 1))
    if a.ndim == 1 and a.shape != (x.shape[1],):
        raise ValueError(f"alpha must be a scalar or one rate per CS, shape [{x.shape[1]}], got {list(a.shape)}")
    a = np.broadcast_to(a, (x.shape[1],))
    if np.any(a <= 0) or np.any(a > 1):
        raise ValueError(f"alpha (learning rate per CS) must lie in (0, 1], got {a.tolist()}")
    return x, lam, a


def _initial(initial: float | np.ndarray | Sequence[float], n_cs: int) -> np.ndarray:
    v0 = V.real_array(initial, "initial", ndim=(0, 1))
    if v0.ndim == 1 and v0.shape != (n_cs,):
        raise ValueError(f"initial must be a scalar or one strength per CS, shape [{n_cs}], got {list(v0.shape)}")
    return np.broadcast_to(v0, (n_cs,))


def rescorla_wagner(
    cs: np.ndarray | Sequence[Sequence[float]],
    us: float | np.ndarray | Sequence[float],
    alpha: float | np.ndarray | Sequence[float],
    *,
    beta: float = 1.0,
    initial: float | np.ndarray | Sequence[float] | None = None,
) -> np.ndarray:
    r"""Rescorla–Wagner: :math:`\Delta V_i=\alpha_i\beta\,(\lambda-\sum_jV_jx_j)\,x_i` on each trial.

    cs ``[trials, n_cs]`` (CS present = 1), us ``[trials]`` (US magnitude :math:`\lambda`),
    alpha scalar or ``[n_cs]`` → associative strengths after each trial, ``[trials + 1, n_cs]``
    (row 0 = initial). Claim ``memory.blocking-extinction``.
    """
    x, lam, a = _design(cs, us, alpha)
    b = V.real(beta, "beta", positive=True)
    Vs = np.zeros((x.shape[0] + 1, x.shape[1]))
    if initial is not None:
        Vs[0] = _initial(initial, x.shape[1])
    for t in range(x.shape[0]):
        delta = lam[t] - Vs[t] @ x[t]
        Vs[t + 1] = Vs[t] + a * b * delta * x[t]
    return Vs


def hebbian_conditioning(
    cs: np.ndarray | Sequence[Sequence[float]],
    us: float | np.ndarray | Sequence[float],
    alpha: float | np.ndarray | Sequence[float],
    *,
    initial: float | np.ndarray | Sequence[float] | None = None,
) -> np.ndarray:
    r"""Hebbian conditioning :math:`\Delta V_i=\alpha_i\lambda x_i` (no prediction error: the linear-attention write).

    Same shapes as :func:`rescorla_wagner`. No blocking, and no extinction (a trial with
    :math:`\lambda=0` changes nothing).
    """
    x, lam, a = _design(cs, us, alpha)
    Vs = np.zeros((x.shape[0] + 1, x.shape[1]))
    if initial is not None:
        Vs[0] = _initial(initial, x.shape[1])
    Vs[1:] = Vs[0] + np.cumsum(a * lam[:, None] * x, axis=0)
    return Vs


def blocking_design(n1: int, n2: int, lam: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Kamin's blocking: ``n1`` trials of CS A alone with the US, then ``n2`` trials of the compound AB.

    Returns (cs ``[n1 + n2, 2]`` with columns A, B; us ``[n1 + n2]``).
    """
    n1 = V.integer(n1, "n1", minimum=0)
    n2 = V.integer(n2, "n2", minimum=1)
    lam = V.real(lam, "lam")
    cs = np.zeros((n1 + n2, 2))
    cs[:, 0] = 1.0
    cs[n1:, 1] = 1.0
    return cs, np.full(n1 + n2, lam)


def blocking_closed_form(alpha: float, lam: float, n1: int, n2: int) -> tuple[float, float]:
    r"""R–W strengths after blocking with equal rates :math:`\alpha`:

    :math:`V_A^{(1)}=\lambda(1-(1-\alpha)^{n_1})`, then
    :math:`V_B=\tfrac\lambda2(1-\alpha)^{n_1}(1-(1-2\alpha)^{n_2})`, :math:`V_A=V_A^{(1)}+V_B`.
    Returns :math:`(V_A, V_B)` at the end of phase 2 (claim ``memory.blocking-extinction``).
    """
    a = V.real(alpha, "alpha", low=0.0, high=1.0, low_open=True)
    lam = V.real(lam, "lam")
    n1 = V.integer(n1, "n1", minimum=0)
    n2 = V.integer(n2, "n2", minimum=0)
    vb = lam / 2 * (1 - a) ** n1 * (1 - (1 - 2 * a) ** n2)
    return lam * (1 - (1 - a) ** n1) + vb, vb


def extinction_closed_form(v0: float, alpha: float, n: int) -> np.ndarray:
    r"""R–W extinction (CS alone, :math:`\lambda=0`): :math:`V_m=V_0(1-\alpha)^m`, ``m = 0..n`` → ``[n + 1]``."""
    v0 = V.real(v0, "v0")
    a = V.real(alpha, "alpha", low=0.0, high=1.0, low_open=True)
    n = V.integer(n, "n", minimum=0)
    return v0 * (1 - a) ** np.arange(n + 1)
