"""Tests of the tests: bugs planted in the chunked forms must fail the same comparisons the real forms pass.

Two bugs from the issue: the decay applied one step late (``S_t = diag(e^{g_{t-1}}) S_{t-1} + k_t v_t^T``),
and a missing chunk-boundary term (each chunk starts from the initial state instead of the state the
previous chunks left).  In the PyTorch forms the bug is planted by replacing one helper; in the Triton
kernels (whose source cannot be patched from a test) by feeding the kernel exactly the inputs that
make it compute the buggy recurrence.  A NaN-poisoned output the kernel forgot to write is caught too.
"""

from __future__ import annotations

import attnmath.kernels.diag_scan.chunk as ds_chunk
import attnmath.kernels.linear_attention.chunk as la_chunk
import pytest
import torch
import torch.nn.functional as F
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_recurrent, triton_chunk_diag_scan
from attnmath.kernels.linear_attention import (
    chunk_linear_attention,
    linear_attention_recurrent,
    triton_chunk_linear_attention,
)
from attnmath.kernels.linear_attention.triton_chunk import _la_fwd_kernel

from ._helpers import assert_close, make_inputs

SHAPE = (1, 100, 2, 16, 16)  # T = 100: three full chunks of 32 and a partial one
C = 32
F32 = torch.float32


def _diag_inputs(gate):
    x = {n: t.detach() for n, t in make_inputs(40, SHAPE, F32, h0=True, gate=gate).items()}
    x["g"] = F.logsigmoid(torch.randn(x["g"].shape, generator=torch.Generator().manual_seed(41)) + 4)  # slow decays
    return x


def _diag_reference(x):
    return diag_scan_recurrent(*(x[n].double() for n in "qkvg"), initial_state=x["h0"].double(), dtype=torch.float64)


def _one_step_late(g: torch.Tensor) -> torch.Tensor:
    """g'_t = g_{t-1} (g'_0 = 0): the decay of step t is applied at step t+1."""
    return torch.cat([torch.zeros_like(g[:, :1]), g[:, :-1]], dim=1)


def _chunk_by_chunk(fn, x, *, gate: bool):
    """Run each chunk on its own from the initial state: the inter-chunk term is missing."""
    outs = []
    for start in range(0, SHAPE[1], C):
        sl = {n: x[n][:, start : start + C] for n in ("qkvg" if gate else "qkv")}
        o, _ = fn(*(sl[n] for n in ("qkvg" if gate else "qkv")), initial_state=x["h0"], chunk_size=C)
        outs.append(o)
    return torch.cat(outs, dim=1)


@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_decay_one_step_late_is_caught_in_the_pytorch_form(gate, monkeypatch):
    x = _diag_inputs(gate)
    o_ref, S_ref = _diag_reference(x)
    o, S = chunk_diag_scan(*(x[n] for n in "qkvg"), initial_state=x["h0"], chunk_size=C)
    assert_close("o (correct)", o_ref, o, F32)
    assert_close("ht (correct)", S_ref, S, F32)
    # planted: exclusive instead of inclusive cumulative log-decay inside each chunk
    monkeypatch.setattr(ds_chunk, "_cumulative_log_decay", lambda g: g.cumsum(-2) - g)
    o_bug, S_bug = chunk_diag_scan(*(x[n] for n in "qkvg"), initial_state=x["h0"], chunk_size=C)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (decay one step late)", o_ref, o_bug, F32)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("ht (decay one step late)", S_ref, S_bug, F32)


@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_decay_one_step_late_is_caught_in_the_triton_kernel(gate):
    x = _diag_inputs(gate)
    o_ref, _ = _diag_reference(x)
    o, _ = triton_chunk_diag_scan(*(x[n] for n in "qkvg"), initial_state=x["h0"], chunk_size=C)
    assert_close("o (correct)", o_ref, o, F32)
    o_bug, _ = triton_chunk_diag_scan(
        x["q"], x["k"], x["v"], _one_step_late(x["g"]), initial_state=x["h0"], chunk_size=C
    )
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (decay one step late)", o_ref, o_bug, F32)


