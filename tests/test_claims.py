"""Every registered claim is one test (ids are the claim ids)."""

import json

import pytest

from attnmath import claims

CLAIM_IDS = list(claims.registry())


@pytest.mark.parametrize("claim_id", CLAIM_IDS, ids=CLAIM_IDS)
def test_claim(claim_id, record_property):
    result = claims.run(claim_id, tier="ci")
    record_property("claim_result", json.dumps(result.to_json()))
    assert result.passed, result.summary()
