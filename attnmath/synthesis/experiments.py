r"""The synthesis chapter's runs, memoised per process (shared by the claims and the notebook).

- :func:`flow_run`: the scan-and-snap population flow on Syn-Medium 1/2 up to :math:`e^{k}t_0`.
- :func:`variant_run`: the Fig. 4 configuration (Syn-Small, zero init, :math:`\eta_Z=1`) for the softmax model
  trained by :func:`~attnmath.synthesis.scansnap_dsf.feature_sgd_train` or its linear-attention variant.
- :func:`softmax_capacities`: the measured softmax capacity at a few :math:`d_k`.

Returned objects are shared: do not modify them. Book: ``notebooks/90_synthesis``.
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
from .scansnap_dsf import FeatureRun, feature_sgd_train

__all__ = ["flow_run", "flow_t0", "softmax_capacities", "variant_run"]


def flow_t0(eta_Y: float = 1.0) -> float:
    r"""Snap time :math:`t_0=2K\ln M/\eta_Y` (:func:`attnmath.scansnap.t0_snap`) of Syn-Medium 1/2 (K = 2, M = 33)."""
    data = syn_medium_cached(1)
    return float(t0_snap(data.M, data.K, eta_Y))


@cache
def flow_run(eta_Z: float, eta_Y: float = 1.0, efolds: int = 6) -> Flow:
    r"""Population flow (exact :math:`c_n`, zero init, plain GD) on Syn-Medium 1/2 for :math:`\lceil t_0e^{\rm efolds}\rceil+1` steps.

    One step is one unit of time (the rates are :math:`\eta_Y,\eta_Z`), so step ``s`` is time ``s``.
    """
    efolds = V.integer(efolds, "efolds", minimum=0)
    steps = math.ceil(flow_t0(eta_Y) * np.exp(efolds)) + 1
    return population_flow(syn_medium_cached(1), eta_Y=eta_Y, eta_Z=eta_Z, steps=steps)


@cache
def variant_run(kind: str, ratio: float, seed: int) -> FeatureRun:
    r"""Fig. 4 configuration: Syn-Small, zero init, :math:`\eta_Z=1`, :math:`\eta_Y=` ``ratio``, 100 iterations, batch 128,
    T = 128, momentum 0.9, for the attention ``kind`` (``"exp"`` or ``"elu1"``)."""
    ratio = V.real(ratio, "ratio", positive=True)
    return feature_sgd_train(syn_small(), kind, eta_Y=ratio, eta_Z=1.0, seed=seed)


@cache
@single_thread()
def softmax_capacities(d_ks: tuple[int, ...], eps: float, trials: int, seed: int) -> np.ndarray:
    r"""Softmax capacity :func:`~attnmath.synthesis.memory_states.softmax_capacity` at :math:`\beta=d_k` for each
    :math:`d_k` (a pool of :math:`2^{d_k}` pairs: about twice the measured capacity up to :math:`d_k=12`)."""
    return np.array([softmax_capacity(d, eps, float(d), n_max=2**d, trials=trials, seed=seed) for d in d_ks])
