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
class ControlResult:
    """The claim's checks run inside one negative control: ``caught`` iff at least one check failed."""

    name: str
    caught: bool
    failing_check: str | None = None  # the first check that failed (the one that caught the control)
    error: str | None = None  # how it failed ("error 0.31 > tol 0.01"), or why the control could not run
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "caught": bool(self.caught),
            "failing_check": self.failing_check,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ControlResult:
        return cls(data["name"], data["caught"], data["failing_check"], data["error"], data["seconds"])


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
    controls: list[ControlResult] | None = None  # None: controls not run (``run(..., controls=True)`` runs them)

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def verdict(self) -> str:
        """``"passed"``, ``"failed"`` or ``"skipped"``."""
        return "skipped" if self.skipped else ("passed" if self.passed else "failed")

    def to_json(self) -> dict[str, Any]:
        return self.claim.to_json() | {
            "passed": bool(self.passed),
            "skipped": self.skipped,
            "error": _json_float(self.error),
            "tolerance": _json_float(self.tolerance),
            "seconds": round(self.seconds, 3),
            "exception": self.exception,
            "tier": self.tier,
            "checks": [ch.to_json() for ch in self.checks],
            "controls": None if self.controls is None else [c.to_json() for c in self.controls],
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
        for ctl in self.controls or []:
            how = f"caught by '{ctl.failing_check}' ({ctl.error})" if ctl.caught else f"NOT CAUGHT ({ctl.error})"
            lines.append(f"  control '{ctl.name}': {how}")
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


SCHEMA_VERSION = 1  # of the JSON reports of `verify --json`, `list --json` and the ledger file


def environment(tier: str | None = None) -> dict[str, Any]:
    """What a run depends on, for comparing runs: versions, platform, CPU capability, time, git commit.

    (The command line adds the kernels' default ``backend``: the ledger does not import the kernels.)
    """
    import datetime
    import importlib.metadata as md
    import os
    import platform
    import subprocess
    from pathlib import Path

    def version(dist: str) -> str | None:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return None

    import torch

    commit = None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        commit = out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "attnmath": version("attnmath"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": version("numpy"),
        "sympy": version("sympy"),
        "scipy": version("scipy"),
        "triton": version("triton"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only",
        "dask": version("distributed"),
        "tier": tier,
        "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
    }


def report_json(results: Sequence[ClaimResult], *, env: bool = False) -> dict[str, Any]:
    """The JSON report of a run; with ``env=True`` also ``schema_version`` and ``environment``."""
    passed = sum(r.passed for r in results)
    skipped = sum(bool(r.skipped) for r in results)
    report = {
        "claims": [r.to_json() for r in results],
        "passed": passed,
        "failed": len(results) - passed - skipped,
        "skipped": skipped,
    }
    controls = [c for r in results for c in (r.controls or [])]
    if any(r.controls is not None for r in results):
        report["controls"] = {"run": len(controls), "not_caught": sum(not c.caught for c in controls)}
    if env:
        tiers = sorted({r.tier for r in results})
        report = {
            "schema_version": SCHEMA_VERSION,
            "environment": environment(tiers[0] if len(tiers) == 1 else None),
        } | report
    return report


def dump_json(results: Sequence[ClaimResult], path: str, *, env: bool = False) -> None:
    import os

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report_json(results, env=env), fh, indent=1, sort_keys=False)


def format_table(results: Sequence[ClaimResult]) -> str:
    """A fixed-width table: status, id, source status, kinds, error/tol, seconds (and controls caught, when run)."""
    with_controls = any(r.controls is not None for r in results)
    rows = [("", "claim", "source", "kinds", "error", "tol", "s") + (("controls caught",) if with_controls else ())]
    for r in results:
        row: tuple[str, ...] = (
            {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[r.verdict],
            r.id,
            r.claim.status_of_source,
            "+".join(k[:3] for k in r.claim.kinds),
            "-" if r.error is None else f"{r.error:.2e}",
            "-" if r.tolerance is None else f"{r.tolerance:.1e}",
            f"{r.seconds:.2f}",
        )
        if with_controls:
            ctl = r.controls or []
            row += (f"{sum(c.caught for c in ctl)}/{len(ctl)}" if ctl else "none",)
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
