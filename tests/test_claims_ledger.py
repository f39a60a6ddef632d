"""Unit tests of the claims ledger: registration, checks, runner, JSON, CLI and display."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp
import torch

from attnmath import __main__ as cli
from attnmath import claims
from attnmath.claims import at_least, at_most, close, holds, rel_close, statistical, symbolic, symbolic_true
from attnmath.ledger import cache as ledger_cache
from attnmath.ledger import display as ledger_display

REASON = "test tolerance"


@pytest.fixture
def temp_claims(private_claims):
    """Throw-away ``testonly.*`` claims in a private registry (tests/conftest.py ``private_claims``)."""
    return private_claims


# ----------------------------------------------------------------------------- checks
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


# ----------------------------------------------------------------------------- registration
def test_decorator_validates_metadata():
    ok = {"title": "t", "statement": "s", "source": "src", "status_of_source": "stated", "kinds": ("numeric",)}
    with pytest.raises(ValueError, match="id"):
        claims.claim("NoDots", **ok)
    with pytest.raises(ValueError, match="status_of_source"):
        claims.claim("testonly.x", **{**ok, "status_of_source": "guessed"})
    with pytest.raises(ValueError, match="kinds"):
        claims.claim("testonly.x", **{**ok, "kinds": ("numeric", "vibes")})
    with pytest.raises(ValueError, match="kinds"):
        claims.claim("testonly.x", **{**ok, "kinds": ()})
    with pytest.raises(ValueError, match="title"):
        claims.claim("testonly.x", **{**ok, "title": ""})


def test_duplicate_id_from_another_function_is_rejected(temp_claims):
    temp_claims("testonly.dup", lambda: holds("x", True))

    def other():
        return holds("x", True)

    with pytest.raises(ValueError, match="already registered"):
        claims.claim(
            "testonly.dup", title="t", statement="s", source="s", status_of_source="stated", kinds=("numeric",)
        )(other)


def test_select_by_substring_and_glob(temp_claims):
    temp_claims("testonly.alpha-one", lambda: holds("x", True))
    temp_claims("testonly.beta-two", lambda: holds("x", True))
    assert [c.id for c in claims.select("testonly.alpha")] == ["testonly.alpha-one"]
    assert [c.id for c in claims.select("testonly.*-two")] == ["testonly.beta-two"]
    assert {c.id for c in claims.select("testonly.")} == {"testonly.alpha-one", "testonly.beta-two"}
    with pytest.raises(KeyError, match="no claim"):
        claims.get("testonly.gamma")


# ----------------------------------------------------------------------------- runner
def test_failing_claim_is_reported_failed(temp_claims):
    c = temp_claims("testonly.failing", lambda tier: close("off by one", 1.0, 2.0, atol=0.5, reason=REASON))
    res = claims.run(c)
    assert not res.passed and res.exception is None
    assert res.error == pytest.approx(1.0) and res.tolerance == 0.5
    assert "FAIL testonly.failing" in res.summary()


def test_raising_claim_is_a_failed_result_and_does_not_abort_the_run(temp_claims):
    def boom(tier):
        raise RuntimeError("kaboom")

    temp_claims("testonly.a-raises", boom)
    temp_claims("testonly.b-passes", lambda: holds("fine", True))
    results = claims.run_all("testonly.")
    assert [r.id for r in results] == ["testonly.a-raises", "testonly.b-passes"]
    assert not results[0].passed and "RuntimeError: kaboom" in results[0].exception
    assert results[1].passed


def test_declared_kinds_must_match_the_checks(temp_claims):
    temp_claims("testonly.kinds", lambda: holds("x", True), kinds=("numeric", "symbolic"))
    res = claims.run("testonly.kinds")
    assert not res.passed and "declares kinds" in res.exception


def test_claim_must_return_checks(temp_claims):
    temp_claims("testonly.none", lambda: [])
    temp_claims("testonly.wrong", lambda: [True])
    assert not claims.run("testonly.none").passed
    assert "must return Check" in claims.run("testonly.wrong").exception


def test_scale_is_passed_and_validated(temp_claims):
    seen = []
    temp_claims("testonly.tier", lambda tier: (seen.append(tier), holds("x", True))[1])
    claims.run("testonly.tier", tier="paper")
    assert seen == ["paper"]
    with pytest.raises(ValueError, match="tier"):
        claims.run("testonly.tier", tier="huge")


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


# ----------------------------------------------------------------------------- CLI
def test_cli_exits_1_when_a_claim_fails(temp_claims, capsys):
    temp_claims("testonly.cli-fail", lambda: holds("deliberately false", False))
    temp_claims("testonly.cli-pass", lambda: holds("true", True))
    assert cli.main(["verify", "-k", "testonly.cli", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  testonly.cli-fail" in out and "PASS  testonly.cli-pass" in out and "1 passed, 1 failed" in out
    assert cli.main(["verify", "-k", "testonly.cli-pass", "--no-progress"]) == 0


def test_cli_json_and_out_file(temp_claims, capsys, tmp_path):
    temp_claims("testonly.cli-json", lambda: holds("true", True))
    out_file = tmp_path / "ledger.json"
    assert cli.main(["verify", "-k", "testonly.cli-json", "--json", "--no-progress", "--out", str(out_file)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["passed"] == 1 and printed["claims"][0]["id"] == "testonly.cli-json"
    assert json.loads(out_file.read_text())["claims"][0]["passed"] is True


def test_cli_list_and_empty_selection(temp_claims, capsys):
    temp_claims("testonly.cli-list", lambda: holds("true", True), status="classical")
    assert cli.main(["list", "-k", "testonly.cli-list"]) == 0
    assert "testonly.cli-list" in capsys.readouterr().out
    assert cli.main(["verify", "-k", "testonly.no-such-claim"]) == 2


def test_format_table_lists_each_result(temp_claims):
    temp_claims("testonly.table", lambda: close("a", 1.0, 1.0, atol=1e-9, reason=REASON))
    table = claims.format_table(claims.run_all("testonly.table"))
    assert "testonly.table" in table and "PASS" in table and "1.0e-09" in table


# ----------------------------------------------------------------------------- display
def test_show_is_deterministic_and_hides_measured_errors(temp_claims):
    temp_claims("testonly.show", lambda: close("tiny", 1.0, 1.0 + 3.7e-13, atol=1e-12, reason="because"))
    disp = claims.show("testonly.show")
    text = repr(disp)
    assert text.startswith("[PASSED] testonly.show") and "tolerance 1.0e-12 (because)" in text
    assert "3.7" not in text  # measured digits vary across machines; only verdict + tolerance are shown
    assert "PASSED" in disp._repr_html_() and "testonly.show" in disp._repr_html_()
    assert claims.show("testonly.show").result is disp.result  # cached per process and tier


def test_show_reuses_a_cached_result_only_for_the_same_source(temp_claims, tmp_path, monkeypatch):
    calls = []

    def counted(tier):
        calls.append(tier)
        return close("c", 1.0, 1.0, atol=1e-9, reason=REASON)

    temp_claims("testonly.cached", counted)
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    first = claims.run("testonly.cached")
    assert calls == ["ci"] and (tmp_path / "testonly.cached@ci.json").exists()
    ledger_display._SHOWN.clear()
    shown = claims.show("testonly.cached")
    assert calls == ["ci"], "show() must reuse the stored result"
    assert repr(shown) == repr(claims.ClaimDisplay(first))
    # A different source fingerprint invalidates the stored result.
    monkeypatch.setattr(ledger_cache, "_FINGERPRINT", "another source tree")
    ledger_display._SHOWN.clear()
    claims.show("testonly.cached")
    assert calls == ["ci", "ci"]
    ledger_display._SHOWN.clear()
