"""attnmath.dsf.features: elu+1, the Taylor features and the Kronecker helpers.

Checked against hand-expanded feature vectors and ``torch.kron``, with every validated argument at
its boundary (messages name the argument); meta and bf16 inputs keep their device and dtype.
"""

from __future__ import annotations

import math

import pytest
import torch

from attnmath.dsf.features import elu_plus_one, kron_eye_col, kron_eye_row, taylor_feature_dim, taylor_features
from tests._helpers import gen, msg, rand
from tests._helpers import randn as _r

F64 = torch.float64
EPS = torch.finfo(F64).eps
RTOL = 1e-12  # float64 identities at L <= 32: roundoff ~ L eps


def test_elu_plus_one():
    x = torch.tensor([-2.0, 0.0, 1.5], dtype=F64)
    assert torch.allclose(elu_plus_one(x), torch.tensor([math.exp(-2.0), 1.0, 2.5], dtype=F64), rtol=0, atol=2 * EPS)


def test_elu_plus_one_values_and_errors():
    x = torch.tensor([[-1.0, 0.0], [2.0, -3.0]], dtype=F64)
    expect = torch.tensor([[math.exp(-1.0), 1.0], [3.0, math.exp(-3.0)]], dtype=F64)
    assert torch.allclose(elu_plus_one(x), expect, rtol=1e-15, atol=0)  # one exp, float64 eps
    assert msg(TypeError, elu_plus_one, [1.0]) == "x must be a torch.Tensor, got list"


def test_taylor_feature_dim():
    assert taylor_feature_dim(3, 2) == 13 and taylor_feature_dim(1, 4) == 5 and taylor_feature_dim(2, 0) == 1
    assert taylor_feature_dim(2, 3) == 15
    assert msg(ValueError, taylor_feature_dim, 0, 2) == "m must be >= 1, got 0"
    assert msg(ValueError, taylor_feature_dim, 2, -1) == "order must be >= 0, got -1"
    assert msg(TypeError, taylor_feature_dim, 1.5, 2) == "m must be an int, got float"
    assert msg(TypeError, taylor_feature_dim, 2, 1.5) == "order must be an int, got float"


def test_taylor_features_inner_product_is_the_taylor_polynomial():
    g = gen(1)
    q, k = _r(g, 5, 3), _r(g, 5, 3)
    s = (q * k).sum(-1) / math.sqrt(3)
    for P in range(5):
        inner = (taylor_features(q, P) * taylor_features(k, P)).sum(-1)
        poly = sum(s**p / math.factorial(p) for p in range(P + 1))
        assert torch.allclose(inner, poly, rtol=RTOL, atol=0)
        assert taylor_features(q, P).shape[-1] == taylor_feature_dim(3, P) == sum(3**p for p in range(P + 1))


@pytest.mark.parametrize("scale", [None, 0.3])
def test_taylor_features_hand_expanded(scale):
    a, b = 0.7, -1.3
    s = 1 / math.sqrt(2) if scale is None else scale
    r = math.sqrt(s)
    # [1, sqrt(s) x, s vec(x x^T) / sqrt(2!), s^(3/2) vec(x^{(x)3}) / sqrt(3!)]
    expect = [1.0, r * a, r * b]
    expect += [s * v / math.sqrt(2) for v in (a * a, a * b, b * a, b * b)]
    expect += [s**1.5 * a1 * a2 * a3 / math.sqrt(6) for a1 in (a, b) for a2 in (a, b) for a3 in (a, b)]
    x = torch.tensor([a, b], dtype=F64)
    phi = taylor_features(x, 3, scale)
    assert phi.shape == (15,) and phi.dtype == F64
    assert torch.allclose(phi, torch.tensor(expect, dtype=F64), rtol=1e-14, atol=0)  # a few products, float64
    xb = rand(2, 3, 2, seed=25)
    phib = taylor_features(xb, 2, scale)
    assert phib.shape == (2, 3, 7)
    assert torch.allclose(phib[1, 2], taylor_features(xb[1, 2], 2, scale), rtol=0, atol=0)
    assert torch.equal(taylor_features(xb, 0, scale), torch.ones(2, 3, 1, dtype=F64))


def test_taylor_features_errors_name_the_argument():
    x = rand(3, 2, seed=26)
    assert msg(ValueError, taylor_features, x, -1) == "order must be >= 0, got -1"
    assert msg(ValueError, taylor_features, x, 2, 0.0) == "scale must be > 0, got 0.0"
    assert msg(ValueError, taylor_features, x, 2, -0.5) == "scale must be > 0, got -0.5"
    assert msg(TypeError, taylor_features, [1.0], 2) == "x must be a torch.Tensor, got list"
    assert msg(TypeError, taylor_features, x, 2.0) == "order must be an int, got float"


def test_kron_helpers_follow_the_column_major_convention():
    g = gen(0)
    v, w, S = _r(g, 3), _r(g, 2), _r(g, 3, 2)
    vec = lambda M: M.T.reshape(-1)  # noqa: E731 - column-major vec
    assert torch.allclose(kron_eye_col(v, 2) @ w, vec(torch.outer(v, w)), rtol=0, atol=4 * EPS)
    assert torch.allclose(kron_eye_row(v, 2) @ vec(S), S.T @ v, rtol=0, atol=8 * EPS)
    assert torch.equal(kron_eye_col(v, 2), torch.kron(torch.eye(2, dtype=F64), v[:, None]))


def test_kron_helpers_equal_torch_kron_per_slice_and_keep_dtype_and_device():
    v = rand(2, 3, seed=27)
    col, row = kron_eye_col(v, 4), kron_eye_row(v, 4)
    assert col.shape == (2, 12, 4) and row.shape == (2, 4, 12)
    eye = torch.eye(4, dtype=F64)
    for i in range(2):
        assert torch.equal(col[i], torch.kron(eye, v[i][:, None]))
        assert torch.equal(row[i], torch.kron(eye, v[i][None, :]))
    vb = v.to(torch.bfloat16)
    assert kron_eye_col(vb, 2).dtype == torch.bfloat16 and kron_eye_row(vb, 2).dtype == torch.bfloat16
    vm = torch.zeros(2, 3, device="meta")
    assert kron_eye_col(vm, 2).device.type == "meta" and kron_eye_row(vm, 2).device.type == "meta"
