"""Line/branch coverage of attnmath/ and kernels/, and the public functions no test executes.

    python tools/coverage_report.py coverage.json

Reads ``coverage json`` output (written by ``make coverage``), prints the line and branch
coverage per package and exits 1 when a public function or method (a name in a package's
``__all__``) has no executed line in its body: every public function must be exercised by at
least one test (unit, property, claim or kernel test).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pathlib
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ["attnmath", "kernels"]  # source folders (kernels/ installs as attnmath.kernels)
PUBLIC_MODULES = [
    "attnmath.claims",
    "attnmath.base.validation",
    "attnmath.softmax",
    "attnmath.dsf",
    "attnmath.memory",
    "attnmath.scansnap",
    "attnmath.stiffness",
    "attnmath.synthesis",
    "attnmath.fastforms.derivation",
    "attnmath.fastforms.instances",
    "attnmath.fastforms.timing",
    "attnmath.kernels.dispatch",
    "attnmath.kernels.linear_attention",
    "attnmath.kernels.diag_scan",
    "attnmath.kernels.softmax_attention",
]


def _public_objects():
    for name in PUBLIC_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{name}.{attr}", obj


def _body_lines(obj) -> tuple[str, set[int]]:
    """(file relative to the repo, line numbers of the statements in the function bodies, docstrings excluded)."""
    obj = inspect.unwrap(obj)  # a decorated function (functools.wraps) reports its own body, not the wrapper's
    path = inspect.getsourcefile(obj)
    src, start = inspect.getsourcelines(obj)
    node = ast.parse(textwrap.dedent("".join(src))).body[0]
    targets = [node] if inspect.isfunction(obj) else [n for n in node.body if isinstance(n, ast.FunctionDef)]
    lines: set[int] = set()
    for fn in targets:
        body = fn.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        for stmt in body:
            lines.update(range(stmt.lineno + start - 1, stmt.end_lineno + start))
    return str(pathlib.Path(path).resolve().relative_to(ROOT)), lines


def main(path: str = "coverage.json") -> int:
    data = json.loads(pathlib.Path(path).read_text())
    files = data["files"]
    for pkg in PACKAGES:
        stats = [f["summary"] for name, f in files.items() if name.startswith(pkg + "/")]
        lines = sum(s["num_statements"] for s in stats)
        covered = sum(s["covered_lines"] for s in stats)
        branches = sum(s.get("num_branches", 0) for s in stats)
        covered_b = sum(s.get("covered_branches", 0) for s in stats)
        print(
            f"{pkg:9s} lines {covered}/{lines} = {100 * covered / max(lines, 1):.1f}%   "
            f"branches {covered_b}/{branches} = {100 * covered_b / max(branches, 1):.1f}%"
        )
    missing = []
    for qualname, obj in _public_objects():
        rel, body = _body_lines(obj)
        executed = set(files.get(rel, {}).get("executed_lines", []))
        if body and not body & executed:
            missing.append(qualname)
    if missing:
        print("public functions no test executes:", *missing, sep="\n  ")
        return 1
    print("every public function and class is exercised by at least one test")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
