"""attnmath.ledger.runner: run and run_all (failed, raising and skipped claims; the tier; seeding; progress)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from attnmath import claims
from attnmath.claims import Check, close, holds, symbolic

REASON = "test tolerance"
R = "test reason"


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
    # the outermost 3 frames (runner, _evaluate, the claim) and the innermost 5 (f4 ... f0, where it was raised)
    assert tb.count('  File "') == 8 and "2 frame(s) omitted" in tb
    assert "in _evaluate" in tb and "in f0" in tb and "in f5" not in tb and "in f6" not in tb
    assert tb.rstrip().endswith("RuntimeError: kaboom")


def test_run_rejects_checks_of_undeclared_kinds(reg):
    reg("testmut.extra", lambda: [holds("x", True), symbolic("s", sp.Integer(0))])
    res = claims.run("testmut.extra")
    assert not res.passed
    assert res.exception.startswith(
        "ValueError: claim testmut.extra declares kinds ('numeric',) but its checks have ['numeric', 'symbolic']"
    )


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


def test_run_all_runs_only_the_selected_claims(private):
    ran: list[str] = []

    def recorder(cid):
        def check():
            ran.append(cid)
            return holds("x", True)

        return check

    for cid in ("ch.one", "ch.two", "other.three"):
        private(cid, recorder(cid))
    assert [r.id for r in claims.run_all("ch.")] == ["ch.one", "ch.two"]
    assert ran == ["ch.one", "ch.two"]  # other.three was never called
    ran.clear()
    assert [r.id for r in claims.run_all()] == ["ch.one", "ch.two", "other.three"] and len(ran) == 3


def test_tier_is_passed_and_validated(temp_claims):
    seen = []
    temp_claims("testonly.tier", lambda tier: (seen.append(tier), holds("x", True))[1])
    claims.run("testonly.tier", tier="paper")
    assert seen == ["paper"]
    with pytest.raises(ValueError, match="tier"):
        claims.run("testonly.tier", tier="huge")


def test_run_leaves_the_callers_random_state_as_it_found_it(reg):
    reg("testmut.rng-restore", lambda: (np.random.rand(5), torch.rand(5), holds("x", True))[2])  # noqa: NPY002
    np.random.seed(7)  # noqa: NPY002
    torch.manual_seed(7)
    expected = (np.random.rand(), torch.rand(1).item())  # noqa: NPY002 - what the caller draws next
    np.random.seed(7)  # noqa: NPY002
    torch.manual_seed(7)
    claims.run("testmut.rng-restore")
    assert (np.random.rand(), torch.rand(1).item()) == expected  # noqa: NPY002


def test_a_control_leaves_the_callers_random_state_too(reg):
    c = reg("testmut.rng-control", lambda: (np.random.rand(3), holds("x", False))[1])  # noqa: NPY002

    @claims.control(c.id, "draws from the global stream")
    def _draws():
        torch.rand(4)
        yield

    torch.manual_seed(3)
    expected = torch.rand(1).item()
    torch.manual_seed(3)
    assert claims.run_control(c, "draws from the global stream").caught
    assert torch.rand(1).item() == expected
