"""Negative controls (attnmath.ledger): registration, run_control's verdicts, the CLI and the cache."""

from __future__ import annotations

import json
import types
from unittest import mock

import pytest

from attnmath import __main__ as cli
from attnmath import claims
from attnmath.claims import close
from attnmath.ledger import registry as ledger_registry

R = "test reason"
WORLD = types.SimpleNamespace(value=lambda: 1.0)  # the "function under test" of the throw-away claims


@pytest.fixture
def world_claim(private_claims):
    """A claim that checks WORLD.value() == 1 and three controls: a near miss, a no-op and a broken patch."""
    c = private_claims("testctl.value", func=lambda: close("value is one", WORLD.value(), 1.0, atol=1e-9, reason=R))

    @claims.control(c.id, "value off by one")
    def _off_by_one():
        with mock.patch.object(WORLD, "value", lambda: 2.0):
            yield

    @claims.control(c.id, "patch that changes nothing")
    def _no_op():
        yield

    @claims.control(c.id, "patch that breaks the function")
    def _broken():
        with mock.patch.object(WORLD, "value", lambda: 1 / 0):
            yield

    return c


def test_a_near_miss_is_caught_by_the_failing_check(world_claim):
    res = claims.run_control(world_claim, "value off by one")
    assert res.caught and res.failing_check == "value is one" and res.error == "error 1 > tol 1e-09"
    assert WORLD.value() == 1.0  # the world is restored afterwards


def test_a_control_whose_checks_all_pass_is_not_caught(world_claim):
    res = claims.run_control(world_claim, "patch that changes nothing")
    assert not res.caught and res.failing_check is None and res.error == "every check passed in the wrong world"


def test_a_claim_that_raises_inside_a_control_is_not_counted_as_caught(world_claim):
    res = claims.run_control(world_claim.id, "patch that breaks the function")
    assert not res.caught and res.error == "raised ZeroDivisionError: division by zero"


def test_unknown_control_names_the_ones_that_exist(world_claim):
    with pytest.raises(KeyError, match="has no control 'nope'"):
        claims.run_control(world_claim, "nope")


def test_run_with_controls_reports_each_one_in_json_and_summary(world_claim):
    res = claims.run(world_claim, controls=True)
    assert res.passed
    data = res.to_json()["controls"]
    assert [(c["name"], c["caught"]) for c in data] == [
        ("value off by one", True),
        ("patch that changes nothing", False),
        ("patch that breaks the function", False),
    ]
    assert "control 'value off by one': caught by 'value is one' (error 1 > tol 1e-09)" in res.summary()
    assert claims.run(world_claim).controls is None  # not run unless asked
    report = claims.report_json([res])
    assert report["controls"] == {"run": 3, "not_caught": 2}


def test_control_registration_is_validated(private_claims):
    with pytest.raises(ValueError, match="claim_id must be a claim id"):
        claims.control("Not An Id", "x")
    with pytest.raises(ValueError, match="must be a non-empty string saying what is wrong"):
        claims.control("testctl.value", "  ")


def test_a_control_for_a_claim_that_does_not_exist_is_an_error(private_claims):
    private_claims("testctl.real")

    @claims.control("testctl.missing", "wrong world")
    def _orphan():
        yield

    with pytest.raises(ValueError, match=r"controls registered for claims that do not exist: \['testctl.missing'\]"):
        claims.registry()


def test_the_same_control_name_from_another_module_is_rejected(private_claims):
    private_claims("testctl.dup")

    def first():
        yield

    def second():
        yield

    second.__module__ = "somewhere.else"
    claims.control("testctl.dup", "same name")(first)
    with pytest.raises(ValueError, match=r"already registered by tests\.ledger\.test_controls"):
        claims.control("testctl.dup", "same name")(second)
    assert [c.name for c in ledger_registry._REGISTRY["testctl.dup"].controls] == ["same name"]


def test_cli_controls_exit_codes_and_uncontrolled_list(private_claims, capsys):
    caught = private_claims("testctl.good", func=lambda: close("v", WORLD.value(), 1.0, atol=1e-9, reason=R))
    private_claims("testctl.bare")

    @claims.control(caught.id, "value off by one")
    def _off():
        with mock.patch.object(WORLD, "value", lambda: 2.0):
            yield

    assert cli.main(["verify", "-k", "testctl.good", "--controls", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "controls: 1 of 1 caught; 0 claims without a control" in out and "1/1" in out
    assert cli.main(["verify", "-k", "testctl.bare", "--controls", "--json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["claims"][0]["controls"] == [] and data["controls"] == {"run": 0, "not_caught": 0}
    assert cli.main(["list", "-k", "testctl", "--uncontrolled"]) == 0
    listed = capsys.readouterr().out.split()
    assert "testctl.bare" in listed and "testctl.good" not in listed

    @claims.control(caught.id, "patch that changes nothing")
    def _noop():
        yield

    assert cli.main(["verify", "-k", "testctl.good", "--controls", "--no-progress"]) == 1
    assert "NOT CAUGHT testctl.good: 'patch that changes nothing'" in capsys.readouterr().out


def test_control_results_are_cached_for_the_same_sources(world_claim, tmp_path, monkeypatch):
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    first = claims.run(world_claim, controls=True).controls
    assert len(list(tmp_path.glob("testctl.value@ci#control-*.json"))) == 3
    with mock.patch("attnmath.ledger.runner.run_control", side_effect=AssertionError("recomputed")):
        again = claims.run(world_claim, controls=True).controls
    assert [c.to_json() for c in again] == [c.to_json() for c in first]
