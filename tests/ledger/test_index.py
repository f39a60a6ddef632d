"""The static claim index behind a fast ``python -m attnmath list`` (``attnmath/ledger/index.py``)."""

from __future__ import annotations

import json
import subprocess
import sys

from attnmath.ledger import index


def test_the_shipped_index_is_current():
    """Fails while claims_index.json is stale: run `make index` after editing a claim's metadata or controls."""
    data = json.loads(index.INDEX_FILE.read_text(encoding="utf-8"))
    assert data["sources_digest"] == index.sources_digest(), "stale claims_index.json: run `make index`"
    assert data["claims"] == index.entries_from_registry()
    assert index.read(index.INDEX_FILE) == data["claims"]


def test_a_stale_or_foreign_index_is_not_used(tmp_path):
    data = json.loads(index.INDEX_FILE.read_text(encoding="utf-8"))
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(data | {"sources_digest": "0" * 64}), encoding="utf-8")
    assert index.read(stale) is None
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data | {"index_version": index.INDEX_VERSION + 1}), encoding="utf-8")
    assert index.read(old) is None
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert index.read(broken) is None and index.read(tmp_path / "missing.json") is None


def test_list_reads_the_index_without_importing_a_chapter_or_torch():
    script = (
        "import sys; from attnmath.__main__ import main; rc = main(['list', '-k', 'softmax.rows']); "
        "print(rc, sorted(m for m in sys.modules if m == 'torch' or m.startswith(('attnmath.dsf', 'attnmath.softmax'))))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[-1] == "0 []"
    assert lines[0].split()[:2] == ["softmax.rows-sum-to-one", "classical"]


def test_matches_substring_and_glob():
    assert index.matches("dsf.lemma-2", None) and index.matches("dsf.lemma-2", "lemma")
    assert index.matches("dsf.lemma-2", "dsf.*-2") and not index.matches("dsf.lemma-2", "*.lemma")
    assert not index.matches("dsf.lemma-2", "memory")
