"""Diagonal scan (GLA form): chunked PyTorch and Triton forms against the fp64 recurrence.

Both gate kinds: scalar ``g [B, T, H]`` (Mamba-2, RetNet) and per-key ``g [B, T, H, K]`` (GLA, S6).
Outputs, final states and every gradient (q, k, v, g, initial state) are compared by name.
"""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_quadratic, diag_scan_recurrent, triton_chunk_diag_scan

from ._helpers import as_reference, assert_close, gate_gradient_scale, grid, make_inputs, outputs_and_grads, upstream

SHAPES = [(1, 1, 1, 16, 16), (2, 64, 2, 16, 16), (1, 100, 2, 32, 16), (2, 130, 1, 16, 32)]
CHUNK = 32
FORMS = {"torch": chunk_diag_scan, "triton": triton_chunk_diag_scan}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize(
    ("shape", "dtype", "h0", "gate"), grid(SHAPES, [torch.float32, torch.float16], extra=("scalar", "key"))
)
def test_outputs_states_and_gradients_match_the_recurrence(form, shape, dtype, h0, gate):
    x = make_inputs(10, shape, dtype, h0=h0, gate=gate)
    o, S = FORMS[form](x["q"], x["k"], x["v"], x["g"], initial_state=x.get("h0"), chunk_size=CHUNK)
    do, dS = upstream(10, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    r = as_reference(x)
    o_r, S_r = diag_scan_recurrent(r["q"], r["k"], r["v"], r["g"], initial_state=r.get("h0"), dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, r, do, dS)
    assert set(want) == {"o", "ht", "dq", "dk", "dv", "dg"} | ({"dh0"} if h0 else set())
    for name in want:
        # dg is a running difference of q*dq and k*dk: its error scales with those terms
        scale = gate_gradient_scale(r, want) if name == "dg" else 0.0
        assert_close(name, want[name], got[name], dtype, scale=scale)


@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_recurrent_and_masked_references_agree(gate):
    x = {
        n: t.detach().double() for n, t in make_inputs(11, (2, 40, 2, 8, 5), torch.float32, h0=True, gate=gate).items()
    }
    o_rec, _ = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=torch.float64)
    o_quad = diag_scan_quadratic(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=torch.float64)
    torch.testing.assert_close(o_quad, o_rec, rtol=0, atol=1e-12)  # float64, <= 40 decayed terms of size O(10)


@pytest.mark.parametrize("gate", ["scalar", "key"])
@pytest.mark.parametrize(("C", "c"), [(1, 1), (8, 2), (16, 16), (64, 16)])
def test_every_chunk_and_sub_chunk_size_gives_the_same_answer(gate, C, c):
    x = {
        n: t.detach().double() for n, t in make_inputs(12, (1, 45, 2, 4, 3), torch.float32, h0=True, gate=gate).items()
    }
    o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=C, sub_chunk=c)
    o_r, S_r = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=torch.float64)
    torch.testing.assert_close(o, o_r, rtol=0, atol=1e-12)  # float64 reordering of <= 45 terms
    torch.testing.assert_close(S, S_r, rtol=0, atol=1e-12)


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_extreme_decays_stay_finite_and_exact(form, gate):
    """g = -60 per step: e^{-b} would be e^{3840} over a 64-step chunk; the log-space form never forms it."""
    shape = (1, 150, 1, 16, 16)
    x = make_inputs(13, shape, torch.float32, h0=True, gate=gate)
    g = torch.full_like(x["g"], -60.0).requires_grad_()
    x["g"] = g
    o, S = FORMS[form](x["q"], x["k"], x["v"], g, initial_state=x["h0"], chunk_size=64)
    do, dS = upstream(13, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    r = as_reference(x)
    o_r, S_r = diag_scan_recurrent(r["q"], r["k"], r["v"], r["g"], initial_state=r["h0"], dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, r, do, dS)
    for name in want:
        assert torch.isfinite(got[name]).all(), f"{name} is not finite"
        # here dg ~ 1e-25 is a cancellation of O(1) terms q*dq - k*dk: its error is relative to them
        scale = gate_gradient_scale(r, want) if name == "dg" else 0.0
        assert_close(name, want[name], got[name], torch.float32, scale=scale)


@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_long_sequences_stream_over_groups_of_chunks(gate):
    """T = 1100 spans three groups of 512 steps; the state is carried across groups (fp64, with gradients)."""
    x = {
        n: t.detach().double().requires_grad_()
        for n, t in make_inputs(14, (1, 1100, 1, 8, 4), torch.float32, h0=True, gate=gate).items()
    }
    x["g"] = (x["g"].detach() * 0.01).requires_grad_()  # slow decays: the state of group 1 still matters in group 3
    o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=16)
    do, dS = upstream(14, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    o_r, S_r = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, x, do, dS)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-9, atol=1e-8, msg=name)  # float64, 1100-term sums
