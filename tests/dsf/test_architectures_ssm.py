"""attnmath.dsf.architectures_ssm: S6 (Euler/ZOH, state layout), Mamba-2 heads, RetNet and GLA, the ZOH gain phi1."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attnmath.dsf import (
    gla_dsf,
    mamba2_ssd_dsf,
    phi1,
    retnet_dsf,
    s6_dsf,
    ssd_paper_dsf,
)
from attnmath.dsf import native_ssm as NS
from tests._helpers import gen
from tests._helpers import randn as _r
from tests._helpers import rel_err as _rel

F64 = torch.float64
EPS = torch.finfo(F64).eps
RTOL = 1e-12  # float64 identities at L <= 32: roundoff ~ L eps


def test_phi1():
    z = torch.tensor([-3.0, -1e-10, 0.0, 1e-3], dtype=F64)
    expect = torch.tensor([(math.exp(-3) - 1) / -3, 1 - 5e-11, 1.0, math.expm1(1e-3) / 1e-3], dtype=F64)
    assert torch.allclose(phi1(z), expect, rtol=4 * EPS, atol=0)


def test_s6_state_layout_and_zoh_gain():
    g = gen(5)
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
    g = gen(6)
    x, dt = _r(g, 1, 8, 2, 3), torch.rand(1, 8, 2, generator=g, dtype=F64)
    A, b, c = -torch.tensor([0.5, 2.0], dtype=F64), _r(g, 1, 8, 4), _r(g, 1, 8, 4)
    dsf = mamba2_ssd_dsf(x, dt, A, b, c)
    assert dsf.batch == (1, 2) and dsf.N == 12 and dsf.structure == "scalar"
    y = dsf.recurrent(x.movedim(-2, -3)).movedim(-3, -2)
    assert _rel(y, NS.mamba2_recurrent(x, dt, A, b, c)) <= RTOL


def test_retnet_and_gla_scale_default_is_inverse_sqrt_key_width():
    g = gen(7)
    q, k, v = _r(g, 1, 6, 4), _r(g, 1, 6, 4), _r(g, 1, 6, 2)
    y_default = retnet_dsf(q, k, v, torch.tensor([0.9], dtype=F64)).recurrent(v)
    y_one = retnet_dsf(q, k, v, torch.tensor([0.9], dtype=F64), scale=1.0).recurrent(v)
    assert torch.allclose(y_default, 0.5 * y_one, rtol=RTOL, atol=0)
    lg = F.logsigmoid(_r(g, 1, 6, 4))
    assert _rel(gla_dsf(q, k, v, lg).recurrent(v), NS.gla_recurrent(q, k, v, lg)) <= RTOL


def test_ssm_constructor_bad_inputs_name_the_argument():
    g = gen(9)
    u = _r(g, 4, 2)
    with pytest.raises(ValueError, match="A must have shape"):
        s6_dsf(u, u, -torch.ones(3, 2, dtype=F64), u, u)
    with pytest.raises(ValueError, match="discretization must be one of"):
        s6_dsf(u, u, -torch.ones(2, 2, dtype=F64), u, u, discretization="rk4")
    with pytest.raises(ValueError, match="log_gate must have shape"):
        gla_dsf(u, u, u, torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="gamma must lie in"):
        retnet_dsf(u[None], u[None], u[None], torch.tensor([1.5], dtype=F64))


def _s6_2_loop(u, w, beta, A_log, b, c, D):
    """S6_2 written out: one scalar step w.u_i per time step, the same for every channel k, plus the bias beta_k."""
    L, d = u.shape
    n = b.shape[-1]
    a = -math.exp(A_log)
    h = torch.zeros(d, n, dtype=F64)
    ys = []
    for i in range(L):
        step = F.softplus(torch.dot(u[i], w) + beta)  # [d]
        h = torch.exp(step[:, None] * a) * h + step[:, None] * b[i][None, :] * u[i][:, None]
        ys.append((h * c[i][None, :]).sum(-1) + D * u[i])
    return torch.stack(ys)


def test_s6_2_repeats_a_scalar_step_across_channels():
    g = gen(12)
    L, d, n = 9, 3, 2
    u, w, beta, b, c, D = _r(g, L, d), _r(g, d), _r(g, d), _r(g, L, n), _r(g, L, n), _r(g, d)
    for A_log in (0.0, 0.4):
        ref = _s6_2_loop(u, w, beta, A_log, b, c, D)
        assert _rel(NS.s6_2_ref(u, w, beta, torch.tensor(A_log, dtype=F64), b, c, D), ref) <= RTOL
        dsf = ssd_paper_dsf(u, w, beta, A_log, b, c, D)
        assert _rel(dsf.recurrent(u), ref) <= RTOL
        # every channel and state shares softplus^-1(Δ) - β_k = wᵀu_i: Λ = σ(-(wᵀu + β))^(e^A_log)
        lam = dsf.lam.reshape(L, d, n)
        expect = torch.sigmoid(-((u @ w)[:, None] + beta)) ** math.exp(A_log)
        assert torch.allclose(lam, expect[..., None].expand(L, d, n), rtol=0, atol=16 * EPS)


def test_s6_2_bad_inputs_name_the_argument():
    g = gen(13)
    u, b = _r(g, 5, 3), _r(g, 5, 2)
    w, beta = _r(g, 3), _r(g, 3)
    with pytest.raises(ValueError, match=r"w_dt must have shape \[d=3\]"):
        NS.s6_2_ref(u, _r(g, 4), beta, 0.0, b, b)
    with pytest.raises(ValueError, match=r"dt_bias must have shape \[d=3\]"):
        NS.s6_2_ref(u, w, _r(g, 2), 0.0, b, b)
    with pytest.raises(ValueError, match="B and C must have shape"):
        NS.s6_2_ref(u, w, beta, 0.0, _r(g, 4, 2), _r(g, 4, 2))
    with pytest.raises(TypeError, match=r"must be torch\.Tensors"):
        NS.s6_2_ref(u.numpy(), w, beta, 0.0, b, b)
    with pytest.raises(ValueError, match=r"w_dt must have shape \[3\]"):
        ssd_paper_dsf(u, _r(g, 4), beta, 0.0, b, b)
    with pytest.raises(ValueError, match=r"dt_bias must have shape \[3\]"):
        ssd_paper_dsf(u, w, _r(g, 2), 0.0, b, b)
    with pytest.raises(ValueError, match="B must have shape"):
        ssd_paper_dsf(u, w, beta, 0.0, _r(g, 4, 2), b)
