"""A dated ledger that accumulates runs: ``python -m attnmath verify --tier paper --ledger FILE`` (``make paper``).

A paper-scale run of every claim takes hours, so the paper-scale ledger is built from runs of selections.
Each run's report (the JSON of ``verify --out``) is merged into the ledger file: the run is appended to
``runs`` with its environment (versions, platform, git commit, date, worker count, wall time), and each of
its claims' results replaces that claim's earlier result, tagged with the run's number. Claims the run did
not select keep their earlier results (and run numbers); a claim never run is simply absent, and the book
marks it *not run at paper scale*.

Format (``schema_version`` 1)::

    {"schema_version": 1, "tier": "paper",
     "runs": [{"run": 1, "environment": {...}, "claims": ["dsf.mqar-...", ...],
               "passed": 3, "failed": 0, "skipped": 0}, ...],
     "claims": [{...the claim's result as verify --out writes it..., "run": 1}, ...]}   # sorted by id
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

SCHEMA_VERSION = 1


def empty(tier: str) -> dict[str, Any]:
    """A ledger with no run yet."""
    return {"schema_version": SCHEMA_VERSION, "tier": tier, "runs": [], "claims": []}


def merge(ledger: dict[str, Any] | None, report: dict[str, Any]) -> dict[str, Any]:
    """``ledger`` with the run ``report`` (a ``verify --out`` report) appended; returns a new dict.

    ``ValueError`` when the report's tier differs from the ledger's, or either lacks its fields.
    """
    if not isinstance(report, dict) or "claims" not in report or "environment" not in report:
        raise ValueError("report must be a verify report (a dict with 'environment' and 'claims')")
    tier = report["environment"].get("tier")
    base = empty(tier) if ledger is None else ledger
    if not isinstance(base, dict) or base.get("schema_version") != SCHEMA_VERSION or "runs" not in base:
        raise ValueError(f"ledger must be a merged ledger of schema_version {SCHEMA_VERSION}, got {str(base)[:200]}")
    if base["tier"] != tier:
        raise ValueError(f"a {tier!r}-tier run cannot be merged into a {base['tier']!r}-tier ledger")
    number = len(base["runs"]) + 1
    results = report["claims"]
    run = {
        "run": number,
        "environment": report["environment"],
        "claims": [r["id"] for r in results],
        "passed": sum(1 for r in results if r["passed"]),
        "failed": sum(1 for r in results if not r["passed"] and not r.get("skipped")),
        "skipped": sum(1 for r in results if r.get("skipped")),
    }
    by_id = {r["id"]: r for r in base["claims"]} | {r["id"]: r | {"run": number} for r in results}
    return {
        "schema_version": SCHEMA_VERSION,
        "tier": tier,
        "runs": [*base["runs"], run],
        "claims": [by_id[k] for k in sorted(by_id)],
    }


def load(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ledger at ``path``, or None when there is no file yet."""
    p = pathlib.Path(path)
    if not p.exists():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def merge_into(path: str | os.PathLike[str], report: dict[str, Any]) -> dict[str, Any]:
    """Merge ``report`` into the ledger file at ``path`` (created when missing, replaced atomically)."""
    merged = merge(load(path), report)
    p = pathlib.Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return merged
