"""The API reference generator of the book (``book/_ext/attnmath_api.py``), without building the book.

The strict book build (``make book``) checks that the generated pages render and every reference
resolves; these tests pin what the generator writes: which names a page documents, and what the
"In the book" footer of an entry says (its chapter, the claims that use it).
"""

from __future__ import annotations

import importlib
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def api():
    import sphinx  # noqa: F401  (the book extra: make deps-book; make test and test-fast install it)

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        yield importlib.import_module("attnmath_api")
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))


def test_public_names_follow_all(api):
    import attnmath.memory as memory

    assert api.public_names(memory) == list(memory.__all__)


def test_public_names_without_all_are_what_the_module_defines(api):
    from attnmath.kernels.linear_attention import reference

    names = api.public_names(reference)
    assert {"linear_attention_recurrent", "linear_attention_quadratic"} <= set(names)
    assert "annotations" not in names  # `from __future__ import annotations` defines nothing
    assert "torch" not in names
    assert not [n for n in names if n.startswith("_")]
    imported = [
        n for n in names if getattr(getattr(reference, n), "__module__", reference.__name__) != reference.__name__
    ]
    assert imported == [], f"imported names documented as the module's own: {imported}"


def test_page_has_one_entry_per_public_name(api):
    import attnmath.softmax as softmax

    rst = api.api_rst("attnmath.softmax")
    assert rst.startswith(".. automodule:: attnmath.softmax")
    assert ".. autosummary::" in rst
    for name in softmax.__all__:
        assert f"\n   {name}\n" in rst, name
        assert f".. autofunction:: {name}\n" in rst, name


def test_page_kinds_classes_and_long_constants(api):
    rst = api.api_rst("attnmath.dsf")
    assert ".. autoclass:: DSF\n   :members:" in rst
    assert ".. autodata:: REALIZATIONS\n\n" in rst  # a short value is printed
    assert ".. autodata:: EDGES\n   :no-value:" in api.api_rst("attnmath.synthesis")  # a long one is not
    assert api.api_rst("attnmath.dsf.core", docstring_only=True).strip() == ".. automodule:: attnmath.dsf.core"


def test_operator_folders_document_as_their_dispatch_function(api):
    rst = api.api_rst("attnmath.kernels")
    for op in ("linear_attention", "diag_scan", "softmax_attention"):
        assert f".. autofunction:: {op}\n" in rst, op
    assert ".. autofunction:: dispatch" not in rst  # a plain submodule has its own section


def test_in_the_book_names_chapter_and_claims(api):
    import attnmath.memory as memory

    chapters, claims = api.in_the_book("attnmath.memory.capacity_theory", memory.capacity_theory, "")
    assert "30_pavlovian_memory" in chapters
    assert "memory.linear-capacity" in claims


def test_in_the_book_reads_claim_ids_named_in_the_docstring(api):
    def unused():
        pass

    chapters, claims = api.in_the_book(
        "attnmath.stiffness.unused", unused, "Claims ``stiffness.euler-stability``, ``not.a-claim``."
    )
    assert claims == ["stiffness.euler-stability"]
    assert "50_stiffness" in chapters


def test_unused_object_gets_its_package_chapter_and_no_claims(api):
    def zzz_not_used_anywhere():
        pass

    chapters, claims = api.in_the_book("attnmath.dsf.zzz_not_used_anywhere", zzz_not_used_anywhere, "")
    assert claims == []
    assert chapters == sorted(api.PACKAGE_CHAPTERS["attnmath.dsf"])


def test_docstring_footer_links_ledger_entries(api):
    import attnmath.memory as memory

    lines = ["Average-case capacity."]
    api.on_process_docstring(None, "function", "attnmath.memory.capacity_theory", memory.capacity_theory, {}, lines)
    text = "\n".join(lines)
    assert ".. rubric:: In the book" in text
    assert ":doc:`/notebooks/30_pavlovian_memory`" in text
    assert ":ref:`memory.linear-capacity <claim-memory-linear-capacity>`" in text
    base_lines = ["Unit roundoff."]
    from attnmath.base import numerics

    api.on_process_docstring(
        None, "function", "attnmath.base.numerics.unit_roundoff", numerics.unit_roundoff, {}, base_lines
    )
    assert base_lines == ["Unit roundoff."]  # the base layer is used everywhere: no footer


def test_constant_without_comment_does_not_inherit_its_type_docstring(api):
    lines = dict.__doc__.splitlines()
    api.on_process_docstring(None, "data", "attnmath.base.tolerances.TOL", {}, {}, lines)
    assert lines == []
    own = ["The one table of tolerances."]
    api.on_process_docstring(None, "data", "attnmath.base.tolerances.TOL", {}, {}, own)
    assert own == ["The one table of tolerances."]
