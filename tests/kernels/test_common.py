"""Shared input checks and layout helpers (``kernels/_common.py``): what is validated, chunk layout round trips."""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels import _common, dispatch


def test_q_k_v_must_be_finite_but_states_and_gates_are_not_checked():
    """As the module docstring says: a NaN in q, k or v is rejected; a NaN state or log-decay passes through."""
    q = torch.randn(1, 6, 1, 4, dtype=torch.float64)
    for name in "qkv":
        bad = {"q": q, "k": q, "v": q} | {name: q * float("nan")}
        with pytest.raises(ValueError, match=rf"\b{name} must contain only finite values"):
            _common.check_qkv(bad["q"], bad["k"], bad["v"])
    h0 = torch.full((1, 1, 4, 4), float("nan"), dtype=torch.float64)
    o, _ = dispatch.linear_attention(q, q, q, initial_state=h0, backend="torch")
    assert torch.isnan(o).all()
    g = torch.full((1, 6, 1), float("nan"), dtype=torch.float64)
    o, _ = dispatch.diag_scan(q, q, q, g, backend="torch")
    assert torch.isnan(o).all()


@pytest.mark.parametrize("T", [1, 7, 16, 33])
def test_to_chunks_and_from_chunks_are_inverse(T):
    x = torch.randn(2, T, 3, 5)
    c = _common.to_chunks(x, 8)
    assert c.shape == (2, 3, -(-T // 8), 8, 5)
    assert torch.equal(_common.from_chunks(c, T), x)
    assert not c[:, :, -1, (T - 1) % 8 + 1 :].any()  # time padding is zero


def test_groups_hold_whole_chunks_of_about_512_steps():
    assert _common.group_len(64) == 512 and _common.group_len(48) == 480 and _common.group_len(1024) == 1024
