"""Fixtures of the ledger tests: throw-away claims in a private registry, a fresh source fingerprint."""

import pytest

from attnmath.ledger import cache as ledger_cache


@pytest.fixture
def reg(private_claims):
    """Throw-away claims in a private registry (tests/conftest.py ``private_claims``); ``reg(cid, func)``."""
    return private_claims


temp_claims = reg
private = reg


@pytest.fixture
def fresh_fingerprint(monkeypatch):
    monkeypatch.setattr(ledger_cache, "_FINGERPRINT", None)
    yield
    ledger_cache._FINGERPRINT = None
