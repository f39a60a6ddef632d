"""attnmath.ledger.registry: the claim decorator's validation, duplicate ids, loading and selection."""

from __future__ import annotations

import sys
import textwrap

import pytest

from attnmath import claims
from attnmath.claims import holds
from attnmath.ledger import registry as ledger_registry

REASON = "test tolerance"
R = "test reason"


def test_decorator_validates_metadata():
    ok = {"title": "t", "statement": "s", "source": "src, eq. (1)", "status_of_source": "stated", "kinds": ("numeric",)}
    with pytest.raises(ValueError, match="id"):
        claims.claim("NoDots", **ok)
    with pytest.raises(ValueError, match="status_of_source"):
        claims.claim("testonly.x", **{**ok, "status_of_source": "guessed"})
    with pytest.raises(ValueError, match="kinds"):
        claims.claim("testonly.x", **{**ok, "kinds": ("numeric", "vibes")})
    with pytest.raises(ValueError, match="kinds"):
        claims.claim("testonly.x", **{**ok, "kinds": ()})
    with pytest.raises(ValueError, match="title"):
        claims.claim("testonly.x", **{**ok, "title": ""})


def test_duplicate_id_from_another_function_is_rejected(temp_claims):
    temp_claims("testonly.dup", lambda: holds("x", True))

    def other():
        return holds("x", True)

    with pytest.raises(ValueError, match="already registered"):
        claims.claim(
            "testonly.dup", title="t", statement="s", source="s, eq. (1)", status_of_source="stated", kinds=("numeric",)
        )(other)


def test_select_by_substring_and_glob(temp_claims):
    temp_claims("testonly.alpha-one", lambda: holds("x", True))
    temp_claims("testonly.beta-two", lambda: holds("x", True))
    assert [c.id for c in claims.select("testonly.alpha")] == ["testonly.alpha-one"]
    assert [c.id for c in claims.select("testonly.*-two")] == ["testonly.beta-two"]
    assert {c.id for c in claims.select("testonly.")} == {"testonly.alpha-one", "testonly.beta-two"}
    with pytest.raises(KeyError, match="no claim"):
        claims.get("testonly.gamma")


def test_claim_records_every_field(reg):
    def _f(tier):
        return holds("x", True)

    c = reg("testmut.fields", _f, kinds=["numeric", "symbolic"], status="stated", notes="n1")
    assert c == claims.Claim(
        "testmut.fields", "title of testmut.fields", "x = x", "src, eq. 1", "stated", ("numeric", "symbolic"), _f,
        __name__, "n1",
    )  # fmt: skip
    assert reg("testmut.nonotes", _f).notes == ""
    reg("testmut.fields", _f, kinds=["numeric", "symbolic"], status="stated", notes="n1")  # re-import: no error


@pytest.mark.parametrize("label", ["title", "statement", "source"])
def test_claim_names_the_empty_field(label):
    meta = {"title": "t", "statement": "s", "source": "src, eq. (1)"} | {label: " "}
    with pytest.raises(ValueError) as info:
        claims.claim("testmut.x", status_of_source="stated", kinds=("numeric",), **meta)
    assert str(info.value) == f"{label} of claim 'testmut.x' must be a non-empty string"


def test_get_suggests_up_to_five_claims_of_the_same_chapter(reg):
    for i in range(7):
        reg(f"testmut.c{i}", lambda: holds("x", True))
    with pytest.raises(KeyError) as info:
        claims.get("testmut.nope")
    similar = [f"testmut.c{i}" for i in range(5)]
    assert info.value.args[0] == f"no claim 'testmut.nope'; similar: {similar}"


