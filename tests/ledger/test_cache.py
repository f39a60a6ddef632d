"""attnmath.ledger.cache: artifact paths, the source fingerprint and stored claim results of one test run."""

from __future__ import annotations

import re
import sys

import pytest

from attnmath import claims
from attnmath.ledger import cache as ledger_cache
from attnmath.ledger import registry as ledger_registry

REASON = "test tolerance"
R = "test reason"


@pytest.mark.parametrize("bad", ["", "a/b.pt", ".hidden", "../x.pt", 3, None])
def test_artifact_path_rejects_names_that_are_not_plain_files(bad, monkeypatch, tmp_path):
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    with pytest.raises(ValueError, match=r"^name must be a plain file name"):
        claims.artifact_path(bad)


def test_artifact_path_lives_under_the_cache_folder_only_when_it_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv(claims.CACHE_ENV, raising=False)
    assert claims.artifact_path("model.pt") is None
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    assert claims.artifact_path("model.pt") == tmp_path / "artifacts" / "model.pt"
    assert claims.artifact_path("a.b-c_1.pt") == tmp_path / "artifacts" / "a.b-c_1.pt"  # dots inside are fine


def test_fingerprint_follows_python_sources_only(tmp_path, monkeypatch, fresh_fingerprint):
    pkg = tmp_path / "fp_pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("x = 1\n")
    (pkg / "notes.txt").write_text("a")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(ledger_registry, "CLAIM_PACKAGES", ("fp_pkg",))
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)

    def fingerprint():
        ledger_cache._FINGERPRINT = None
        return claims.source_fingerprint()

    base = fingerprint()
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    assert claims.source_fingerprint() == base  # memoised
    (pkg / "notes.txt").write_text("b")
    assert fingerprint() == base  # not a Python source
    (pkg / "sub" / "mod.py").write_text("x = 2\n")
    changed = fingerprint()
    assert changed != base  # a nested .py file counts
    (pkg / "sub" / "mod.py").rename(pkg / "sub" / "other.py")
    assert fingerprint() != changed  # the file's path counts, not only its bytes
    renamed = fingerprint()
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)  # a GPU machine: compiled kernels ...
    compiled = fingerprint()
    assert compiled != renamed  # ... give other results than the interpreter
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert fingerprint() == renamed  # the interpreter on a GPU machine: the CPU machine's results
    sys.modules.pop("fp_pkg", None)


def test_a_stored_result_comes_back_whole_and_only_for_the_same_sources(tmp_path, monkeypatch):
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    cid = "softmax.nadaraya-watson"
    result = claims.run(cid)
    stored = tmp_path / f"{cid}@ci.json"
    assert stored.exists() and not list(tmp_path.glob("*.tmp"))  # written atomically, under its id and tier
    back = ledger_cache._cache_load(claims.get(cid), "ci")
    assert back is not None
    assert (back.passed, back.error, back.tolerance, back.exception, back.tier) == (
        result.passed,
        result.error,
        result.tolerance,
        result.exception,
        "ci",
    )
    assert back.seconds == pytest.approx(result.seconds, abs=5e-4)  # the JSON keeps milliseconds
    assert [c.to_json() for c in back.checks] == [c.to_json() for c in result.checks]
    assert ledger_cache._cache_load(claims.get(cid), "paper") is None  # another tier is another entry
    text = stored.read_text(encoding="utf-8")
    stored.write_text(text.replace(claims.source_fingerprint(), "0" * 64), encoding="utf-8")
    assert ledger_cache._cache_load(claims.get(cid), "ci") is None  # other sources: ignored
    monkeypatch.delenv(claims.CACHE_ENV)
    assert ledger_cache._cache_load(claims.get(cid), "ci") is None  # no cache folder: nothing is read


def test_the_cache_folder_is_created_with_its_parents(private, tmp_path, monkeypatch):
    folder = tmp_path / "not" / "yet" / "there"  # a fresh CI checkout has no book/_build either
    monkeypatch.setenv(claims.CACHE_ENV, str(folder))
    private("ch.ok")
    claims.run("ch.ok")
    assert (folder / "ch.ok@ci.json").is_file()
    assert ledger_cache._cache_load(claims.get("ch.ok"), "ci").passed


def test_fingerprint_records_whether_triton_is_interpreted(monkeypatch):
    # Triton reads TRITON_INTERPRET="" as off, like an unset variable; without CUDA the kernels always run
    # in the interpreter, so on such a machine every setting shares cached results; with CUDA, "1" differs.
    import torch

    def fresh():
        monkeypatch.setattr(ledger_cache, "_FINGERPRINT", None)  # the fingerprint is memoised per process
        return claims.source_fingerprint()

    for cuda in (False, True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)
        unset = fresh()
        monkeypatch.setenv("TRITON_INTERPRET", "")
        assert fresh() == unset
        monkeypatch.setenv("TRITON_INTERPRET", "1")
        assert (fresh() == unset) is (not cuda)
        if cuda:
            interpreted = fresh()
        else:
            cpu = fresh()
    assert interpreted == cpu  # interpreted kernels on a GPU machine give the CPU machine's results


def test_a_cached_failure_keeps_its_exception_and_tier(private, tmp_path, monkeypatch):
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
