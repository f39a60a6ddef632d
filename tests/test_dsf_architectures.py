"""Tests of the DSF constructors, feature maps and analysis helpers (attnmath.dsf.architectures_*, features, analysis)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attnmath.dsf import (
    deltanet_dsf,
    elu_plus_one,
    gla_dsf,
    kron_eye_col,
    kron_eye_row,
    linear_attention_dsf,
    mamba2_ssd_dsf,
    normalized_attention_dsf,
    phi1,
    qlstm_dsf,
    retnet_dsf,
    rglru_dsf,
    s6_dsf,
    separable_attention_dsf,
    softmax_taylor_dsf,
    taylor_feature_dim,
    taylor_features,
    titans_dsf,
)
from attnmath.dsf import native_attention as NA
from attnmath.dsf import native_rnn as NR
from attnmath.dsf import native_ssm as NS
from attnmath.dsf.analysis import (
    delta_rule_passes,
    normalized_output_bound,
    softmax_hankel_rank,
    taylor_ratio_bound,
    taylor_remainder_bound,
)

F64 = torch.float64
EPS = torch.finfo(F64).eps
RTOL = 1e-12  # float64 identities at L <= 32: roundoff ~ L eps


def _g(seed):
    return torch.Generator().manual_seed(seed)


def _r(g, *shape):
    return torch.randn(*shape, generator=g, dtype=F64)


def _rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def test_kron_helpers_follow_the_column_major_convention():
    g = _g(0)
    v, w, S = _r(g, 3), _r(g, 2), _r(g, 3, 2)
    vec = lambda M: M.T.reshape(-1)  # noqa: E731 - column-major vec
    assert torch.allclose(kron_eye_col(v, 2) @ w, vec(torch.outer(v, w)), rtol=0, atol=4 * EPS)
    assert torch.allclose(kron_eye_row(v, 2) @ vec(S), S.T @ v, rtol=0, atol=8 * EPS)
    assert torch.equal(kron_eye_col(v, 2), torch.kron(torch.eye(2, dtype=F64), v[:, None]))


def test_taylor_features_inner_product_is_the_taylor_polynomial():
    g = _g(1)
    q, k = _r(g, 5, 3), _r(g, 5, 3)
    s = (q * k).sum(-1) / math.sqrt(3)
    for P in range(5):
        inner = (taylor_features(q, P) * taylor_features(k, P)).sum(-1)
        poly = sum(s**p / math.factorial(p) for p in range(P + 1))
        assert torch.allclose(inner, poly, rtol=RTOL, atol=0)
        assert taylor_features(q, P).shape[-1] == taylor_feature_dim(3, P) == sum(3**p for p in range(P + 1))


def test_elu_plus_one_and_phi1():
    x = torch.tensor([-2.0, 0.0, 1.5], dtype=F64)
    assert torch.allclose(elu_plus_one(x), torch.tensor([math.exp(-2.0), 1.0, 2.5], dtype=F64), rtol=0, atol=2 * EPS)
    z = torch.tensor([-3.0, -1e-10, 0.0, 1e-3], dtype=F64)
    expect = torch.tensor([(math.exp(-3) - 1) / -3, 1 - 5e-11, 1.0, math.expm1(1e-3) / 1e-3], dtype=F64)
    assert torch.allclose(phi1(z), expect, rtol=4 * EPS, atol=0)


def test_linear_attention_has_state_m_times_dv_and_elu_features():
    g = _g(2)
    u = _r(g, 10, 4)
    WQ, WK, WV = _r(g, 3, 4), _r(g, 3, 4), _r(g, 2, 4)
    dsf = linear_attention_dsf(u, WQ, WK, WV, realization="output")
    assert dsf.N == 6 and dsf.structure == "scalar" and bool((dsf.lam == 1).all())
    y = NA.katharopoulos_attention(u @ WQ.T, u @ WK.T, u @ WV.T)
    assert _rel(dsf.recurrent(u), y) <= RTOL


def test_softmax_truncation_approaches_softmax_as_the_order_grows():
    g = _g(3)
    u = 0.3 * _r(g, 12, 3)
    WQ, WK, WV = _r(g, 2, 3), _r(g, 2, 3), _r(g, 2, 3)
    exact = NA.softmax_attention_causal(u @ WQ.T, u @ WK.T, u @ WV.T)
    errs = [float((softmax_taylor_dsf(u, WQ, WK, WV, P).recurrent(u) - exact).abs().max()) for P in (2, 4, 8)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-8


def test_normalized_attention_recurrent_lambda_can_exceed_one():
    g = _g(4)
    u = _r(g, 16, 3)
    args = (_r(g, 2, 3), _r(g, 2), _r(g, 2, 3), _r(g, 2), _r(g, 2, 3), _r(g, 3), 0.1)
    dsf = normalized_attention_dsf(u, *args)
    assert bool((dsf.lam > 1).any())
    assert _rel(dsf.parallel(u), NA.normalized_attention(u, *args)) <= RTOL


def test_s6_state_layout_and_zoh_gain():
    g = _g(5)
    u, delta = _r(g, 6, 2), torch.rand(6, 2, generator=g, dtype=F64)
    A = -torch.tensor([[1.0, 2.0, 3.0], [0.5, 1.5, 2.5]], dtype=F64)
    b, c = _r(g, 6, 3), _r(g, 6, 3)
    dsf = s6_dsf(u, delta, A, b, c, discretization="zoh")
    # state index k n + r: channel 1, state 2 decays with exp(Δ^(1) a^(1)_2)
    assert torch.allclose(dsf.lam[:, 1 * 3 + 2], torch.exp(delta[:, 1] * A[1, 2]), rtol=0, atol=2 * EPS)
    gain = (torch.exp(delta[:, 0, None] * A[0]) - 1) / A[0] * b  # ZOH input gain of channel 0
    assert torch.allclose(dsf.B[:, 0:3, 0], gain, rtol=1e-14, atol=0)
    assert torch.count_nonzero(dsf.B[:, 0:3, 1]) == 0
    assert _rel(dsf.recurrent(u), NS.selective_scan_zoh(u, delta, A, b, c)) <= RTOL


def test_mamba2_heads_become_batch_axes():
    g = _g(6)
    x, dt = _r(g, 1, 8, 2, 3), torch.rand(1, 8, 2, generator=g, dtype=F64)
    A, b, c = -torch.tensor([0.5, 2.0], dtype=F64), _r(g, 1, 8, 4), _r(g, 1, 8, 4)
    dsf = mamba2_ssd_dsf(x, dt, A, b, c)
    assert dsf.batch == (1, 2) and dsf.N == 12 and dsf.structure == "scalar"
    y = dsf.recurrent(x.movedim(-2, -3)).movedim(-3, -2)
    assert _rel(y, NS.mamba2_recurrent(x, dt, A, b, c)) <= RTOL


def test_retnet_and_gla_scale_default_is_inverse_sqrt_key_width():
    g = _g(7)
    q, k, v = _r(g, 1, 6, 4), _r(g, 1, 6, 4), _r(g, 1, 6, 2)
    y_default = retnet_dsf(q, k, v, torch.tensor([0.9], dtype=F64)).recurrent(v)
    y_one = retnet_dsf(q, k, v, torch.tensor([0.9], dtype=F64), scale=1.0).recurrent(v)
    assert torch.allclose(y_default, 0.5 * y_one, rtol=RTOL, atol=0)
    lg = F.logsigmoid(_r(g, 1, 6, 4))
    assert _rel(gla_dsf(q, k, v, lg).recurrent(v), NS.gla_recurrent(q, k, v, lg)) <= RTOL


def test_qlstm_rglru_deltanet_titans_structures():
    g = _g(8)
    x = _r(g, 7, 3)
    assert qlstm_dsf(x, _r(g, 9, 3), _r(g, 9)).structure == "diagonal"
    reset = torch.zeros(7, dtype=torch.bool)
    reset[3] = True
    rg = rglru_dsf(x, _r(g, 3, 3), _r(g, 3), _r(g, 3, 3), _r(g, 3), _r(g, 3), reset)
    assert bool((rg.lam[3] == 0).all()) and bool((rg.lam[:3] > 0).all())
    q, k, v = _r(g, 5, 3), F.normalize(_r(g, 5, 3), dim=-1), _r(g, 5, 2)
    beta = torch.rand(5, generator=g, dtype=F64)
    dn = deltanet_dsf(q, k, v, beta)
    assert dn.structure == "dplr" and dn.low_rank[0].shape == (5, 6, 2)
    assert _rel(dn.recurrent(v), NR.delta_rule_recurrent(q, k, v, beta)) <= RTOL
    th = 0.1 * torch.rand(5, generator=g, dtype=F64)
    ti = titans_dsf(q, k, v, th, th, th)
    assert ti.structure == "dense" and ti.N == 12


def test_constructor_bad_inputs_name_the_argument():
    g = _g(9)
    phi = _r(g, 4, 2)
    with pytest.raises(ValueError, match="eta must be positive"):
        separable_attention_dsf(phi, phi, torch.eye(2, dtype=F64), torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=F64))
    with pytest.raises(ValueError, match="realization must be one of"):
        separable_attention_dsf(phi, phi, torch.eye(2, dtype=F64), torch.ones(4, dtype=F64), realization="both")
    with pytest.raises(ValueError, match="psi_k must have shape"):
        separable_attention_dsf(phi, phi[:3], torch.eye(2, dtype=F64), torch.ones(4, dtype=F64))
    u = _r(g, 4, 2)
    with pytest.raises(ValueError, match="A must have shape"):
        s6_dsf(u, u, -torch.ones(3, 2, dtype=F64), u, u)
    with pytest.raises(ValueError, match="discretization must be one of"):
        s6_dsf(u, u, -torch.ones(2, 2, dtype=F64), u, u, discretization="rk4")
    with pytest.raises(ValueError, match="log_gate must have shape"):
        gla_dsf(u, u, u, torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="gamma must lie in"):
        retnet_dsf(u[None], u[None], u[None], torch.tensor([1.5], dtype=F64))
    with pytest.raises(ValueError, match="reset must be a bool tensor"):
        rglru_dsf(u, _r(g, 2, 2), _r(g, 2), _r(g, 2, 2), _r(g, 2), _r(g, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="beta must have shape"):
        deltanet_dsf(u, u, u, torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="W_g must have shape"):
        qlstm_dsf(u, _r(g, 5, 2), _r(g, 6))


def test_taylor_bounds_and_rank_helpers():
    assert taylor_remainder_bound(0.5, 2) == pytest.approx(0.5**3 * math.exp(0.5) / 6, rel=1e-15)
    assert taylor_ratio_bound(0.5, 2) == pytest.approx(0.5**3 * math.exp(1.0) / 6, rel=1e-15)
    assert normalized_output_bound(0.5, 2.0) == pytest.approx(4.0)
    with pytest.raises(ValueError, match=r"delta must be < 1\.0"):
        normalized_output_bound(1.0, 1.0)
    g = _g(10)
    q, k = _r(g, 32, 2), _r(g, 32, 2)
    assert softmax_hankel_rank(q, k, 16) > 8
    keys = F.normalize(_r(g, 3, 5), dim=-1)
    vals = _r(g, 3, 2)
    M = delta_rule_passes(keys, vals, 1.0, 100)
    assert (keys @ M.T - vals).abs().max() < 1e-10
