"""attnmath.scansnap: float64 promises, solver choices, overflow guards and rare branches (issue 9).

Complements tests/test_mut_scansnap_closed_forms.py and tests/test_mut_scansnap_model.py:

- the closed forms promise float64 arithmetic (module docstring), not only a float64 result: a
  float32 time must give exactly the value of the same time in float64, and exact rationals
  (``fractions.Fraction``, e.g. from sympy) are accepted;
- the ODE references are documented as ``solve_ivp`` with DOP853 (a spy records the call);
- :func:`B_snap_branches` documents ``ln(0)^2 = inf`` at ``t = 0`` without a warning;
- the reduced ODE of Theorem 3 stays finite at long times (its max-shift), and reports a failed
  solve; the JoMA toy runs in the requested dtype.
"""

from __future__ import annotations

import math
import re
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import scipy.integrate
import torch

from attnmath.scansnap import closed_forms as CF
from attnmath.scansnap import dynamics as DY
from attnmath.scansnap import experiments as E
from attnmath.scansnap import joma


def _spy_solve_ivp(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    real = scipy.integrate.solve_ivp

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(scipy.integrate, "solve_ivp", spy)
    return calls


# ----------------------------------------------------------------------------- closed forms
def test_float32_times_are_computed_in_float64():
    # 0.1f is not 0.1: the float64 value of the float32 number must be used, and the arithmetic
    # M eta_Y t + 1 done in float64 (in float32 it would round at 6e-8 relative)
    t32 = np.array([0.1, 3.3, 17.7], dtype=np.float32)
    t64 = t32.astype(np.float64)
    assert np.array_equal(CF.h_closed(t32, 10, 0.7), CF.h_closed(t64, 10, 0.7))
    assert np.array_equal(CF.gamma_speed(t32, 10, 3, 0.7), CF.gamma_speed(t64, 10, 3, 0.7))
    assert np.array_equal(CF.Gamma_closed(t32, 10, 3, 0.7, 0.3), CF.Gamma_closed(t64, 10, 3, 0.7, 0.3))
    # and the float64 result differs from the same formula evaluated in float32 arithmetic
    a32 = (np.float32(10 * 0.7) * t32 + np.float32(1.0)) / np.float32(9)
    a64 = (10 * 0.7 * t64 + 1.0) / 9
    assert a32.dtype == np.float32 and not np.array_equal(a32.astype(np.float64), a64)


def test_chi_and_attention_ratio_accept_exact_rationals():
    assert CF.chi([Fraction(1, 2)], [Fraction(0)])[0] == pytest.approx(math.e, rel=1e-15)
    assert CF.chi(Fraction(3, 4), Fraction(1, 4)) == pytest.approx(math.e, rel=1e-15)
    # (1 + 3) / (1 + 3 * 1/2) = 8/5
    assert CF.attention_ratio_decay(Fraction(3), Fraction(1, 2)) == pytest.approx(math.sqrt(1.6), rel=1e-15)
    assert CF.attention_ratio_decay(3.0, [Fraction(1, 2)])[0] == pytest.approx(math.sqrt(1.6), rel=1e-15)
    assert CF.attention_ratio_decay([Fraction(3)], 0.5)[0] == pytest.approx(math.sqrt(1.6), rel=1e-15)
    assert CF.attention_ratio_decay([Decimal(3)], [Decimal("0.5")]).dtype == np.float64


def test_ode_references_use_dop853(monkeypatch):
    calls = _spy_solve_ivp(monkeypatch)
    t = np.array([0.0, 0.5, 1.0])  # short: h(t/K) <= 0.025 stays far from any singular gamma
    CF.h_ode(t, 10, 0.5)
    CF.snap_ode(t, 10, 2, 0.5, 1.0, 2.0)
    DY.reduced_distinct_flow([0.25, 0.75], [0.5], t)
    assert [c["method"] for c in calls] == ["DOP853"] * 3  # the documented solver of all three
    assert [c["rtol"] for c in calls] == [1e-11, 1e-12, 1e-10]  # the documented default rtol of each


def test_B_snap_branches_at_zero_time_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a divide-by-zero RuntimeWarning would raise here
        scan, snap = CF.B_snap_branches(np.array([0.0, 1.0]), 50, 3, 0.5, 1.5, 2.0)
    assert scan[0] == 0.0 and snap[0] == np.inf and np.isfinite(snap[1])


# ----------------------------------------------------------------------------- reduced ODE of Theorem 3
def test_reduced_flow_stays_finite_at_long_times():
    # with s = 1 the most frequent distinct token takes all the attention: f_max -> 1, so
    # z_max(t) = t - O(1); exp(2 z) alone would overflow float64 beyond z ~ 355
    t = np.array([0.0, 500.0, 1000.0])
    zd, zc = DY.reduced_distinct_flow([0.2, 0.3, 0.5], [0.4], t, s=lambda tt: 1.0, rtol=1e-8)
    assert np.all(np.isfinite(zd)) and np.all(np.isfinite(zc))
    assert 990.0 < zd[-1, -1] < 1000.0  # dz_max/dt = f_max^2 <= 1, and -> 1
    assert zd[-1, -1] - zd[1, -1] == pytest.approx(500.0, abs=1e-3)  # f_max = 1 up to e^{-2 (z_max - z_l)}
    assert np.all(zd[-1, :2] < 10.0)  # the others stop growing once they lose the attention


def test_reduced_flow_reports_a_failed_solve_and_accepts_exact_numbers():
    with pytest.raises(RuntimeError, match=r"^solve_ivp failed: Required step size"):
        DY.reduced_distinct_flow([0.5, 0.5], [0.1], [0.0, 1.0], s=lambda tt: float("nan"))
    exact = DY.reduced_distinct_flow([0.5, 0.5], [0.25], [0.0, 1.0])
    frac = DY.reduced_distinct_flow([Fraction(1, 2)] * 2, [Fraction(1, 4)], [Fraction(0), Fraction(1)])
    dec_d = DY.reduced_distinct_flow([Decimal("0.5")] * 2, [0.25], [0.0, 1.0])  # weights are converted to float64
    dec_c = DY.reduced_distinct_flow([0.5, 0.5], [Decimal("0.25")], [0.0, 1.0])
    for run in (frac, dec_d, dec_c):
        for a, b in zip(exact, run):
            assert b.dtype == np.float64 and np.array_equal(a, b)


# ----------------------------------------------------------------------------- JoMA toy
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_sparse_then_dense_runs_in_the_requested_dtype(dtype):
    ent, v = joma.sparse_then_dense(4, steps=3, dtype=dtype)
    assert v.dtype == dtype and ent.dtype == np.float64 and ent.shape == (3,)
    assert ent[0] == pytest.approx(math.log(4), abs=4e-3)  # v(0) constant: uniform softmax; 16-bit log rounding


# ----------------------------------------------------------------------------- experiments
def test_fig6_sweep_progress_bar_is_labelled(monkeypatch, capsys):
    monkeypatch.setattr(E, "fig6_entropy", lambda p, e, r, s: 1.0)
    E.fig6_sweep([1], [0.5], [2], seeds=[3, 4])
    err = capsys.readouterr().err
    assert re.search(r"(^|\r)Fig\. 6 runs: +100%.*2/2", err), err
