"""The book's "Paper scale" page (book/_ext/attnmath_book.py, paper_markdown) from a merged paper-scale ledger."""

from __future__ import annotations

import importlib.util
import json
import pathlib
from types import SimpleNamespace

from attnmath.ledger import merged

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _extension():
    spec = importlib.util.spec_from_file_location("attnmath_book_under_test", ROOT / "book/_ext/attnmath_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(cid: str, passed: bool) -> dict:
    check = {"kind": "numeric", "name": "the check", "passed": passed, "details": "value 0.2 < 0.9"}
    return {"id": cid, "passed": passed, "skipped": None, "seconds": 12.0, "checks": [check], "tier": "paper"}


def test_paper_page_shows_runs_results_and_claims_not_run(tmp_path, monkeypatch):
    ext = _extension()
    env = {
        "tier": "paper",
        "timestamp": "2026-12-07T13:00:00+00:00",
        "git_commit": "0123456789abcdef",
        "platform": "Linux",
        "cpu_count": 2,
        "device": "CPU only",
        "torch": "2.13.0",
        "run": {"cluster": "embedded LocalCluster", "workers": 2, "wall_seconds": 600.0},
    }
    report = {"environment": env, "claims": [_result("softmax.rows-sum-to-one", True), _result("dsf.lemma-1", False)]}
    ledger = tmp_path / "ledger-paper.json"
    merged.merge_into(ledger, report)
    ci = tmp_path / "ledger.json"
    ci.write_text(json.dumps({"claims": [_result("softmax.rows-sum-to-one", True) | {"tier": "ci"}]}))
    monkeypatch.setattr(ext, "PAPER_LEDGER", ledger)
    text = ext.paper_markdown(SimpleNamespace(config=SimpleNamespace(attnmath_ledger_json=str(ci))))

    from attnmath import claims

    n = len(claims.registry())
    assert f"**2 of {n} claims have run at paper scale; 1 passed.** {n - 2} are *not run at paper scale* yet." in text
    assert (
        "| 1 | 2026-12-07 13:00 | `0123456789` | Linux, 2 CPUs, CPU only, torch 2.13.0 | 2 (embedded LocalCluster) | 10.0 min | 2 | 1 | 1 |"
        in text
    )
    row = next(line for line in text.splitlines() if line.startswith("| {ref}`softmax.rows-sum-to-one"))
    assert "| passed | passed ({ref}`run 1 <paper-runs>`) | 12 s |" in row
    row = next(line for line in text.splitlines() if line.startswith("| {ref}`dsf.lemma-2 "))
    assert "not run at paper scale" in row
    assert "## Failed at paper scale" in text and "the check: value 0.2 \\< 0.9" in text


def test_without_a_paper_ledger_every_claim_is_not_run(tmp_path, monkeypatch):
    ext = _extension()
    monkeypatch.setattr(ext, "PAPER_LEDGER", tmp_path / "absent.json")
    text = ext.paper_markdown(SimpleNamespace(config=SimpleNamespace(attnmath_ledger_json=str(tmp_path / "x.json"))))
    assert "every claim is *not run at paper scale*" in text
