"""attnmath.scansnap.joma: the toy dynamics of the follow-up JoMA (sparse, then dense attention)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnmath.scansnap import joma
from attnmath.scansnap.joma import sparse_then_dense
from tests._helpers import msg

F64 = torch.float64


def test_joma_toy_starts_uniform():
    ent, v = sparse_then_dense(n=6, steps=50)
    assert ent[0] == pytest.approx(math.log(6), abs=1e-6)  # float32: v(0) is constant, softmax uniform
    assert v.shape == (6,) and bool((v > 0.05).all())


def test_sparse_then_dense_follows_its_recursion_and_defaults():
    ent, v = joma.sparse_then_dense(4, steps=3, eta=0.5, tau=2.0, v0=0.25, seed=3, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    mu = (torch.rand(4, generator=g, dtype=torch.float32) * 3 + 1).double().sort().values  # sorted U[1, 4]
    w = torch.full((4,), 0.25, dtype=F64)
    for i in range(3):
        sa = torch.softmax(w * w / 2.0, 0)
        assert ent[i] == pytest.approx(float(-(sa * sa.log()).sum()), abs=1e-15)
        w = w + 0.5 * (mu - w) * sa
    assert torch.allclose(v, w, atol=1e-15, rtol=0)
    d_ent, d_v = joma.sparse_then_dense()
    e_ent, e_v = joma.sparse_then_dense(10, steps=5000, eta=0.02, tau=3.0, v0=0.05, seed=0, dtype=torch.float32)
    assert d_ent.shape == (5000,) and np.array_equal(d_ent, e_ent) and torch.equal(d_v, e_v)
    assert torch.equal(joma.sparse_then_dense(2, steps=1, eta=0.0)[1], torch.full((2,), 0.05))  # eta = 0: frozen
    for kwargs, expect in (
        ({"n": 1}, "n must be >= 2, got 1"),
        ({"steps": 0}, "steps must be >= 1, got 0"),
        ({"eta": -0.1}, "eta must be >= 0, got -0.1"),
        ({"tau": 0.0}, "tau must be > 0, got 0.0"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
    ):
        assert msg(ValueError, joma.sparse_then_dense, **kwargs) == expect


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_sparse_then_dense_runs_in_the_requested_dtype(dtype):
    ent, v = joma.sparse_then_dense(4, steps=3, dtype=dtype)
    assert v.dtype == dtype and ent.dtype == np.float64 and ent.shape == (3,)
    assert ent[0] == pytest.approx(math.log(4), abs=4e-3)  # v(0) constant: uniform softmax; 16-bit log rounding
