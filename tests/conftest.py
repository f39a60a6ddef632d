"""Session-wide test setup.

- Triton runs through its CPU interpreter when there is no GPU. The variable must be set
  before any ``@triton.jit`` decorator executes, i.e. before ``kernels`` is imported
  (Triton decorates its own helpers at its first import), so it is set here, at conftest import.
- Network access is blocked for the whole session, in this process and in every child Python
  process (nbval's kernels, the book build): see ``tests/netguard/sitecustomize.py``.
- Claim results from ``tests/test_claims.py`` travel in each report's ``user_properties``
  (also under pytest-xdist); when a run covered the whole registry the controller writes
  ``book/_build/ledger.json`` (the format of ``python -m attnmath verify --json``), from
  which the book's ledger page is generated.
"""

import json
import os
import pathlib
import sys

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

NETGUARD = pathlib.Path(__file__).resolve().parent / "netguard"
os.environ["ATTNMATH_BLOCK_NETWORK"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH", "")) if p)
sys.path.insert(0, str(NETGUARD))
import sitecustomize as _netguard  # noqa: E402 - must run after the environment is prepared

_netguard.install()


LEDGER_PATH = pathlib.Path(__file__).resolve().parent.parent / "book" / "_build" / "ledger.json"
_results: dict[str, dict] = {}


def pytest_runtest_logreport(report):
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == "claim_result":
            data = json.loads(value)
            _results[data["id"]] = data


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):  # xdist worker: the controller writes
        return
    if not _results:
        return
    from attnmath import claims

    ids = list(claims.registry())
    if set(ids) != set(_results):
        return  # a partial run (-k, a single file) must not overwrite the full ledger
    ordered = [_results[i] for i in ids]
    passed = sum(r["passed"] for r in ordered)
    LEDGER_PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = LEDGER_PATH.with_suffix(".tmp")
    skipped = sum(bool(r.get("skipped")) for r in ordered)
    report = {"claims": ordered, "passed": passed, "failed": len(ordered) - passed - skipped, "skipped": skipped}
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, LEDGER_PATH)


@pytest.fixture
def private_claims(monkeypatch):
    """An empty, already-loaded claim registry (and show() cache, no result cache) for the test; restored afterwards.

    Returns ``register(cid, func=..., kinds=("numeric",), status="reconstructed", **fields)`` -> the Claim.
    The chapter claims are never loaded, so a selection that wrongly returns everything cannot start them.
    """
    from attnmath import claims
    from attnmath.claims import holds
    from attnmath.ledger import display as ledger_display
    from attnmath.ledger import registry as ledger_registry

    monkeypatch.delenv("ATTNMATH_CLAIM_CACHE", raising=False)  # make test's cache: never read or fill it here
    monkeypatch.setattr(ledger_registry, "_REGISTRY", {})
    monkeypatch.setattr(ledger_registry, "_CONTROLS", {})
    monkeypatch.setattr(ledger_registry, "_LOADED", True)
    monkeypatch.setattr(ledger_display, "_SHOWN", {})

    def register(cid, func=lambda: holds("x", True), kinds=("numeric",), status="reconstructed", **fields):
        fields = {"title": f"title of {cid}", "statement": "x = x", "source": "src, eq. 1"} | fields
        claims.claim(cid, status_of_source=status, kinds=kinds, **fields)(func)
        return claims.get(cid)

    return register
