"""attnmath.claims: selection, run_all, the result cache and its fingerprint on a private registry (issue 9,
mutation survivors ``select``, ``run_all``, ``_cache_load``, ``_cache_store``, ``source_fingerprint``).

A private registry holds only the claims a test registers, so a selection that wrongly returns every
claim shows up as extra ids at once (on the real registry it would run all chapter claims, minutes).
"""

from __future__ import annotations

import pytest

from attnmath import claims
from attnmath.claims import holds
from attnmath.ledger import cache as ledger_cache


@pytest.fixture
def private(private_claims):
    """A private registry (tests/conftest.py ``private_claims``); ``private(cid, func)`` registers a claim."""
    return private_claims


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


def test_run_all_runs_only_the_selected_claims(private):
    ran: list[str] = []

    def recorder(cid):
        def check():
            ran.append(cid)
            return holds("x", True)

        return check

    for cid in ("ch.one", "ch.two", "other.three"):
        private(cid, recorder(cid))
    assert [r.id for r in claims.run_all("ch.")] == ["ch.one", "ch.two"]
    assert ran == ["ch.one", "ch.two"]  # other.three was never called
    ran.clear()
    assert [r.id for r in claims.run_all()] == ["ch.one", "ch.two", "other.three"] and len(ran) == 3


def test_a_cached_failure_keeps_its_exception_and_scale(private, tmp_path, monkeypatch):
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))

    def boom():
        raise RuntimeError("kaboom")

    private("ch.raises", boom)
    c = claims.get("ch.raises")
    result = claims.run(c, tier="paper")
    assert not result.passed and result.exception.startswith("RuntimeError: kaboom\n")
    back = ledger_cache._cache_load(c, "paper")
    assert back is not None and back.tier == "paper"  # not the default "ci"
    assert (back.passed, back.exception) == (False, result.exception)  # the traceback text is kept
    assert ledger_cache._cache_load(c, "ci") is None


def test_the_cache_folder_is_created_with_its_parents(private, tmp_path, monkeypatch):
    folder = tmp_path / "not" / "yet" / "there"  # a fresh CI checkout has no book/_build either
    monkeypatch.setenv(claims.CACHE_ENV, str(folder))
    private("ch.ok")
    claims.run("ch.ok")
    assert (folder / "ch.ok@ci.json").is_file()
    assert ledger_cache._cache_load(claims.get("ch.ok"), "ci").passed


def test_fingerprint_treats_an_empty_triton_interpret_as_unset(monkeypatch):
    # Triton reads TRITON_INTERPRET="" as off, like an unset variable: both must share cached results

    def fresh():
        monkeypatch.setattr(ledger_cache, "_FINGERPRINT", None)  # the fingerprint is memoised per process
        return claims.source_fingerprint()

    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    unset = fresh()
    monkeypatch.setenv("TRITON_INTERPRET", "")
    assert fresh() == unset
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert fresh() != unset
