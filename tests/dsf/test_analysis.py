"""attnmath.dsf.analysis: numerical ranks, Taylor bounds, masked forms, log-normalisers, ZOH/Euler states.

Every function is checked against an independent definition written here (a step loop, a NumPy sum),
on batched inputs whose sizes are all distinct, and every validated argument at its boundary: the
boundary value is accepted and the first value outside raises with the message naming it.
Meta-device inputs check that helper tensors are created on the input's device.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from attnmath.dsf import DSF, STRUCTURES
from attnmath.dsf.analysis import (
    diag_ssm_states,
    hankel_ranks,
    normalized_output_bound,
    normalized_output_range_bound,
    numerical_rank,
    s6_masked_attention,
    softmax_hankel_rank,
    softmax_log_normalizers,
    ssd_masked_attention,
    taylor_ratio_bound,
    taylor_remainder_bound,
)
from attnmath.dsf.sampling import random_dsf
from attnmath.memory import delta_rule_cyclic
from tests._helpers import gen, msg, rand
from tests._helpers import randn as _r

F64 = torch.float64
# float64 identities on sums of <= 8 products of O(1) numbers (exponentials of non-positive
# arguments): roundoff ~ 8 x 2.2e-16; 1e-12 leaves a wide margin for the accumulation order.
TOL = 1e-12


def uniform(*shape, seed=0, lo=0.0, hi=1.0):
    return lo + (hi - lo) * torch.rand(*shape, generator=gen(seed), dtype=F64)


# ----------------------------------------------------------------------------- numerical_rank
def test_numerical_rank():
    M = torch.outer(torch.arange(1.0, 5, dtype=F64), torch.arange(1.0, 4, dtype=F64))
    assert numerical_rank(M) == 1 and numerical_rank(torch.eye(3, dtype=F64)) == 3


def test_numerical_rank_threshold_is_strict_and_relative_to_the_largest_singular_value():
    M = torch.diag(torch.tensor([1.0, 0.5, 0.25], dtype=F64))
    assert numerical_rank(M, 0.5) == 1  # 0.5 is not > 0.5 * 1
    assert numerical_rank(M, 0.4999) == 2 and numerical_rank(M, 0.2499) == 3 and numerical_rank(M, 0.25) == 2
    assert numerical_rank(2 * M, 0.5) == 1  # relative: scaling M changes nothing
    assert numerical_rank(M, 1.0) == 0  # nothing is > the largest
    small = torch.diag(torch.tensor([0.5, 0.25], dtype=F64))  # largest singular value < 1
    assert numerical_rank(small) == 2 and numerical_rank(small, 0.5) == 1
    r = numerical_rank(M)
    assert r == 3 and type(r) is int
    # default rtol 1e-10
    assert numerical_rank(torch.diag(torch.tensor([1.0, 2e-10], dtype=F64))) == 2
    assert numerical_rank(torch.diag(torch.tensor([1.0, 5e-11], dtype=F64))) == 1
    assert numerical_rank(torch.zeros(3, 2, dtype=F64)) == 0
    assert numerical_rank(torch.ones(1, 4, dtype=F64)) == 1


def test_numerical_rank_errors_name_the_argument():
    assert msg(ValueError, numerical_rank, torch.ones(3, dtype=F64)) == "M must have 2 dimensions, got shape [3]"
    assert msg(TypeError, numerical_rank, [[1.0]]) == "M must be a torch.Tensor, got list"
    assert msg(ValueError, numerical_rank, torch.eye(2, dtype=F64), 0.0) == "rtol must be > 0, got 0.0"
    assert msg(ValueError, numerical_rank, torch.eye(2, dtype=F64), -1e-3) == "rtol must be > 0, got -0.001"


# ----------------------------------------------------------------------------- hankel_ranks
@pytest.mark.parametrize("structure", STRUCTURES)
def test_hankel_rank_at_most_state_size(structure):
    dsf = random_dsf(structure, L=10, N=2, d=2, p=2, seed=7)
    ranks = hankel_ranks(dsf)
    assert max(ranks) <= 2 and ranks[4] == 2


def _two_batch_dsf():
    """Batch [2]: element 0 generic with N=2 (Hankel ranks min(t, L-t, 2)), element 1 with C = 0."""
    L, N = 5, 2
    lam = uniform(2, L, N, seed=1, lo=0.3, hi=0.9)
    B = rand(2, L, N, 1, seed=2)
    C = rand(2, L, 1, N, seed=3)
    C[1] = 0.0
    return DSF(lam, B, C)


def test_hankel_ranks_cover_every_split_of_the_first_batch_element():
    dsf = _two_batch_dsf()
    assert hankel_ranks(dsf) == [1, 2, 2, 1]  # min(t, L - t, N) for t = 1..4
    assert hankel_ranks(dsf, 1.0) == [0, 0, 0, 0]  # rtol is passed on: nothing exceeds the largest
    H = dsf.hankel_block(2)[0]
    s = torch.linalg.svdvals(H)
    cut = float(s[1] / s[0])
    assert hankel_ranks(dsf, cut * 1.001)[1] == 1 and hankel_ranks(dsf, cut * 0.999)[1] == 2


# ----------------------------------------------------------------------------- softmax_hankel_rank
def _softmax_block_ratio(q, k, t, s):
    """sigma_2 / sigma_1 of the causal softmax block A[t:, :t], computed with NumPy."""
    q, k = q.numpy(), k.numpy()
    L = q.shape[0]
    logits = s * q @ k.T
    A = np.zeros((L, L))
    for i in range(L):
        w = np.exp(logits[i, : i + 1] - logits[i, : i + 1].max())
        A[i, : i + 1] = w / w.sum()
    sv = np.linalg.svd(A[t:, :t], compute_uv=False)
    return sv[1] / sv[0]


@pytest.mark.parametrize("scale", [None, 0.7])
def test_softmax_hankel_rank_uses_the_scale_and_the_rtol(scale):
    q, k = rand(5, 3, seed=4), rand(5, 3, seed=5)
    s = 1 / math.sqrt(3) if scale is None else scale
    ratio = _softmax_block_ratio(q, k, 2, s)
    assert 1e-6 < ratio < 0.5
    # the cut sits 1e-6 (relative) on each side of sigma_2/sigma_1: far above float64 roundoff
    assert softmax_hankel_rank(q, k, 2, ratio * (1 - 1e-6), scale) == 3 - 1  # [3, 2] block: rank 2
    assert softmax_hankel_rank(q, k, 2, ratio * (1 + 1e-6), scale) == 1
    assert softmax_hankel_rank(q, k, 2, 1.0, scale) == 0
    assert softmax_hankel_rank(q, k, 2, scale=scale) == 2
    assert softmax_hankel_rank(q, k, 1, scale=scale) == 1 and softmax_hankel_rank(q, k, 4, scale=scale) == 1


def test_softmax_hankel_rank_errors_name_the_argument():
    q = rand(4, 2, seed=6)
    assert msg(ValueError, softmax_hankel_rank, q[0], q[0], 1) == "q must have 2 dimensions, got shape [2]"
    assert msg(ValueError, softmax_hankel_rank, q, rand(4, 3), 1) == "k must have shape [4, 2], got [4, 3]"
    assert msg(ValueError, softmax_hankel_rank, q, q, 0) == "t must be >= 1, got 0"
    assert msg(ValueError, softmax_hankel_rank, q, q, 4) == "t must be <= 3, got 4"
    assert msg(TypeError, softmax_hankel_rank, q, q, 1.0) == "t must be an int, got float"


# ----------------------------------------------------------------------------- Taylor bounds
def test_taylor_bounds_and_rank_helpers():
    assert taylor_remainder_bound(0.5, 2) == pytest.approx(0.5**3 * math.exp(0.5) / 6, rel=1e-15)
    assert taylor_ratio_bound(0.5, 2) == pytest.approx(0.5**3 * math.exp(0.5) / 6, rel=1e-15)
    assert normalized_output_bound(0.5, 2.0) == pytest.approx(4.0)
    with pytest.raises(ValueError, match=r"delta must be < 1\.0"):
        normalized_output_bound(1.0, 1.0)
    g = gen(10)
    q, k = _r(g, 32, 2), _r(g, 32, 2)
    assert softmax_hankel_rank(q, k, 16) > 8
    # the memory chapter's delta rule, as claim dsf.hebbian-capacity (attnmath.synthesis.claims.dsf_memory) uses it
    keys = F.normalize(_r(g, 3, 5), dim=-1)
    vals = _r(g, 3, 2)
    M = delta_rule_cyclic(keys, vals, 1.0, 100)
    assert (keys @ M.T - vals).abs().max() < 1e-10


def test_taylor_bounds_closed_forms():
    # R^(P+1) e^R / (P+1)! for both (the ratio |T_P(s)/e^s - 1| also has the factor e^R), evaluated by hand
    assert taylor_remainder_bound(2.0, 1) == pytest.approx(2 * math.e**2, rel=1e-15)
    assert taylor_remainder_bound(1.5, 2) == pytest.approx(1.5**3 * math.exp(1.5) / 6, rel=1e-15)
    assert taylor_remainder_bound(3.0, 0) == pytest.approx(3 * math.exp(3.0), rel=1e-15)
    assert taylor_remainder_bound(0.0, 2) == 0.0
    assert taylor_ratio_bound(2.0, 1) == pytest.approx(2 * math.e**2, rel=1e-15)
    assert taylor_ratio_bound(1.5, 2) == pytest.approx(1.5**3 * math.exp(1.5) / 6, rel=1e-15)
    assert taylor_ratio_bound(0.5, 0) == pytest.approx(0.5 * math.exp(0.5), rel=1e-15)
    assert taylor_ratio_bound(0.0, 3) == 0.0
    for fn in (taylor_remainder_bound, taylor_ratio_bound):
        assert msg(ValueError, fn, -0.5, 1) == "R must be >= 0, got -0.5"
        assert msg(ValueError, fn, 1.0, -1) == "order must be >= 0, got -1"
        assert msg(TypeError, fn, 1.0, 1.0) == "order must be an int, got float"
        assert msg(TypeError, fn, "1", 1) == "R must be a real number, got str"


def test_normalized_output_bound():
    assert normalized_output_bound(0.5, 3.0) == 6.0  # 2 x 0.5 / 0.5 x 3
    assert normalized_output_bound(0.2, 1.0) == pytest.approx(0.5, rel=1e-15)
    assert normalized_output_bound(0.0, 2.0) == 0.0 and normalized_output_bound(0.5, 0.0) == 0.0
    assert normalized_output_bound(0.999, 1.0) == pytest.approx(1998.0, rel=1e-12)
    assert msg(ValueError, normalized_output_bound, 1.0, 1.0) == "delta must be < 1.0, got 1.0"
    assert msg(ValueError, normalized_output_bound, 1.5, 1.0) == "delta must be < 1.0, got 1.5"
    assert msg(ValueError, normalized_output_bound, -0.1, 1.0) == "delta must be >= 0, got -0.1"
    assert msg(ValueError, normalized_output_bound, 0.5, -1.0) == "vmax must be >= 0, got -1.0"
    assert msg(TypeError, normalized_output_bound, 0.5, "1") == "vmax must be a real number, got str"


def test_taylor_ratio_bound_covers_the_weight_ratio():
    # |T_P(s)/e^s - 1| on a grid of |s| <= R, computed here from the series: below the bound, and within
    # e^R of it at s = -R (the bound is attained up to the factor e^(xi - s) of the Lagrange form)
    for R, P in ((0.5, 1), (1.2, 3), (2.0, 4)):
        s = torch.linspace(-R, R, 2001, dtype=F64)
        T = sum(s**p / math.factorial(p) for p in range(P + 1))
        worst = float((T / torch.exp(s) - 1).abs().max())
        assert worst <= taylor_ratio_bound(R, P)
        assert worst >= taylor_ratio_bound(R, P) * math.exp(-2 * R)


def test_normalized_output_range_bound():
    assert normalized_output_range_bound(0.5, 3.0) == 3.0  # 0.5 / 0.5 x 3: equal to the trivial bound at delta = 1/2
    assert normalized_output_range_bound(0.2, 1.0) == pytest.approx(0.25, rel=1e-15)
    assert normalized_output_range_bound(0.0, 2.0) == 0.0 and normalized_output_range_bound(0.5, 0.0) == 0.0
    assert msg(ValueError, normalized_output_range_bound, 1.0, 1.0) == "delta must be < 1.0, got 1.0"
    assert msg(ValueError, normalized_output_range_bound, -0.1, 1.0) == "delta must be >= 0, got -0.1"
    assert msg(ValueError, normalized_output_range_bound, 0.5, -1.0) == "v_range must be >= 0, got -1.0"
    assert msg(TypeError, normalized_output_range_bound, 0.5, "1") == "v_range must be a real number, got str"
    # a perturbation of softmax weights by |eps_j| <= delta moves the output by at most the bound (random trials)
    g = gen(11)
    for _ in range(20):
        w = torch.softmax(_r(g, 7), 0)
        eps = 0.3 * (2 * torch.rand(7, generator=g, dtype=F64) - 1)
        v = _r(g, 7)
        wt = w * (1 + eps) / (w * (1 + eps)).sum()
        change = float((wt @ v - w @ v).abs())
        assert change <= normalized_output_range_bound(0.3, float(v.max() - v.min())) + 1e-15


# ----------------------------------------------------------------------------- masked forms
def _s6_loop(u, delta, A, B, C, D=None):
    """h_i = exp(Delta_i a) * h_{i-1} + Delta_i u_i b_i per channel k; y_i^k = c_i . h_i^k + D_k u_i^k."""
    *batch, L, d = u.shape
    n = A.shape[-1]
    h = torch.zeros(*batch, d, n, dtype=u.dtype)
    ys = []
    for i in range(L):
        h = (
            torch.exp(delta[..., i, :, None] * A) * h
            + (delta[..., i, :] * u[..., i, :])[..., None] * B[..., i, None, :]
        )
        y = (h * C[..., i, None, :]).sum(-1)
        ys.append(y if D is None else y + D * u[..., i, :])
    return torch.stack(ys, dim=-2)


def test_s6_masked_attention_equals_the_selective_scan():
    L, d, n = 6, 3, 4
    u, delta = rand(2, L, d, seed=7), uniform(2, L, d, seed=8, lo=0.1, hi=1.0)
    A = -uniform(d, n, seed=9, lo=0.2, hi=2.0)
    B, C, D = rand(2, L, n, seed=10), rand(2, L, n, seed=11), rand(d, seed=12)
    y = s6_masked_attention(u, delta, A, B, C, D)
    assert y.shape == (2, L, d)
    assert torch.allclose(y, _s6_loop(u, delta, A, B, C, D), rtol=0, atol=TOL)
    y0 = s6_masked_attention(u, delta, A, B, C)
    assert torch.allclose(y0, _s6_loop(u, delta, A, B, C), rtol=0, atol=TOL)
    assert torch.allclose(y - y0, D * u, rtol=0, atol=TOL)
    assert torch.allclose(s6_masked_attention(u[1], delta[1], A, B[1], C[1]), y0[1], rtol=0, atol=TOL)


def test_s6_masked_attention_never_exponentiates_the_acausal_triangle():
    # |a| Delta = 200 per step: exp(a (t_i - t_j)) for j > i would overflow to inf (and inf x 0 = nan);
    # on the causal triangle the off-diagonal terms are <= e^-200, so y_i = (c_i . b_i) Delta_i u_i.
    L, d, n = 5, 2, 3
    u, delta = rand(L, d, seed=13), uniform(L, d, seed=14, lo=1.0, hi=2.0)
    A = torch.full((d, n), -200.0, dtype=F64)
    B, C = rand(L, n, seed=15), rand(L, n, seed=16)
    y = s6_masked_attention(u, delta, A, B, C)
    assert torch.isfinite(y).all()
    expect = (C * B).sum(-1)[:, None] * delta * u
    assert torch.allclose(y, expect, rtol=0, atol=TOL)


def _ssd_loop(x, dt, A, B, C):
    """h_i = exp(dt_i a_h) h_{i-1} + b_i (dt_i x_i)^T per head h (state [n, P]); y_i = h_i^T c_i."""
    *batch, L, H, P = x.shape
    n = B.shape[-1]
    h = torch.zeros(*batch, H, n, P, dtype=x.dtype)
    ys = []
    for i in range(L):
        inp = B[..., i, None, :, None] * (dt[..., i, :, None] * x[..., i, :, :])[..., :, None, :]
        h = torch.exp(dt[..., i, :] * A)[..., None, None] * h + inp
        ys.append((C[..., i, None, :, None] * h).sum(-2))
    return torch.stack(ys, dim=-3)


def test_ssd_masked_attention_equals_the_per_head_recurrence():
    L, H, P, n = 6, 3, 2, 4
    x, dt = rand(2, L, H, P, seed=17), uniform(2, L, H, seed=18, lo=0.1, hi=1.0)
    A = -uniform(H, seed=19, lo=0.2, hi=2.0)
    B, C = rand(2, L, n, seed=20), rand(2, L, n, seed=21)
    y = ssd_masked_attention(x, dt, A, B, C)
    assert y.shape == (2, L, H, P)
    assert torch.allclose(y, _ssd_loop(x, dt, A, B, C), rtol=0, atol=TOL)
    assert torch.allclose(ssd_masked_attention(x[0], dt[0], A, B[0], C[0]), y[0], rtol=0, atol=TOL)


@pytest.mark.parametrize("scale", [None, 0.3])
def test_softmax_log_normalizers_are_causal_logsumexps(scale):
    q, k = rand(2, 5, 3, seed=22), rand(2, 5, 3, seed=23)
    s = 1 / math.sqrt(3) if scale is None else scale
    out = softmax_log_normalizers(q, k, scale)
    assert out.shape == (2, 5)
    qn, kn = q.numpy(), k.numpy()
    for b in range(2):
        for i in range(5):
            expect = math.log(sum(math.exp(s * float(qn[b, i] @ kn[b, j])) for j in range(i + 1)))
            assert abs(float(out[b, i]) - expect) <= TOL


def test_diag_ssm_states_closed_form():
    lam, gain, u = torch.tensor([0.5, -0.25], dtype=F64), torch.tensor([2.0, 3.0], dtype=F64), rand(5, seed=24)
    H = diag_ssm_states(lam, gain, u)
    assert H.shape == (5, 2) and H.dtype == F64
    for i in range(5):
        expect = sum(lam ** (i - j) * gain * u[j] for j in range(i + 1))
        assert torch.allclose(H[i], expect, rtol=0, atol=TOL)


def test_masked_forms_build_their_masks_on_the_input_device():
    q = torch.zeros(2, 4, 3, device="meta")
    assert softmax_log_normalizers(q, q).device.type == "meta"
    u, A, B = torch.zeros(4, 2, device="meta"), torch.zeros(2, 3, device="meta"), torch.zeros(4, 3, device="meta")
    y = s6_masked_attention(u, u, A, B, B)
    assert y.device.type == "meta" and y.shape == (4, 2)
