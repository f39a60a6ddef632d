"""Capacity of a user-supplied key set (``capacity_of_keys``, ``relmse_of_keys``)."""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.base.numerics import torch_generator
from attnmath.memory import KeyCapacity, capacity_of_keys, capacity_theory, random_keys, relmse_of_keys

F64 = torch.float64


def test_orthonormal_keys_store_every_pair_exactly():
    q, _ = torch.linalg.qr(torch.randn(32, 32, generator=torch_generator(0), dtype=F64))
    cap = capacity_of_keys(q, eps=0.01)
    assert (cap.n, cap.pool, cap.bracketed) == (32, 32, False)
    assert cap.relmse_at_n < 1e-28 and math.isnan(cap.relmse_above)  # float64 roundoff squared


def test_random_unit_keys_reach_the_classical_capacity():
    keys = random_keys(300, 64, generator=torch_generator(1)).to(F64)
    cap = capacity_of_keys(keys, eps=0.5, permutations=64)
    assert cap.bracketed and cap.relmse_at_n <= 0.25 < cap.relmse_above
    # relMSE grows by 1/d_k = 0.016 per stored pair; over 64 orders its SE is ~0.01, i.e. ~1 pair: 3 SE = 3 pairs
    assert abs(cap.n - capacity_theory(64, 0.5)) <= 3


def test_correlated_keys_store_fewer_pairs_than_random_keys():
    g = torch_generator(2)
    common = random_keys(1, 64, generator=g).to(F64)
    keys = 0.5 * common + random_keys(300, 64, generator=g).to(F64)
    keys = keys / keys.norm(dim=-1, keepdim=True)
    random = capacity_of_keys(random_keys(300, 64, generator=g).to(F64), eps=0.5, permutations=32)
    correlated = capacity_of_keys(keys, eps=0.5, permutations=32)
    # a shared component of weight 0.5 gives cosines ~0.25/1.25 = 0.2 between keys: squared cross-talk 0.04 per
    # stored pair instead of 1/d_k = 0.016, so about 2.5x fewer pairs
    assert correlated.n < random.n / 2


def test_relmse_of_keys_follows_the_unit_key_law():
    keys = random_keys(200, 32, generator=torch_generator(3)).to(F64)
    values = torch.randn(200, 16, generator=torch_generator(4), dtype=F64) / 4
    for n in (5, 20, 40):
        # (N-1)/d_k for unit keys; 64 orders x n pairs give a relative SE of ~1/sqrt(64 n) < 4 %: allow 4 SE
        assert relmse_of_keys(keys, values, n, permutations=64) == pytest.approx((n - 1) / 32, rel=0.16)


def test_the_user_gets_clear_errors():
    keys = random_keys(50, 16, generator=torch_generator(5)).to(F64)
    with pytest.raises(ValueError, match="normalise the keys"):
        capacity_of_keys(2 * keys, eps=0.3)
    with pytest.raises(ValueError, match=r"values must have one row per key: keys are \[P=50, d_k\]"):
        capacity_of_keys(keys, torch.zeros(49, 4, dtype=F64), eps=0.3)
    with pytest.raises(ValueError, match="eps"):
        capacity_of_keys(keys, eps=-1.0)
    with pytest.raises(ValueError, match="keys must have 2 dimensions"):
        capacity_of_keys(keys[None], eps=0.3)
    with pytest.raises(ValueError, match="n must be"):
        relmse_of_keys(keys, torch.zeros(50, 4, dtype=F64), 51)


def test_result_type():
    cap = capacity_of_keys(random_keys(40, 16, generator=torch_generator(6)).to(F64), eps=0.5)
    assert isinstance(cap, KeyCapacity) and 1 <= cap.n <= cap.pool == 40
