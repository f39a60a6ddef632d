"""attnmath.memory.hopfield: softmax (modern Hopfield) recall, separations and the retrieval error bound.

Hand-worked Gram matrices and separations, batched inputs against a per-slice recomputation, the
bound against the recall it bounds, validated arguments with the message that names them, and
allocations on the inputs' device (checked on the ``meta`` device).
"""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.memory import hopfield, hopfield_error_bound, separation, softmax_recall
from tests._helpers import meta, msg, rand

F64 = torch.float64
META = torch.device("meta")


def test_softmax_recall_and_hopfield_bound():
    g = torch.Generator().manual_seed(17)
    K = torch.randn(40, 16, generator=g, dtype=F64)
    K = K / K.norm(dim=1, keepdim=True)
    V = torch.randn(40, 3, generator=g, dtype=F64)
    beta = 8.0
    W = torch.softmax(beta * K @ K.T, dim=-1)
    torch.testing.assert_close(softmax_recall(K, V, K, beta), W @ V, atol=1e-14, rtol=0)
    err = (softmax_recall(K, V, K, beta) - V).norm(dim=1)
    assert bool((err <= hopfield_error_bound(K, V, beta)).all())
    G = K @ K.T
    j = 3
    assert math.isclose(
        float(separation(K)[j]), float(G[j, j] - torch.cat([G[j, :j], G[j, j + 1 :]]).max()), rel_tol=1e-14
    )


def test_separation_and_hopfield_bound_on_a_hand_example():
    keys = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]], dtype=F64)
    # Gram: [[1, .6, 0], [.6, 1, 1.6], [0, 1.6, 4]] -> Delta_j = G_jj - max_{i != j} G_ji
    assert torch.allclose(hopfield.separation(keys), torch.tensor([0.4, -0.6, 2.4], dtype=F64), atol=1e-15, rtol=0)
    values = torch.tensor([[3.0, 4.0], [0.0, 1.0], [1.0, 0.0]], dtype=F64)  # max ||v|| = 5
    bound = hopfield.hopfield_error_bound(keys, values, beta=2.0)
    expect = 2 * 2 * torch.exp(-2.0 * torch.tensor([0.4, -0.6, 2.4], dtype=F64)) * 5
    assert torch.allclose(bound, expect, atol=1e-13, rtol=0)


def test_hopfield_functions_batched():
    keys, values = rand(2, 3, 5, 4, seed=6), rand(2, 3, 5, 2, seed=7)
    values[1, 2] *= 10  # batch elements with different max ||v||
    sep = hopfield.separation(keys)
    assert sep.shape == (2, 3, 5)
    for i in range(2):
        for j in range(3):
            G = keys[i, j] @ keys[i, j].T
            off = G - torch.diag(torch.full((5,), math.inf, dtype=F64))
            assert torch.allclose(sep[i, j], G.diagonal() - off.amax(-1), atol=1e-14, rtol=0)
    bound = hopfield.hopfield_error_bound(keys, values, 0.5)
    vmax = values.norm(dim=-1).amax(-1)
    assert torch.allclose(bound, 2 * 4 * torch.exp(-0.5 * sep) * vmax[..., None], atol=1e-12, rtol=0)
    rec = hopfield.softmax_recall(keys, values, keys[..., :2, :], 3.0)
    w = torch.softmax(3.0 * keys[..., :2, :] @ keys.transpose(-1, -2), dim=-1)
    assert torch.allclose(rec, w @ values, atol=1e-14, rtol=0)


# ----------------------------------------------------------------------------- bad inputs
def test_non_positive_beta_raises():
    with pytest.raises(ValueError, match="beta"):
        softmax_recall(rand(3, 2), rand(3, 2), rand(1, 2), 0.0)


def test_hopfield_input_errors():
    k, v = rand(3, 2), rand(3, 2)
    assert msg(ValueError, hopfield.separation, rand(1, 3)) == "keys must hold at least 2 patterns, got shape [1, 3]"
    assert hopfield.separation(rand(2, 3)).shape == (2,)  # two patterns suffice
    assert msg(ValueError, hopfield.separation, rand(4)) == "keys must have 2 or 3 or 4 or 5 dimensions, got shape [4]"
    six = torch.ones(1, 1, 1, 1, 2, 2, dtype=F64)
    assert msg(ValueError, hopfield.separation, six).startswith("keys must have 2 or 3 or 4 or 5 dimensions")
    assert msg(ValueError, hopfield.hopfield_error_bound, k, v, 0.0) == "beta must be > 0, got 0.0"
    assert msg(ValueError, hopfield.softmax_recall, k, v, k, -1.0) == "beta must be > 0, got -1.0"


# ----------------------------------------------------------------------------- devices
def test_separation_allocates_on_the_input_device():
    keys = meta(2, 5, 4)
    sep = hopfield.separation(keys)
    assert sep.device == META and sep.shape == (2, 5)


def test_allocations_follow_the_inputs_not_the_default_device():
    """torch.set_default_device("cuda") with CPU inputs is a real setting: every tensor a function allocates
    must follow its inputs. Here the default device is meta and the inputs live on the CPU."""
    g = torch.Generator().manual_seed(5)
    keys = torch.nn.functional.normalize(torch.randn(2, 4, 3, generator=g, dtype=F64), dim=-1)
    ref = hopfield.separation(keys)
    with torch.device("meta"):
        got = hopfield.separation(keys)
    assert got.device.type == "cpu" and torch.equal(got, ref), "separation"
