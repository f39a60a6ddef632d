"""attnmath.claims: the exact contract of checks, results, runner, reports and display (issue 9).

Complements tests/test_claims_ledger.py. Each check constructor is compared field by field with
the :class:`Check` its docstring describes (name, pass/fail, error, tolerance, reason, details);
the runner, the worst-check rule, the JSON/summary/table/notebook renderings are pinned to what
their docstrings and DESIGN.md §3 say, so that a dropped field or a flipped comparison fails.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp
import torch

from attnmath import claims
from attnmath.claims import Check, at_least, at_most, close, holds, rel_close, statistical, symbolic, symbolic_true
from attnmath.ledger import checks as ledger_checks
from attnmath.ledger import registry as ledger_registry

R = "test reason"


@pytest.fixture
def reg(private_claims):
    """Throw-away ``testmut.*`` claims in a private registry (tests/conftest.py ``private_claims``)."""
    return private_claims


# ----------------------------------------------------------------------------- check constructors
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


# ----------------------------------------------------------------------------- registration
def test_claim_records_every_field(reg):
    def _f(tier):
        return holds("x", True)

    c = reg("testmut.fields", _f, kinds=["numeric", "symbolic"], status="stated", notes="n1")
    assert c == claims.Claim(
        "testmut.fields", "title of testmut.fields", "x = x", "src, eq. 1", "stated", ("numeric", "symbolic"), _f,
        __name__, "n1",
    )  # fmt: skip
    assert reg("testmut.nonotes", _f).notes == ""
    reg("testmut.fields", _f, kinds=["numeric", "symbolic"], status="stated", notes="n1")  # re-import: no error


@pytest.mark.parametrize("label", ["title", "statement", "source"])
def test_claim_names_the_empty_field(label):
    meta = {"title": "t", "statement": "s", "source": "src"} | {label: " "}
    with pytest.raises(ValueError) as info:
        claims.claim("testmut.x", status_of_source="stated", kinds=("numeric",), **meta)
    assert str(info.value) == f"{label} of claim 'testmut.x' must be a non-empty string"


def test_get_suggests_up_to_five_claims_of_the_same_chapter(reg):
    for i in range(7):
        reg(f"testmut.c{i}", lambda: holds("x", True))
    with pytest.raises(KeyError) as info:
        claims.get("testmut.nope")
    similar = [f"testmut.c{i}" for i in range(5)]
    assert info.value.args[0] == f"no claim 'testmut.nope'; similar: {similar}"


def test_load_all_imports_every_module_of_the_claim_packages(tmp_path, monkeypatch):
    pkg = tmp_path / "mutpkg_claims"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    register = textwrap.dedent(
        """
        from attnmath.claims import claim, holds
        @claim("{id}", title="t", statement="s", source="s", status_of_source="stated", kinds=("numeric",))
        def _c():
            return holds("x", True)
        """
    )
    (pkg / "a.py").write_text(register.format(id="mutpkg.a"))
    (pkg / "sub" / "b.py").write_text(register.format(id="mutpkg.b"))
    (pkg / "skipped.py").write_text("raise RuntimeError('a skipped module must not be imported')")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(ledger_registry, "CLAIM_PACKAGES", ("mutpkg_claims",))
    monkeypatch.setattr(ledger_registry, "_SKIP_MODULES", {"mutpkg_claims.skipped"})
    monkeypatch.setattr(ledger_registry, "_LOADED", False)
    monkeypatch.setattr(ledger_registry, "_REGISTRY", {})
    try:
        claims.load_all()
        assert set(ledger_registry._REGISTRY) == {"mutpkg.a", "mutpkg.b"}
        assert ledger_registry._LOADED is True
        assert "mutpkg_claims.sub.b" in sys.modules and "mutpkg_claims.skipped" not in sys.modules
        (pkg / "c.py").write_text(register.format(id="mutpkg.c"))
        claims.load_all()  # loads once per process
        assert "mutpkg_claims.c" not in sys.modules
    finally:
        for name in [m for m in sys.modules if m.startswith("mutpkg_claims")]:
            del sys.modules[name]


# ----------------------------------------------------------------------------- runner
def test_run_resets_the_global_streams_before_each_claim(reg):
    draws = []
    reg("testmut.rng", lambda: (draws.append((np.random.rand(), torch.rand(1).item())), holds("x", True))[1])  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    claims.run("testmut.rng")
    claims.run("testmut.rng")
    np.random.seed(0)  # noqa: NPY002
    torch.manual_seed(0)
    assert draws == [(np.random.rand(), torch.rand(1).item())] * 2  # noqa: NPY002 - seed 0, whatever came before


def test_run_result_of_a_passing_claim(reg):
    c = reg("testmut.ok", lambda tier: [close("a", 1.0, 1.25, atol=0.5, reason=R), holds("h", tier == "paper")])
    res = c.run("paper")
    assert res.passed and res.tier == "paper" and res.exception is None
    assert (res.error, res.tolerance) == (0.25, 0.5)
    assert res.checks == [Check("numeric", "a", True, 0.25, 0.5, R), Check("numeric", "h", True)]
    assert 0.0 <= res.seconds < 5.0
    assert c.run().tier == "ci" and not c.run().passed  # default tier "ci"


def test_run_result_of_a_raising_claim(reg):
    def f0():
        raise RuntimeError("kaboom")

    def f1():
        return f0()

    def f2():
        return f1()

    def f3():
        return f2()

    def f4():
        return f3()

    def f5():
        return f4()

    def f6():
        return f5()

    c = reg("testmut.raises", lambda tier: f6())
    res = claims.run(c, tier="paper")
    assert (res.passed, res.checks, res.error, res.tolerance, res.tier) == (False, [], None, None, "paper")
    assert 0.0 <= res.seconds < 5.0
    head, tb = res.exception.split("\n", 1)
    assert head == "RuntimeError: kaboom"
    assert tb.startswith("Traceback (most recent call last):")
    assert tb.count('  File "') == 6  # traceback.format_exc(limit=6): the outermost 6 frames


def test_run_rejects_checks_of_undeclared_kinds(reg):
    reg("testmut.extra", lambda: [holds("x", True), symbolic("s", sp.Integer(0))])
    res = claims.run("testmut.extra")
    assert not res.passed
    assert res.exception.startswith(
        "ValueError: claim testmut.extra declares kinds ('numeric',) but its checks have ['numeric', 'symbolic']"
    )


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


def test_run_all_progress_bar_goes_to_stderr_only_when_asked(reg, capsys):
    reg("testmut.p1", lambda: holds("x", True))
    reg("testmut.p2", lambda tier: holds("x", tier == "paper"))
    quiet = claims.run_all("testmut.p", tier="paper")
    assert capsys.readouterr().err == ""
    assert [(r.id, r.passed, r.tier) for r in quiet] == [("testmut.p1", True, "paper"), ("testmut.p2", True, "paper")]
    loud = claims.run_all("testmut.p", tier="paper", progress=True)
    err = capsys.readouterr().err
    assert [(r.id, r.passed, r.tier) for r in loud] == [(r.id, r.passed, r.tier) for r in quiet]
    last = err.split("\r")[-1]
    assert last.startswith("claims: 100%") and "2/2" in last and "claim/s" in last and "testmut.p2" in last
    assert [r.id for r in claims.run_all("testmut.p1")] == ["testmut.p1"]
    assert claims.run_all("testmut.p2")[0].tier == "ci"


# ----------------------------------------------------------------------------- reports
def _results(reg):
    reg("testmut.r-pass", lambda: close("a", 1.0, 1.0, atol=1e-9, reason=R), kinds=("numeric",), status="stated")
    reg("testmut.r-fail", lambda: [holds("h", False), symbolic("s", sp.Integer(0))], kinds=("symbolic", "numeric"))
    return claims.run_all("testmut.r-")


def test_result_to_json(reg):
    res = _results(reg)
    res[0].seconds = 0.12345
    entry = res[0].to_json()
    assert list(entry) == [
        "id", "title", "source", "status_of_source", "kinds", "passed", "skipped", "error", "tolerance",
        "seconds", "exception", "tier", "checks",
    ]  # fmt: skip
    assert entry == {
        "id": "testmut.r-fail",
        "title": "title of testmut.r-fail",
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


# ----------------------------------------------------------------------------- display
def test_display_lines_and_html(reg):
    def _checks():
        return [
            close("c", 1.0, 1.0, atol=1e-12, reason="fp64"),
            holds("h", False),
            statistical("m", 1.0, 1.0, 0.1, n_trials=5, seed=2),
        ]

    c = reg("testmut.disp", _checks, kinds=("numeric", "statistical"))
    disp = claims.show(c.id)
    assert repr(disp).split("\n") == [
        "[FAILED] testmut.disp: title of testmut.disp",
        "  source: src, eq. 1 (reconstructed)",
        "  numeric check 'c': ok, tolerance 1.0e-12 (fp64)",
        "  numeric check 'h': FAILED",
        "  statistical check 'm': ok, 4 sigma band of the Monte-Carlo mean (5 trials, seed 2)",
    ]
    html = disp._repr_html_()
    assert html.startswith('<div class="attnmath-claim" style="border-left:4px solid #cf222e;')
    assert '<strong style="color:#cf222e">FAILED</strong> <code>testmut.disp</code>' in html
    assert "<ul><li>numeric check &#x27;c&#x27;: ok, tolerance 1.0e-12 (fp64)</li><li>numeric check" in html
    assert html.count("<li>") == 3

    ok = claims.show(reg("testmut.disp-ok", lambda: holds("h", True)).id)
    assert (
        repr(ok)
        == "[PASSED] testmut.disp-ok: title of testmut.disp-ok\n  source: src, eq. 1 (reconstructed)\n  numeric check 'h': ok"
    )
    html = ok._repr_html_()
    assert "solid #1a7f37;" in html and '<strong style="color:#1a7f37">PASSED</strong>' in html

    raised = claims.show(reg("testmut.disp-raise", lambda: [][1]).id)
    assert repr(raised).split("\n")[-1] == "  raised: IndexError: list index out of range"


def test_show_caches_per_claim_and_scale(reg):
    calls = []
    c = reg("testmut.cache", lambda tier: (calls.append(tier), holds("x", True))[1])
    first = claims.show(c.id)
    assert claims.show(c.id).result is first.result and calls == ["ci"]
    paper = claims.show(c.id, tier="paper")
    assert paper.result.tier == "paper" and paper.result.passed and calls == ["ci", "paper"]
    other = claims.show(reg("testmut.cache-2", lambda: holds("y", False)).id)
    assert other.result.id == "testmut.cache-2" and not other.result.passed
