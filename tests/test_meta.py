"""Meta-tests: the structure that keeps the book, the ledger and the tests honest.

- every notebook is in the book's table of contents and in the nbval run (with compared outputs);
- every registered claim is shown in some chapter, and every shown id exists;
- notebooks define no library code, state their SCALE, close with "What this shows and what
  it does not", and ran within their time budget;
- every test function asserts something;
- CI calls the README's test command.
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
import tomllib

import jupytext
import pytest
import yaml

from attnmath import claims

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SHOW_RE = re.compile(r"""claims\.show\(\s*["']([a-z0-9_.\-]+)["']""")
NB_BUDGET_SECONDS = 180  # ci tier, 2 cores: every chapter runs in under 3 minutes


def _toc_files(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(node["file"])
        if "root" in node:
            out.append(node["root"])
        for value in node.values():
            out += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            out += _toc_files(item)
    return out


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


def test_every_notebook_is_in_the_toc_and_every_toc_entry_exists():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = _toc_files(toc)
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.stem}" in files, f"{nb.name} is not in book/_toc.yml"
    for f in files:
        assert any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb")), f"_toc.yml entry {f} has no file"
    assert len(files) == len(set(files)), "duplicate _toc.yml entries"


def test_nbval_collects_every_notebook_strictly():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "notebooks" in cfg["testpaths"]
    assert "--nbval" in cfg["addopts"] and "--nbval-lax" not in cfg["addopts"]
    assert "--nbval-sanitize-with" in cfg["addopts"]
    assert not any(a.startswith("--ignore") for a in cfg["addopts"])
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pytest .*--nbval|pytest .* notebooks", makefile), "make test must run nbval on notebooks/"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_outputs_are_compared(nb_path):
    """nbval skips the comparison for a cell whose stored execution_count is null."""
    nb = json.loads(nb_path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "notebook without code"
    missing = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not missing, f"code cells {missing} were never executed: nbval would not compare them"
    assert any(c["outputs"] for c in code), "no stored outputs"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_conventions(nb_path):
    md = nb_path.with_suffix(".md")
    nb = jupytext.read(md)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    params = [c for c in code_cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and re.search(r'^TIER\s*=\s*"ci"', params[0].source, re.M), (
        'one cell tagged `parameters` must set TIER = "ci"'
    )
    for cell in code_cells:
        src = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(src)
        defs = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        assert not defs, f"{md.name} defines {defs}: library code belongs in attnmath/ or kernels/"
    text = md.read_text()
    assert re.search(r"^#+ What this shows and what it does not", text, re.M), "missing the closing section"
    meta = json.loads(nb_path.read_text())["metadata"].get("attnmath", {})
    assert "execution_seconds" in meta, "run tools/execute_notebooks.py to store outputs and the run time"
    assert meta["execution_seconds"] < NB_BUDGET_SECONDS, f"{nb_path.name} took {meta['execution_seconds']} s"


def test_every_claim_is_shown_in_a_chapter_and_every_shown_claim_exists():
    shown = set()
    for nb in NOTEBOOKS:
        shown |= set(SHOW_RE.findall(nb.with_suffix(".md").read_text()))
    registered = set(claims.registry())
    assert registered - shown == set(), f"claims not shown in any notebook: {sorted(registered - shown)}"
    assert shown - registered == set(), f"notebooks show unknown claims: {sorted(shown - registered)}"


def _asserts(func: ast.FunctionDef) -> bool:
    for node in ast.walk(func):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("raises", "warns", "fail") or name.startswith(("assert", "check_", "_check")):
                return True
    return False


TEST_FILES = sorted(p for p in (ROOT / "tests").rglob("test_*.py"))


@pytest.mark.parametrize("path", TEST_FILES, ids=[str(p.relative_to(ROOT)) for p in TEST_FILES])
def test_every_test_function_asserts_something(path):
    tree = ast.parse(path.read_text())
    tests = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    assert tests, f"{path.name} has no tests"
    silent = [t.name for t in tests if not _asserts(t)]
    assert not silent, f"tests that assert nothing: {silent}"


def test_no_skips_or_xfails_in_tests():
    for path in TEST_FILES:
        if path.name == "test_meta.py":  # this file names the patterns it looks for
            continue
        text = path.read_text()
        assert "xfail" not in text, f"xfail in {path}"
        for m in re.finditer(r"pytest\.skip\(|mark\.skip\b|importorskip\(", text):
            line = text[: m.start()].count("\n") + 1
            context = text[m.start() : m.start() + 300]
            assert "reason" in context, f"{path.name}:{line}: a skip without a stated reason"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\s*make test\b", ci, re.M), ".ci/run must call `make test`"
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme


def test_bibliography_parses_without_duplicate_keys():
    from pybtex.database import parse_string

    text = (ROOT / "book" / "references.bib").read_text()
    keys = re.findall(r"^@\w+\s*\{\s*([^,\s]+)\s*,", text, re.M)
    assert len(keys) == len(set(keys)), f"duplicate bib keys: {sorted({k for k in keys if keys.count(k) > 1})}"
    assert len(parse_string(text, "bibtex").entries) == len(keys), "an entry did not parse (unbalanced braces?)"


def test_make_test_runs_the_portability_stages():
    # Issue "Runs anywhere": the pins resolve from the public index, the notebooks and claims are
    # re-run under foreign numerics, and the wheel is built and installed; all inside `make test`.
    makefile = (ROOT / "Makefile").read_text()
    test_recipe = makefile.split("\ntest:\n", 1)[1].split("\n\n", 1)[0]
    for stage, target in (
        ("pins", "check-env"),
        ("controls", "controls-check"),
        ("foreign", "foreign-check"),
        ("wheel", "wheel-check"),
    ):
        assert re.search(rf"\$\(STAGE\) {stage} \$\(MAKE\) --no-print-directory {target}\b", test_recipe), stage
    assert "ATEN_CPU_CAPABILITY=default" in makefile and "OPENBLAS_CORETYPE=Sandybridge" in makefile
    assert 'NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4"' in makefile
