"""Command line: ``python -m attnmath verify|list``.

    python -m attnmath list [-k PATTERN]
    python -m attnmath verify [-k PATTERN] [--json] [--tier ci|paper] [--out FILE]

``verify`` runs the selected claims with a progress bar, prints a table (or JSON with
``--json``) and exits 1 when any claim fails, 2 when the pattern selects nothing. A claim that
needs an optional package that is not installed (Triton for the kernel claims) is reported as
skipped and does not change the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _prepare_triton() -> None:
    # Kernel claims run Triton through its CPU interpreter when there is no GPU; the
    # variable must be set before any @triton.jit decorator executes (TOOLING.md §7).
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attnmath", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_list = sub.add_parser("list", help="list registered claims")
    p_list.add_argument("-k", dest="pattern", default=None, help="substring (or glob) of claim ids")
    p_ver = sub.add_parser("verify", help="run claims and report")
    p_ver.add_argument("-k", dest="pattern", default=None, help="substring (or glob) of claim ids")
    p_ver.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p_ver.add_argument(
        "--tier",
        "--scale",
        dest="tier",
        choices=("ci", "paper"),
        default="ci",
        help="run size: ci (minutes on 2 CPU cores) or paper (--scale is the older name)",
    )
    p_ver.add_argument("--out", default=None, help="also write the JSON report to this file")
    p_ver.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)

    _prepare_triton()
    from . import claims

    selected = claims.select(args.pattern)
    if not selected:
        print(f"no claim matches {args.pattern!r}", file=sys.stderr)
        return 2
    if args.cmd == "list":
        width = max(len(c.id) for c in selected)
        for c in selected:
            print(f"{c.id.ljust(width)}  {c.status_of_source:13s}  {'+'.join(c.kinds):28s}  {c.title}")
        print(f"{len(selected)} claims", file=sys.stderr)
        return 0

    results = []
    from tqdm import tqdm

    bar = tqdm(selected, desc="verifying", unit="claim", disable=args.no_progress, file=sys.stderr)
    for c in bar:
        bar.set_postfix_str(c.id, refresh=False)
        results.append(claims.run(c, tier=args.tier))
    bar.close()
    if args.out:
        claims.dump_json(results, args.out)
    if args.json:
        print(json.dumps(claims.report_json(results), indent=1))
    else:
        print(claims.format_table(results))
        failed = [r for r in results if r.verdict == "failed"]
        skipped = [r for r in results if r.verdict == "skipped"]
        for r in failed + skipped:
            print("\n" + r.summary())
        tail = f", {len(skipped)} skipped" if skipped else ""
        print(f"\n{len(results) - len(failed) - len(skipped)} passed, {len(failed)} failed{tail} ({args.tier} tier)")
    return 1 if any(r.verdict == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
