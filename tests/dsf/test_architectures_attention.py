"""attnmath.dsf.architectures_attention: the attention DSFs against their native forms, and bad inputs."""

from __future__ import annotations

import pytest
import torch

from attnmath.dsf import (
    linear_attention_dsf,
    normalized_attention_dsf,
    separable_attention_dsf,
    softmax_taylor_dsf,
)
from attnmath.dsf import native_attention as NA
from tests._helpers import gen
from tests._helpers import randn as _r
from tests._helpers import rel_err as _rel

F64 = torch.float64
EPS = torch.finfo(F64).eps
RTOL = 1e-12  # float64 identities at L <= 32: roundoff ~ L eps


def test_linear_attention_has_state_m_times_dv_and_elu_features():
    g = gen(2)
    u = _r(g, 10, 4)
    WQ, WK, WV = _r(g, 3, 4), _r(g, 3, 4), _r(g, 2, 4)
    dsf = linear_attention_dsf(u, WQ, WK, WV, realization="output")
    assert dsf.N == 6 and dsf.structure == "scalar" and bool((dsf.lam == 1).all())
    y = NA.katharopoulos_attention(u @ WQ.T, u @ WK.T, u @ WV.T)
    assert _rel(dsf.recurrent(u), y) <= RTOL


def test_softmax_truncation_approaches_softmax_as_the_order_grows():
    g = gen(3)
    u = 0.3 * _r(g, 12, 3)
    WQ, WK, WV = _r(g, 2, 3), _r(g, 2, 3), _r(g, 2, 3)
    exact = NA.softmax_attention_causal(u @ WQ.T, u @ WK.T, u @ WV.T)
    errs = [float((softmax_taylor_dsf(u, WQ, WK, WV, P).recurrent(u) - exact).abs().max()) for P in (2, 4, 8)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-8


def test_normalized_attention_recurrent_lambda_can_exceed_one():
    g = gen(4)
    u = _r(g, 16, 3)
    args = (_r(g, 2, 3), _r(g, 2), _r(g, 2, 3), _r(g, 2), _r(g, 2, 3), _r(g, 3), 0.1)
    dsf = normalized_attention_dsf(u, *args)
    assert bool((dsf.lam > 1).any())
    assert _rel(dsf.parallel(u), NA.normalized_attention(u, *args)) <= RTOL


def test_attention_constructor_bad_inputs_name_the_argument():
    g = gen(9)
    phi = _r(g, 4, 2)
    with pytest.raises(ValueError, match="eta must be positive"):
        separable_attention_dsf(phi, phi, torch.eye(2, dtype=F64), torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=F64))
    with pytest.raises(ValueError, match="realization must be one of"):
        separable_attention_dsf(phi, phi, torch.eye(2, dtype=F64), torch.ones(4, dtype=F64), realization="both")
    with pytest.raises(ValueError, match="psi_k must have shape"):
        separable_attention_dsf(phi, phi[:3], torch.eye(2, dtype=F64), torch.ones(4, dtype=F64))
