"""Command line: ``python -m attnmath verify|list``.

    python -m attnmath --version
    python -m attnmath list [-k PATTERN] [--uncontrolled] [--json]
    python -m attnmath verify [-k PATTERN] [--json] [--tier ci|paper] [--out FILE] [--controls] [--no-progress]
                              [--workers N | --cluster ADDRESS] [--store DIR] [--ledger FILE]

``verify`` runs the selected claims (a progress bar on a terminal), prints a table (or JSON with
``--json``). A claim that needs an optional package that is not installed (Triton for the kernel
claims) is reported as skipped and does not change the exit code. With ``--controls`` each claim's
negative controls run too (wrong worlds in which its checks must fail).

Where claims run: in this process, one after the other (the default at ``--tier ci``, or ``--workers 0``); with ``--workers N``
on an embedded Dask cluster of N worker processes on this machine (the default at ``--tier paper``, N = the
CPU count); with ``--cluster ADDRESS`` on a running Dask scheduler (``dask scheduler``, then ``dask worker
ADDRESS`` on each machine). The claims and their sweep cells are tasks; each cell is seeded from its own
identity, so verdicts and numbers do not depend on where or in which order they run. ``--store DIR`` (or
``ATTNMATH_CELL_STORE``) keeps every finished cell in a content-addressed folder that a rerun reuses.

Exit codes: 0 every selected claim passed (or was skipped) and, with ``--controls``, every control
was caught; 1 a claim failed or a control was not caught; 2 a usage error; 3 the pattern selects
no claim. The JSON reports carry ``schema_version`` and an ``environment`` block (versions,
platform, backend, CPU capability, tier, time, git commit) so that runs can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from types import ModuleType
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_MATCH = 0, 1, 2, 3


def _prepare_triton() -> None:
    # Kernel claims run Triton through its CPU interpreter when there is no GPU; the variable must be
    # set before the first `import triton` of the process (Triton decorates its own helpers then).
    # This is the command line's own process, so setting it here changes no caller's environment.
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")


def _version() -> str:
    from . import __version__

    return f"attnmath {__version__}"


def _environment(tier: str | None) -> dict:
    from .kernels import dispatch
    from .ledger.results import environment

    return environment(tier) | {"backend": dispatch.backend()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m attnmath", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_list = sub.add_parser("list", help="list registered claims")
    p_list.add_argument(
        "-k", dest="pattern", default=None, help="substring (or glob) of claim ids; a comma separates alternatives"
    )
    p_list.add_argument("--uncontrolled", action="store_true", help="only the claims that declare no negative control")
    p_list.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    p_ver = sub.add_parser("verify", help="run claims and report")
    p_ver.add_argument(
        "-k", dest="pattern", default=None, help="substring (or glob) of claim ids; a comma separates alternatives"
    )
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
    p_ver.add_argument("--no-progress", action="store_true", help="no progress bar (there is none off a terminal)")
    where = p_ver.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="run claims and their cells on an embedded Dask cluster of N worker processes; 0: in this process "
        "(default at --tier paper: the CPU count; at --tier ci: 0)",
    )
    where.add_argument(
        "--cluster", default=None, metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786"
    )
    p_ver.add_argument(
        "--store",
        default=None,
        metavar="DIR",
        help="content-addressed folder of finished cells, reused by a rerun (default: $ATTNMATH_CELL_STORE, else none)",
    )
    p_ver.add_argument(
        "--ledger",
        default=None,
        metavar="FILE",
        help="merge this run into the dated ledger FILE (make paper: book/ledger-paper.json); claims not run keep "
        "their earlier results",
    )
    p_ver.add_argument(
        "--controls",
        action="store_true",
        help="also run each claim's negative controls; exit 1 if a control is not caught",
    )
    return parser


def _list(args: argparse.Namespace) -> int:
    """List claims from the static index (no chapter imported) or, when it is stale, from the registry."""
    from .ledger import index

    entries = index.load()
    if entries is None:
        entries = index.entries_from_registry()
    selected = [e for e in entries if index.matches(e["id"], args.pattern)]
    if not selected:
        print(f"no claim matches {args.pattern!r}", file=sys.stderr)
        return EXIT_NO_MATCH
    if args.uncontrolled:
        selected = [e for e in selected if not e["controls"]]
    if args.json:
        from .ledger.results import SCHEMA_VERSION

        out = {"schema_version": SCHEMA_VERSION, "environment": _environment(None), "claims": selected}
        print(json.dumps(out, indent=1))
        return EXIT_OK
    if not selected:
        print("every selected claim declares a negative control", file=sys.stderr)
        return EXIT_OK
    width = max(len(e["id"]) for e in selected)
    for e in selected:
        print(f"{e['id'].ljust(width)}  {e['status_of_source']:13s}  {'+'.join(e['kinds']):28s}  {e['title']}")
    print(f"{len(selected)} claims", file=sys.stderr)
    return EXIT_OK


def _store_root(args: argparse.Namespace) -> str | None:
    """The cell store's folder, absolute: ``--store``, else ``ATTNMATH_CELL_STORE``, else None (no store)."""
    from .ledger import cells

    folder = args.store or os.environ.get(cells.STORE_ENV)
    return os.path.abspath(folder) if folder else None


