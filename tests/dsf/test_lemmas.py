"""attnmath.dsf.lemmas: Lemma 1's monomial features, Lemma 2's embedding, the S6/attention maps, the block form.

Each function is checked against an independent definition written here (a brute-force sum over
multi-indices, a step loop, an explicit matrix product in NumPy), and each validated argument raises
with a message naming it.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
import torch

from attnmath.dsf import STRUCTURES, s6_dsf, separable_attention_dsf
from attnmath.dsf import lemmas as LM
from attnmath.dsf.sampling import random_dsf
from tests._helpers import gen, msg, rand, rel_err
from tests._helpers import randn as _r

F64 = torch.float64
# float64 identities on sums of a few hundred products of O(1) numbers: roundoff ~ 1e-14; 1e-12 leaves margin.
TOL = 1e-12


# ---------------------------------------------------------------------------------------------- Lemma 1
@pytest.mark.parametrize("m, order", [(1, 0), (1, 5), (2, 3), (3, 4)])
def test_multi_indices_are_all_exponents_up_to_order(m, order):
    got = LM.multi_indices(m, order)
    brute = [a for a in itertools.product(range(order + 1), repeat=m) if sum(a) <= order]
    assert sorted(got) == sorted(brute)
    assert len(got) == len(set(got)) == LM.monomial_feature_dim(m, order) == math.comb(m + order, order)
    assert [sum(a) for a in got] == sorted(sum(a) for a in got)  # by degree


@pytest.mark.parametrize("m, order", [(1, 4), (2, 3), (3, 5)])
def test_monomial_kernel_is_taylor_polynomial_of_exp(m, order):
    q, k = rand(4, 5, m, seed=1), rand(4, 5, m, seed=2)
    fq, fk = LM.monomial_features(q, order), LM.monomial_features(k, order)
    assert fq.shape == (4, 5, math.comb(m + order, order))
    s = (q * k).sum(-1)
    taylor = sum(s**p / math.factorial(p) for p in range(order + 1))
    assert rel_err((fq * fk).sum(-1), taylor) < TOL


def test_monomial_features_one_entry_by_hand():
    x = torch.tensor([2.0, 3.0], dtype=F64)
    f = LM.monomial_features(x, 2)
    idx = LM.multi_indices(2, 2).index((1, 1))
    assert f[idx].item() == pytest.approx(6.0)  # x1 x2 / sqrt(1! 1!)
    idx = LM.multi_indices(2, 2).index((2, 0))
    assert f[idx].item() == pytest.approx(4.0 / math.sqrt(2.0))


def test_monomial_features_converge_to_exp_kernel():
    q, k = 0.5 * rand(6, 2, seed=3), 0.5 * rand(6, 2, seed=4)
    f = LM.monomial_features
    assert rel_err(f(q, 20) @ f(k, 20).T, torch.exp(q @ k.T)) < TOL


def test_monomial_kernel_difference_is_zero_and_detects_errors():
    assert sp.simplify(LM.monomial_kernel_difference(2, 3)) == 0
    assert sp.simplify(LM.monomial_kernel_difference(1, 2) + sp.Symbol("q1")) != 0


def test_lemma1_validation():
    assert "x must be a torch.Tensor" in msg(TypeError, LM.monomial_features, [1.0], 2)
    assert "order" in msg(ValueError, LM.monomial_features, rand(3, 2), -1)
    assert "m" in msg(ValueError, LM.multi_indices, 0, 2)
    assert "order" in msg(ValueError, LM.monomial_feature_dim, 2, -1)


# ---------------------------------------------------------------------------------------------- Lemma 2
@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("dense_extra", [False, True])
def test_embed_dsf_keeps_outputs_and_adds_states(structure, dense_extra):
    small = random_dsf(structure, L=7, N=3, d=2, p=4, batch=(2,), seed=5)
    g = gen(6)
    E = 2
    lam_e = _r(g, 2, 7, E, E) * 0.3 if dense_extra else 0.5 * torch.ones(2, 7, E, dtype=F64)
    B_e = _r(g, 2, 7, E, 2)
    coupling = _r(g, 2, 7, E, 3) if dense_extra else None
    big = LM.embed_dsf(small, lam_e, B_e, coupling)
    assert big.N == 5 and big.p == 4 and big.d == 2
    want = "dense" if (dense_extra or structure in ("dplr", "dense")) else "diagonal"
    assert big.structure == want
    u = _r(g, 2, 7, 2)
    y, H = big.recurrent(u, return_state=True)
    assert rel_err(y, small.recurrent(u)) < TOL
    assert float(H[..., 3:].abs().max()) > 0.1  # the extra states are used


def test_embed_dsf_blocks_are_those_of_the_construction():
    small = random_dsf("diagonal", L=3, N=1, d=1, seed=7, feedthrough=False)
    big = LM.embed_dsf(small, torch.full((3, 1), 0.5, dtype=F64), torch.ones(3, 1, 1, dtype=F64))
    dl = big.dense_lam()
    assert torch.equal(dl[:, 0, 0], small.lam[:, 0]) and torch.equal(dl[:, 1, 1], torch.full((3,), 0.5, dtype=F64))
    assert torch.equal(big.C[..., 1], torch.zeros(3, 1, dtype=F64))


def test_embed_dsf_validation():
    small = random_dsf("diagonal", L=4, N=2, d=3, seed=8)
    B_e = torch.zeros(4, 1, 3, dtype=F64)
    assert "dsf must be a DSF" in msg(TypeError, LM.embed_dsf, "x", torch.zeros(4, 1, dtype=F64), B_e)
    assert "extra_B must have shape" in msg(ValueError, LM.embed_dsf, small, torch.zeros(4, 1, dtype=F64), B_e[..., :2])
    assert "extra_lam must have shape" in msg(ValueError, LM.embed_dsf, small, torch.zeros(4, 2, dtype=F64), B_e)
    assert "coupling must have shape" in msg(
        ValueError, LM.embed_dsf, small, torch.zeros(4, 1, dtype=F64), B_e, torch.zeros(4, 1, 3, dtype=F64)
    )
    assert "extra_lam" in msg(TypeError, LM.embed_dsf, small, torch.zeros(4, 1, dtype=torch.float32), B_e)


def test_embedding_difference_is_zero():
    assert sp.simplify(LM.embedding_difference(2, 1, 1)).is_zero_matrix


# ---------------------------------------------------------------------------------------------- L6(a), L6(c)
def test_s6_from_unnormalized_attention_matches_quadratic_form():
    g = gen(9)
    L, d, n = 6, 3, 2
    u, c, b = _r(g, L, d), _r(g, L, n), _r(g, L, n)
    delta = 0.1 + torch.rand(L, generator=g, dtype=F64)
    w = 0.5 + torch.rand(d, generator=g, dtype=F64)
    Delta, A, bb, cc = LM.s6_from_unnormalized_attention(c, b, delta, w)
    assert torch.equal(A, torch.zeros(d, n, dtype=F64)) and Delta.shape == (L, d)
    y = s6_dsf(u, Delta, A, bb, cc).recurrent(u)
    ref = np.zeros((L, d))
    for i in range(L):
        for j in range(i + 1):
            ref[i] += float(c[i] @ b[j]) * float(delta[j]) * (w * u[j]).numpy()
    assert rel_err(y, torch.from_numpy(ref)) < TOL
    att = separable_attention_dsf(c, delta[:, None] * b, torch.diag(w), torch.ones(L, dtype=F64))
    assert rel_err(att.recurrent(u), y) < TOL


def test_s6_from_unnormalized_attention_validation():
    c = rand(4, 2)
    assert "delta and w must be positive" in msg(
        ValueError, LM.s6_from_unnormalized_attention, c, c, -torch.ones(4, dtype=F64), torch.ones(3, dtype=F64)
    )
    assert "b must have shape" in msg(
        ValueError, LM.s6_from_unnormalized_attention, c, c[:, :1], torch.ones(4, dtype=F64), torch.ones(3, dtype=F64)
    )
    assert "w must have" in msg(
        ValueError, LM.s6_from_unnormalized_attention, c, c, torch.ones(4, dtype=F64), torch.ones(3, 1, dtype=F64)
    )


def test_s6_log_normalizers_ratios_are_the_s6_transition():
    g = gen(10)
    L, d, n = 7, 3, 4
    delta = 0.1 + torch.rand(2, L, d, generator=g, dtype=F64)
    A = -(0.2 + torch.rand(d, n, generator=g, dtype=F64))
    log_eta = LM.s6_log_normalizers(delta, A)
    assert log_eta.shape == (2, L, d, n)
    t = np.cumsum(delta.numpy(), axis=1)
    assert np.allclose(log_eta.numpy(), -t[..., None] * A.numpy(), rtol=0, atol=1e-14)
    u = _r(g, 2, L, d)
    s6 = s6_dsf(u, delta, A, _r(g, 2, L, n), _r(g, 2, L, n))
    prev = torch.cat([torch.zeros_like(log_eta[:, :1]), log_eta[:, :-1]], dim=1)
    assert rel_err(torch.exp(prev - log_eta).reshape(2, L, d * n), s6.lam) < TOL


def test_s6_log_normalizers_validation():
    assert "delta must be positive" in msg(ValueError, LM.s6_log_normalizers, -torch.ones(3, 2, dtype=F64), -rand(2, 4))
    assert "A must have shape" in msg(ValueError, LM.s6_log_normalizers, torch.ones(3, 2, dtype=F64), -rand(3, 4))


# ---------------------------------------------------------------------------------------------- L10 (S6), E1
def test_channel_hankel_block_is_the_channel_kernel():
    g = gen(11)
    L, d, n = 9, 2, 2
    u = _r(g, L, d)
    s6 = s6_dsf(
        u, 0.1 + torch.rand(L, d, generator=g, dtype=F64), -torch.ones(d, n, dtype=F64), _r(g, L, n), _r(g, L, n)
    )
    Phi = s6.blocks()
    H = LM.channel_hankel_block(s6, 1, 4)
    assert H.shape == (L - 4, 4)
    assert torch.equal(H, Phi[4:, :4, 1, 1])
    assert int(torch.linalg.matrix_rank(H)) == n


def test_channel_hankel_block_validation():
    dsf = random_dsf("diagonal", L=5, N=2, d=2, p=3, seed=12)
    assert "p == d" in msg(ValueError, LM.channel_hankel_block, dsf, 0, 2)
    sq = random_dsf("diagonal", L=5, N=2, d=2, seed=12)
    assert "channel" in msg(ValueError, LM.channel_hankel_block, sq, 2, 2)
    assert "t" in msg(ValueError, LM.channel_hankel_block, sq, 0, 5)
    assert "dsf must be a DSF" in msg(TypeError, LM.channel_hankel_block, None, 0, 1)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_explicit_phi_matrix_against_numpy_products(structure):
    dsf = random_dsf(structure, L=5, N=3, d=2, p=3, seed=13)
    Phi = LM.explicit_phi_matrix(dsf).numpy()
    lam, B, C, D = (t.numpy() for t in (dsf.dense_lam(), dsf.B, dsf.C, dsf.D))
    for i in range(5):
        for j in range(5):
            blk = Phi[3 * i : 3 * i + 3, 2 * j : 2 * j + 2]
            if j > i:
                assert not blk.any()
                continue
            P = np.eye(3)
            for l in range(i, j, -1):
                P = P @ lam[l]
            want = C[i] @ P @ B[j] + (D[i] if i == j else 0)
            assert np.abs(blk - want).max() < TOL * max(1.0, np.abs(want).max())
    u = _r(gen(14), 5, 2)
    assert rel_err(torch.from_numpy(Phi) @ u.reshape(-1), dsf.recurrent(u).reshape(-1)) < TOL


def test_explicit_phi_validation():
    dsf = random_dsf("diagonal", L=3, N=2, d=2, batch=(2,), seed=15)
    assert "unbatched" in msg(ValueError, LM.explicit_phi_matrix, dsf)
    assert "same length" in msg(ValueError, LM.explicit_phi_blocks, [1, 2], [1], [1, 2])
    assert "dsf must be a DSF" in msg(TypeError, LM.explicit_phi_matrix, 3)


def test_block_form_difference_is_zero_and_order_matters():
    assert LM.block_form_difference(3, 2, 1, 1).is_zero_matrix
    # the product order is visible: Λ_3 Λ_2 != Λ_2 Λ_3 for symbolic 2x2 matrices
    a = sp.Matrix(2, 2, sp.symbols("a0:4"))
    b = sp.Matrix(2, 2, sp.symbols("b0:4"))
    assert not (a * b - b * a).applyfunc(sp.expand).is_zero_matrix


def test_channel_hankel_block_reuses_given_blocks():
    dsf = random_dsf("diagonal", L=5, N=2, d=2, seed=16)
    Phi = dsf.blocks()
    assert torch.equal(LM.channel_hankel_block(dsf, 1, 3, Phi), LM.channel_hankel_block(dsf, 1, 3))
    assert "blocks must have shape" in msg(ValueError, LM.channel_hankel_block, dsf, 1, 3, Phi[:4])
