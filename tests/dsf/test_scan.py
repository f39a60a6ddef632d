"""attnmath.dsf.scan: segment sums, log-space products, the chunked scan and the kernel routing point.

Each function is checked against a loop or a product written here, on batched inputs whose sizes are all
distinct, with signs, exact zeros and ``-inf`` entries; the routing point is checked at each boundary of
the kernel's domain (dtype, :math:`0<\\lambda\\le1`, :math:`N\\le256`, ``chunk_size`` a power of two >= 16)
with its exact messages, and the chunk length is checked to reach the kernel. tests/conftest.py sets
``TRITON_INTERPRET=1`` on a machine without a GPU, so ``"auto"`` routes suitable inputs to Triton here.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.base.chunks import CHUNK_SIZE
from attnmath.dsf import DSF, chunked_diag_scan, diag_transition_products, segsum
from attnmath.dsf.scan import (
    KERNEL_MAX_STATE,
    kernel_backend,
    kernel_readout_scan,
)
from tests._helpers import gen, msg, rand

F64 = torch.float64
EPS = torch.finfo(F64).eps
F32_EPS = torch.finfo(torch.float32).eps
NEG_INF = float("-inf")
# float64 products/sums of <= 8 O(1) numbers via exp(log): a few ulps per factor; 1e-13 is generous.
TOL = 1e-13


def scan_loop(lam, x, h0=None):
    """h_i = lam_i * h_{i-1} + x_i (a scalar lam_i broadcasts over the state)."""
    h = torch.zeros_like(x[..., 0, :]) if h0 is None else h0
    hs = []
    for i in range(x.shape[-2]):
        li = lam[..., i, None] if lam.dim() == x.dim() - 1 else lam[..., i, :]
        h = li * h + x[..., i, :]
        hs.append(h)
    return torch.stack(hs, -2)


def make(structure="diagonal", L=23, N=6, d=2, p=3, seed=0, dtype=torch.float32, lam_lo=0.5):
    g = gen(seed)
    shape = (L, N) if structure == "diagonal" else (L,)
    lam = lam_lo + (1 - lam_lo) * torch.rand(*shape, generator=g, dtype=torch.float64)
    B = torch.randn(L, N, d, generator=g, dtype=torch.float64)
    C = torch.randn(L, p, N, generator=g, dtype=torch.float64)
    u = torch.randn(L, d, generator=g, dtype=torch.float64)
    return DSF(lam.to(dtype), B.to(dtype), C.to(dtype), structure=structure), DSF(lam, B, C, structure=structure), u


# ----------------------------------------------------------------------------- segsum
def test_segsum_values_and_masking():
    x = torch.tensor([0.5, -1.0, 2.0, float("-inf")], dtype=F64)
    S = segsum(x)
    assert S[2, 0] == -1.0 + 2.0 and S[1, 1] == 0 and S[3, 1] == float("-inf")
    assert torch.isinf(S[0, 1]) and S[0, 1] < 0  # above the diagonal
    assert not torch.isnan(S).any()


def test_segsum_batched_against_a_loop():
    x = rand(2, 5, seed=1)
    x[1, 2] = NEG_INF
    S = segsum(x)
    assert S.shape == (2, 5, 5)
    for b in range(2):
        for i in range(5):
            for j in range(5):
                if j > i:
                    assert S[b, i, j] == NEG_INF
                else:
                    expect = sum(float(x[b, m]) for m in range(j + 1, i + 1))
                    assert S[b, i, j] == expect or abs(float(S[b, i, j]) - expect) <= TOL
    assert not torch.isnan(S).any()
    assert S[1, 4, 1] == NEG_INF and S[1, 4, 2] == float(x[1, 3] + x[1, 4])  # the -inf at l = 2 is excluded
    assert segsum(torch.zeros(3, device="meta")).device.type == "meta"


# ----------------------------------------------------------------------------- products
def test_transition_products_convention_and_signs():
    lam = torch.tensor([[0.5], [-2.0], [0.0], [3.0]], dtype=F64)  # L=4, N=1
    P = diag_transition_products(lam)[..., 0]
    assert P[3, 1] == 3.0 * 0.0  # Λ_3 Λ_2 (excludes Λ_1)
    # exp(log|λ|) reproduces λ to a few ulps
    assert abs(P[1, 0] + 2.0) <= 8 * EPS and abs(P[3, 2] - 3.0) <= 8 * EPS and P[2, 2] == 1.0
    assert P[0, 1] == 0.0  # zero above the diagonal
    assert P[1, 1] == 1.0 and P[2, 1] == 0.0


def test_diag_transition_products_batched_with_signs_and_zeros():
    lam = torch.tensor(
        [[[0.5, -2.0], [-0.5, 3.0], [0.0, -1.5], [2.0, 0.25]], [[-1.0, 0.5], [0.75, -0.5], [-2.0, 0.0], [0.5, -0.5]]],
        dtype=F64,
    )  # [B=2, L=4, N=2]
    P = diag_transition_products(lam)
    assert P.shape == (2, 4, 4, 2)
    for i in range(4):
        for j in range(4):
            expect = torch.ones(2, 2, dtype=F64) if j <= i else torch.zeros(2, 2, dtype=F64)
            for m in range(j + 1, i + 1):
                expect = expect * lam[:, m, :]
            assert torch.allclose(P[:, i, j, :], expect, rtol=TOL, atol=0), (i, j)
    assert not torch.signbit(P[:, 0, 1:, :]).any()  # +0 above the diagonal, also with negative entries


def test_products_without_negatives_keep_exact_positive_zeros():
    lam = torch.tensor([[0.5], [0.0], [0.25], [0.75]], dtype=F64)  # L=4, N=1, an exact zero at 1
    P = diag_transition_products(lam)[..., 0]
    assert torch.equal(P[2:, :1], torch.zeros(2, 1, dtype=F64))  # every product through lam_1 = 0
    assert not torch.signbit(P).any()  # and these zeros are +0 (no sign is invented)
    assert P[3, 2] == 0.75 and P[3, 1] == 0.75 * 0.25


# ----------------------------------------------------------------------------- chunked scan
@settings(max_examples=30, deadline=None)
@given(
    L=st.integers(1, 40),
    N=st.integers(1, 4),
    chunk_size=st.integers(1, 50),
    seed=st.integers(0, 10_000),
    scalar=st.booleans(),
)
def test_chunked_scan_with_initial_state_matches_loop(L, N, chunk_size, seed, scalar):
    g = gen(seed)
    lam = torch.rand(L, generator=g, dtype=F64) if scalar else torch.rand(L, N, generator=g, dtype=F64)
    lam = lam * 2 - 1  # signs in (-1, 1)
    x = torch.randn(L, N, generator=g, dtype=F64)
    h0 = torch.randn(N, generator=g, dtype=F64)
    H, hL = chunked_diag_scan(lam, x, chunk_size, h0)
    h, hs = h0, []
    for i in range(L):
        h = lam[i] * h + x[i]  # a scalar λ_i broadcasts over the state
        hs.append(h)
    ref = torch.stack(hs)
    assert (H - ref).abs().max() <= 64 * L * EPS  # products of |λ| < 1 and sums of L terms: 64 L eps
    assert (hL - ref[-1]).abs().max() <= 64 * L * EPS


def test_log_space_products_survive_strong_decay():
    L = 300
    lam = torch.full((L, 1), math.exp(-5.0), dtype=F64)  # cumulative log-decay -1500
    x = torch.ones(L, 1, dtype=F64)
    H, _ = chunked_diag_scan(lam, x, 64)
    steady = 1 / (1 - math.exp(-5.0))
    assert torch.isfinite(H).all() and abs(H[-1, 0].item() - steady) <= 4 * EPS


@pytest.mark.parametrize("scalar", [True, False])
def test_chunked_diag_scan_batched_against_the_loop(scalar):
    L, N = 7, 3
    lam = 1.8 * torch.rand(2, L, *(() if scalar else (N,)), generator=gen(2), dtype=F64) - 0.9
    x, h0 = rand(2, L, N, seed=3), rand(2, N, seed=4)
    for h in (None, h0):
        ref = scan_loop(lam, x, h)
        for chunk_size in (1, 2, 3, 7, 10):
            H, hL = chunked_diag_scan(lam, x, chunk_size, h)
            assert H.shape == (2, L, N) and hL.shape == (2, N)
            # products of |lam| < 1 and sums of L = 7 terms: 64 L eps in float64
            assert torch.allclose(H, ref, rtol=0, atol=64 * L * 2.2e-16), chunk_size
            assert torch.allclose(hL, ref[:, -1], rtol=0, atol=64 * L * 2.2e-16), chunk_size


def test_chunked_diag_scan_scalar_decay_broadcasts_when_L_equals_N():
    # lam [L] with x [L, N] and L == N: a scalar decay must not be read as a diagonal one
    lam, x = torch.tensor([0.5, -0.25, 0.75], dtype=F64), rand(3, 3, seed=5)
    H, hL = chunked_diag_scan(lam, x, 2)
    assert torch.allclose(H, scan_loop(lam, x), rtol=0, atol=TOL) and torch.equal(hL, H[-1])


# ----------------------------------------------------------------------------- routing point
def test_kernel_backend_domain_boundaries_and_messages():
    x = torch.zeros(2, 4, 3)
    ok = torch.full((2, 4, 3), 0.5)
    assert kernel_backend(ok, x) == "triton" and kernel_backend(ok, x, "auto") == "triton"
    assert kernel_backend(ok, x, "triton") == "triton" and kernel_backend(ok, x, "torch") == "torch"
    assert kernel_backend(torch.ones(2, 4, 3), x) == "triton"  # lam = 1 is inside (0, 1]
    assert kernel_backend(torch.ones(2, 4), x) == "triton"  # scalar decay
    for dt in (torch.float16, torch.bfloat16):
        assert kernel_backend(ok.to(dt), x.to(dt), "triton") == "triton"
        assert kernel_backend(ok.to(dt), x.to(dt)) == "triton"
    out = "the kernels take log-decays <= 0, i.e. 0 < lam <= 1 (this DSF has lam outside (0, 1])"
    for bad in (torch.zeros(2, 4, 3), torch.full((2, 4, 3), 1.0 + 2**-20), torch.full((2, 4, 3), -0.5)):
        assert kernel_backend(bad, x) == "torch"
        assert msg(ValueError, kernel_backend, bad, x, "triton") == f"backend='triton': {out}"
        assert kernel_backend(bad, x, "torch") == "torch"
    mixed = ok.clone()
    mixed[1, 3, 2] = 0.0  # one entry outside is enough
    assert kernel_backend(mixed, x) == "torch"
    x64 = x.double()
    assert kernel_backend(ok.double(), x64) == "torch"
    assert msg(ValueError, kernel_backend, ok.double(), x64, "triton") == (
        "backend='triton': the kernels compute in fp32/fp16/bf16, got float64"
    )
    wide, lam_wide = torch.zeros(2, KERNEL_MAX_STATE), torch.full((2, KERNEL_MAX_STATE), 0.5)
    assert KERNEL_MAX_STATE == 256
    assert kernel_backend(lam_wide, wide, "triton") == "triton"  # N = 256 fits one block
    wider, lam_wider = torch.zeros(2, 257), torch.full((2, 257), 0.5)
    assert kernel_backend(lam_wider, wider) == "torch"
    assert msg(ValueError, kernel_backend, lam_wider, wider, "triton") == (
        "backend='triton': the kernels hold the state in one block: N must be <= 256, got 257"
    )
    # batched x [B, L, N]: the state size is the last axis (L = 300 > 256 does not matter)
    long_x, long_lam = torch.zeros(2, 300, 3), torch.full((2, 300, 3), 0.5)
    assert kernel_backend(long_lam, long_x, "triton") == "triton"
    assert msg(ValueError, kernel_backend, torch.full((2, 3, 257), 0.5), torch.zeros(2, 3, 257), "triton") == (
        "backend='triton': the kernels hold the state in one block: N must be <= 256, got 257"
    )
    assert msg(ValueError, kernel_backend, ok, x, "cuda") == (
        "backend must be one of ('auto', 'torch', 'triton'), got 'cuda'"
    )


@pytest.mark.parametrize("scalar", [True, False])
@pytest.mark.parametrize("p", [1, 2])
def test_kernel_readout_scan_batched_against_the_loop(scalar, p):
    L, N = 5, 3
    g = gen(6)
    lam = 0.5 + 0.5 * torch.rand(2, 3, L, *(() if scalar else (N,)), generator=g, dtype=F64)
    x, C, h0 = rand(2, 3, L, N, seed=7), rand(2, 3, L, p, N, seed=8), rand(2, 3, N, seed=9)
    for h in (None, h0):
        H = scan_loop(lam, x, h)
        y_ref = torch.einsum("...lpn,...ln->...lp", C, H)
        y, hL = kernel_readout_scan(lam.float(), x.float(), C.float(), None if h is None else h.float())
        assert y.shape == (2, 3, L, p) and hL.shape == (2, 3, N)
        assert y.dtype == hL.dtype == torch.float32
        # fp32 kernel vs float64 loop: (L + N) fp32 roundoffs (1.2e-7) on O(10) values, x 10 margin
        assert (y.double() - y_ref).abs().max() <= 10 * (L + N) * 1.2e-7 * float(y_ref.abs().max())
        assert (hL.double() - H[..., -1, :]).abs().max() <= 10 * (L + N) * 1.2e-7 * float(H.abs().max())


def test_kernel_readout_scan_returns_the_input_dtype():
    L, N = 4, 2
    lam = torch.full((L, N), 0.75, dtype=torch.bfloat16)
    x, C = rand(L, N, seed=10).bfloat16(), rand(L, 1, N, seed=11).bfloat16()
    y, hL = kernel_readout_scan(lam, x, C)
    assert y.dtype == hL.dtype == torch.bfloat16 and y.shape == (L, 1) and hL.shape == (N,)
    H = scan_loop(lam.double(), x.double())
    # the reference uses the same bf16 inputs exactly; the fp32 result is rounded once to bf16 (2^-8 relative): x 4 margin
    assert (hL.double() - H[-1]).abs().max() <= 4 * 2**-8 * float(H.abs().max())


@pytest.mark.parametrize("structure", ["diagonal", "scalar"])
def test_auto_routes_fp32_to_triton_and_matches_the_recurrence(structure):
    s32, s64, u = make(structure)
    x = (s32.B @ u.float()[..., None])[..., 0]
    assert kernel_backend(s32.lam, x) == "triton"
    y = s32.chunked(u.float(), 16)
    ref = s64.recurrent(u)
    # fp32 kernel vs float64 loop: (L + N) eps32 growth, x10 for the accumulation order
    assert (y.double() - ref).abs().max() <= 10 * (23 + 6) * F32_EPS * ref.abs().max()


def test_initial_state_reaches_the_kernel():
    s32, s64, u = make(seed=3)
    h0 = torch.randn(6, generator=gen(9), dtype=torch.float64)
    y = s32.chunked(u.float(), 16, h0.float(), backend="triton")
    ref = s64.recurrent(u, h0)
    assert (y.double() - ref).abs().max() <= 10 * 29 * F32_EPS * ref.abs().max()
    assert (y.double() - s64.recurrent(u)).abs().max() > 1e-2  # h0 matters


def test_fallbacks_and_errors():
    s32, s64, u = make()
    x64 = (s64.B @ u[..., None])[..., 0]
    assert kernel_backend(s64.lam, x64) == "torch"  # float64 stays in PyTorch
    assert kernel_backend(s32.lam, x64.float(), "torch") == "torch"
    assert kernel_backend(s32.lam * 2, x64.float()) == "torch"  # Λ > 1
    assert kernel_backend(-s32.lam, x64.float()) == "torch"  # Λ < 0
    with pytest.raises(ValueError, match="backend"):
        kernel_backend(s32.lam, x64.float(), "cuda")
    with pytest.raises(ValueError, match="0 < lam <= 1"):
        kernel_backend(s32.lam * 2, x64.float(), "triton")
    with pytest.raises(ValueError, match="fp32"):
        kernel_backend(s64.lam, x64, "triton")
    with pytest.raises(ValueError, match="return_state"):
        s32.chunked(u.float(), 4, return_state=True, backend="triton")
    big = torch.zeros(3, 300)
    assert kernel_backend(torch.full((3, 300), 0.9), big) == "torch"  # state wider than one kernel block


def test_states_requested_use_the_pytorch_form():
    s32, s64, u = make(seed=5)
    y, H = s32.chunked(u.float(), 5, return_state=True)
    yr, Hr = s64.recurrent(u, return_state=True)
    assert H.shape == Hr.shape
    assert (y.double() - yr).abs().max() <= 10 * 29 * F32_EPS * yr.abs().max()


# ----------------------------------------------------------------------------- the chunk length on every route
def test_kernel_backend_chunk_size_boundaries_and_messages():
    x, ok = torch.zeros(2, 4, 3), torch.full((2, 4, 3), 0.5)
    for c in (16, 32, 64, 128):
        assert kernel_backend(ok, x, "auto", c) == "triton" and kernel_backend(ok, x, "triton", c) == "triton"
    for c in (1, 8, 15, 24, 48):
        assert kernel_backend(ok, x, "auto", c) == "torch"
        assert msg(ValueError, kernel_backend, ok, x, "triton", c) == (
            f"backend='triton': the kernels need chunk_size a power of two >= 16, got {c}"
        )
        assert kernel_backend(ok, x, "torch", c) == "torch"
    assert msg(ValueError, kernel_backend, ok, x, "auto", 0) == "chunk_size must be >= 1, got 0"
    assert msg(TypeError, kernel_backend, ok, x, "auto", 16.0) == "chunk_size must be an int, got float"
    assert CHUNK_SIZE == 64 and kernel_backend(ok, x) == kernel_backend(ok, x, "auto", CHUNK_SIZE)


def test_chunked_diag_scan_checks_the_chunk_size_and_defaults_to_CHUNK_SIZE():
    lam, x = 0.5 + 0.4 * torch.rand(70, 3, generator=gen(1), dtype=F64), rand(70, 3, seed=2)
    assert msg(ValueError, chunked_diag_scan, lam, x, 0) == "chunk_size must be >= 1, got 0"
    assert msg(TypeError, chunked_diag_scan, lam, x, 2.5) == "chunk_size must be an int, got float"
    H, hL = chunked_diag_scan(lam, x)
    H64, hL64 = chunked_diag_scan(lam, x, CHUNK_SIZE)
    assert torch.equal(H, H64) and torch.equal(hL, hL64)


@pytest.mark.parametrize("structure", ["diagonal", "scalar"])
def test_chunk_size_is_honoured_on_every_route(structure, monkeypatch):
    from attnmath.kernels import dispatch

    from attnmath.dsf import core

    kernel_chunks, torch_chunks = [], []
    kernel, scan = dispatch.diag_scan, core._chunked_diag_scan

    def kernel_spy(*args, **kwargs):
        kernel_chunks.append(kwargs["chunk_size"])
        return kernel(*args, **kwargs)

    def torch_spy(lam, x, chunk_size, h0):
        torch_chunks.append(chunk_size)
        return scan(lam, x, chunk_size, h0)

    monkeypatch.setattr(dispatch, "diag_scan", kernel_spy)
    monkeypatch.setattr(core, "_chunked_diag_scan", torch_spy)
    s32, s64, u = make(structure, L=40)  # 40 steps: chunks of 16 make 3 chunks, the last one partial
    ref = s64.recurrent(u)
    for c, backend in ((16, "triton"), (32, "auto"), (64, "triton")):
        y = s32.chunked(u.float(), c, backend=backend)
        assert kernel_chunks[-1] == c and not torch_chunks
        # fp32 kernel vs float64 loop: (L + N) eps32 growth, x10 for the accumulation order
        assert (y.double() - ref).abs().max() <= 10 * (40 + 6) * F32_EPS * ref.abs().max()
    s32.chunked(u.float(), backend="triton")
    assert kernel_chunks[-1] == CHUNK_SIZE
    for c, backend in ((8, "auto"), (24, "auto"), (16, "torch")):  # the kernel cannot take 8 or 24
        y = s32.chunked(u.float(), c, backend=backend)
        assert torch_chunks[-1] == c and len(kernel_chunks) == 4
        assert (y.double() - ref).abs().max() <= 10 * (40 + 6) * F32_EPS * ref.abs().max()
    assert msg(ValueError, s32.chunked, u.float(), 8, backend="triton") == (
        "backend='triton': the kernels need chunk_size a power of two >= 16, got 8"
    )