def _run_here(args: argparse.Namespace, selected: list[Any], claims: ModuleType) -> list[Any]:
    from tqdm import tqdm

    from .ledger import cells

    root = _store_root(args)
    store = None if root is None else cells.Store(root)
    results = []
    bar = tqdm(selected, desc="verifying", unit="claim", disable=True if args.no_progress else None, file=sys.stderr)
    with cells.using(cells.SerialExecutor(store)):
        for c in bar:
            bar.set_postfix_str(c.id, refresh=False)
            results.append(claims.run(c, tier=args.tier, controls=args.controls))
    bar.close()
    return results


def _run_on_cluster(args: argparse.Namespace, selected: list[Any]) -> tuple[list[Any], dict]:
    from .ledger import cluster

    store = _store_root(args)
    client = cluster.open_client(args.cluster, args.workers)
    try:
        info = client.scheduler_info()
        where = {
            "cluster": args.cluster or "embedded LocalCluster",
            "workers": len(info.get("workers", {})),
            "threads_per_worker": sorted({w.get("nthreads") for w in info.get("workers", {}).values()}),
            "store": store,
        }
        results = cluster.verify_on_cluster(
            selected,
            args.tier,
            client,
            controls=args.controls,
            store_root=store,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    finally:
        cluster.close_client(client)
    return results, where


def _verify(args: argparse.Namespace, selected: list[Any], claims: ModuleType) -> int:
    import time

    t0 = time.perf_counter()
    if args.workers is not None and args.workers < 0:
        print(f"--workers must be 0 (this process) or a positive integer, got {args.workers}", file=sys.stderr)
        return EXIT_USAGE
    distributed = args.cluster is not None or bool(args.workers)
    if args.tier == "paper" and args.cluster is None and args.workers is None:
        import importlib.util

        distributed = importlib.util.find_spec("distributed") is not None
        if not distributed:
            print("dask.distributed is not installed (pip install 'attnmath[cluster]'): running here", file=sys.stderr)
    env = _environment(args.tier)  # at the start: the commit and time the run began with
    where: dict = {"cluster": None, "workers": 0}
    if distributed:
        results, where = _run_on_cluster(args, selected)
    else:
        results = _run_here(args, selected, claims)
    wall = time.perf_counter() - t0
    report: dict[str, Any] | None = None
    if args.out or args.json or args.ledger:
        from .ledger.results import SCHEMA_VERSION

        run_info = where | {"wall_seconds": round(wall, 1)}
        report = {"schema_version": SCHEMA_VERSION, "environment": env | {"run": run_info}}
        report |= claims.report_json(results)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)
    if args.ledger and report is not None:
        from .ledger import merged

        merged.merge_into(args.ledger, report)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(claims.format_table(results))
        failed = [r for r in results if r.verdict == "failed"]
        skipped = [r for r in results if r.verdict == "skipped"]
        for r in failed + skipped:
            print("\n" + r.summary())
        tail = f", {len(skipped)} skipped" if skipped else ""
        print(f"\n{len(results) - len(failed) - len(skipped)} passed, {len(failed)} failed{tail} ({args.tier} tier)")
        if args.controls:
            loose = [(r.id, c) for r in results for c in r.controls or [] if not c.caught]
            bare = [r.id for r in results if not r.skipped and not r.controls]
            n = sum(len(r.controls or []) for r in results)
            print(f"controls: {n - len(loose)} of {n} caught; {len(bare)} claims without a control")
            for cid, c in loose:
                print(f"  NOT CAUGHT {cid}: '{c.name}' ({c.error})")
    bad_control = args.controls and any(not c.caught for r in results for c in r.controls or [])
    return EXIT_FAILED if bad_control or any(r.verdict == "failed" for r in results) else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # a usage error exits 2 (argparse)
    if args.cmd == "list":
        return _list(args)
    _prepare_triton()
    from . import claims

    selected = claims.select(args.pattern)
    if not selected:
        print(f"no claim matches {args.pattern!r}", file=sys.stderr)
        return EXIT_NO_MATCH
    return _verify(args, selected, claims)


if __name__ == "__main__":
    sys.exit(main())
