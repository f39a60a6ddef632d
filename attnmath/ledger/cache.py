"""Result cache and artifact store (opt-in, for the notebooks of one test run).

When ``ATTNMATH_CLAIM_CACHE`` names a folder, :func:`attnmath.ledger.runner.run` stores each result
there with the fingerprint of the source tree; a result is reused only for the same claim, tier and
fingerprint. Claims may store expensive intermediates (trained models) under ``artifacts/``.
"""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING

from . import registry
from .checks import Check
from .registry import Claim
from .results import ClaimResult, ControlResult

if TYPE_CHECKING:
    import pathlib

CACHE_ENV = "ATTNMATH_CLAIM_CACHE"


_FINGERPRINT: str | None = None


def source_fingerprint() -> str:
    """sha256 of every ``.py`` file of the claim packages, the torch version and whether Triton is interpreted."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import hashlib
        import os
        import pathlib

        import torch

        digest = hashlib.sha256()
        for pkg_name in registry.CLAIM_PACKAGES:
            module_file = importlib.import_module(pkg_name).__file__
            # a claims package is a regular package (a folder with __init__.py), so it has a file
            assert module_file is not None, pkg_name
            root = pathlib.Path(module_file).parent
            for path in sorted(root.rglob("*.py")):
                digest.update(str(path.relative_to(root.parent)).encode())
                digest.update(path.read_bytes())
        digest.update(torch.__version__.encode())
        # What changes kernel results is whether Triton runs in its interpreter, and on a machine without
        # CUDA it always does (forcing backend="triton" switches it on), whether TRITON_INTERPRET is set or not.
        interpreted = os.environ.get("TRITON_INTERPRET") == "1" or not torch.cuda.is_available()
        digest.update(b"triton: interpreter" if interpreted else b"triton: compiled")
        _FINGERPRINT = digest.hexdigest()
    return _FINGERPRINT


def _cache_file(claim_id: str, tier: str) -> pathlib.Path | None:
    import os
    import pathlib

    folder = os.environ.get(CACHE_ENV)
    return pathlib.Path(folder) / f"{claim_id}@{tier}.json" if folder else None


def artifact_path(name: str) -> pathlib.Path | None:
    """Where a claim may store an expensive intermediate (a trained model) for the rest of one test run.

    ``ATTNMATH_CLAIM_CACHE/artifacts/<name>`` when that variable is set, else None (no caching). The
    caller stores :func:`source_fingerprint` with the artifact and ignores a file whose fingerprint
    differs, exactly as the result cache does.
    """
    import os
    import pathlib

    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain file name, got {name!r}")
    folder = os.environ.get(CACHE_ENV)
    return pathlib.Path(folder) / "artifacts" / name if folder else None


def _cache_store(result: ClaimResult) -> None:
    import os

    path = _cache_file(result.id, result.tier)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"fingerprint": source_fingerprint(), "result": result.to_json()}))
    os.replace(tmp, path)


def _cache_load(c: Claim, tier: str) -> ClaimResult | None:
    path = _cache_file(c.id, tier)
    if path is None or not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("fingerprint") != source_fingerprint():
        return None
    r = data["result"]
    fields = ("kind", "name", "passed", "error", "tolerance", "reason", "details")
    checks = [Check(**{k: ch[k] for k in fields}) for ch in r["checks"]]
    return ClaimResult(c, r["passed"], checks, r["error"], r["tolerance"], r["seconds"], r["exception"], tier)


def _control_file(claim_id: str, name: str, tier: str) -> pathlib.Path | None:
    import hashlib

    path = _cache_file(claim_id, tier)
    if path is None:
        return None
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return path.with_name(f"{claim_id}@{tier}#control-{digest}.json")


def _control_store(claim_id: str, tier: str, result: ControlResult) -> None:
    import os

    path = _control_file(claim_id, result.name, tier)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"fingerprint": source_fingerprint(), "control": result.to_json()}))
    os.replace(tmp, path)


def _control_load(claim_id: str, name: str, tier: str) -> ControlResult | None:
    path = _control_file(claim_id, name, tier)
    if path is None or not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("fingerprint") != source_fingerprint() or data["control"]["name"] != name:
        return None
    return ControlResult.from_json(data["control"])
