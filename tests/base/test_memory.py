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
