"""Every registered claim is one test (ids are the claim ids): it passes, and each of its negative
controls (a wrong world in which its checks must fail) is caught."""

import json

import pytest

from attnmath import claims

CLAIM_IDS = list(claims.registry())


@pytest.mark.parametrize("claim_id", CLAIM_IDS, ids=CLAIM_IDS)
def test_claim(claim_id, record_property):
    result = claims.run(claim_id, tier="ci", controls=True)
    record_property("claim_result", json.dumps(result.to_json()))
    assert result.passed, result.summary()
    loose = [c.name for c in result.controls or [] if not c.caught]
    assert not loose, f"controls not caught: {loose}\n{result.summary()}"
