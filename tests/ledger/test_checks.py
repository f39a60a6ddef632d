"""attnmath.ledger.checks: every check constructor, field by field (name, verdict, error, tolerance, reason, details)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch

from attnmath import claims
from attnmath.claims import (
    Check,
    at_least,
    at_most,
    band,
    close,
    holds,
    rel_band,
    rel_close,
    statistical,
    symbolic,
    symbolic_true,
)
from attnmath.ledger import checks as ledger_checks
from tests._helpers import msg

REASON = "test tolerance"
R = "test reason"


def test_close_passes_and_fails_on_the_threshold():
    ok = close(
        "a",
        torch.tensor([1.0, 2.0], dtype=torch.float64),
        torch.tensor([1.0, 2.0 + 1e-9], dtype=torch.float64),
        atol=1e-8,
        reason=REASON,
    )
    bad = close("a", torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.1]), atol=1e-8, reason=REASON)
    assert ok.passed and ok.error == pytest.approx(1e-9, rel=1e-3) and ok.tolerance == 1e-8
    assert not bad.passed and bad.error == pytest.approx(0.1)


def test_close_fails_on_nan_and_on_shape_mismatch():
    assert not close("nan", np.array([np.nan]), np.array([0.0]), atol=1.0, reason=REASON).passed
    mismatch = close("shape", np.zeros(3), np.zeros(4), atol=1.0, reason=REASON)
    assert not mismatch.passed and "shape mismatch" in mismatch.details


def test_rel_close_uses_the_max_norm_of_the_expected_value():
    chk = rel_close("r", np.array([101.0, 0.0]), np.array([100.0, 0.0]), rtol=0.02, reason=REASON)
    assert chk.passed and chk.error == pytest.approx(0.01)
    assert not rel_close("r", np.array([103.0]), np.array([100.0]), rtol=0.02, reason=REASON).passed


def test_every_tolerance_needs_a_reason():
    with pytest.raises(ValueError, match="reason"):
        close("a", 1.0, 1.0, atol=1.0, reason="  ")
    with pytest.raises(ValueError, match="reason"):
        at_most("a", 1.0, 2.0, reason="")


def test_symbolic_checks_identities_and_relations():
    x = sp.symbols("x", positive=True)
    assert symbolic("identity", sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1).passed
    wrong = symbolic("not an identity", sp.sin(x) - sp.cos(x))
    assert not wrong.passed and "residual" in wrong.details
    assert symbolic("matrix", sp.Matrix([[x - x, 0], [0, 0]])).passed
    assert not symbolic("matrix", sp.Matrix([[x, 0]])).passed
    assert symbolic_true("sign", sp.exp(x) > 0).passed
    assert not symbolic_true("sign", x > 1).passed


def test_bounds_and_booleans():
    assert at_most("m", 1.0, 1.0, reason=REASON).passed
    assert not at_most("m", 1.0 + 1e-12, 1.0, reason=REASON).passed
    assert not at_most("m", math.nan, 1.0, reason=REASON).passed
    assert at_least("m", 2.0, 1.0, reason=REASON).passed
    assert not at_least("m", 0.5, 1.0, reason=REASON).passed
    assert holds("h", True).passed and not holds("h", False).passed


def test_statistical_band_records_seed_and_trials():
    chk = statistical("mc", 1.03, 1.0, 0.01, n_trials=500, seed=7)
    assert chk.passed and chk.tolerance == pytest.approx(0.04)
    assert "500 trials" in chk.reason and "seed 7" in chk.reason
    assert not statistical("mc", 1.05, 1.0, 0.01, n_trials=500, seed=7).passed
    with pytest.raises(ValueError, match="n_trials"):
        statistical("mc", 1.0, 1.0, 0.1, n_trials=0, seed=0)


def test_check_kind_is_validated():
    with pytest.raises(ValueError, match="kind"):
        claims.Check("numerical", "x", True)


def test_close_builds_the_documented_check():
    a = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert close("c", a, a + 0.25, atol=0.25, reason=R) == Check("numeric", "c", True, 0.25, 0.25, R)  # <= passes
    assert close("c", a, a + 0.5, atol=0.25, reason=R, kind="kernel") == Check("kernel", "c", False, 0.5, 0.25, R)
    mismatch = close("s", np.zeros(3), np.zeros((1, 3)), atol=1.0, reason=R, kind="statistical")
    assert mismatch == Check("statistical", "s", False, None, None, R, "shape mismatch (3,) vs (1, 3)")
    # empty arrays agree exactly: error 0, which passes even atol = 0
    assert close("e", np.zeros(0), np.zeros(0), atol=0.0, reason=R) == Check("numeric", "e", True, 0.0, 0.0, R)
    assert not close("inf", np.array([np.inf]), np.array([0.0]), atol=math.inf, reason=R).passed


def test_close_accepts_tensors_numpy_cannot_hold_directly():
    x = torch.tensor([1.0, 2.0], requires_grad=True)  # an autograd leaf: detached
    assert close("g", x, [1.0, 2.0], atol=0.0, reason=R).passed
    b = torch.tensor([1.0, 3.0], dtype=torch.bfloat16)  # numpy has no bfloat16: widened to float64
    chk = close("b", b, np.array([1.0, 3.0]), atol=0.0, reason=R)
    assert chk.passed and chk.error == 0.0
    assert ledger_checks._to_numpy(b).dtype == np.float64
    assert ledger_checks._to_numpy(torch.ones(2, dtype=torch.float32)).dtype == np.float32  # representable: kept
    assert ledger_checks._to_numpy(torch.ones(2, dtype=torch.int64)).dtype == np.int64


def test_rel_close_builds_the_documented_check():
    # max|a - e| = 5, max|e| = 4: error 1.25, which passes at rtol = 1.25 (<=) and fails below
    a, e = np.array([3.0, 1.0]), np.array([2.0, -4.0])
    assert rel_close("r", a, e, rtol=1.25, reason=R, kind="kernel") == Check("kernel", "r", True, 1.25, 1.25, R)
    assert rel_close("r", a, e, rtol=1.0, reason=R) == Check("numeric", "r", False, 1.25, 1.0, R)
    # a denominator below 1 still divides: max|e| = 0.5, max|a - e| = 0.25 -> 0.5
    assert rel_close("h", [0.75], [0.5], rtol=0.5, reason=R) == Check("numeric", "h", True, 0.5, 0.5, R)
    # an all-zero expected value falls back to the absolute error
    assert rel_close("z", [0.25], [0.0], rtol=0.25, reason=R) == Check("numeric", "z", True, 0.25, 0.25, R)
    assert rel_close("0", np.zeros(0), np.zeros(0), rtol=0.0, reason=R) == Check("numeric", "0", True, 0.0, 0.0, R)
    mismatch = rel_close("s", np.zeros(2), np.zeros(3), rtol=1.0, reason=R, kind="kernel")
    assert mismatch == Check("kernel", "s", False, None, None, R, "shape mismatch (2,) vs (3,)")
    assert not rel_close("n", [math.nan], [1.0], rtol=1.0, reason=R).passed


def test_at_most_and_at_least_build_the_documented_checks():
    assert at_most("m", 1.0, 1.0, reason=R, kind="kernel") == Check("kernel", "m", True, 1.0, 1.0, R)
    assert at_most("m", 2, 1, reason=R) == Check("numeric", "m", False, 2.0, 1.0, R)
    assert at_least("l", 1.0, 1.0, reason=R) == Check("numeric", "l", True, None, None, R, "value 1 >= bound 1")
    low = at_least("l", 0.5, 0.75, reason=R, kind="statistical")
    assert low == Check("statistical", "l", False, None, None, R, "value 0.5 >= bound 0.75")
    assert not at_least("l", math.nan, 0.0, reason=R).passed


def test_statistical_builds_the_documented_check():
    # |1.5 - 1| = 0.5 = 4 x 0.125: on the edge of the band, which passes
    chk = statistical("mc", 1.5, 1.0, 0.125, n_trials=1, seed=3)
    expect_reason = "4 sigma band of the Monte-Carlo mean (1 trials, seed 3)"
    assert chk == Check("statistical", "mc", True, 0.5, 0.5, expect_reason, "estimate 1.5, target 1, stderr 0.125")
    chk = statistical("mc", 0.0, 1.0, 0.25, n_trials=10, seed=0, nsigma=2.0)
    assert (chk.passed, chk.error, chk.tolerance) == (False, 1.0, 0.5)
    assert chk.reason == "2 sigma band of the Monte-Carlo mean (10 trials, seed 0)"
    with pytest.raises(ValueError, match=r"^n_trials must be positive, got -1$"):
        statistical("mc", 1.0, 1.0, 0.1, n_trials=-1, seed=0)


def test_holds_and_symbolic_checks():
    assert holds("h", 1) == Check("numeric", "h", True, None, None, "", "")
    assert holds("h", [], kind="kernel", details="d") == Check("kernel", "h", False, None, None, "", "d")
    x = sp.symbols("x", positive=True)
    assert symbolic("id", sp.exp(sp.log(x)) - x) == Check("symbolic", "id", True)
    assert symbolic("id", sp.Integer(0), details="why") == Check("symbolic", "id", True, details="why")
    assert symbolic("no", x - 1) == Check("symbolic", "no", False, details="residual: x - 1")
    assert symbolic_true("pos", sp.exp(x) > 0) == Check("symbolic", "pos", True)
    assert symbolic_true("pos", sp.exp(x) > 0, details="d") == Check("symbolic", "pos", True, details="d")
    assert symbolic_true("gt", x > 1) == Check("symbolic", "gt", False, details="evaluated to: x > 1")
    assert symbolic_true("f", sp.Integer(1) > 2) == Check("symbolic", "f", False, details="evaluated to: False")
    assert symbolic_true("t", True).passed


def test_every_tolerance_needs_a_reason_message():
    for bad in ("", "   ", None):
        with pytest.raises(ValueError) as info:
            close("a", 1.0, 1.0, atol=1.0, reason=bad)
        assert str(info.value).startswith("reason: every tolerance needs a stated reason")
    with pytest.raises(ValueError, match=r"^Check\.kind must be one of"):
        Check("numerical", "x", True)


def test_check_to_json_replaces_non_finite_numbers_by_null():
    chk = Check("kernel", "n", False, math.inf, 0.5, "r", "d")
    assert chk.to_json() == {
        "kind": "kernel",
        "name": "n",
        "passed": False,
        "error": None,
        "tolerance": 0.5,
        "reason": "r",
        "details": "d",
    }
    assert Check("numeric", "n", np.True_, np.float32(0.25), math.nan).to_json()["error"] == 0.25
    assert Check("numeric", "n", np.True_, 0.25, math.nan).to_json()["passed"] is True
    assert Check("numeric", "n", True, 0.25, math.nan).to_json()["tolerance"] is None
    assert ledger_checks._json_float(-math.inf) is None and ledger_checks._json_float(2) == 2.0


def test_band_reason_and_tolerance_rules():
    chk = band("b", 1.5, 1.0, 0.125, trials=10, seed=2)
    reason = "4 SE band of the Monte-Carlo estimate (10 trials, seed 2)"
    assert chk == Check("statistical", "b", True, 0.5, 0.5, reason, "estimate 1.5, target 1, stderr 0.125")
    # relative floor: max(4 x 0.125, 50% x |-2|) = 1
    chk = band("b", -1.0, -2.0, 0.125, trials=3, seed=0, rel=0.5, source="measured here")
    assert (chk.passed, chk.error, chk.tolerance) == (True, 1.0, 1.0)
    assert chk.reason == "max(4 SE, 50%) band of the Monte-Carlo estimate (3 trials, seed 0); measured here"
    chk = band("b", 3.5, 2.0, 0.25, trials=3, seed=0, rel=0.25, combine="sum", nsigma=2.5)
    assert (chk.passed, chk.error, chk.tolerance) == (False, 1.5, 1.125)
    assert chk.reason == "25% + 2.5 SE band of the Monte-Carlo estimate (3 trials, seed 0)"
    chk = band("b", 3.0, 2.0, 0.25, trials=3, seed=0, nsigma=2.5)
    assert chk.reason.startswith("2.5 SE band") and chk.tolerance == 0.625
    assert band("b", 1.0, 2.0, 0.25, trials=1, seed=1).passed
    assert not band("b", math.nan, 2.0, 1.0, trials=1, seed=1).passed
    assert msg(ValueError, band, "b", 1.0, 1.0, 0.1, trials=1, seed=0, combine="avg") == (
        "combine must be 'max' or 'sum', got 'avg'"
    )


def test_rel_band():
    chk = rel_band("r", 2.5, -2.0, rel=0.25, trials=100, seed=1, source="calibrated")
    assert chk == Check(
        "statistical",
        "r",
        False,
        4.5,
        0.5,
        "25% relative band (100 trials, seed 1); calibrated",
        "estimate 2.5, target -2",
    )
    chk = rel_band("r", 2.5, 2.0, rel=0.25, trials=100, seed=1)
    assert (chk.passed, chk.error, chk.tolerance, chk.reason) == (
        True,
        0.5,
        0.5,
        "25% relative band (100 trials, seed 1)",
    )
    assert not rel_band("r", math.inf, 2.0, rel=10.0, trials=1, seed=1).passed


def test_pvalue_checks_report_log_p_or_p_against_alpha():
    kept = claims.pvalue_not_rejected("null kept", 0.2, 0.01, test="binomial", n=100, seed="0")
    assert kept.passed and kept.error == pytest.approx(-math.log10(0.2)) and kept.tolerance == pytest.approx(2.0)
    assert kept.reason == "binomial: null kept iff p >= 0.01 (100 trials, seed 0)" and kept.details == "p = 0.2"
    assert not claims.pvalue_not_rejected("null kept", 0.001, 0.01, test="t", n=5, seed="1").passed
    assert claims.pvalue_not_rejected("p = 0", 0.0, 0.01, test="t", n=5, seed="1").error == pytest.approx(300.0)
    rejected = claims.pvalue_rejected("null rejected", 0.001, 0.01, test="sign test", n=30, seed="0-4")
    assert (rejected.passed, rejected.error, rejected.tolerance) == (True, 0.001, 0.01)
    assert rejected.reason == "sign test: reject iff p < 0.01 (30 trials, seeds 0-4)"
    assert not claims.pvalue_rejected("null rejected", 0.01, 0.01, test="t", n=3, seed="0").passed  # p < alpha strictly
