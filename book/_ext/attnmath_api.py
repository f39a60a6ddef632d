"""Sphinx extension: the book's API reference, generated from the packages' ``__all__``.

Three parts:

- **Pages.** A page under ``book/api/`` holds placeholders ``.. attnmath-api:: MODULE``; at
  ``source-read`` each becomes the module's docstring (``automodule``), an ``autosummary`` table
  of its public names and one ``autofunction``/``autoclass``/``autodata`` entry per name. The public
  names are the module's ``__all__`` (or, without one, the functions and classes it defines), so a
  page never goes stale when a chapter exports a new function.
- **"In the book".** An ``autodoc-process-docstring`` hook appends to every documented function and
  class the chapters that use it (notebooks whose code cells name it, or that show a claim using
  it) and the claims that use it: the claim ids the docstring names (``claim ``x``...``) and the
  claims whose check function calls it (the names its code reaches, through the helpers of its own
  claims module, resolved to the documented object). Each claim links to its ledger entry.
- **Aliases.** Docstrings name functions by their defining module
  (``:func:`attnmath.stiffness.stability.stability_function```) while the reference documents them
  where users import them (``attnmath.stiffness.stability_function``). A ``missing-reference``
  handler resolves such a target through the object it names, so the strict, nitpicky build
  (``-W -n``) accepts both spellings.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pathlib
import re
import sys
import types
import warnings
from collections.abc import Iterator
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)
ROOT = pathlib.Path(__file__).resolve().parents[2]
API_DIR = "book/api/"

#: Package -> the chapter notebooks it belongs to (the fallback for "In the book" when no notebook's
#: code names an object).
PACKAGE_CHAPTERS: dict[str, tuple[str, ...]] = {
    "attnmath.softmax": ("00_softmax_attention",),
    "attnmath.dsf": ("10_dsf_framework", "11_dsf_attention_vs_ssm", "12_dsf_gates_and_steps", "13_dsf_extensions"),
    "attnmath.fastforms": ("20_kernels",),
    "attnmath.kernels": ("20_kernels",),
    "attnmath.memory": ("30_pavlovian_memory",),
    "attnmath.scansnap": ("40_scan_and_snap",),
    "attnmath.stiffness": ("50_stiffness",),
    "attnmath.synthesis": ("90_synthesis",),
}

_PLACEHOLDER = re.compile(r"^\.\. attnmath-api:: *([\w.]+)( +docstring)? *$", re.M)
_CLAIM_IN_DOC = re.compile(r"claims? ``([a-z][a-z0-9]*(?:\.[a-z0-9][a-z0-9_-]*)+)``", re.I)
_LITERAL = re.compile(r"``([a-z][a-z0-9]*(?:\.[a-z0-9][a-z0-9_-]*)+)``")
_CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.M | re.S)


# --------------------------------------------------------------------------------------------- pages


def public_names(module: types.ModuleType) -> list[str]:
    """``__all__``, or the public functions, classes and constants the module's own source defines."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    tree = ast.parse(inspect.getsource(module))
    defined: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined += [t.id for t in targets if isinstance(t, ast.Name)]
    return [n for n in dict.fromkeys(defined) if not n.startswith("_") and n in vars(module)]


def _kind(obj: Any) -> str | None:
    if isinstance(obj, types.ModuleType) and not callable(obj):
        return None  # a subpackage: it has a page (or a section) of its own
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return "data"


def api_rst(modname: str, docstring_only: bool = False) -> str:
    """The reST of one module's reference: docstring, summary table, one entry per public name."""
    module = importlib.import_module(modname)
    if docstring_only:
        return f".. automodule:: {modname}\n"
    entries = [(n, _kind(getattr(module, n))) for n in public_names(module)]
    entries = [(n, k) for n, k in entries if k is not None]
    lines = [f".. automodule:: {modname}", ""]
    if not entries:
        return "\n".join(lines)
    lines += [".. autosummary::", "   :nosignatures:", "", *(f"   {n}" for n, _ in entries), ""]
    for name, kind in entries:
        lines.append(f".. auto{kind}:: {name}")
        if kind in ("class", "exception"):
            lines.append("   :members:")
        elif kind == "data":
            if len(repr(getattr(module, name))) > 80:
                lines.append("   :no-value:")
        lines.append("")
    return "\n".join(lines)


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if not docname.startswith(API_DIR):
        return
    # A page depends on its packages' ``__all__`` and docstrings, on the claims (which of them call what)
    # and on the notebooks (which chapter names what): any change to these re-reads the API pages.
    for path in sorted((ROOT / "attnmath").rglob("*.py")) + sorted((ROOT / "kernels").rglob("*.py")):
        app.env.note_dependency(str(path))
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        app.env.note_dependency(str(path))
    source[0] = _PLACEHOLDER.sub(lambda m: api_rst(m.group(1), bool(m.group(2))), source[0])


