"""The DSF's one routing point to the Triton kernels (attnmath.dsf.scan.kernel_backend / kernel_readout_scan).

tests/conftest.py sets TRITON_INTERPRET=1 when there is no GPU, so 'auto' must pick Triton here.
"""

from __future__ import annotations

import pytest
import torch

from attnmath.dsf import DSF
from attnmath.dsf.scan import kernel_backend

F32_EPS = torch.finfo(torch.float32).eps


def make(structure="diagonal", L=23, N=6, d=2, p=3, seed=0, dtype=torch.float32, lam_lo=0.5):
    g = torch.Generator().manual_seed(seed)
    shape = (L, N) if structure == "diagonal" else (L,)
    lam = lam_lo + (1 - lam_lo) * torch.rand(*shape, generator=g, dtype=torch.float64)
    B = torch.randn(L, N, d, generator=g, dtype=torch.float64)
    C = torch.randn(L, p, N, generator=g, dtype=torch.float64)
    u = torch.randn(L, d, generator=g, dtype=torch.float64)
    return DSF(lam.to(dtype), B.to(dtype), C.to(dtype), structure=structure), DSF(lam, B, C, structure=structure), u


@pytest.mark.parametrize("structure", ["diagonal", "scalar"])
def test_auto_routes_fp32_to_triton_and_matches_the_recurrence(structure):
    s32, s64, u = make(structure)
    x = (s32.B @ u.float()[..., None])[..., 0]
    assert kernel_backend(s32.lam, x) == "triton"
    y = s32.chunked(u.float(), 8)
    ref = s64.recurrent(u)
    # fp32 kernel vs float64 loop: (L + N) eps32 growth, x10 for the accumulation order
    assert (y.double() - ref).abs().max() <= 10 * (23 + 6) * F32_EPS * ref.abs().max()


def test_initial_state_reaches_the_kernel():
    s32, s64, u = make(seed=3)
    h0 = torch.randn(6, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    y = s32.chunked(u.float(), 4, h0.float(), backend="triton")
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
