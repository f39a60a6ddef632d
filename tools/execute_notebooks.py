"""Execute notebooks from their MyST source and store outputs in the paired .ipynb.

    python tools/execute_notebooks.py notebooks/00_softmax_attention.md [more.md ...]
    python tools/execute_notebooks.py --all

The .md file is the source of truth for inputs. Each notebook is read from it, executed
in a fresh kernel with cwd = notebooks/ and PYTHONHASHSEED=0 (the settings nbval uses),
and written to the .ipynb together with its wall time in
``metadata.attnmath.execution_seconds`` (the book's status page shows it). A failing
cell aborts with the cell's traceback and leaves the .ipynb untouched.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import sys
import time

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent


def execute(md: pathlib.Path, timeout: int = 900) -> float:
    nb = jupytext.read(md)
    nb.metadata.setdefault(
        "kernelspec", {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    )
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.pop("MPLBACKEND", None)  # an exported backend (e.g. Agg) removes the figure outputs
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(md.parent)}}
    )
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    nb.metadata["attnmath"] = {
        "execution_seconds": round(seconds, 1),
        "executed_on": datetime.date.today().isoformat(),
        "cpu_count": os.cpu_count(),
    }
    out = md.with_suffix(".ipynb")
    jupytext.write(nb, out, fmt="ipynb")
    # Re-validate what was written (a malformed output would break nbval and the book).
    nbformat.validate(nbformat.read(out, as_version=4))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="MyST .md notebooks (or their .ipynb twins)")
    parser.add_argument("--all", action="store_true", help="every notebooks/*.md")
    args = parser.parse_args()
    paths = sorted((ROOT / "notebooks").glob("*.md")) if args.all else [pathlib.Path(p) for p in args.notebooks]
    if not paths:
        parser.error("give notebooks or --all")
    for p in paths:
        md = p.with_suffix(".md")
        if not md.exists():
            print(f"no MyST source {md}", file=sys.stderr)
            return 2
        seconds = execute(md)
        print(f"{md}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
