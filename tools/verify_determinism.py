"""Run ``python -m attnmath verify --json`` several times and compare the runs.

    python tools/verify_determinism.py [--runs 3] [-k PATTERN]

Each run is a fresh process. The runs must agree on every claim's pass/fail, on its exception
(if any) and on its measured error and tolerance to the precision the table prints (``%.2e``).
Exits 1 and lists the differences otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def run_once(pattern: str | None) -> dict[str, tuple]:
    cmd = [sys.executable, "-m", "attnmath", "verify", "--json", "--no-progress"]
    if pattern:
        cmd += ["-k", pattern]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        raise SystemExit(f"verify failed to run: {out.stderr[-2000:]}")
    report = json.loads(out.stdout)

    def fmt(x):
        return None if x is None else f"{x:.2e}"

    return {
        c["id"]: (c["passed"], fmt(c["error"]), fmt(c["tolerance"]), (c["exception"] or "").splitlines()[:1])
        for c in report["claims"]
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-k", dest="pattern", default=None)
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        runs.append(run_once(args.pattern))
        print(
            f"run {i + 1}: {len(runs[-1])} claims, {sum(v[0] for v in runs[-1].values())} passed, "
            f"{time.perf_counter() - t0:.0f} s"
        )
    diffs = [(cid, i + 1) for i, r in enumerate(runs[1:]) for cid in runs[0] if r.get(cid) != runs[0][cid]]
    for cid, i in diffs:
        print(f"DIFFERENT in run {i + 1}: {cid}: {runs[0][cid]} vs {runs[i][cid]}")
    print("identical across runs" if not diffs else f"{len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
