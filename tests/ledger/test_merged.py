"""The merged (paper-scale) ledger: runs accumulate, a claim's latest result wins, tiers never mix."""

from __future__ import annotations

import json

import pytest

from attnmath.ledger import merged


def _report(tier: str, when: str, **passed: bool) -> dict:
    return {
        "schema_version": 1,
        "environment": {"tier": tier, "timestamp": when, "run": {"workers": 2}},
        "claims": [
            {"id": cid.replace("_", "."), "passed": ok, "skipped": None, "seconds": 1.0} for cid, ok in passed.items()
        ],
    }


def test_runs_accumulate_and_the_latest_result_of_a_claim_wins(tmp_path):
    path = tmp_path / "ledger-paper.json"
    first = merged.merge_into(path, _report("paper", "2026-12-07T12:00", a_x=True, b_y=False))
    assert [r["run"] for r in first["runs"]] == [1] and first["runs"][0]["failed"] == 1
    second = merged.merge_into(path, _report("paper", "2026-12-07T14:00", b_y=True, c_z=True))
    on_disk = json.loads(path.read_text())
    assert on_disk == second
    by_id = {c["id"]: c for c in second["claims"]}
    assert [c["id"] for c in second["claims"]] == ["a.x", "b.y", "c.z"]  # sorted; a.x kept from run 1
    assert (by_id["a.x"]["run"], by_id["b.y"]["run"], by_id["b.y"]["passed"]) == (1, 2, True)
    assert second["runs"][1] == {
        "run": 2,
        "environment": {"tier": "paper", "timestamp": "2026-12-07T14:00", "run": {"workers": 2}},
        "claims": ["b.y", "c.z"],
        "passed": 2,
        "failed": 0,
        "skipped": 0,
    }


def test_tiers_do_not_mix_and_bad_input_is_refused(tmp_path):
    ledger = merged.merge(None, _report("paper", "t", a_x=True))
    with pytest.raises(ValueError, match="a 'ci'-tier run cannot be merged into a 'paper'-tier ledger"):
        merged.merge(ledger, _report("ci", "t", a_x=True))
    with pytest.raises(ValueError, match="report must be a verify report"):
        merged.merge(ledger, {"claims": []})
    with pytest.raises(ValueError, match="ledger must be a merged ledger"):
        merged.merge({"claims": []}, _report("paper", "t", a_x=True))
    assert merged.load(tmp_path / "absent.json") is None
