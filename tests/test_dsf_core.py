"""Unit, property and bad-input tests of the DSF object and its scan (attnmath.dsf.core, attnmath.dsf.scan)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.dsf import DSF, STRUCTURES, chunked_diag_scan, diag_transition_products, segsum
from attnmath.dsf.analysis import hankel_ranks, numerical_rank
from attnmath.dsf.sampling import random_dsf

F64 = torch.float64
EPS = torch.finfo(F64).eps
# Identities in float64: roundoff of sums of at most L*N products of O(1) numbers, L, N <= 32 here.
RTOL = 1e-12


def _rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- property tests
@settings(max_examples=40, deadline=None)
@given(
    structure=st.sampled_from(STRUCTURES),
    batch=st.lists(st.integers(1, 2), min_size=0, max_size=2).map(tuple),
    L=st.integers(1, 18),
    N=st.integers(1, 5),
    d=st.integers(1, 3),
    p=st.integers(1, 3),
    chunk=st.integers(1, 24),
    lam_range=st.sampled_from([(0.1, 0.99), (-0.99, 0.99), (0.5, 1.4), (0.0, 0.0)]),
    feedthrough=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_recurrent_parallel_chunked_agree(structure, batch, L, N, d, p, chunk, lam_range, feedthrough, seed):
    dsf = random_dsf(
        structure, L=L, N=N, d=d, p=p, batch=batch, lam_range=lam_range, feedthrough=feedthrough, seed=seed
    )
    u = torch.randn(*batch, L, d, generator=_gen(seed + 1), dtype=F64)
    y = dsf.recurrent(u)
    assert y.shape == (*batch, L, p)
    assert _rel(dsf.parallel(u), y) <= RTOL  # float64 roundoff, L, N <= 18
    y_mat = (dsf.matrix() @ u.reshape(*batch, L * d, 1)).reshape(*batch, L, p)
    assert _rel(y_mat, y) <= RTOL
    if structure in ("scalar", "diagonal"):
        assert _rel(dsf.chunked(u, chunk), y) <= RTOL
    else:
        with pytest.raises(ValueError, match="structure"):
            dsf.chunked(u, chunk)


@settings(max_examples=30, deadline=None)
@given(
    L=st.integers(1, 40),
    N=st.integers(1, 4),
    chunk=st.integers(1, 50),
    seed=st.integers(0, 10_000),
    scalar=st.booleans(),
)
def test_chunked_scan_with_initial_state_matches_loop(L, N, chunk, seed, scalar):
    g = _gen(seed)
    lam = torch.rand(L, generator=g, dtype=F64) if scalar else torch.rand(L, N, generator=g, dtype=F64)
    lam = lam * 2 - 1  # signs in (-1, 1)
    x = torch.randn(L, N, generator=g, dtype=F64)
    h0 = torch.randn(N, generator=g, dtype=F64)
    H, hL = chunked_diag_scan(lam, x, chunk, h0)
    h, hs = h0, []
    for i in range(L):
        h = lam[i] * h + x[i]  # a scalar λ_i broadcasts over the state
        hs.append(h)
    ref = torch.stack(hs)
    assert (H - ref).abs().max() <= 64 * L * EPS  # products of |λ| < 1 and sums of L terms: 64 L eps
    assert (hL - ref[-1]).abs().max() <= 64 * L * EPS


# ----------------------------------------------------------------------------- unit tests
def test_segsum_values_and_masking():
    x = torch.tensor([0.5, -1.0, 2.0, float("-inf")], dtype=F64)
    S = segsum(x)
    assert S[2, 0] == -1.0 + 2.0 and S[1, 1] == 0 and S[3, 1] == float("-inf")
    assert torch.isinf(S[0, 1]) and S[0, 1] < 0  # above the diagonal
    assert not torch.isnan(S).any()


def test_transition_products_convention_and_signs():
    lam = torch.tensor([[0.5], [-2.0], [0.0], [3.0]], dtype=F64)  # L=4, N=1
    P = diag_transition_products(lam)[..., 0]
    assert P[3, 1] == 3.0 * 0.0  # Λ_3 Λ_2 (excludes Λ_1)
    # exp(log|λ|) reproduces λ to a few ulps
    assert abs(P[1, 0] + 2.0) <= 8 * EPS and abs(P[3, 2] - 3.0) <= 8 * EPS and P[2, 2] == 1.0
    assert P[0, 1] == 0.0  # zero above the diagonal
    assert P[1, 1] == 1.0 and P[2, 1] == 0.0


def test_transition_products_dense_matches_explicit_product():
    dsf = random_dsf("dense", L=5, N=3, d=1, seed=3)
    P = dsf.transition_products()
    expect = dsf.lam[4] @ dsf.lam[3] @ dsf.lam[2]  # Λ_{4:1} = Λ_4 Λ_3 Λ_2
    assert torch.allclose(P[4, 1], expect, rtol=0, atol=8 * EPS)  # three 3x3 products, 8 eps
    assert torch.equal(P[2, 2], torch.eye(3, dtype=F64)) and torch.equal(P[1, 3], torch.zeros(3, 3, dtype=F64))


def test_log_space_products_survive_strong_decay():
    L = 300
    lam = torch.full((L, 1), math.exp(-5.0), dtype=F64)  # cumulative log-decay -1500
    x = torch.ones(L, 1, dtype=F64)
    H, _ = chunked_diag_scan(lam, x, 64)
    steady = 1 / (1 - math.exp(-5.0))
    assert torch.isfinite(H).all() and abs(H[-1, 0].item() - steady) <= 4 * EPS


def test_matrix_is_block_lower_triangular_with_feedthrough_on_the_diagonal():
    dsf = random_dsf("diagonal", L=4, N=2, d=2, p=3, seed=5)
    Phi = dsf.matrix()
    assert Phi.shape == (12, 8)
    assert torch.count_nonzero(Phi[:3, 2:]) == 0  # row block 0 sees only u_0
    diag = dsf.C[1] @ dsf.B[1] + dsf.D[1]
    assert torch.allclose(Phi[3:6, 2:4], diag, rtol=0, atol=4 * EPS)  # one product, 4 eps
    assert torch.allclose(dsf.transfer(1, 1), diag, rtol=0, atol=4 * EPS)


def test_recurrent_with_initial_state_and_returned_states():
    dsf = random_dsf("dplr", L=6, N=3, d=2, seed=6, feedthrough=False)
    u = torch.zeros(6, 2, dtype=F64)
    h0 = torch.randn(3, generator=_gen(0), dtype=F64)
    y, H = dsf.recurrent(u, h0, return_state=True)
    expect = h0
    for i in range(6):
        expect = dsf.dense_lam()[i] @ expect
    assert torch.allclose(H[-1], expect, rtol=0, atol=16 * EPS)  # 6 matrix-vector products, 16 eps
    assert torch.allclose(y, (dsf.C @ H[..., None])[..., 0], rtol=0, atol=0)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_hankel_rank_at_most_state_size(structure):
    dsf = random_dsf(structure, L=10, N=2, d=2, p=2, seed=7)
    ranks = hankel_ranks(dsf)
    assert max(ranks) <= 2 and ranks[4] == 2


def test_eigenvalues_by_structure():
    g = _gen(8)
    B, C = torch.randn(4, 3, 1, generator=g, dtype=F64), torch.randn(4, 1, 3, generator=g, dtype=F64)
    lam = torch.rand(4, generator=g, dtype=F64)
    assert torch.equal(DSF(lam, B, C, structure="scalar").eigenvalues(), lam[:, None].expand(4, 3))
    dense = random_dsf("dense", L=4, N=3, d=1, seed=8)
    ev = dense.eigenvalues()
    assert ev.is_complex() and ev.shape == (4, 3)
    assert torch.allclose(torch.sort(ev[0].abs()).values, torch.sort(torch.linalg.eigvals(dense.lam[0]).abs()).values)


def test_numerical_rank():
    M = torch.outer(torch.arange(1.0, 5, dtype=F64), torch.arange(1.0, 4, dtype=F64))
    assert numerical_rank(M) == 1 and numerical_rank(torch.eye(3, dtype=F64)) == 3


def test_repr_names_the_structure():
    assert "structure='diagonal'" in repr(random_dsf("diagonal", L=2, N=2, d=1))


# ----------------------------------------------------------------------------- bad inputs
def _parts(L=4, N=3, d=2, p=2, dtype=F64):
    g = _gen(9)
    return (
        torch.rand(L, N, generator=g, dtype=dtype),
        torch.randn(L, N, d, generator=g, dtype=dtype),
        torch.randn(L, p, N, generator=g, dtype=dtype),
        torch.randn(L, p, d, generator=g, dtype=dtype),
    )


def test_shape_mismatches_name_the_argument():
    lam, B, C, D = _parts()
    with pytest.raises(ValueError, match="C must have shape"):
        DSF(lam, B, C[:3], D)
    with pytest.raises(ValueError, match="C must have shape"):
        DSF(lam, B, C[..., :2], D)
    with pytest.raises(ValueError, match="D must have shape"):
        DSF(lam, B, C, D[..., :1])
    with pytest.raises(ValueError, match="lam must have shape"):
        DSF(lam[:3], B, C, D)
    with pytest.raises(ValueError, match="B must have shape"):
        DSF(lam, B[0], C, D)
    dsf = DSF(lam, B, C, D)
    with pytest.raises(ValueError, match="u must have shape"):
        dsf.recurrent(torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="h0 must have shape"):
        dsf.recurrent(torch.zeros(4, 2, dtype=F64), torch.zeros(2, dtype=F64))


def test_structure_inconsistent_with_data():
    lam, B, C, D = _parts()
    with pytest.raises(ValueError, match=r"lam must have shape .* structure='scalar'"):
        DSF(lam, B, C, D, structure="scalar")
    with pytest.raises(ValueError, match=r"lam must have shape .* structure='dense'"):
        DSF(lam, B, C, D, structure="dense")
    with pytest.raises(ValueError, match="structure must be one of"):
        DSF(lam, B, C, D, structure="banded")
    with pytest.raises(ValueError, match="low_rank"):
        DSF(lam, B, C, D, structure="dplr")
    with pytest.raises(ValueError, match="low_rank"):
        DSF(lam, B, C, D, structure="diagonal", low_rank=(B, B))
    with pytest.raises(ValueError, match=r"low_rank\[1\]"):
        DSF(lam, B, C, D, structure="dplr", low_rank=(torch.zeros(4, 3, 1, dtype=F64), torch.zeros(4, 2, 1, dtype=F64)))


def test_dtype_mismatches_and_non_tensors():
    lam, B, C, D = _parts()
    with pytest.raises(TypeError, match="lam"):
        DSF(lam.float(), B, C, D)
    with pytest.raises(TypeError, match="D"):
        DSF(lam, B, C, D.float())
    with pytest.raises(TypeError, match=r"B must be a torch\.Tensor"):
        DSF(lam, B.tolist(), C, D)
    with pytest.raises(TypeError, match="C must have a real floating dtype"):
        DSF(lam, B, C.long(), D)
    dsf = DSF(lam, B, C, D)
    with pytest.raises(TypeError, match="u"):
        dsf.recurrent(torch.zeros(4, 2, dtype=torch.float32))


def test_non_finite_values_are_rejected():
    lam, B, C, D = _parts()
    B[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="B must contain only finite"):
        DSF(lam, B, C, D)
    lam, B, C, D = _parts()
    lam[1, 1] = float("inf")
    with pytest.raises(ValueError, match="lam must contain only finite"):
        DSF(lam, B, C, D)
    u = torch.zeros(4, 2, dtype=F64)
    u[2, 0] = float("-inf")
    with pytest.raises(ValueError, match="u must contain only finite"):
        DSF(*_parts()).parallel(u)


def test_chunk_and_index_arguments():
    dsf = DSF(*_parts())
    u = torch.zeros(4, 2, dtype=F64)
    with pytest.raises(ValueError, match="chunk must be >= 1"):
        dsf.chunked(u, 0)
    with pytest.raises(TypeError, match="chunk must be an int"):
        dsf.chunked(u, 2.5)
    with pytest.raises(ValueError, match="i must be <= 3"):
        dsf.transfer(4, 0)
    with pytest.raises(ValueError, match="t must be <= 3"):
        dsf.hankel_block(4)
