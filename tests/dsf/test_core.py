"""attnmath.dsf.core (the DSF object): unit, property and bad-input tests, and exact contracts.

The exact-contract tests check each form against a definition written here from the module docstring
(dense :math:`\\Lambda_i` built by hand, a step loop, explicit products :math:`C_i\\Lambda_i\\cdots\\Lambda_{j+1}B_j`),
on inputs with a batch dimension and sizes that are all distinct (batch 2, L 4, N 3, d 2, p 5), so an axis
taken from the wrong end fails. Every validation branch is hit with the exact message (it names the
argument); the accepted boundary values are checked too. Meta-device DSFs check that helper tensors
follow the DSF's device.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.dsf import DSF, STRUCTURES
from attnmath.dsf.sampling import random_dsf
from attnmath.dsf.scan import kernel_readout_scan
from tests._helpers import gen, msg, rand

F64 = torch.float64
EPS = torch.finfo(F64).eps
# Identities in float64: roundoff of sums of at most L*N products of O(1) numbers, L, N <= 32 here.
RTOL = 1e-12
BATCH, L, N, D_IN, P_OUT = 2, 4, 3, 2, 5
# float64 sums of <= L products of <= L + 1 factors of O(1) numbers: roundoff ~ 20 x 2.2e-16;
# 1e-12 leaves room for the accumulation order.
TOL = 1e-12


def _rel(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp(min=1e-300))


def parts(structure, batch=(BATCH,), seed=0, rank=2):
    """lam (with |lam| < 1 in the dense sense), B, C, D, low_rank for one structure."""
    lam_shape = {
        "scalar": (*batch, L),
        "diagonal": (*batch, L, N),
        "dplr": (*batch, L, N),
        "dense": (*batch, L, N, N),
    }[structure]
    lam = 0.4 * rand(*lam_shape, seed=seed)
    B, C, D = (
        rand(*batch, L, N, D_IN, seed=seed + 1),
        rand(*batch, L, P_OUT, N, seed=seed + 2),
        rand(*batch, L, P_OUT, D_IN, seed=seed + 3),
    )
    low = (0.3 * rand(*batch, L, N, rank, seed=seed + 4), 0.3 * rand(*batch, L, N, rank, seed=seed + 5))
    return lam, B, C, D, (low if structure == "dplr" else None)


def make(structure, feedthrough=True, batch=(BATCH,), seed=0):
    lam, B, C, D, low = parts(structure, batch, seed)
    return DSF(lam, B, C, D if feedthrough else None, structure=structure, low_rank=low)


def dense_by_hand(dsf):
    """Lambda_i as explicit N x N matrices, built entry by entry from the docstring table."""
    out = torch.zeros(*dsf.batch, dsf.L, dsf.N, dsf.N, dtype=F64)
    for i in range(dsf.L):
        for a in range(dsf.N):
            if dsf.structure == "scalar":
                out[..., i, a, a] = dsf.lam[..., i]
            elif dsf.structure in ("diagonal", "dplr"):
                out[..., i, a, a] = dsf.lam[..., i, a]
            else:
                out[..., i, a, :] = dsf.lam[..., i, a, :]
    if dsf.structure == "dplr":
        U, W = dsf.low_rank
        for r in range(U.shape[-1]):
            out = out + U[..., :, r, None] * W[..., :, r][..., None, :]  # column r of U times row r of V^T
    return out


def loop(dsf, u, h0=None):
    """h_i = Lambda_i h_{i-1} + B_i u_i, y_i = C_i h_i + D_i u_i with hand-built Lambda_i."""
    lam = dense_by_hand(dsf)
    h = torch.zeros(*dsf.batch, dsf.N, dtype=F64) if h0 is None else h0
    ys, hs = [], []
    for i in range(dsf.L):
        h = torch.einsum("...ab,...b->...a", lam[..., i, :, :], h) + torch.einsum(
            "...nd,...d->...n", dsf.B[..., i, :, :], u[..., i, :]
        )
        y = torch.einsum("...pn,...n->...p", dsf.C[..., i, :, :], h)
        if dsf.D is not None:
            y = y + torch.einsum("...pd,...d->...p", dsf.D[..., i, :, :], u[..., i, :])
        ys.append(y)
        hs.append(h)
    return torch.stack(ys, -2), torch.stack(hs, -2)


def product(lam, i, j):
    """Lambda_i ... Lambda_{j+1} (identity for i == j) from hand-built matrices lam [..., L, N, N]."""
    out = torch.eye(lam.shape[-1], dtype=F64).expand(lam.shape[:-3] + lam.shape[-2:])
    for m in range(j + 1, i + 1):
        out = lam[..., m, :, :] @ out
    return out


STRUCTS = ("scalar", "diagonal", "dplr", "dense")


# ----------------------------------------------------------------------------- property tests
@settings(max_examples=40, deadline=None)
@given(
    structure=st.sampled_from(STRUCTURES),
    batch=st.lists(st.integers(1, 2), min_size=0, max_size=2).map(tuple),
    L=st.integers(1, 18),
    N=st.integers(1, 5),
    d=st.integers(1, 3),
    p=st.integers(1, 3),
    chunk_size=st.integers(1, 24),
    lam_range=st.sampled_from([(0.1, 0.99), (-0.99, 0.99), (0.5, 1.4), (0.0, 0.0)]),
    feedthrough=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_recurrent_parallel_chunked_agree(structure, batch, L, N, d, p, chunk_size, lam_range, feedthrough, seed):
    dsf = random_dsf(
        structure, L=L, N=N, d=d, p=p, batch=batch, lam_range=lam_range, feedthrough=feedthrough, seed=seed
    )
    u = torch.randn(*batch, L, d, generator=gen(seed + 1), dtype=F64)
    y = dsf.recurrent(u)
    assert y.shape == (*batch, L, p)
    assert _rel(dsf.parallel(u), y) <= RTOL  # float64 roundoff, L, N <= 18
    y_mat = (dsf.matrix() @ u.reshape(*batch, L * d, 1)).reshape(*batch, L, p)
    assert _rel(y_mat, y) <= RTOL
    if structure in ("scalar", "diagonal"):
        assert _rel(dsf.chunked(u, chunk_size), y) <= RTOL
    else:
        with pytest.raises(ValueError, match="structure"):
            dsf.chunked(u, chunk_size)


def test_transition_products_dense_matches_explicit_product():
    dsf = random_dsf("dense", L=5, N=3, d=1, seed=3)
    P = dsf.transition_products()
    expect = dsf.lam[4] @ dsf.lam[3] @ dsf.lam[2]  # Λ_{4:1} = Λ_4 Λ_3 Λ_2
    assert torch.allclose(P[4, 1], expect, rtol=0, atol=8 * EPS)  # three 3x3 products, 8 eps
    assert torch.equal(P[2, 2], torch.eye(3, dtype=F64)) and torch.equal(P[1, 3], torch.zeros(3, 3, dtype=F64))


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
    h0 = torch.randn(3, generator=gen(0), dtype=F64)
    y, H = dsf.recurrent(u, h0, return_state=True)
    expect = h0
    for i in range(6):
        expect = dsf.dense_lam()[i] @ expect
    assert torch.allclose(H[-1], expect, rtol=0, atol=16 * EPS)  # 6 matrix-vector products, 16 eps
    assert torch.allclose(y, (dsf.C @ H[..., None])[..., 0], rtol=0, atol=0)


def test_eigenvalues_by_structure():
    g = gen(8)
    B, C = torch.randn(4, 3, 1, generator=g, dtype=F64), torch.randn(4, 1, 3, generator=g, dtype=F64)
    lam = torch.rand(4, generator=g, dtype=F64)
    assert torch.equal(DSF(lam, B, C, structure="scalar").eigenvalues(), lam[:, None].expand(4, 3))
    dense = random_dsf("dense", L=4, N=3, d=1, seed=8)
    ev = dense.eigenvalues()
    assert ev.is_complex() and ev.shape == (4, 3)
    assert torch.allclose(torch.sort(ev[0].abs()).values, torch.sort(torch.linalg.eigvals(dense.lam[0]).abs()).values)


def test_repr_names_the_structure():
    assert "structure='diagonal'" in repr(random_dsf("diagonal", L=2, N=2, d=1))


# ----------------------------------------------------------------------------- construction
def test_attributes_and_repr():
    lam, B, C, D, low = parts("dplr")
    dsf = DSF(lam, B, C, D, structure="dplr", low_rank=low)
    assert dsf.lam is lam and dsf.B is B and dsf.C is C and dsf.D is D
    assert dsf.low_rank[0] is low[0] and dsf.low_rank[1] is low[1] and isinstance(dsf.low_rank, tuple)
    assert dsf.structure == "dplr"
    assert (dsf.batch, dsf.L, dsf.N, dsf.d, dsf.p) == ((BATCH,), L, N, D_IN, P_OUT)
    assert isinstance(dsf.batch, tuple)
    assert repr(dsf) == "DSF(structure='dplr', batch=[2], L=4, N=3, d=2, p=5, dtype=float64)"
    plain = DSF(lam.float(), B.float(), C.float(), structure="diagonal")
    assert plain.D is None and plain.low_rank is None and plain.structure == "diagonal"
    assert repr(plain) == "DSF(structure='diagonal', batch=[2], L=4, N=3, d=2, p=5, dtype=float32)"
    assert DSF(lam[0], B[0], C[0]).batch == ()


def test_lam_shape_must_match_the_structure():
    lam = {s: parts(s)[0] for s in STRUCTS}
    _, B, C, D, low = parts("dplr")
    for s in STRUCTS:
        kw = {"low_rank": low} if s == "dplr" else {}
        assert DSF(lam[s], B, C, D, structure=s, **kw).structure == s
    want = {"scalar": [2, 4], "diagonal": [2, 4, 3], "dplr": [2, 4, 3], "dense": [2, 4, 3, 3]}
    for s in STRUCTS:
        kw = {"low_rank": low} if s == "dplr" else {}
        for other in STRUCTS:
            if want[other] == want[s]:
                continue
            assert msg(ValueError, DSF, lam[other], B, C, D, structure=s, **kw) == (
                f"lam must have shape {want[s]} for structure={s!r} (B is [2, 4, 3, 2]), got {want[other]}"
            )
    assert msg(ValueError, DSF, lam["diagonal"], B, C, structure="banded") == (
        "structure must be one of ('scalar', 'diagonal', 'dplr', 'dense'), got 'banded'"
    )
    assert DSF(lam["diagonal"], B, C).structure == "diagonal"  # the default


def test_B_C_D_errors_name_the_argument():
    lam, B, C, D, _ = parts("diagonal")
    assert msg(TypeError, DSF, lam, B.tolist(), C) == "B must be a torch.Tensor, got list"
    assert msg(ValueError, DSF, lam[0], B[0, 0], C[0]) == "B must have shape [..., L, N, d], got [3, 2]"
    assert DSF(lam[0], B[0], C[0]).L == L  # 3-D B (no batch) is accepted
    head = "C must have shape [..., L=4, p, N=3] with B's batch [2], got "
    assert msg(TypeError, DSF, lam, B, C.tolist()) == "C must be a torch.Tensor, got list"
    assert msg(ValueError, DSF, lam, B, C[None]) == head + "[1, 2, 4, 5, 3]"
    assert msg(ValueError, DSF, lam, B, C[:, :3]) == head + "[2, 3, 5, 3]"
    assert msg(ValueError, DSF, lam, B, C[..., :2]) == head + "[2, 4, 5, 2]"
    assert msg(ValueError, DSF, lam, B, torch.cat([C, C])) == head + "[4, 4, 5, 3]"
    assert msg(TypeError, DSF, lam, B, C.float()) == (
        "C has dtype torch.float32 but B has dtype torch.float64; they must match"
    )
    assert msg(ValueError, DSF, lam, B, C.to("meta")) == "C is on meta but B is on cpu; put them on one device"
    assert msg(TypeError, DSF, lam, B, C, D.tolist()) == "D must be a torch.Tensor, got list"
    assert (
        msg(ValueError, DSF, lam, B, C, D[..., :1]) == "D must have shape [2, 4, 5, 2] (or be None), got [2, 4, 5, 1]"
    )
    assert msg(ValueError, DSF, lam, B, C, D[0]) == "D must have shape [2, 4, 5, 2] (or be None), got [4, 5, 2]"
    assert msg(TypeError, DSF, lam, B, C, D.float()) == (
        "D has dtype torch.float32 but B has dtype torch.float64; they must match"
    )
    assert msg(ValueError, DSF, lam, B, C, D.to("meta")) == "D is on meta but B is on cpu; put them on one device"
    assert msg(TypeError, DSF, lam.tolist(), B, C) == "lam must be a torch.Tensor, got list"
    assert msg(TypeError, DSF, lam.float(), B, C) == (
        "lam has dtype torch.float32 but B has dtype torch.float64; they must match"
    )
    assert msg(ValueError, DSF, lam.to("meta"), B, C) == "lam is on meta but B is on cpu; put them on one device"
    bad = C.clone()
    bad[1, 2, 0, 0] = float("nan")
    assert msg(ValueError, DSF, lam, B, bad) == "C must contain only finite values (found NaN or Inf)"
    bad = D.clone()
    bad[0, 0, 0, 0] = float("inf")
    assert msg(ValueError, DSF, lam, B, C, bad) == "D must contain only finite values (found NaN or Inf)"


def test_low_rank_contract():
    lam, B, C, _, (U, W) = parts("dplr")
    need = "low_rank must be a pair (U, V) of [..., L, N, r] tensors for structure='dplr'"
    assert msg(ValueError, DSF, lam, B, C, structure="dplr") == need
    assert msg(ValueError, DSF, lam, B, C, structure="dplr", low_rank=(U,)) == need
    assert msg(ValueError, DSF, lam, B, C, structure="dplr", low_rank=(U, W, U)) == need
    assert msg(TypeError, DSF, lam, B, C, structure="dplr", low_rank=(U.tolist(), W)) == (
        "low_rank[0] must be a torch.Tensor, got list"
    )
    assert msg(TypeError, DSF, lam, B, C, structure="dplr", low_rank=(U, W.tolist())) == (
        "low_rank[1] must be a torch.Tensor, got list"
    )
    assert msg(TypeError, DSF, lam, B, C, structure="dplr", low_rank=(U.float(), W)) == (
        "low_rank[0] has dtype torch.float32 but B has dtype torch.float64; they must match"
    )
    assert msg(TypeError, DSF, lam, B, C, structure="dplr", low_rank=(U, W.float())) == (
        "low_rank[1] has dtype torch.float32 but B has dtype torch.float64; they must match"
    )
    assert msg(ValueError, DSF, lam, B, C, structure="dplr", low_rank=(U.to("meta"), W)) == (
        "low_rank[0] is on meta but B is on cpu; put them on one device"
    )
    for k, (u, w) in enumerate([(U[:, :3], W), (U, W[..., :2, :]), (U[None], W), (U, W[0])]):
        bad = (u, w)[0 if k in (0, 2) else 1]
        name = "low_rank[0]" if k in (0, 2) else "low_rank[1]"
        assert msg(ValueError, DSF, lam, B, C, structure="dplr", low_rank=(u, w)) == (
            f"{name} must have shape [..., L=4, N=3, r], got {list(bad.shape)}"
        )
    assert msg(ValueError, DSF, lam, B, C, structure="dplr", low_rank=(U, W[..., :1])) == (
        "low_rank[0] and low_rank[1] must have the same rank r, got 2 and 1"
    )
    one = DSF(lam, B, C, structure="dplr", low_rank=[U[..., :1], W[..., :1]])  # a list pair, rank 1
    assert isinstance(one.low_rank, tuple) and one.low_rank[0].shape[-1] == 1
    assert msg(ValueError, DSF, lam, B, C, structure="diagonal", low_rank=(U, W)) == (
        "low_rank is only used with structure='dplr', got structure='diagonal'"
    )


def test_input_and_state_errors_name_the_argument():
    dsf = make("diagonal")
    u = rand(BATCH, L, D_IN, seed=9)
    assert msg(ValueError, dsf.recurrent, u[0]) == "u must have shape [2, 4, 2], got [4, 2]"
    assert msg(ValueError, dsf.parallel, u[..., :1]) == "u must have shape [2, 4, 2], got [2, 4, 1]"
    assert msg(ValueError, dsf.chunked, u[:, :3], 2) == "u must have shape [2, 4, 2], got [2, 3, 2]"
    assert msg(TypeError, dsf.recurrent, u.float()) == (
        "u has dtype torch.float32 but B has dtype torch.float64; they must match"
    )
    assert msg(ValueError, dsf.recurrent, u.to("meta")) == "u is on meta but B is on cpu; put them on one device"
    assert msg(TypeError, dsf.recurrent, u.tolist()) == "u must be a torch.Tensor, got list"
    h0 = rand(BATCH, N, seed=10)
    assert msg(ValueError, dsf.recurrent, u, h0[0]) == "h0 must have shape [2, 3], got [3]"
    assert msg(ValueError, dsf.chunked, u, 2, h0[:, :2]) == "h0 must have shape [2, 3], got [2, 2]"
    assert msg(TypeError, dsf.recurrent, u, h0.tolist()) == "h0 must be a torch.Tensor, got list"
    assert msg(TypeError, dsf.recurrent, u, h0.float()) == (
        "h0 has dtype torch.float32 but B has dtype torch.float64; they must match"
    )
    assert msg(ValueError, dsf.recurrent, u, h0.to("meta")) == "h0 is on meta but B is on cpu; put them on one device"


# ----------------------------------------------------------------------------- forms
@pytest.mark.parametrize("structure", STRUCTS)
def test_dense_lam_eigenvalues_and_transition_products_by_hand(structure):
    dsf = make(structure)
    lam = dense_by_hand(dsf)
    assert dsf.dense_lam().shape == (BATCH, L, N, N)
    assert torch.allclose(dsf.dense_lam(), lam, rtol=0, atol=TOL)
    P = dsf.transition_products()
    want = {"scalar": (BATCH, L, L), "diagonal": (BATCH, L, L, N)}.get(structure, (BATCH, L, L, N, N))
    assert P.shape == want
    for i in range(L):
        for j in range(L):
            expect = product(lam, i, j) if j <= i else torch.zeros(BATCH, N, N, dtype=F64)
            got = P[:, i, j]
            if structure == "scalar":
                got = got[:, None, None] * torch.eye(N, dtype=F64)
            elif structure == "diagonal":
                got = torch.diag_embed(got)
            assert torch.allclose(got, expect, rtol=0, atol=TOL), (i, j)
    ev = dsf.eigenvalues()
    assert ev.shape == (BATCH, L, N)
    for b in range(BATCH):
        for i in range(L):
            ref = torch.linalg.eigvals(lam[b, i])
            got = sorted((complex(z) for z in ev[b, i].to(torch.complex128)), key=lambda z: (z.real, z.imag))
            exp = sorted((complex(z) for z in ref), key=lambda z: (z.real, z.imag))
            assert all(abs(g - e) <= 1e-10 for g, e in zip(got, exp)), (b, i)  # eig of 3x3, float64
    if structure in ("scalar", "diagonal"):
        assert not ev.is_complex()
    else:
        assert ev.is_complex()


@pytest.mark.parametrize("structure", STRUCTS)
@pytest.mark.parametrize("feedthrough", [True, False])
def test_blocks_matrix_parallel_recurrent_against_the_definition(structure, feedthrough):
    dsf = make(structure, feedthrough, seed=3)
    lam = dense_by_hand(dsf)
    Phi = dsf.blocks()
    assert Phi.shape == (BATCH, L, L, P_OUT, D_IN)
    for i in range(L):
        for j in range(L):
            expect = torch.zeros(BATCH, P_OUT, D_IN, dtype=F64)
            if j <= i:
                expect = dsf.C[:, i] @ product(lam, i, j) @ dsf.B[:, j]
            if i == j and feedthrough:
                expect = expect + dsf.D[:, i]
            assert torch.allclose(Phi[:, i, j], expect, rtol=0, atol=TOL), (i, j)
            assert torch.equal(dsf.transfer(i, j), Phi[:, i, j])
    M = dsf.matrix()
    assert M.shape == (BATCH, L * P_OUT, L * D_IN)
    for i in range(L):
        for j in range(L):
            assert torch.equal(M[:, i * P_OUT : (i + 1) * P_OUT, j * D_IN : (j + 1) * D_IN], Phi[:, i, j])
    u, h0 = rand(BATCH, L, D_IN, seed=4), rand(BATCH, N, seed=5)
    y_ref, H_ref = loop(dsf, u)
    assert torch.allclose(dsf.parallel(u), y_ref, rtol=0, atol=TOL)
    assert torch.allclose(dsf.recurrent(u), y_ref, rtol=0, atol=TOL)
    y, H = dsf.recurrent(u, h0, return_state=True)
    y_ref0, H_ref0 = loop(dsf, u, h0)
    assert H.shape == (BATCH, L, N) and y.shape == (BATCH, L, P_OUT)
    assert torch.allclose(y, y_ref0, rtol=0, atol=TOL) and torch.allclose(H, H_ref0, rtol=0, atol=TOL)
    assert (y - y_ref).abs().max() > 1e-3  # h0 matters
    _, H0 = dsf.recurrent(u, return_state=True)
    assert torch.allclose(H0, H_ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("structure", ["scalar", "diagonal"])
@pytest.mark.parametrize("feedthrough", [True, False])
def test_chunked_torch_path_matches_the_loop(structure, feedthrough):
    dsf = make(structure, feedthrough, seed=6)
    u, h0 = rand(BATCH, L, D_IN, seed=7), rand(BATCH, N, seed=8)
    y_ref, H_ref = loop(dsf, u, h0)
    for chunk_size in (1, 3, 4, 9):
        y, H = dsf.chunked(u, chunk_size, h0, return_state=True)
        assert torch.allclose(y, y_ref, rtol=0, atol=TOL) and torch.allclose(H, H_ref, rtol=0, atol=TOL)
        y2 = dsf.chunked(u, chunk_size, h0, backend="torch")
        assert torch.allclose(y2, y_ref, rtol=0, atol=TOL)
        assert torch.allclose(dsf.chunked(u, chunk_size), loop(dsf, u)[0], rtol=0, atol=TOL)  # float64: PyTorch path


@pytest.mark.parametrize("structure", ["scalar", "diagonal"])
def test_chunked_triton_path_adds_the_feedthrough_and_the_initial_state(structure):
    lam, B, C, D, _ = parts(structure, seed=11)
    lam = 0.5 + 0.5 * torch.sigmoid(lam)  # 0 < lam <= 1: suits the kernel
    ref = DSF(lam, B, C, D, structure=structure)
    s32 = DSF(lam.float(), B.float(), C.float(), D.float(), structure=structure)
    u, h0 = rand(BATCH, L, D_IN, seed=12), rand(BATCH, N, seed=13)
    y_ref = loop(ref, u, h0)[0]
    # fp32 kernel against a float64 loop: (L + N) steps of fp32 roundoff (1.2e-7) on O(10) values, x 10 margin
    atol = 10 * (L + N) * 1.2e-7 * float(y_ref.abs().max())
    for backend in ("triton", "auto"):
        y = s32.chunked(u.float(), 16, h0.float(), backend=backend)
        assert y.dtype == torch.float32 and y.shape == (BATCH, L, P_OUT)
        assert (y.double() - y_ref).abs().max() <= atol
    # "auto" on suitable fp32 inputs is the kernel path itself: the same numbers as kernel_readout_scan
    x = (s32.B @ u.float()[..., None])[..., 0]
    y_kernel = kernel_readout_scan(s32.lam, x, s32.C, h0.float())[0] + (s32.D @ u.float()[..., None])[..., 0]
    assert torch.equal(s32.chunked(u.float(), 16, h0.float()), y_kernel)
    y_torch = s32.chunked(u.float(), 16, h0.float(), backend="torch")
    assert (y_torch.double() - y_ref).abs().max() <= atol


def test_chunked_errors():
    dsf = make("diagonal")
    u = rand(BATCH, L, D_IN, seed=14)
    for s in ("dplr", "dense"):
        assert msg(ValueError, make(s).chunked, u, 2) == (
            f"chunked needs structure 'scalar' or 'diagonal', this DSF has structure={s!r}"
        )
    assert msg(ValueError, dsf.chunked, u, 0) == "chunk_size must be >= 1, got 0"
    assert msg(TypeError, dsf.chunked, u, 2.0) == "chunk_size must be an int, got float"
    assert msg(ValueError, dsf.chunked, u, 2, return_state=True, backend="triton") == (
        "backend='triton' computes outputs only; use return_state=False or backend='torch'"
    )
    assert msg(ValueError, dsf.chunked, u, 2, backend="cuda") == (
        "backend must be one of ('auto', 'torch', 'triton'), got 'cuda'"
    )
    y, H = dsf.chunked(u, 1, return_state=True, backend="torch")
    assert H.shape == (BATCH, L, N) and y.shape == (BATCH, L, P_OUT)


def test_transfer_and_hankel_block_indices_and_layout():
    dsf = make("dense", seed=15)
    Phi = dsf.blocks()
    assert torch.equal(dsf.transfer(0, 0), Phi[:, 0, 0]) and torch.equal(dsf.transfer(L - 1, L - 1), Phi[:, -1, -1])
    assert torch.equal(dsf.transfer(0, L - 1), torch.zeros(BATCH, P_OUT, D_IN, dtype=F64))
    assert msg(ValueError, dsf.transfer, -1, 0) == "i must be >= 0, got -1"
    assert msg(ValueError, dsf.transfer, L, 0) == "i must be <= 3, got 4"
    assert msg(ValueError, dsf.transfer, 0, -1) == "j must be >= 0, got -1"
    assert msg(ValueError, dsf.transfer, 0, L) == "j must be <= 3, got 4"
    assert msg(TypeError, dsf.transfer, 0, 1.0) == "j must be an int, got float"
    assert msg(ValueError, dsf.hankel_block, 0) == "t must be >= 1, got 0"
    assert msg(ValueError, dsf.hankel_block, L) == "t must be <= 3, got 4"
    for t in (1, 2, L - 1):
        H = dsf.hankel_block(t)
        assert H.shape == (BATCH, (L - t) * P_OUT, t * D_IN)
        for i in range(t, L):
            for j in range(t):
                r, c = (i - t) * P_OUT, j * D_IN
                assert torch.equal(H[:, r : r + P_OUT, c : c + D_IN], Phi[:, i, j])


def test_meta_device_dsf_keeps_its_device():
    lam, B, C, D, low = parts("scalar")
    dsf = DSF(lam.to("meta"), B.to("meta"), C.to("meta"), D.to("meta"), structure="scalar")
    assert dsf.dense_lam().device.type == "meta" and dsf.dense_lam().shape == (BATCH, L, N, N)
    lam, B, C, D, low = parts("dplr")
    meta = DSF(*(t.to("meta") for t in (lam, B, C, D)), structure="dplr", low_rank=tuple(t.to("meta") for t in low))
    assert meta.transition_products().device.type == "meta"
    assert meta.blocks().device.type == "meta" and meta.blocks().shape == (BATCH, L, L, P_OUT, D_IN)


def test_dense_lam_keeps_a_low_precision_dtype():
    for s in ("scalar", "dense"):
        lam, B, C, _, _ = parts(s)
        dsf = DSF(lam.bfloat16(), B.bfloat16(), C.bfloat16(), structure=s)
        assert dsf.dense_lam().dtype == torch.bfloat16
        assert dsf.transition_products().dtype == torch.bfloat16


# ----------------------------------------------------------------------------- bad inputs
def _parts(L=4, N=3, d=2, p=2, dtype=F64):
    g = gen(9)
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
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        dsf.chunked(u, 0)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        dsf.chunked(u, 2.5)
    with pytest.raises(ValueError, match="i must be <= 3"):
        dsf.transfer(4, 0)
    with pytest.raises(ValueError, match="t must be <= 3"):
        dsf.hankel_block(4)
