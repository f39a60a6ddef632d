"""Per-module mutation score from mutmut's stored results (`make mutate`, issue 9).

mutmut 3 keeps one JSON file per mutated source file, ``mutants/<path>.meta``, whose
``exit_code_by_key`` maps each mutant name to the exit code of its test run. This script maps
those codes to mutmut's statuses and prints, for each module in ``MODULES`` (a file or a
package directory) and each of its files,

    score = killed / (killed + survived + no tests + timeout + other)

where "other" (suspicious, segfault, not checked) is counted against the score. A timeout is
not counted as a kill. Exit status 1 when a module is below ``--threshold`` (default 85 %).

Add a chapter with one line in ``MODULES`` (and its path in ``[tool.mutmut] only_mutate``).

    python tools/mutation_report.py [--threshold 85] [--survivors] [--mutants DIR]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections import Counter

# module label -> path relative to the repository root (a .py file or a package directory;
# a chapter's claims/ subpackage is not mutated, see pyproject.toml [tool.mutmut]).
MODULES: dict[str, str | tuple[str, ...]] = {
    "ledger": "attnmath/ledger",
    "validation": "attnmath/base/validation.py",
    "softmax": "attnmath/softmax",
    "memory": "attnmath/memory",
    "scansnap": "attnmath/scansnap",
    # dsf core: the DSF object, its scans, its analysis helpers and feature maps (the per-architecture
    # constructors and native implementations are checked by the claims "DSF == native")
    "dsf core": (
        "attnmath/dsf/core.py",
        "attnmath/dsf/scan.py",
        "attnmath/dsf/analysis.py",
        "attnmath/dsf/features.py",
    ),
    "stiffness": "attnmath/stiffness",
}

# mutmut.stats.status_by_exit_code (mutmut 3.8.1); anything else is "suspicious".
STATUS = {
    1: "killed",
    3: "killed",
    37: "killed",  # caught by the type checker (not configured here)
    0: "survived",
    5: "no tests",
    33: "no tests",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    34: "skipped",
    None: "not checked",
}
COLUMNS = ("killed", "survived", "no tests", "timeout", "other")


def _status(code) -> str:
    status = STATUS.get(code, "other")
    return status if status in COLUMNS or status == "skipped" else "other"


def load(mutants_dir: pathlib.Path) -> dict[str, dict[str, str]]:
    """{source path: {mutant name: status}} for every ``.meta`` file under ``mutants_dir``."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        source = meta.relative_to(mutants_dir).as_posix()[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out[source] = {name: _status(code) for name, code in codes.items()}
    return out


def _under(f: str, path: str) -> bool:
    return f == path or f.startswith(path.rstrip("/") + "/")


def _short(f: str, paths: tuple[str, ...]) -> str:
    """``f`` relative to its package directory (``memory/capacity.py`` -> ``capacity.py``)."""
    return f.rsplit("/", 1)[-1]


def score(counts: Counter) -> float | None:
    denominator = sum(counts[c] for c in COLUMNS)
    return None if denominator == 0 else 100.0 * counts["killed"] / denominator


def _row(label: str, counts: Counter) -> str:
    s = score(counts)
    cells = "".join(f"{counts[c]:>10}" for c in COLUMNS)
    return f"{label:<36}{cells}{'n/a' if s is None else f'{s:6.1f} %':>10}"


def report(results: dict[str, dict[str, str]], threshold: float, survivors: bool) -> int:
    header = f"{'module / file':<36}" + "".join(f"{c:>10}" for c in COLUMNS) + f"{'score':>10}"
    print(header)
    print("-" * len(header))
    failing = []
    for label, paths in MODULES.items():
        paths = (paths,) if isinstance(paths, str) else paths
        files = {f: r for f, r in results.items() if any(_under(f, p) for p in paths)}
        total = Counter()
        for r in files.values():
            total.update(r.values())
        s = score(total)
        print(_row(label, total))
        if len(files) > 1:
            for f, r in files.items():
                if sum(Counter(r.values())[c] for c in COLUMNS):
                    print(_row("  " + _short(f, paths), Counter(r.values())))
        if s is None or s < threshold:
            failing.append(label)
    print("-" * len(header))
    print(f"threshold {threshold:.0f} %: " + ("all modules pass" if not failing else f"below: {', '.join(failing)}"))
    if survivors:
        print("\nnot killed (inspect with `mutmut show NAME`):")
        for r in results.values():
            for name, status in r.items():
                if status in ("survived", "no tests", "timeout", "other"):
                    print(f"  {status:<9} {name}")
    return 1 if failing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=pathlib.Path, default=pathlib.Path("mutants"))
    parser.add_argument("--threshold", type=float, default=85.0)
    parser.add_argument("--survivors", action="store_true", help="list the mutants that were not killed")
    args = parser.parse_args(argv)
    if not args.mutants.is_dir():
        print(f"no mutmut results in {args.mutants}/: run `make mutate` first", file=sys.stderr)
        return 2
    return report(load(args.mutants), args.threshold, args.survivors)


if __name__ == "__main__":
    sys.exit(main())
