"""Fail if a paired MyST .md and its .ipynb differ in their inputs. Modifies nothing.

``jupytext --sync`` must never run in CI: in a fresh clone every file has the same mtime,
so it can silently revert an edit made on one side.
"""

import pathlib
import sys

import jupytext
from jupytext.compare import compare_notebooks


def main(folder: str = "notebooks") -> int:
    bad = 0
    mds = sorted(pathlib.Path(folder).glob("*.md"))
    for md in mds:
        nb_path = md.with_suffix(".ipynb")
        if not nb_path.exists():
            bad = 1
            print(f"MISSING PAIR: {md} has no {nb_path.name}")
            continue
        try:
            compare_notebooks(jupytext.read(md), jupytext.read(nb_path), fmt="md:myst")
        except Exception as err:  # jupytext.compare.NotebookDifference
            bad = 1
            print(f"OUT OF SYNC: {md} vs {nb_path.name}: {str(err).splitlines()[0][:200]}")
    for nb_path in sorted(pathlib.Path(folder).glob("*.ipynb")):
        if not nb_path.with_suffix(".md").exists():
            bad = 1
            print(f"MISSING PAIR: {nb_path} has no .md twin")
    print(f"{len(mds)} pairs in sync" if not bad else "fix: python tools/execute_notebooks.py <notebook.md>")
    return bad


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
