r"""Feature-level stiffness measures and four metrics built on them (reconstructed; see the book's Sources appendix).

For a trajectory :math:`x_0,\dots,x_L` of a residual stack with residual outputs :math:`f_t`:

- :math:`\mathrm{SAI}_t=\lVert x_{t+1}-x_t\rVert/(h\lVert x_t\rVert)` (:func:`sai`), the relative speed, after
  a ``calc_sai`` function found in public code; that it is the ICCV paper's measure is **unverified**;
- :math:`\hat\rho_t=\lVert f_{t+1}-f_t\rVert/\lVert x_{t+1}-x_t\rVert` (:func:`secant_rho`), the secant
  (Rayleigh-type) estimate Hairer–Wanner use to detect stiffness in DOPRI5;
- :math:`\rho^J_t`, the spectral radius of :math:`\partial f_t/\partial x` by power iteration on
  Jacobian-vector products (:func:`jacobian_spectral_radius`).

Norms are over the last (feature) dimension. Metrics (reconstructions; the paper's own metrics are
unknown): the stiffness-awareness score :func:`stiffness_awareness_score`, the stability-margin rate
:func:`stability_margin_rate`, the oracle gap :func:`oracle_gap` and the SAI profile statistics
:func:`sai_profile_stats`. Claims ``stiffness.secant-bound``, ``stiffness.jvp-power-iteration``,
``stiffness.metrics-scale-invariant``, ``stiffness.network-smoke-test``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch
from scipy.stats import spearmanr

from ..base import validation as V
from ..base.numerics import phi1, torch_generator
from ._checks import call_field, match_shape
from .stability import stiffness_ratio

_TINY = 1e-300  # guards a 0/0 when two states coincide; the ratio is then reported as 0


def _state(x: torch.Tensor, name: str, ref: torch.Tensor | None = None, ref_name: str = "") -> torch.Tensor:
    """A finite float tensor with values (not meta), of ``ref``'s shape when given."""
    V.has_data(V.tensor(x, name), name)
    if ref is not None:
        match_shape(x, name, ref.shape, f"the shape of {ref_name}")
    return x


def _pair(a: torch.Tensor, b: torch.Tensor, na: str, nb: str) -> None:
    _state(a, na)
    _state(b, nb, a, na)


def sai(x: torch.Tensor, x_next: torch.Tensor, h: float = 1.0) -> torch.Tensor:
    r"""Stiffness-aware index :math:`\lVert x_{t+1}-x_t\rVert_2/(h\lVert x_t\rVert_2)`.

    ``x``, ``x_next``: ``[..., D]`` (e.g. ``[B, D]`` or a trajectory ``[L, B, D]``); returns ``[...]``.
    Reconstructed (SAI after a public ``calc_sai``; identity with the paper's measure unverified).
    """
    _pair(x, x_next, "x", "x_next")
    h = V.real(h, "h", positive=True)
    return (x_next - x).norm(dim=-1) / (h * x.norm(dim=-1).clamp_min(_TINY))


def secant_rho(x: torch.Tensor, x_next: torch.Tensor, f: torch.Tensor, f_next: torch.Tensor) -> torch.Tensor:
    r"""Secant stiffness estimate :math:`\hat\rho=\lVert f_{t+1}-f_t\rVert/\lVert x_{t+1}-x_t\rVert`.

    All inputs ``[..., D]`` of one shape; returns ``[...]``. For symmetric :math:`J` and linear
    :math:`f`, :math:`\min|\lambda|\le\hat\rho\le\max|\lambda|` (claim ``stiffness.secant-bound``).
    """
    _pair(x, x_next, "x", "x_next")
    _state(f, "f", x, "x")
    _state(f_next, "f_next", x, "x")
    return (f_next - f).norm(dim=-1) / (x_next - x).norm(dim=-1).clamp_min(_TINY)


