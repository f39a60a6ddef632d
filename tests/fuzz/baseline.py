"""The committed fuzz baseline (tests/fuzz/baseline.json): counts per callable that may only go down.

``counts[key]`` holds the unclear / silent / hang counts of a full ``make fuzz`` run, ``bad`` the ids of
those calls (``key:arg:corruption``), so a sampled call that is newly unclear, silent or a hang is a
regression even when the sample's counts are small.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("baseline.json")
TRACKED = ("unclear", "silent", "hang")


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PATH.read_text())
    return data


def write(results: dict[str, tuple[str, str]]) -> None:
    counts: dict[str, dict[str, int]] = {}
    bad: dict[str, str] = {}
    for tid, (outcome, _) in sorted(results.items()):
        key = tid.split(":")[0]
        c = counts.setdefault(key, dict.fromkeys(TRACKED, 0))
        if outcome in TRACKED:
            c[outcome] += 1
            bad[tid] = outcome
    PATH.write_text(json.dumps({"counts": counts, "bad": bad}, indent=1, sort_keys=True) + "\n")


def regressions(results: dict[str, tuple[str, str]], *, sample: bool = False) -> list[str]:
    """Callables that got worse than the baseline.

    A full run compares the counts per callable; a sample (``sample=True``) checks that every
    unclear/silent/hang call it met is one the baseline already lists with that outcome or better.
    """
    base = load()
    out: list[str] = []
    order = {"unclear": 1, "silent": 2, "hang": 3}
    if sample:
        for tid, (outcome, detail) in sorted(results.items()):
            if outcome in TRACKED:
                was = base["bad"].get(tid)
                if was is None or order[outcome] > order[was]:
                    out.append(f"{tid}: {outcome} (baseline: {was or 'clear/valid'}) {detail}")
        return out
    counts: dict[str, dict[str, int]] = {}
    for tid, (outcome, _) in results.items():
        c = counts.setdefault(tid.split(":")[0], dict.fromkeys(TRACKED, 0))
        if outcome in TRACKED:
            c[outcome] += 1
    for key, c in sorted(counts.items()):
        b = base["counts"].get(key, dict.fromkeys(TRACKED, 0))
        for o in TRACKED:
            if c[o] > b.get(o, 0):
                out.append(f"{key}: {o} {b.get(o, 0)} -> {c[o]}")
    return out
