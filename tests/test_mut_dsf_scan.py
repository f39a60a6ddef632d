"""attnmath.dsf.scan (segment sums, log-space products, the chunked scan, the kernel routing point): exact contracts.

Complements tests/test_dsf_core.py and tests/test_dsf_dispatch.py (issue 9). Each function is
checked against a loop or a product written here, on batched inputs whose sizes are all
distinct, with signs, exact zeros and ``-inf`` entries; the routing point is checked at each
boundary of the kernel's domain (dtype, :math:`0<\\lambda\\le1`, :math:`N\\le256`) with its exact
messages. tests/conftest.py sets ``TRITON_INTERPRET=1`` on a machine without a GPU, so ``"auto"``
routes suitable inputs to Triton here.
"""

from __future__ import annotations

import pytest
import torch

from attnmath.dsf.scan import (
    KERNEL_MAX_STATE,
    chunked_diag_scan,
    diag_transition_products,
    kernel_backend,
    kernel_readout_scan,
    segsum,
)
from tests._helpers import msg, rand

F64 = torch.float64
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


# ----------------------------------------------------------------------------- segsum
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
@pytest.mark.parametrize("scalar", [True, False])
def test_chunked_diag_scan_batched_against_the_loop(scalar):
    L, N = 7, 3
    lam = 1.8 * torch.rand(2, L, *(() if scalar else (N,)), generator=torch.Generator().manual_seed(2), dtype=F64) - 0.9
    x, h0 = rand(2, L, N, seed=3), rand(2, N, seed=4)
    for h in (None, h0):
        ref = scan_loop(lam, x, h)
        for chunk in (1, 2, 3, 7, 10):
            H, hL = chunked_diag_scan(lam, x, chunk, h)
            assert H.shape == (2, L, N) and hL.shape == (2, N)
            # products of |lam| < 1 and sums of L = 7 terms: 64 L eps in float64
            assert torch.allclose(H, ref, rtol=0, atol=64 * L * 2.2e-16), chunk
            assert torch.allclose(hL, ref[:, -1], rtol=0, atol=64 * L * 2.2e-16), chunk


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
    g = torch.Generator().manual_seed(6)
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
