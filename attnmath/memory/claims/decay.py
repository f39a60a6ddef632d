r"""Claim on forgetting by decay: the recency–capacity trade-off of :math:`M_t=\gamma M_{t-1}+v_tk_t^\top`.

Book: ``notebooks/30_pavlovian_memory``, section "Forgetting by decay". Classical (the decayed, gated memory
of RetNet/GLA-style models; see the book's Sources appendix).
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import sympy as sp

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, close, control, rel_band, symbolic

from .. import capacity as C
from .. import hebbian as Hb
from ..hebbian import decayed_memory, decayed_recurrent
from .sizes import SIZES


@claim(
    "memory.decay-snr",
    title="Decayed memory: SNR of an item of age s is gamma^{2s} d_k (1-gamma^2) in steady state",
    statement=r"M_t=\gamma M_{t-1}+v_tk_t^\top:\ \mathrm{SNR}_s=\frac{\gamma^{2s}}{\frac1{d_k}\sum_{i\ne j}\gamma^{2(T-1-i)}}\xrightarrow{T\to\infty}\approx\gamma^{2s}d_k(1-\gamma^2)",
    source="decayed (gated) memory, RetNet/GLA-style; see the book's Sources appendix",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "statistical"),
)
def _decay_trades_recency_for_capacity(tier: str):
    gm = sp.symbols("gamma", positive=True)
    i = sp.symbols("i", integer=True, nonnegative=True)
    T = sp.symbols("T", integer=True, positive=True)
    checks = [
        symbolic(
            "sum_{i<T} gamma^(2i) (1-gamma^2) - (1 - gamma^(2T))",
            sp.summation(gm ** (2 * i), (i, 0, T - 1)) * (1 - gm**2) - (1 - gm ** (2 * T)),
        ),
        symbolic(
            "sum_{i>=0} (9/10)^(2i) - 1/(1-0.81)",
            sp.summation(sp.Rational(81, 100) ** i, (i, 0, sp.oo)) - 1 / (1 - sp.Rational(81, 100)),
        ),
    ]
    g = torch_generator(5)
    q, k, v = C.random_keys(30, 8, generator=g), C.random_keys(30, 8, generator=g), C.random_values(30, 4, generator=g)
    _, M = decayed_recurrent(q, k, v, 0.9)
    checks.append(
        close(
            "recurrent gamma-decayed state == closed form sum gamma^(T-1-i) v_i k_i^T",
            M,
            decayed_memory(k, v, 0.9),
            atol=1e-14,
            reason="float64 roundoff of 30 scaled additions",
        )
    )
    dk, trials, seed = 64, SIZES[tier].decay_trials, 0
    for gamma in (0.9, 0.99):
        Tn = round(5 / (1 - gamma))
        snr, _ = C.decay_snr_monte_carlo(gamma, dk, Tn, (0, 5, 20), trials=trials, seed=seed)
        for s, val in zip((0, 5, 20), snr):
            checks.append(
                rel_band(
                    f"gamma={gamma}, T={Tn}, age s={s}: SNR",
                    val,
                    C.decay_snr_theory(gamma, dk, Tn, s),
                    rel=0.10,
                    trials=trials,
                    seed=seed,
                    source="band calibrated on seeded runs",
                )
            )
    return checks


@control("memory.decay-snr", "closed form decayed one step too many (gamma^(T-i) instead of gamma^(T-1-i))")
def _closed_form_off_by_one_decay():
    def one_step_too_many(keys, values, gamma):
        return gamma * Hb.decayed_memory(keys, values, gamma)

    with mock.patch(f"{__name__}.decayed_memory", one_step_too_many):
        yield


@control("memory.decay-snr", "SNR theory counting the recalled item in its own noise (sum over all i, not i != j)")
def _snr_with_self_noise():
    def with_self_noise(gamma, d_k, T, age):
        w = gamma ** (2 * np.arange(T))
        return gamma ** (2 * age) / (w.sum() / d_k)

    with mock.patch.object(C, "decay_snr_theory", with_self_noise):
        yield
