"""A static index of the registry's metadata, so that ``python -m attnmath list`` imports no chapter.

Listing claims by importing every chapter costs seconds (torch, sympy, every claim module). The index
``claims_index.json`` next to this module records each claim's metadata and control names together
with :func:`sources_digest`, the sha256 of every ``.py`` file of ``attnmath`` and ``attnmath.kernels``
(read as bytes, nothing imported). :func:`load` returns the entries only while that digest matches the
sources, so a stale index is never used: the command line then falls back to importing the registry.
``make index`` (``python -m attnmath.ledger.index``) rewrites it; ``tests/ledger/test_index.py`` fails
while it is stale.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import json
import pathlib
from typing import Any

INDEX_FILE = pathlib.Path(__file__).with_name("claims_index.json")
INDEX_VERSION = 1


def _roots() -> list[tuple[str, pathlib.Path]]:
    import attnmath

    root = pathlib.Path(attnmath.__file__).resolve().parent
    spec = importlib.util.find_spec("attnmath.kernels")  # imports attnmath (cheap), not the kernels
    kernels = pathlib.Path(spec.origin).resolve().parent if spec and spec.origin else root / "kernels"
    return [("attnmath", root), ("attnmath.kernels", kernels)]


def sources_digest() -> str:
    """sha256 over the relative path and bytes of every ``.py`` file of ``attnmath`` and ``attnmath.kernels``."""
    roots = _roots()
    kernels_root = roots[1][1]
    digest = hashlib.sha256()
    for label, root in roots:
        for path in sorted(root.rglob("*.py")):
            if label == "attnmath" and kernels_root in path.parents:
                continue  # an installed wheel keeps the kernels inside attnmath/: count them once, under their label
            digest.update(f"{label}:{path.relative_to(root).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def matches(claim_id: str, pattern: str | None) -> bool:
    """Whether ``claim_id`` contains ``pattern`` (or matches it as a glob when it has ``*?[``); ``None`` matches all.

    A comma separates alternatives (claim ids have no comma): ``"mqar,softmax.rows"`` selects both.
    """
    if not pattern:
        return True
    if "," in pattern:
        return any(matches(claim_id, part.strip()) for part in pattern.split(",") if part.strip())
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(claim_id, pattern)
    return pattern in claim_id


def entries_from_registry() -> list[dict[str, Any]]:
    """Every registered claim's metadata and the names of its controls (imports every chapter)."""
    from . import registry

    return [c.to_json() | {"controls": [ctl.name for ctl in c.controls]} for c in registry.registry().values()]


def load() -> list[dict[str, Any]] | None:
    """The indexed entries when the index exists and matches the sources, else ``None``.

    Also ``None`` once this process has registered claims (the registry is then the truth: a script or a
    test may have registered its own).
    """
    import sys

    registry = sys.modules.get(f"{__package__}.registry")
    if registry is not None and (registry._REGISTRY or registry._LOADED):
        return None
    return read(INDEX_FILE)


def read(path: pathlib.Path) -> list[dict[str, Any]] | None:
    """The entries of the index file ``path`` when its version and digest match the sources, else ``None``."""
    try:
        data = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("index_version") != INDEX_VERSION:
        return None
    if data.get("sources_digest") != sources_digest():
        return None
    return data.get("claims")


def write() -> pathlib.Path:
    """Rewrite :data:`INDEX_FILE` from the registry."""
    data = {"index_version": INDEX_VERSION, "sources_digest": sources_digest(), "claims": entries_from_registry()}
    INDEX_FILE.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return INDEX_FILE


if __name__ == "__main__":
    print(f"wrote {write()}")