# -------------------------------------------------------------------------------------- in the book


@functools.cache
def _notebook_code() -> dict[str, str]:
    """notebook stem -> the text of its code cells (the MyST twin of each chapter)."""
    return {
        md.stem: "\n".join(_CODE_CELL.findall(md.read_text(encoding="utf-8")))
        for md in sorted((ROOT / "notebooks").glob("*.md"))
    }


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)


def _reached(func: Any, package: str) -> tuple[set[int], set[str]]:
    """Ids of the objects a claim's check can name, through helpers defined under ``package``."""
    seen: set[int] = set()
    objects: set[int] = set()
    names_all: set[str] = set()
    todo = [func]
    while todo:
        f = inspect.unwrap(todo.pop())
        code = getattr(f, "__code__", None)
        if code is None or id(f) in seen:
            continue
        seen.add(id(f))
        glb = getattr(f, "__globals__", {})
        names = set(_code_names(code))
        names_all |= names
        modules = [m for m in glb.values() if isinstance(m, types.ModuleType)]
        for n in names:
            with warnings.catch_warnings():  # e.g. numpy's deprecated aliases (np.str)
                warnings.simplefilter("ignore")
                candidates = [glb.get(n)] + [getattr(m, n, None) for m in modules]
            for obj in candidates:
                if obj is None:
                    continue
                objects.add(id(obj))
                if inspect.isfunction(obj) and obj.__module__.startswith(package):
                    todo.append(obj)
    return objects, names_all


@functools.cache
def _claim_uses() -> dict[str, set[int]]:
    """claim id -> ids of the objects its check function reaches."""
    from attnmath import claims

    uses = {}
    for cid, c in claims.registry().items():
        package = (
            c.func.__module__.rpartition(".claims")[0] + ".claims"
            if ".claims" in c.func.__module__
            else c.func.__module__
        )
        uses[cid] = _reached(c.func, package)[0]
    return uses


@functools.cache
def _registry_ids() -> tuple[str, ...]:
    from attnmath import claims

    return tuple(claims.registry())


def _chapter_of(fullname: str) -> tuple[str, ...]:
    for package, chapters in PACKAGE_CHAPTERS.items():
        if fullname == package or fullname.startswith(package + "."):
            return chapters
    return ()


def _package_word(fullname: str) -> str:
    return fullname.split(".")[1] if fullname.count(".") >= 1 else fullname


def in_the_book(fullname: str, obj: Any, doc: str) -> tuple[list[str], list[str]]:
    """(chapter notebook stems, claim ids) that use ``obj`` documented as ``fullname``."""
    from attnmath_book import shown_in

    package_chapters = _chapter_of(fullname)
    name = fullname.rpartition(".")[2]
    word = re.compile(r"(?<![\w])" + re.escape(name) + r"\b")
    pkg = re.compile(r"\b" + re.escape(_package_word(fullname)) + r"\b")
    chapters = [
        stem
        for stem, code in _notebook_code().items()
        if stem in package_chapters and word.search(code) and pkg.search(code)
    ]
    known = set(_registry_ids())
    for cid in _CLAIM_IN_DOC.findall(doc):
        if cid not in known:
            logger.warning(f"attnmath: the docstring of {fullname} names unknown claim {cid!r}")
    named = set(_LITERAL.findall(doc)) & known  # "claims ``a``, ``b``": every literal that is a claim id
    claim_ids = [cid for cid in _registry_ids() if cid in named or id(obj) in _claim_uses()[cid]]
    where = shown_in()
    for cid in claim_ids:
        doc_ = where.get(cid, "").rpartition("/")[2]
        if doc_ and doc_ not in chapters:
            chapters.append(doc_)
    if not chapters:
        chapters = list(package_chapters)
    return sorted(chapters), claim_ids


