r"""Training dynamics of the :math:`(Y, Z)` model, two ways that must not be confused.

- :func:`population_flow`: gradient ascent on the *population* objective with the exact
  long-sequence attention :math:`c_n` (Lemma 2, :math:`T\to\infty`), uniform classes, no
  sampling. The theorems (fates, relative gain) are statements about this flow.
- :func:`sgd_train`: the experiments' sampled SGD (finite ``T``, mini-batches, momentum, two
  learning-rate groups ``K1``/``K2`` as in the official code). Only aggregate forms of the
  theorems hold here (claims ``scansnap.s06-fates``, ``scansnap.s07-relative-gain``).

Also :func:`reduced_distinct_flow`, the reduced ODE :math:`\dot z_l = s(t) f_l^2` of Theorem 3.
Book: ``notebooks/40_scan_and_snap`` (claims ``scansnap.s03-invariants``, ``scansnap.s06-fates`` to
``scansnap.s09-common-suppression``, ``scansnap.s11-lr-control``, ``scansnap.s12-fig4-contrast``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..base import validation as V
from ..base.numerics import torch_generator
from ..base.runtime import single_thread
from .closed_forms import RTOL_MAX, RTOL_MIN, _real_array, _time_grid
from .data import SequenceClasses, check_classes, population_attention, sample_batch
from .model import init_yz, lemma1_gradients, yz_loss


def _rate(x: float, name: str) -> float:
    return V.real(x, name, nonnegative=True)


def _iterations(x: object, name: str, steps: int, *, nonempty: bool = True) -> list[int]:
    """Iteration numbers in ``[0, steps]``: a list, tuple, range or set of ints."""
    its = V.integers(list(x) if isinstance(x, set | frozenset) else x, name, minimum=0, nonempty=nonempty)
    if its and max(its) > steps:
        raise ValueError(f"{name} must list iterations in [0, steps = {steps}], got {max(its)}")
    return its


def _check_yz(Y: torch.Tensor, Z: torch.Tensor, data: SequenceClasses) -> None:
    """``data`` a :class:`SequenceClasses`, ``Y`` and ``Z`` real ``[M, M]`` matrices of one dtype and device."""
    M = check_classes(data).M
    V.tensor(Y, "Y", shape=(M, M))
    V.tensor_like(Z, "Z", Y, "Y", shape=(M, M))


def population_objective(Y: torch.Tensor, Z: torch.Tensor, data: SequenceClasses) -> torch.Tensor:
    r""":math:`J(Y,Z) = \frac1K\sum_n \big[(Y^\top f_n)_n - \log\mathbf 1^\top e^{Y^\top f_n}\big]`, :math:`f_n = c_n/\|c_n\|` (scalar)."""
    _check_yz(Y, Z, data)
    c = population_attention(Z, data)
    f = c / c.norm(dim=1, keepdim=True)
    logits = f @ Y  # [K, M]
    return (logits[torch.arange(data.K), data.next_token] - torch.logsumexp(logits, dim=1)).mean()


def population_gradients(
    Y: torch.Tensor, Z: torch.Tensor, data: SequenceClasses
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Exact gradient of :func:`population_objective` (Lemma 1 with Lemma 2's :math:`c_n`).

    :math:`\partial J/\partial Y = \frac1K\sum_n f_n(e_n-\alpha_n)^\top` and
    :math:`\partial J/\partial z_m = \frac1K\sum_{n\in\psi^{-1}(m)}\mathrm{diag}(c_n)
    \frac{P^\perp_{c_n}}{\|c_n\|}Y(e_n-\alpha_n)`. Returns ``(dY, dZ, alpha)``, ``[M, M], [M, M], [K, M]``.
    """
    _check_yz(Y, Z, data)
    return _population_gradients(Y, Z, data)


