r"""The synthesis chapter's runs, memoised per process (shared by the claims and the notebook).

- :func:`flow_run`: the scan-and-snap population flow on Syn-Medium 1/2 up to :math:`e^{k}t_0`.
- :func:`variant_run`: the Fig. 4 configuration (Syn-Small, zero init, :math:`\eta_Z=1`) for the softmax model
  trained by :func:`~attnmath.synthesis.scansnap_dsf.feature_sgd_train` or its linear-attention variant.
- :func:`softmax_capacities`: the measured softmax capacity at a few :math:`d_k`.

Returned objects are shared: do not modify them. The arguments are validated before the memo is looked up (a
``True`` must not find the run memoised for ``1``). Book: ``notebooks/90_synthesis``.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ..base import validation as V
from ..base.runtime import single_thread
from ..scansnap import Flow, population_flow, syn_small, t0_snap
from ..scansnap.experiments import syn_medium_cached
from .memory_states import softmax_capacity
from .scansnap_dsf import FEATURES, FeatureRun, feature_sgd_train

__all__ = ["flow_run", "flow_t0", "softmax_capacities", "variant_run"]


def flow_t0(eta_Y: float = 1.0) -> float:
    r"""Snap time :math:`t_0=2K\ln M/\eta_Y` (:func:`attnmath.scansnap.t0_snap`) of Syn-Medium 1/2 (K = 2, M = 33)."""
    data = syn_medium_cached(1)
    return float(t0_snap(data.M, data.K, eta_Y))


def flow_run(eta_Z: float, eta_Y: float = 1.0, efolds: int = 6) -> Flow:
    r"""Population flow (exact :math:`c_n`, zero init, plain GD) on Syn-Medium 1/2 for :math:`\lceil t_0e^{\rm efolds}\rceil+1` steps.

    One step is one unit of time (the rates are :math:`\eta_Y,\eta_Z`), so step ``s`` is time ``s``.
    """
    efolds = V.integer(efolds, "efolds", minimum=0, maximum=10)  # t0 e^10 ~ 3e5 steps at eta_Y = 1: long, not endless
    eta_Z = V.real(eta_Z, "eta_Z", nonnegative=True)
    eta_Y = V.real(eta_Y, "eta_Y", positive=True)
    return _flow_run(eta_Z, eta_Y, efolds)


@cache
def _flow_run(eta_Z: float, eta_Y: float, efolds: int) -> Flow:
    steps = math.ceil(flow_t0(eta_Y) * np.exp(efolds)) + 1
    return population_flow(syn_medium_cached(1), eta_Y=eta_Y, eta_Z=eta_Z, steps=steps)


def variant_run(kind: str, ratio: float, seed: int) -> FeatureRun:
    r"""Fig. 4 configuration: Syn-Small, zero init, :math:`\eta_Z=1`, :math:`\eta_Y=` ``ratio``, 100 iterations, batch 128,
    T = 128, momentum 0.9, for the attention ``kind`` (``"exp"`` or ``"elu1"``)."""
    kind = V.choice(kind, "kind", FEATURES)
    ratio = V.real(ratio, "ratio", positive=True)
    seed = V.integer(seed, "seed", minimum=0)
    return _variant_run(kind, ratio, seed)


@cache
def _variant_run(kind: str, ratio: float, seed: int) -> FeatureRun:
    return feature_sgd_train(syn_small(), kind, eta_Y=ratio, eta_Z=1.0, seed=seed)


def softmax_capacities(d_ks: tuple[int, ...], eps: float, trials: int, seed: int) -> np.ndarray:
    r"""Softmax capacity :func:`~attnmath.synthesis.memory_states.softmax_capacity` at :math:`\beta=d_k` for each
    :math:`d_k` (a pool of :math:`2^{d_k}` pairs: about twice the measured capacity up to :math:`d_k=12`)."""
    # a pool of 2**d_k pairs recalled through an [N, N] softmax: d_k <= 12 keeps it within ~130 MB
    d_ks = tuple(V.integers(d_ks, "d_ks", minimum=1))
    for i, d in enumerate(d_ks):
        V.integer(d, f"d_ks[{i}]", maximum=12)
    eps = V.real(eps, "eps", positive=True)
    trials = V.integer(trials, "trials", minimum=2)
    seed = V.integer(seed, "seed", minimum=0)
    return _softmax_capacities(d_ks, eps, trials, seed)


@cache
@single_thread()
def _softmax_capacities(d_ks: tuple[int, ...], eps: float, trials: int, seed: int) -> np.ndarray:
    return np.array([softmax_capacity(d, eps, float(d), n_max=2**d, trials=trials, seed=seed) for d in d_ks])
