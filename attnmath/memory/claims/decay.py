r"""Claim on forgetting by decay: the recency–capacity trade-off of :math:`M_t=\gamma M_{t-1}+v_tk_t^\top`.

Book: ``notebooks/30_pavlovian_memory``, section "Forgetting by decay". Classical (the decayed, gated memory
of RetNet/GLA-style models; see the book's Sources appendix).
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import sympy as sp

from attnmath.base.numerics import torch_generator
from attnmath.claims import band, claim, close, control, symbolic

from .. import capacity as C
from .. import hebbian as Hb
from ..hebbian import decayed_memory, decayed_recurrent
from .sizes import SIZES


@claim(
    "memory.decay-snr",
    title="Decayed memory: SNR of the item of age s is gamma^{2s} d_k / sum_{a<T, a!=s} gamma^{2a}; "
    "steady state gamma^{2s} d_k (1-gamma^2) / (1 - gamma^{2s}(1-gamma^2))",
    statement=r"M_T=\sum_{i<T}\gamma^{T-1-i}v_ik_i^\top:\ \mathrm{SNR}_s=\frac{\gamma^{2s}d_k}{\sum_{a<T,\,a\ne s}\gamma^{2a}}"
    r"\xrightarrow{T\to\infty}\frac{\gamma^{2s}d_k(1-\gamma^2)}{1-\gamma^{2s}(1-\gamma^2)}",
    source="decayed (gated) memory, RetNet/GLA-style; see the book's Sources appendix",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "statistical"),
)
def _decay_trades_recency_for_capacity(tier: str):
    gm, x = sp.symbols("gamma x", positive=True)
    i = sp.symbols("i", integer=True, nonnegative=True)
    T, s_ = sp.symbols("T s", integer=True, positive=True)
    finite = gm ** (2 * s_) / (sp.summation(gm ** (2 * i), (i, 0, T - 1)) - gm ** (2 * s_))
    steady = gm ** (2 * s_) * (1 - gm**2) / (1 - gm ** (2 * s_) * (1 - gm**2))
    checks = [
        symbolic(
            "sum_{i<T} gamma^(2i) (1-gamma^2) - (1 - gamma^(2T))",
            sp.summation(gm ** (2 * i), (i, 0, T - 1)) * (1 - gm**2) - (1 - gm ** (2 * T)),
        ),
        symbolic(
            "lim_{T->oo} of the finite-T SNR / d_k minus the steady-state form, gamma = 1/(1+x), x > 0",
            sp.limit(finite.subs(gm, 1 / (1 + x)), T, sp.oo) - steady.subs(gm, 1 / (1 + x)),
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
    # two streams at steady state (gamma^(2T) < 1e-4) and one short stream (T = 50 at gamma = 0.99), where the
    # finite-horizon law and its steady-state limit differ by 36-60%
    for gamma, Tn in ((0.9, 50), (0.99, 500), (0.99, 50)):
        snr, se = C.decay_snr_monte_carlo(gamma, dk, Tn, (0, 5, 20), trials=trials, seed=seed)
        for s, val, e in zip((0, 5, 20), snr, se):
            checks.append(
                band(
                    f"gamma={gamma}, T={Tn}, age s={s}: SNR vs the finite-T law",
                    val,
                    C.decay_snr_theory(gamma, dk, Tn, s),
                    e,
                    trials=trials,
                    seed=seed,
                    source="delta-method SE of the ratio of mean energies",
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


@control(
    "memory.decay-snr", "the steady-state law used at every horizon (the finite sum replaced by its T -> oo limit)"
)
def _steady_state_at_every_horizon():
    def steady(gamma, d_k, T, age):
        r = gamma**2
        return gamma ** (2 * age) * d_k / (1 / (1 - r) - gamma ** (2 * age))

    with mock.patch.object(C, "decay_snr_theory", steady):
        yield
