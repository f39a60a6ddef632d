"""Claim results and reports: :class:`ClaimResult`, the JSON report and the fixed-width table."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checks import Check, _json_float
from .registry import Claim


@dataclass
class ClaimResult:
    claim: Claim
    passed: bool
    checks: list[Check] = field(default_factory=list)
    error: float | None = None
    tolerance: float | None = None
    seconds: float = 0.0
    exception: str | None = None
    tier: str = "ci"
    skipped: str | None = None  # why the claim could not run here (e.g. "triton not installed"); then passed is False

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def verdict(self) -> str:
        """``"passed"``, ``"failed"`` or ``"skipped"``."""
        return "skipped" if self.skipped else ("passed" if self.passed else "failed")

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        return {
            "id": c.id,
            "title": c.title,
            "source": c.source,
            "status_of_source": c.status_of_source,
            "kinds": list(c.kinds),
            "passed": bool(self.passed),
            "skipped": self.skipped,
            "error": _json_float(self.error),
            "tolerance": _json_float(self.tolerance),
            "seconds": round(self.seconds, 3),
            "exception": self.exception,
            "tier": self.tier,
            "checks": [ch.to_json() for ch in self.checks],
        }

    def summary(self) -> str:
        if self.skipped:
            return f"SKIP {self.id}: {self.claim.title} (skipped: {self.skipped})"
        lines = [f"{'PASS' if self.passed else 'FAIL'} {self.id}: {self.claim.title}"]
        for ch in self.checks:
            num = ""
            if ch.error is not None and ch.tolerance is not None:
                num = (
                    f" error {ch.error:.3g} <= tol {ch.tolerance:.3g}"
                    if ch.passed
                    else (f" error {ch.error:.3g} > tol {ch.tolerance:.3g}")
                )
            lines.append(f"  [{ch.kind}] {ch.name}: {'ok' if ch.passed else 'FAILED'}{num} {ch.details}".rstrip())
        if self.exception:
            lines.append("  exception: " + self.exception.strip().splitlines()[-1])
        return "\n".join(lines)


def _worst(checks: Iterable[Check]) -> Check | None:
    """The check with the largest error/tolerance ratio (the one closest to failing)."""
    best, ratio = None, -math.inf
    for ch in checks:
        if ch.error is None or ch.tolerance is None:
            continue
        r = math.inf if ch.tolerance == 0 and ch.error > 0 else (ch.error / ch.tolerance if ch.tolerance else 0.0)
        if not math.isfinite(ch.error):
            r = math.inf
        if r > ratio:
            best, ratio = ch, r
    return best


def report_json(results: Sequence[ClaimResult]) -> dict[str, Any]:
    passed = sum(r.passed for r in results)
    skipped = sum(bool(r.skipped) for r in results)
    return {
        "claims": [r.to_json() for r in results],
        "passed": passed,
        "failed": len(results) - passed - skipped,
        "skipped": skipped,
    }


def dump_json(results: Sequence[ClaimResult], path: str) -> None:
    import os

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report_json(results), fh, indent=1, sort_keys=False)


def format_table(results: Sequence[ClaimResult]) -> str:
    """A fixed-width table: status, id, source status, kinds, error/tol, seconds."""
    rows = [("", "claim", "source", "kinds", "error", "tol", "s")]
    for r in results:
        rows.append(
            (
                {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[r.verdict],
                r.id,
                r.claim.status_of_source,
                "+".join(k[:3] for k in r.claim.kinds),
                "-" if r.error is None else f"{r.error:.2e}",
                "-" if r.tolerance is None else f"{r.tolerance:.1e}",
                f"{r.seconds:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
