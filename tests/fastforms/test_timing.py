"""CPU timing helpers of the kernels chapter (``attnmath/fastforms/timing.py``): fits, ratios, a tiny table."""

from __future__ import annotations

import math

import pytest

from attnmath.fastforms import timing


def test_scaling_exponent_recovers_a_power_law():
    Ts = [64, 128, 256, 512]
    assert timing.scaling_exponent(Ts, [3e-6 * T**1.5 for T in Ts]) == pytest.approx(1.5, abs=1e-12)


def test_ratios_and_exponents_of_a_table():
    table = {"chunked": {1: 1.0, 2: 2.0, 4: 4.0}, "recurrent": {1: 3.0, 2: 12.0, 4: 48.0}, "quadratic": {1: 5.0}}
    assert timing.ratios(table) == {"recurrent": {1: 3.0, 2: 6.0, 4: 12.0}, "quadratic": {1: 5.0}}
    p = timing.exponents(table)
    assert p["chunked"] == pytest.approx(1.0) and p["recurrent"] == pytest.approx(2.0) and math.isnan(p["quadratic"])
    assert timing.exponents(table, lo=2)["recurrent"] == pytest.approx(2.0)


def test_time_call_runs_at_least_once_and_keeps_the_minimum():
    calls = []
    t = timing.time_call(lambda: calls.append(1), repeats=3, budget_s=10.0)
    assert len(calls) == 3 and 0 <= t < 1


@pytest.mark.parametrize("op", ["linear_attention", "diag_scan_scalar", "diag_scan_key"])
def test_a_small_scaling_table_times_every_form(op):
    table = timing.scaling_table(op, [16, 32], B=1, H=1, D=4, rounds=1, with_fla=False, threads=1)
    assert set(table) == {"chunked", "recurrent", "quadratic"}
    assert all(set(row) == {16, 32} and all(t > 0 for t in row.values()) for row in table.values())


def test_an_unknown_operator_is_a_value_error():
    with pytest.raises(ValueError, match="op must be one of"):
        timing.forms("softmax")


def test_fla_references_are_optional():
    refs = timing.fla_references()
    assert refs is None or set(refs) == {"fla naive recurrent", "fla naive chunk"}
    assert ("fla naive chunk" in timing.forms("linear_attention")) == (refs is not None)