def test_load_all_imports_every_module_of_the_claim_packages(tmp_path, monkeypatch):
    pkg = tmp_path / "mutpkg_claims"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    register = textwrap.dedent(
        """
        from attnmath.claims import claim, holds
        @claim("{id}", title="t", statement="s", source="s, eq. (1)", status_of_source="stated", kinds=("numeric",))
        def _c():
            return holds("x", True)
        """
    )
    (pkg / "a.py").write_text(register.format(id="mutpkg.a"))
    (pkg / "sub" / "b.py").write_text(register.format(id="mutpkg.b"))
    (pkg / "skipped.py").write_text("raise RuntimeError('a skipped module must not be imported')")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(ledger_registry, "CLAIM_PACKAGES", ("mutpkg_claims",))
    monkeypatch.setattr(ledger_registry, "_SKIP_MODULES", {"mutpkg_claims.skipped"})
    monkeypatch.setattr(ledger_registry, "_LOADED", False)
    monkeypatch.setattr(ledger_registry, "_REGISTRY", {})
    try:
        claims.load_all()
        assert set(ledger_registry._REGISTRY) == {"mutpkg.a", "mutpkg.b"}
        assert ledger_registry._LOADED is True
        assert "mutpkg_claims.sub.b" in sys.modules and "mutpkg_claims.skipped" not in sys.modules
        (pkg / "c.py").write_text(register.format(id="mutpkg.c"))
        claims.load_all()  # loads once per process
        assert "mutpkg_claims.c" not in sys.modules
    finally:
        for name in [m for m in sys.modules if m.startswith("mutpkg_claims")]:
            del sys.modules[name]


def test_select_substring_and_glob_on_a_private_registry(private):
    for cid in ("ch.abc", "ch.abd", "other.abc-x"):
        private(cid)
    ids = lambda pattern: [c.id for c in claims.select(pattern)]  # noqa: E731
    assert ids(None) == ids("") == ["ch.abc", "ch.abd", "other.abc-x"]  # no pattern: all, sorted by id
    assert ids("ch.") == ["ch.abc", "ch.abd"]  # substring
    assert ids("abc") == ["ch.abc", "other.abc-x"]  # substring anywhere in the id
    assert ids("ch.*") == ["ch.abc", "ch.abd"]  # glob: the whole id must match
    assert ids("abc*") == []  # a glob is anchored, unlike a substring
    assert ids("ch.ab?") == ["ch.abc", "ch.abd"] and ids("ch.ab[d]") == ["ch.abd"]
    assert ids("nothing") == []


@pytest.mark.parametrize(
    "source",
    [
        "sieber2024understanding eq. (22)",
        "tian2023scan, Lemma 1",
        "gu2023mamba, Theorem 1",
        "tian2023scan, Fig. 6",
        "dao2024transformers, Listing 1",
        "sieber2024understanding §4.2",
        "vaswani2017attention, sec. 3.2.1, footnote 4",
        "sieber2024understanding App. D",
        "qiao2025pavlovian, abstract",
    ],
)
def test_stated_claim_with_a_primary_text_location_registers(source):
    deco = claims.claim(
        "x.located", title="t", statement="s", source=source, status_of_source="stated", kinds=("numeric",)
    )
    assert callable(deco)


@pytest.mark.parametrize(
    "source", ["sieber2024understanding (official zoology code)", "a third-party summary", "tian2023scan"]
)
def test_stated_claim_without_a_location_is_rejected(source):
    with pytest.raises(ValueError, match="must name the paper's own location"):
        claims.claim(
            "x.unlocated", title="t", statement="s", source=source, status_of_source="stated", kinds=("numeric",)
        )
    # The same source is fine for a reconstruction.
    claims.claim(
        "x.unlocated", title="t", statement="s", source=source, status_of_source="reconstructed", kinds=("numeric",)
    )


def test_every_registered_stated_claim_names_a_location():
    ledger_registry.load_all()
    stated = [c for c in ledger_registry.registry().values() if c.status_of_source == "stated"]
    assert stated, "the book states some claims as the papers' own"
    missing = [c.id for c in stated if not ledger_registry._LOCATION_RE.search(c.source)]
    assert missing == []