def trajectory_measures(xs: torch.Tensor, fs: torch.Tensor, h: float = 1.0) -> dict[str, torch.Tensor]:
    r"""SAI and secant profiles of a recorded stack: ``xs [L+1, B, D]``, ``fs [L, B, D]``.

    Returns ``{"sai": [L, B], "secant": [L-1, B]}`` with :math:`\mathrm{SAI}_t` from
    :math:`(x_t,x_{t+1})` and :math:`\hat\rho_t` from :math:`(x_t,x_{t+1},f_t,f_{t+1})`.
    """
    V.has_data(V.tensor(xs, "xs", ndim=3), "xs")
    _state(fs, "fs")
    L, B, D = xs.shape[0] - 1, xs.shape[1], xs.shape[2]
    match_shape(fs, "fs", (L, B, D), f"one residual per step of the states xs {list(xs.shape)}")
    out = {"sai": sai(xs[:-1], xs[1:], h)}
    out["secant"] = secant_rho(xs[:-2], xs[1:-1], fs[:-1], fs[1:]) if fs.shape[0] > 1 else fs.new_zeros(0)
    return out


def jacobian_spectral_radius(
    func: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    n_iter: int = 20,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r""":math:`\rho(\partial f/\partial x)` per sample, by ``n_iter`` power iterations on JVPs.

    ``func`` maps ``[B, D] -> [B, D]`` row by row (each sample's output depends on that sample
    only, e.g. an MLP with LayerNorm); ``x``: ``[B, D]``. Iterates :math:`v\leftarrow Jv/\lVert Jv\rVert`
    (``torch.func.jvp``) and returns :math:`\lVert Jv\rVert` for the last unit :math:`v`, ``[B]``. Exact in
    the limit when the dominant eigenvalue is real and simple (claim ``stiffness.jvp-power-iteration``).
    """
    V.function(func, "func")
    V.has_data(V.tensor(x, "x", ndim=2), "x")
    n_iter = V.integer(n_iter, "n_iter", minimum=1)
    V.generator(generator, "generator")
    gen = generator if generator is not None else torch_generator(0)
    v = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
    v = v / v.norm(dim=-1, keepdim=True)
    x = x.detach()
    est = x.new_zeros(x.shape[0])
    for _ in range(n_iter):
        _, jv = call_field(partial(torch.func.jvp, func, (x,), (v,)), "func", x, "x")  # type: ignore[misc]  # torch annotates the has_aux=True triple; without aux jvp returns a pair
        est = jv.norm(dim=-1)
        v = jv / est.clamp_min(_TINY)[:, None]
    return est.detach()


def jacobian_stiffness_ratio(func: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    r"""Lambert ratio :math:`S^J` of the full Jacobian at one state ``x [D]`` (tiny nets only, :math:`O(D^3)`).

    ``func`` maps ``[D] -> [D]``. Raises ``ValueError`` naming ``func`` and ``x`` when ``func`` cannot be
    evaluated at ``x`` or does not return ``[D]``.
    """
    V.function(func, "func")
    V.has_data(V.tensor(x, "x", ndim=1), "x")
    xd = x.detach()
    J = call_field(lambda: torch.autograd.functional.jacobian(func, xd), "func", x, "x")
    if not isinstance(J, torch.Tensor) or J.shape != (x.shape[0], x.shape[0]):
        got = list(J.shape) if isinstance(J, torch.Tensor) else type(J).__name__
        raise ValueError(f"func must map x of shape {list(x.shape)} to the same shape (a square Jacobian), got {got}")
    return stiffness_ratio(J)


def spikiness(r: torch.Tensor, dim: int = 0) -> torch.Tensor:
    r"""Spikiness :math:`P=\max_t r_t/\mathrm{median}_t r_t` along ``dim`` (an axis of ``r``, negative from the end)."""
    V.tensor(r, "r")
    dim = V.integer(dim, "dim", minimum=-max(r.ndim, 1), maximum=max(r.ndim, 1) - 1)
    return r.amax(dim) / r.median(dim).values.clamp_min(_TINY)


def _flat(a: float | np.ndarray | Sequence[float] | torch.Tensor, name: str) -> np.ndarray:
    return V.real_array(a, name).ravel()


def _matched(
    a: float | np.ndarray | Sequence[float] | torch.Tensor,
    rho: float | np.ndarray | Sequence[float] | torch.Tensor,
    na: str = "a_bar",
    nr: str = "rho",
) -> tuple[np.ndarray, np.ndarray]:
    a, r = _flat(a, na), _flat(rho, nr)
    if a.shape != r.shape:
        raise ValueError(f"{na} and {nr} must have the same number of entries, got {a.size} and {r.size}")
    return a, r


def stiffness_awareness_score(
    a_bar: float | np.ndarray | Sequence[float] | torch.Tensor, rho: float | np.ndarray | Sequence[float] | torch.Tensor
) -> float:
    r"""Stiffness-awareness score :math:`\mathrm{SAS}=-\mathrm{Spearman}_{(i,t)}(\bar a_t,\rho_t)\in[-1,1]`; higher = smaller steps where stiffer.

    Raises ``ValueError`` when ``a_bar`` or ``rho`` is constant (the rank correlation is undefined).
    """
    a, r = _matched(a_bar, rho)
    for name, v in (("a_bar", a), ("rho", r)):
        if v.min() == v.max():
            raise ValueError(
                f"{name} must not be constant (the rank correlation is undefined), got {v.size} entries equal to {v[0]:.6g}"
            )
    return float(-spearmanr(a, r).statistic)


def stability_margin_rate(
    a_bar: float | np.ndarray | Sequence[float] | torch.Tensor,
    rho: float | np.ndarray | Sequence[float] | torch.Tensor,
    h: float = 1.0,
    beta: float = 2.0,
) -> float:
    r"""Stability-margin rate :math:`\mathrm{SMR}=\Pr_{(i,t)}[\bar a_t\,h\,\rho_t\le\beta]` (:math:`\beta=2` for Euler)."""
    a, r = _matched(a_bar, rho)
    h = V.real(h, "h", positive=True)
    beta = V.real(beta, "beta", positive=True)
    return float(np.mean(a * h * r <= beta))


def oracle_gap(
    a: float | np.ndarray | Sequence[float] | torch.Tensor,
    rho: float | np.ndarray | Sequence[float] | torch.Tensor,
    h: float = 1.0,
) -> float:
    r"""Oracle gap :math:`\mathbb E|a_t-\varphi_1(-h\rho_t)|` for linear(ised) problems with decay rate :math:`\rho_t\ge0`."""
    av, r = _matched(a, rho, "a", "rho")
    h = V.real(h, "h", positive=True)
    if np.any(r < 0):
        raise ValueError("rho must be >= 0 (decay rates)")
    return float(np.mean(np.abs(av - phi1(torch.from_numpy(-h * r)).numpy())))


def sai_profile_stats(sai_profile: torch.Tensor) -> dict[str, float]:
    r"""SAI profile statistics: coefficient of variation and spikiness of the block-mean SAI profile ``[L, B] -> {cv, spikiness}``.

    Raises ``ValueError`` for fewer than 2 blocks (no standard deviation), a negative entry (an SAI is a
    ratio of norms) or an all-zero profile (no coefficient of variation).
    """
    V.has_data(V.tensor(sai_profile, "sai_profile", ndim=2), "sai_profile")
    if sai_profile.shape[0] < 2:
        raise ValueError(f"sai_profile must have at least 2 blocks L (rows), got shape {list(sai_profile.shape)}")
    if bool((sai_profile < 0).any()) or not bool((sai_profile > 0).any()):
        raise ValueError("sai_profile must be >= 0 (a ratio of norms) and not all zero")
    m = sai_profile.detach().mean(1)  # statistics (floats): read the values, not the graph
    return {"cv": float(m.std() / m.mean()), "spikiness": float(spikiness(m))}
