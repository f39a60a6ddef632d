"""attnmath.ledger.results: ClaimResult, the worst-check rule, the JSON report, the summary and the table."""

from __future__ import annotations

import json
import math

import pytest
import sympy as sp

from attnmath import claims
from attnmath.claims import Check, at_most, close, holds, symbolic

REASON = "test tolerance"
R = "test reason"


def test_worst_check_is_the_one_closest_to_failing(temp_claims):
    temp_claims(
        "testonly.worst",
        lambda: [close("a", 0.0, 1e-3, atol=1e-2, reason=REASON), close("b", 0.0, 5e-7, atol=1e-6, reason=REASON)],
    )
    res = claims.run("testonly.worst")
    assert res.passed and res.error == pytest.approx(5e-7) and res.tolerance == 1e-6


def test_json_report_has_the_documented_fields(temp_claims):
    temp_claims("testonly.json-ok", lambda: close("a", 1.0, 1.0, atol=1e-9, reason=REASON))
    temp_claims("testonly.json-bad", lambda: close("a", 1.0, 3.0, atol=1e-9, reason=REASON))
    report = claims.report_json(claims.run_all("testonly.json"))
    assert report["passed"] == 1 and report["failed"] == 1
    entry = report["claims"][0]
    for key in ("id", "title", "source", "status_of_source", "kinds", "passed", "error", "tolerance", "seconds"):
        assert key in entry
    json.dumps(report)  # serialisable
    assert report["claims"][0]["id"] == "testonly.json-bad" and report["claims"][0]["passed"] is False


def test_format_table_lists_each_result(temp_claims):
    temp_claims("testonly.table", lambda: close("a", 1.0, 1.0, atol=1e-9, reason=REASON))
    table = claims.format_table(claims.run_all("testonly.table"))
    assert "testonly.table" in table and "PASS" in table and "1.0e-09" in table


def _worst_of(reg, cid, checks):
    return claims.run(reg(cid, lambda: checks, kinds=("numeric",)))


def test_worst_check_rules(reg):
    ratio_quarter = close("q", 0.0, 0.25, atol=1.0, reason=R)  # ratio 0.25
    # checks without error or tolerance are skipped, and do not stop the scan
    res = _worst_of(reg, "testmut.w1", [holds("h", True), Check("numeric", "e", True, 1.0, None), ratio_quarter])
    assert (res.error, res.tolerance) == (0.25, 1.0)
    # zero tolerance: a positive error is infinitely bad, a zero error is ratio 0
    res = _worst_of(reg, "testmut.w2", [ratio_quarter, Check("numeric", "z", False, 0.5, 0.0)])
    assert (res.error, res.tolerance) == (0.5, 0.0)
    res = _worst_of(reg, "testmut.w3", [Check("numeric", "z", True, 0.0, 0.0), ratio_quarter])
    assert (res.error, res.tolerance) == (0.25, 1.0)
    # a non-finite error is the worst
    res = _worst_of(reg, "testmut.w4", [ratio_quarter, close("n", math.nan, 0.0, atol=1.0, reason=R)])
    assert math.isnan(res.error) and res.tolerance == 1.0
    # the largest ratio is reported even when it is negative (an at_most with a value below -bound)
    res = _worst_of(reg, "testmut.w6", [at_most("neg", -1.5, 1.0, reason=R)])
    assert res.passed and (res.error, res.tolerance) == (-1.5, 1.0)
    # ties keep the first
    tie = [close("a", 0.0, 0.25, atol=1.0, reason=R), close("b", 0.0, 0.125, atol=0.5, reason=R)]
    res = _worst_of(reg, "testmut.w5", tie)
    assert (res.error, res.tolerance) == (0.25, 1.0)


def _results(reg):
    reg("testmut.r-pass", lambda: close("a", 1.0, 1.0, atol=1e-9, reason=R), kinds=("numeric",), status="stated")
    reg("testmut.r-fail", lambda: [holds("h", False), symbolic("s", sp.Integer(0))], kinds=("symbolic", "numeric"))
    return claims.run_all("testmut.r-")


def test_result_to_json(reg):
    res = _results(reg)
    res[0].seconds = 0.12345
    entry = res[0].to_json()
    assert list(entry) == [
        "id", "title", "statement", "source", "status_of_source", "kinds", "passed", "skipped", "error", "tolerance",
        "seconds", "exception", "tier", "checks", "controls",
    ]  # fmt: skip
    assert entry == {
        "id": "testmut.r-fail",
        "title": "title of testmut.r-fail",
        "statement": "x = x",
        "source": "src, eq. 1",
        "status_of_source": "reconstructed",
        "kinds": ["symbolic", "numeric"],
        "passed": False,
        "skipped": None,
        "error": None,
        "tolerance": None,
        "seconds": 0.123,
        "exception": None,
        "tier": "ci",
        "checks": [Check("numeric", "h", False).to_json(), Check("symbolic", "s", True).to_json()],
        "controls": None,
    }
    assert res[1].to_json()["error"] == 0.0 and res[1].to_json()["tolerance"] == 1e-9


def test_dump_json_writes_the_report(reg, tmp_path):
    res = _results(reg)
    path = tmp_path / "deep" / "ledger.json"
    claims.dump_json(res, str(path))
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == claims.report_json(res)
    assert text == json.dumps(claims.report_json(res), indent=1)  # key order kept, one-space indent
    assert text.startswith('{\n "claims": [\n  {\n   "id": "testmut.r-fail"')


def test_summary_text(reg):
    fail, ok = _results(reg)
    assert ok.summary() == "PASS testmut.r-pass: title of testmut.r-pass\n  [numeric] a: ok error 0 <= tol 1e-09"
    assert fail.summary() == "FAIL testmut.r-fail: title of testmut.r-fail\n  [numeric] h: FAILED\n  [symbolic] s: ok"
    over = reg("testmut.r-over", lambda: close("c", 0.0, 2.0, atol=1.0, reason=R))
    assert claims.run(over).summary().splitlines()[1] == "  [numeric] c: FAILED error 2 > tol 1"
    boom = reg("testmut.r-boom", lambda: 1 / 0)
    lines = claims.run(boom).summary().splitlines()
    assert lines == ["FAIL testmut.r-boom: title of testmut.r-boom", "  exception: ZeroDivisionError: division by zero"]
    partial = Check("numeric", "p", True, 1.0, None, details="d")
    c = reg("testmut.r-partial", lambda: partial)
    assert claims.run(c).summary().splitlines()[1] == "  [numeric] p: ok d"
    c = reg("testmut.r-tolonly", lambda: Check("numeric", "t", True, None, 1.0))
    assert claims.run(c).summary().splitlines()[1] == "  [numeric] t: ok"


def test_format_table(reg):
    fail, ok = _results(reg)
    fail.seconds, ok.seconds = 1.234, 0.5
    header = ["", "claim", "source", "kinds", "error", "tol", "s"]
    rows = [
        ["FAIL", "testmut.r-fail", "reconstructed", "sym+num", "-", "-", "1.23"],
        ["PASS", "testmut.r-pass", "stated", "num", "0.00e+00", "1.0e-09", "0.50"],
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(7)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    expect = "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])
    assert claims.format_table([fail, ok]) == expect
    assert expect.splitlines()[0].startswith("      claim")  # the empty status column is padded, not stripped
