"""`make fuzz`: every public callable x every corruption (tests/fuzz), the outcome table, the baseline.

    python tools/fuzz_report.py [--workers 2] [--timeout 10] [--json out.json] [-k substr]

Prints the outcome table (clear / valid / unclear / silent / hang) and the worst callables, writes
every unclear/silent/hang call into the JSON file, and exits 1 when there is any (issue 17's
acceptance: every rejection is a ValueError/TypeError naming the corrupted argument, and no invalid
input returns a result; a corruption that is valid for an argument is listed with its reason in
tests/fuzz/known_*.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz.api import public_callables  # noqa: E402
from tests.fuzz.harness import default_workers, run_tasks, summarize, table, tasks_for  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--json", default="book/_build/fuzz.json")
    ap.add_argument("-k", default="")
    opts = ap.parse_args()
    keys = sorted(k for k in public_callables() if opts.k in k)
    tasks = [t for k in keys for t in tasks_for(k)]
    t0 = time.monotonic()
    results = run_tasks(tasks, workers=opts.workers, timeout_s=opts.timeout)
    print(f"{len(keys)} callables, {len(tasks)} calls in {time.monotonic() - t0:.0f} s")
    print(table(results))
    counts = summarize(results)
    worst = sorted(counts.items(), key=lambda kv: -(kv[1]["unclear"] + kv[1]["silent"] + kv[1]["hang"]))[:15]
    print("\nworst callables (unclear / silent / hang):")
    for k, c in worst:
        print(f"  {k}: {c['unclear']} / {c['silent']} / {c['hang']}")
    Path(opts.json).parent.mkdir(parents=True, exist_ok=True)
    bad = {tid: list(v) for tid, v in sorted(results.items()) if v[0] in ("unclear", "silent", "hang")}
    Path(opts.json).write_text(json.dumps({"counts": counts, "bad": bad}, indent=1) + "\n")
    print(f"details: {opts.json}")
    bad_ids = sorted(bad)
    for tid in bad_ids[:40]:
        print(f"{results[tid][0].upper()}: {tid}: {results[tid][1]}")
    if len(bad_ids) > 40:
        print(f"... and {len(bad_ids) - 40} more (see {opts.json})")
    return 1 if bad_ids else 0


if __name__ == "__main__":
    sys.exit(main())
