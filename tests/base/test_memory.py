"""Memory estimates of the quadratic forms (``attnmath/base/memory.py``) and the refusals they drive."""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels.diag_scan.reference import diag_scan_quadratic
from attnmath.kernels.linear_attention.reference import linear_attention_quadratic
from attnmath.kernels.softmax_attention.reference import softmax_attention_reference

from attnmath.base import memory


def test_format_bytes_picks_the_largest_unit():
    assert memory.format_bytes(512) == "512 B"
    assert memory.format_bytes(1536) == "1.5 KiB"
    assert memory.format_bytes(51 * 2**30) == "51.0 GiB"


def test_available_bytes_is_positive_on_the_cpu():
    assert memory.available_bytes("cpu") > 0


def test_check_refuses_above_the_limit_and_names_size_and_alternative():
    memory.check_quadratic_memory("f", 1000, alternative="g", limit=1000)  # at the limit: allowed
    with pytest.raises(MemoryError, match=r"f needs about 1000 B .* more than the 999 B free on cpu; use g"):
        memory.check_quadratic_memory("f", 1000, alternative="g", limit=999)


@pytest.mark.parametrize(
    ("fn", "alternative"),
    [
        (linear_attention_quadratic, "attnmath.kernels.linear_attention"),
        (softmax_attention_reference, "attnmath.kernels.softmax_attention"),
        (diag_scan_quadratic, "attnmath.kernels.diag_scan"),
    ],
)
def test_quadratic_references_refuse_a_size_the_machine_cannot_hold(fn, alternative):
    """T = 2^20 steps: B H T^2 fp32 scores are 4 TiB; the refusal comes before any allocation."""
    q = torch.zeros(1, 2**20, 1, 1).expand(1, 2**20, 1, 1)
    args = (q, q, q) + ((torch.zeros(1, 2**20, 1),) if fn is diag_scan_quadratic else ())
    with pytest.raises(MemoryError, match=rf"needs about [0-9.]+ TiB .* use {alternative}"):
        fn(*args)


def test_dsf_quadratic_forms_refuse_a_length_the_machine_cannot_hold():
    """DSF.parallel at L = 20000 (d = p = 16, N = 64, diagonal) asked for ~51 GB before this check."""
    from attnmath.dsf import DSF

    L, N, d = 20_000, 64, 16
    lam = torch.ones(1, 1).expand(L, N)  # no allocation of size L N
    B = torch.zeros(1, 1, 1).expand(L, N, d)
    C = torch.zeros(1, 1, 1).expand(L, d, N)
    dsf = DSF(lam, B, C, structure="diagonal")
    assert dsf.quadratic_bytes() == (2 * L * L * N + 3 * L * L * d * d) * 4
    for call in (dsf.blocks, dsf.matrix, lambda: dsf.parallel(torch.zeros(L, d))):
        with pytest.raises(MemoryError, match=r"DSF.blocks \(L = 20000, N = 64, p = 16, d = 16\) needs about .* GiB"):
            call()
    with pytest.raises(MemoryError, match=r"use DSF.recurrent\(u\) or, for scalar/diagonal transitions, DSF.chunked"):
        dsf.transition_products()
    small = DSF(torch.rand(8, 3, dtype=torch.float64), torch.randn(8, 3, 2, dtype=torch.float64),
                torch.randn(8, 2, 3, dtype=torch.float64), structure="diagonal")  # fmt: skip
    u = torch.randn(8, 2, dtype=torch.float64)
    assert torch.allclose(small.parallel(u), small.recurrent(u), atol=1e-12)  # small sizes are not refused