def _population_gradients(
    Y: torch.Tensor, Z: torch.Tensor, data: SequenceClasses
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`population_gradients` without the input checks."""
    c = population_attention(Z, data)
    norm = c.norm(dim=1, keepdim=True)
    f = c / norm
    alpha = torch.softmax(f @ Y, dim=1)
    err = -alpha
    err[torch.arange(data.K), data.next_token] += 1.0
    dY = f.T @ err / data.K
    g = err @ Y.T
    rows = c * (g - f * (f * g).sum(1, keepdim=True)) / norm
    dZ = torch.zeros_like(Z).index_add(0, data.query, rows) / data.K
    return dY, dZ, alpha


@dataclass
class Flow:
    """A recorded population flow: ``zq [S+1, #q, M]`` (rows of the queries), ``loss [S+1]``, final ``Y``, ``Z``."""

    zq: torch.Tensor
    loss: torch.Tensor
    Y: torch.Tensor
    Z: torch.Tensor
    queries: torch.Tensor


@single_thread()
def population_flow(
    data: SequenceClasses,
    *,
    eta_Y: float,
    eta_Z: float,
    steps: int,
    Y0: torch.Tensor | None = None,
    Z0: torch.Tensor | None = None,
) -> Flow:
    r"""Plain gradient ascent on the population objective: :math:`Y \mathrel{+}= \eta_Y\partial_Y J`, :math:`Z \mathrel{+}= \eta_Z\partial_Z J`.

    Zero init by default (the theory's :math:`Y(0)=Z(0)=0`). Records the query rows of
    :math:`Z` and the loss :math:`-J` before every step and after the last.
    """
    check_classes(data)
    eY, eZ = _rate(eta_Y, "eta_Y"), _rate(eta_Z, "eta_Z")
    S = V.integer(steps, "steps", minimum=0)
    M = data.M
    Y = torch.zeros(M, M, dtype=torch.float64) if Y0 is None else V.tensor(Y0, "Y0", shape=(M, M)).clone()
    Z = torch.zeros(M, M, dtype=torch.float64) if Z0 is None else V.tensor(Z0, "Z0", shape=(M, M)).clone()
    qs = data.queries
    zq = torch.empty(S + 1, len(qs), M, dtype=Y.dtype)
    loss = torch.empty(S + 1, dtype=Y.dtype)
    rows = torch.arange(data.K)
    for s in range(S + 1):
        dY, dZ, alpha = population_gradients(Y, Z, data)  # the public name: controls patch it
        zq[s] = Z[qs]
        loss[s] = -torch.log(alpha[rows, data.next_token]).mean()
        if s < S:
            Y += eY * dY
            Z += eZ * dZ
    return Flow(zq, loss, Y, Z, qs)


@dataclass
class SGDRun:
    """A sampled-SGD run: final ``Y``, ``Z`` (``[M, M]``), per-iteration ``loss [steps]``, ``snapshots {iter: Z}``."""

    Y: torch.Tensor
    Z: torch.Tensor
    loss: torch.Tensor
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)


@single_thread()
def sgd_train(
    data: SequenceClasses,
    *,
    eta_Y: float,
    eta_Z: float,
    steps: int = 100,
    batch: int = 128,
    T: int = 128,
    momentum: float = 0.9,
    init: str = "zero",
    seed: int = 1,
    record: Iterable[int] = (),
    grad: str = "lemma1",
) -> SGDRun:
    r"""Sampled mini-batch SGD with momentum on the cross-entropy, two groups as in the official code.

    ``K1`` (:math:`Y`) at :math:`\eta_Y`, ``K2`` (:math:`Z`) at :math:`\eta_Z`; PyTorch's SGD rule
    :math:`\mathrm{buf} \leftarrow \mu\,\mathrm{buf} + g` (``buf = g`` at the first step),
    :math:`p \leftarrow p - \eta\,\mathrm{buf}`. One ``torch.Generator(seed)`` draws the init
    (``init="uniform"``) and then every batch (``batch`` sequences of length ``T``). ``grad``
    selects Lemma 1's closed form (``"lemma1"``, equal to autograd: claim ``scansnap.s02-lemma1-autograd``) or
    ``"autograd"``. ``record`` lists iterations whose :math:`Z` (before the update) is kept
    (ints in ``[0, steps]``; a list, tuple, range or set).
    """
    check_classes(data)
    eY, eZ = _rate(eta_Y, "eta_Y"), _rate(eta_Z, "eta_Z")
    S = V.integer(steps, "steps", minimum=1)
    mu = V.real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    V.choice(grad, "grad", ("lemma1", "autograd"))
    gen = torch_generator(seed)
    Y, Z = init_yz(data.M, init, gen)
    record = set(_iterations(record, "record", S, nonempty=False))
    bufY = bufZ = None
    losses = torch.empty(S, dtype=Y.dtype)
    snaps: dict[int, torch.Tensor] = {}
    for it in range(S):
        if it in record:
            snaps[it] = Z.clone()
        b = sample_batch(data, batch, T, gen)
        if grad == "lemma1":
            dY, dZ, losses[it] = lemma1_gradients(Y, Z, b, return_loss=True)
            gY, gZ = -dY, -dZ
        else:
            Yr, Zr = Y.clone().requires_grad_(True), Z.clone().requires_grad_(True)
            loss = yz_loss(Yr, Zr, b)
            gY, gZ = torch.autograd.grad(loss, (Yr, Zr))
            losses[it] = loss.detach()
        bufY = gY if bufY is None else mu * bufY + gY
        bufZ = gZ if bufZ is None else mu * bufZ + gZ
        Y = Y - eY * bufY
        Z = Z - eZ * bufZ
    if S in record:
        snaps[S] = Z.clone()
    return SGDRun(Y, Z, losses, snaps)


def reduced_distinct_flow(
    p_distinct: float | np.ndarray | Sequence[float],
    p_common: float | np.ndarray | Sequence[float],
    t_eval: float | np.ndarray | Sequence[float],
    *,
    s: Callable[[float], float] | None = None,
    common_rate: float = 1.0,
    rtol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Theorem 3's reduced ODE: :math:`\dot z_l = s(t)f_l^2` (distinct), :math:`\dot z_c = -\kappa\,s(t)f_c^2` (common).

    :math:`f = c/\|c\|`, :math:`c \propto \mathbb P \odot e^{z}` over one class's support,
    :math:`z(0)=0`. Default :math:`s(t) = 1/(1+t)` (any positive speed works). Solved with
    ``scipy.integrate.solve_ivp`` (DOP853). Returns ``(z_distinct [len(t), n_d], z_common [len(t), n_c])``.
    """
    from scipy.integrate import solve_ivp

    pd = _real_array(p_distinct, "p_distinct", ndim=1)
    pc = _real_array(p_common, "p_common", ndim=1, nonempty=False)  # no common token: the distinct ones alone
    if pd.size < 2 or np.any(pd <= 0):
        raise ValueError(f"p_distinct must be >= 2 positive weights, got {pd}")
    if np.any(pc < 0):
        raise ValueError(f"p_common must be non-negative weights, got {pc}")
    t = _time_grid(t_eval, "t_eval")
    speed = V.function(s, "s") if s is not None else (lambda tt: 1.0 / (1.0 + tt))
    kappa = V.real(common_rate, "common_rate", nonnegative=True)
    rtol = V.real(rtol, "rtol", low=RTOL_MIN, high=RTOL_MAX)  # 0, NaN or Inf made the solver spin
    nd = pd.size
    p = np.concatenate([pd, pc])
    sign = np.concatenate([np.ones(nd), -kappa * np.ones(pc.size)])

    def rhs(tt: float, z: np.ndarray) -> np.ndarray:
        c = p * np.exp(z - z.max())
        f2 = c**2 / (c @ c)
        return speed(tt) * sign * f2

    sol = solve_ivp(rhs, (0.0, float(t[-1])), np.zeros(p.size), t_eval=t, method="DOP853", rtol=rtol, atol=rtol * 1e-2)
    if not sol.success:  # e.g. a speed s(t) that is not finite
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return sol.y[:nd].T, sol.y[nd:].T
