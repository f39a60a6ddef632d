r"""The memory a DSF state holds: DSF states read as the memory chapter's associative memories.

Glue between :mod:`attnmath.dsf` and :mod:`attnmath.memory` (book: ``notebooks/90_synthesis``,
claims ``synthesis.write-is-hebbian``, ``synthesis.decay-is-forgetting``,
``synthesis.three-states-one-task``, ``synthesis.softmax-infinite-state-crossover``).

A stream of pairs :math:`(k_i, v_i)` is written by one of the DSF chapter's constructors, with the
values as the DSF input :math:`u_i=v_i` and the keys in :math:`B_i=I_{d_v}\otimes k_i`:

==============  =======================================  ==================================================
``kind``        DSF constructor (chapter 10-13)          transition :math:`\Lambda_i`
==============  =======================================  ==================================================
``"linear"``    :func:`attnmath.dsf.retnet_dsf`, γ = 1   :math:`I` (unnormalised linear attention)
``"retnet"``    :func:`attnmath.dsf.retnet_dsf`          :math:`\gamma I`
``"mamba2"``    :func:`attnmath.dsf.mamba2_ssd_dsf`      :math:`e^{\Delta a}I` (state carries an extra Δ)
``"deltanet"``  :func:`attnmath.dsf.deltanet_dsf`        :math:`I_{d_v}\otimes(I-\beta k_ik_i^\top)` (dplr)
==============  =======================================  ==================================================

The state is :math:`h_i=\mathrm{vec}(S_i)` (column-major) with :math:`S_i\in\mathbb R^{d_k\times d_v}`, so its
row-major reshape to ``[d_v, d_k]`` is the memory chapter's :math:`M_i=S_i^\top=\sum v k^\top`
(:func:`state_as_memory`). No ``1/sqrt(d_k)`` scale is applied (``scale=1``), as in the memory chapter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..base import validation as V
from ..base.numerics import torch_generator
from ..dsf import DSF, deltanet_dsf, mamba2_ssd_dsf, retnet_dsf
from ..memory import decay_snr_theory, largest_true, random_keys, random_values, ratio_of_means, softmax_recall
from . import _checks as C

KINDS = ("linear", "retnet", "mamba2", "deltanet")
F64 = torch.float64

__all__ = [
    "KINDS",
    "decayed_relmse_theory",
    "dsf_recall",
    "effective_load",
    "memory_dsf",
    "softmax_capacity",
    "softmax_relmse",
    "state_as_memory",
    "state_recall_relmse",
]


def _pairs(keys: torch.Tensor, values: torch.Tensor) -> tuple[int, int, int]:
    V.tensor(keys, "keys", ndim=range(2, 6))
    V.tensor(values, "values", ndim=range(2, 6))
    C.same_ndim("keys", keys, "values", values, "[..., N, d_k] and [..., N, d_v]")
    V.has_data(keys, "keys")
    V.has_data(values, "values")
    V.same_dtype("keys", keys, "values", values)
    if keys.shape[:-1] != values.shape[:-1]:
        raise ValueError(
            f"values must hold one vector per key: keys {list(keys.shape)}, values {list(values.shape)} "
            "(shapes [..., N, d_k] and [..., N, d_v])"
        )
    return keys.shape[-2], keys.shape[-1], values.shape[-1]


def memory_dsf(
    keys: torch.Tensor, values: torch.Tensor, kind: str, *, gamma: float = 1.0, beta: float = 1.0, dt: float = 1.0
) -> DSF:
    r"""The DSF that writes the pairs of ``keys`` ``[..., N, d_k]`` / ``values`` ``[..., N, d_v]`` (input :math:`u=v`).

    ``kind`` is one of :data:`KINDS` (table in the module docstring); ``gamma`` in (0, 1] is RetNet's decay,
    ``beta`` DeltaNet's write strength, ``dt`` Mamba-2's step with :math:`a=\ln\gamma/\Delta` so that
    :math:`\Lambda=\gamma`. Queries are the keys (probes of the stored items). Claims
    ``synthesis.write-is-hebbian``, ``synthesis.decay-is-forgetting``, ``synthesis.three-states-one-task``.
    ``gamma``, ``beta`` and ``dt`` are checked whatever the ``kind`` (a bad one is never ignored silently).
    """
    V.choice(kind, "kind", KINDS)
    g = V.real(gamma, "gamma", low=0.0, high=1.0, low_open=True)
    beta = V.real(beta, "beta", nonnegative=True)
    step = V.real(dt, "dt", positive=True)
    _pairs(keys, values)
    if kind == "linear":
        return retnet_dsf(keys, keys, values, 1.0, scale=1.0)
    if kind == "retnet":
        return retnet_dsf(keys, keys, values, g, scale=1.0)
    if kind == "deltanet":
        b = torch.full(keys.shape[:-1], beta, dtype=keys.dtype)
        return deltanet_dsf(keys, keys, values, b, scale=1.0)
    a = torch.tensor([math.log(g) / step], dtype=keys.dtype)
    dts = torch.full((*keys.shape[:-1], 1), step, dtype=keys.dtype)
    return mamba2_ssd_dsf(values[..., None, :], dts, a, keys, keys)


def state_as_memory(h: torch.Tensor, d_k: int, d_v: int) -> torch.Tensor:
    r"""Read a DSF state :math:`h=\mathrm{vec}(S)` (``[..., d_k d_v]``) as the memory :math:`M=S^\top` (``[..., d_v, d_k]``).

    :math:`(I_{d_v}\otimes k)v=\mathrm{vec}(kv^\top)` column-major, i.e. entry ``b d_k + a`` is
    :math:`v_bk_a=M_{ba}`. Claim ``synthesis.write-is-hebbian``.
    """
    d_k = V.integer(d_k, "d_k", minimum=1)
    d_v = V.integer(d_v, "d_v", minimum=1)
    V.tensor(h, "h", ndim=range(1, 33), nonempty=True)
    if h.shape[-1] != d_k * d_v:
        raise ValueError(f"h must have last dimension d_k * d_v = {d_k * d_v}, got shape {list(h.shape)}")
    return h.reshape(*h.shape[:-1], d_v, d_k)


def dsf_recall(keys: torch.Tensor, values: torch.Tensor, kind: str, *, chunk: int = 64, **kw: float) -> torch.Tensor:
    r"""Write all N pairs through :func:`memory_dsf`, read the final state as :math:`M_N`, recall :math:`M_Nk_j` for every j.

    keys ``[T, N, d_k]``, values ``[T, N, d_v]`` (T independent trials) → recalls ``[T, N, d_v]``. Trials are
    processed ``chunk`` at a time (the DSF materialises :math:`B_i=I\otimes k_i`). For ``"mamba2"`` the state
    holds :math:`\Delta M` and the recall is returned as is.
    """
    V.tensor(keys, "keys", ndim=3)
    _, d_k, d_v = _pairs(keys, values)
    chunk = V.integer(chunk, "chunk", minimum=1)
    out = []
    for s in range(0, keys.shape[0], chunk):
        k, v = keys[s : s + chunk], values[s : s + chunk]
        dsf = memory_dsf(k, v, kind, **kw)
        _, H = dsf.recurrent(v[..., None, :, :] if kind == "mamba2" else v, return_state=True)
        h_last = H[..., 0, -1, :] if kind == "mamba2" else H[..., -1, :]
        M = state_as_memory(h_last, d_k, d_v)
        out.append(k @ M.transpose(-1, -2))
    return torch.cat(out)


def state_recall_relmse(
    kind: str, n: int, d_k: int, d_v: int, *, trials: int, seed: int, chunk: int = 64, **kw: float
) -> tuple[float, float]:
    r"""relMSE :math:`\sum_j\lVert M_Nk_j-v_j\rVert^2/\sum_j\lVert v_j\rVert^2` of the DSF's final state (ratio of means over
    ``trials`` with its delta-method SE, :func:`attnmath.memory.ratio_of_means`).

    Unit keys and :math:`\mathcal N(0,I/d_v)` values from :func:`attnmath.memory.random_keys` /
    :func:`~attnmath.memory.random_values` (seeded). Claim ``synthesis.three-states-one-task``.
    """
    g = torch_generator(seed)
    trials = V.integer(trials, "trials", minimum=2)
    K = random_keys(n, d_k, batch=(trials,), generator=g)
    Vv = random_values(n, d_v, batch=(trials,), generator=g)
    err = dsf_recall(K, Vv, kind, chunk=chunk, **kw) - Vv
    return ratio_of_means((err**2).sum(dim=(1, 2)), (Vv**2).sum(dim=(1, 2)))


def effective_load(gamma: float, T: int) -> float:
    r"""Effective number of stored items of a decayed memory after T writes, :math:`\sum_{a<T}\gamma^{2a}=(1-\gamma^{2T})/(1-\gamma^2)`.

    Tends to :math:`1/(1-\gamma^2)` (classical). Claim ``synthesis.decay-is-forgetting``.
    """
    g = V.real(gamma, "gamma", low=0.0, high=1.0, low_open=True, high_open=True)
    T = V.integer(T, "T", minimum=1)
    return (1.0 - g ** (2 * T)) / (1.0 - g**2)


def decayed_relmse_theory(gamma: float, d_k: int, n: int) -> float:
    r"""relMSE of the raw recall of all n items of a decayed memory (unit keys), averaged over ages s:
    :math:`\frac1n\sum_s\big[(1-\gamma^s)^2+\gamma^{2s}/\mathrm{SNR}_s\big]`, :math:`\mathrm{SNR}_s` from
    :func:`attnmath.memory.decay_snr_theory` (the item of age s has signal :math:`\gamma^sv`).
    """
    g = V.real(gamma, "gamma", low=0.0, high=1.0, low_open=True)
    n = V.integer(n, "n", minimum=2)
    return float(np.mean([(1 - g**s) ** 2 + g ** (2 * s) / decay_snr_theory(g, d_k, n, s) for s in range(n)]))


def _softmax_pool(
    d_k: int, n_max: int, beta: float, trials: int, seed: int, d_v: int
) -> Callable[[int], tuple[float, float]]:
    d_k = V.integer(d_k, "d_k", minimum=1)
    b = V.real(beta, "beta", positive=True)
    g = torch_generator(seed)
    trials = V.integer(trials, "trials", minimum=2)
    K = random_keys(n_max, d_k, batch=(trials,), generator=g)
    Vv = random_values(n_max, V.integer(d_v, "d_v", minimum=1), batch=(trials,), generator=g)

    def at(n: int) -> tuple[float, float]:
        num = torch.empty(trials, dtype=F64)
        for t in range(trials):  # one trial at a time: the recall is an [N, N] softmax
            k, v = K[t, :n], Vv[t, :n]
            num[t] = ((softmax_recall(k, v, k, b) - v) ** 2).sum()
        return ratio_of_means(num, (Vv[:, :n] ** 2).sum(dim=(1, 2)))

    return at


def softmax_relmse(
    d_k: int, ns: Sequence[int], beta: float, *, trials: int, seed: int, d_v: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    r"""relMSE of one softmax (modern Hopfield) recall :func:`attnmath.memory.softmax_recall` of every stored key.

    For each N in ``ns``: :math:`\sum_j\lVert\mathrm{softmax}(\beta Kk_j)^\top V-v_j\rVert^2/\sum_j\lVert v_j\rVert^2` on the first N
    pairs of one seeded pool (common random numbers, as :func:`attnmath.memory.relmse_curve`); unit keys,
    :math:`\mathcal N(0,I/d_v)` values. Returns (relMSE ``[len(ns)]``, delta-method SE).
    Claim ``synthesis.softmax-infinite-state-crossover``.
    """
    ns = V.integers(ns, "ns", minimum=1)
    at = _softmax_pool(d_k, max(ns), beta, trials, seed, d_v)
    out = [at(n) for n in ns]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def softmax_capacity(d_k: int, eps: float, beta: float, *, n_max: int, trials: int, seed: int, d_v: int = 8) -> int:
    r"""Largest N (bisection over prefixes of one pool of ``n_max`` pairs, :func:`attnmath.memory.largest_true`)
    whose softmax relMSE is :math:`\le\varepsilon^2`: the counterpart of :func:`attnmath.memory.capacity_bisection`.

    Raises ``ValueError`` when even the whole pool stays below :math:`\varepsilon^2` (no bracket).
    """
    e2 = V.real(eps, "eps", positive=True) ** 2
    n_max = V.integer(n_max, "n_max", minimum=2)
    at = _softmax_pool(d_k, n_max, beta, trials, seed, d_v)
    if at(n_max)[0] <= e2:
        raise ValueError(
            f"no bracket: softmax relMSE at N = n_max = {n_max} is still <= eps^2 = {e2} (eps = {eps}, beta = {beta}, "
            f"d_k = {d_k}); raise n_max or lower beta"
        )
    return largest_true(lambda n: at(n)[0] <= e2, 1, n_max)