def test_missing_chunk_boundary_term_is_caught_in_the_pytorch_forms(monkeypatch):
    x = {n: t.detach() for n, t in make_inputs(42, SHAPE, F32, h0=True).items()}
    o_ref, _ = linear_attention_recurrent(
        *(x[n].double() for n in "qkv"), initial_state=x["h0"].double(), dtype=torch.float64
    )
    xd = _diag_inputs("key")
    od_ref, _ = _diag_reference(xd)
    assert_close(
        "o (correct)",
        o_ref,
        chunk_linear_attention(*(x[n] for n in "qkv"), initial_state=x["h0"], chunk_size=C)[0],
        F32,
    )

    def no_carry_linear(kv, h0):  # every chunk enters with h0 only
        states = h0[:, :, None].expand_as(kv).clone()
        return states, h0 + kv.sum(2)

    def no_carry_diag(kv, decay, h0):
        states = h0[:, :, None].expand_as(kv).clone()
        return states, h0 + kv.sum(2)

    monkeypatch.setattr(la_chunk, "_state_passing", no_carry_linear)
    monkeypatch.setattr(ds_chunk, "_state_passing", no_carry_diag)
    o_bug, _ = chunk_linear_attention(*(x[n] for n in "qkv"), initial_state=x["h0"], chunk_size=C)
    od_bug, _ = chunk_diag_scan(*(xd[n] for n in "qkvg"), initial_state=xd["h0"], chunk_size=C)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (linear attention, no chunk carry)", o_ref, o_bug, F32)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (diag scan, no chunk carry)", od_ref, od_bug, F32)


def test_missing_chunk_boundary_term_is_caught_in_the_triton_kernels():
    x = {n: t.detach() for n, t in make_inputs(43, SHAPE, F32, h0=True).items()}
    o_ref, _ = linear_attention_recurrent(
        *(x[n].double() for n in "qkv"), initial_state=x["h0"].double(), dtype=torch.float64
    )
    xd = _diag_inputs("key")
    od_ref, _ = _diag_reference(xd)
    assert_close(
        "o (correct)",
        o_ref,
        triton_chunk_linear_attention(*(x[n] for n in "qkv"), initial_state=x["h0"], chunk_size=C)[0],
        F32,
    )
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close(
            "o (linear attention, no chunk carry)",
            o_ref,
            _chunk_by_chunk(triton_chunk_linear_attention, x, gate=False),
            F32,
        )
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close(
            "o (diag scan, no chunk carry)", od_ref, _chunk_by_chunk(triton_chunk_diag_scan, xd, gate=True), F32
        )


def test_allocations_are_nan_poisoned():
    assert torch.isnan(torch.empty(3, 4)).all()
    assert torch.isnan(torch.empty_like(torch.zeros(5))).all()
    assert torch.isnan(torch.zeros(2).new_empty(6)).all()


def test_an_output_the_kernel_never_writes_is_caught():
    """Launch the forward kernel on one head too few: that head's output keeps its NaN poison."""
    x = {n: t.detach() for n, t in make_inputs(44, (1, 40, 2, 16, 16), F32, h0=False).items()}
    o_ref, _ = linear_attention_recurrent(*(x[n].double() for n in "qkv"), dtype=torch.float64)
    o = torch.empty_like(x["v"])
    ht = torch.empty(1, 2, 16, 16)
    _la_fwd_kernel[(1, 1)](
        x["q"], x["k"], x["v"], o, ht, ht, 40, 2, 16, 16, 16**-0.5, BT=32, BK=16, BV=16, USE_H0=False, PREC="ieee"
    )
    assert torch.isnan(o[:, :, 1]).all() and not torch.isnan(o[:, :, 0]).any()
    with pytest.raises(AssertionError, match="NaN"):
        assert_close("o (one head never written)", o_ref, o, F32)