def _inherited_type_doc(obj: Any, lines: list[str]) -> bool:
    """Whether ``lines`` are only the docstring of ``type(obj)`` (a constant without a ``#:`` comment)."""
    from sphinx.util.docstrings import prepare_docstring

    tdoc = getattr(type(obj), "__doc__", None)
    if not isinstance(tdoc, str) or not lines:
        return False
    return [ln.strip() for ln in lines if ln.strip()] == [ln.strip() for ln in prepare_docstring(tdoc) if ln.strip()]


def on_process_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    if what in ("data", "attribute") and _inherited_type_doc(obj, lines):
        lines[:] = []  # `TOL: dict = {...}` must not read as the documentation of dict
        return
    if what not in ("function", "class", "exception") or not name.startswith("attnmath."):
        return
    if not _chapter_of(name):
        return  # the ledger, the base layer: used everywhere, named nowhere in particular
    from attnmath_book import claim_label

    chapters, claim_ids = in_the_book(name, obj, "\n".join(lines))
    lines += ["", ".. rubric:: In the book", ""]
    if chapters:
        lines.append(":Chapter: " + ", ".join(f":doc:`/notebooks/{c}`" for c in chapters))
    if claim_ids:
        lines.append(":Used by claims: " + ", ".join(f":ref:`{c} <{claim_label(c)}>`" for c in claim_ids))
    lines.append("")


def on_process_signature(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, signature: str | None, return_annotation: str | None
) -> tuple[str | None, str | None] | None:
    """A dataclass field's ``default_factory`` shows as ``<factory>``, which is no Python expression: the
    signature would then be split at every comma (``dict[int`` as a type). Write it ``...``."""
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


# ----------------------------------------------------------------------------------------- aliases


_MISSING = object()


def _import_target(target: str) -> Any:
    """The object ``a.b.c.d`` names (the longest importable module prefix, then attributes), or ``_MISSING``."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


_BY_ID: dict[int, str] | None = None  # documented attnmath function/class: id -> its documented name


def _documented_by_id(env: Any) -> dict[int, str]:
    global _BY_ID
    if _BY_ID is None:
        cache: dict[int, str] = {}
        for fullname, entry in sorted(env.domains["py"].objects.items()):
            if entry.aliased or entry.objtype == "module" or not fullname.startswith("attnmath."):
                continue
            obj = _import_target(fullname)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                cache.setdefault(id(obj), fullname)
        _BY_ID = cache
    return _BY_ID


def on_missing_reference(app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Element) -> nodes.Element | None:
    """Resolve ``attnmath.<module>.<name>`` to where the reference documents that object.

    A target that names an existing attnmath object with no entry of its own (a claims module, a
    private helper) renders as code without a link; a target that names nothing still fails the build.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module:
        candidates += [f"{module}.{cls}.{target}"] if cls else []
        candidates.append(f"{module}.{target}")
        candidates.append(f"{module.rpartition('.')[0]}.{target}")  # `.scan.f` written from attnmath.dsf.core
        if "." not in target:  # a bare name documented at the package, defined in one of its modules
            candidates += sorted(
                f"{name}.{target}"
                for name, mod in list(sys.modules.items())
                if name.startswith(module + ".") and mod is not None and target in vars(mod)
            )
    for candidate in candidates:
        if not candidate.startswith("attnmath."):
            continue
        obj = _import_target(candidate)
        if obj is _MISSING:
            continue
        documented = _documented_by_id(env).get(id(obj))
        if documented and documented != candidate:
            resolved = env.domains["py"].resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], documented, node, contnode
            )
            if resolved is not None:
                return resolved
        return contnode
    return None


def on_env_updated(app: Sphinx, env: Any) -> None:
    global _BY_ID
    _BY_ID = None  # reading is over: the map is built from the complete domain on the first miss


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")
    app.connect("source-read", on_source_read)
    app.connect("autodoc-process-docstring", on_process_docstring)
    app.connect("autodoc-process-signature", on_process_signature)
    app.connect("missing-reference", on_missing_reference)
    app.connect("env-updated", on_env_updated)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
