"""Diagonal scan, GLA form (``kernels/diag_scan``): chunked PyTorch and Triton forms against the fp64 recurrence.

Both gate kinds: scalar ``g [B, T, H]`` (Mamba-2, RetNet) and per-key ``g [B, T, H, K]`` (GLA, S6).
Outputs, final states and every gradient (q, k, v, g, initial state) are compared by name.  Also:
property tests (hypothesis, float64), planted bugs that the same comparisons must catch (the decay
applied one step late, a missing chunk-boundary term), and the GPU tier (``-m gpu``).
"""

from __future__ import annotations

import attnmath.kernels.diag_scan.chunk as ds_chunk
import pytest
import torch
import torch.nn.functional as F
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_quadratic, diag_scan_recurrent, triton_chunk_diag_scan
from hypothesis import given, settings
from hypothesis import strategies as st

from ._helpers import (
    GPU_SHAPES,
    PROPERTY_ATOL,
    as_reference,
    assert_close,
    chunk_by_chunk,
    float64_inputs,
    gate_gradient_scale,
    gpu_params,
    grid,
    make_inputs,
    needs_cuda,
    outputs_and_grads,
    pow2_sizes,
    property_shapes,
    upstream,
)

SHAPES = [(1, 1, 1, 16, 16), (2, 64, 2, 16, 16), (1, 100, 2, 32, 16), (2, 130, 1, 16, 32)]
CHUNK = 32
FORMS = {"torch": chunk_diag_scan, "triton": triton_chunk_diag_scan}


def _check_against_the_recurrence(seed, x, o, S, dtype, *, finite=False):
    """Outputs, state and every gradient of ``(o, S)`` (computed from the inputs ``x``) against the float64
    recurrence, within the tolerance table's bound for ``dtype``; returns the reference's named tensors."""
    do, dS = upstream(seed, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    r = as_reference(x)
    o_r, S_r = diag_scan_recurrent(r["q"], r["k"], r["v"], r["g"], initial_state=r.get("h0"), dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, r, do, dS)
    for name in want:
        if finite:
            assert torch.isfinite(got[name]).all(), f"{name} is not finite"
        # dg is a running difference of q*dq and k*dk: its error scales with those terms
        scale = gate_gradient_scale(r, want) if name == "dg" else 0.0
        assert_close(name, want[name], got[name], dtype, scale=scale)
    return want


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize(
    ("shape", "dtype", "h0", "gate"), grid(SHAPES, [torch.float32, torch.float16], extra=("scalar", "key"))
)
def test_outputs_states_and_gradients_match_the_recurrence(form, shape, dtype, h0, gate):
    x = make_inputs(10, shape, dtype, h0=h0, gate=gate)
    o, S = FORMS[form](x["q"], x["k"], x["v"], x["g"], initial_state=x.get("h0"), chunk_size=CHUNK)
    want = _check_against_the_recurrence(10, x, o, S, dtype)
    assert set(want) == {"o", "ht", "dq", "dk", "dv", "dg"} | ({"dh0"} if h0 else set())


@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_recurrent_and_masked_references_agree(gate):
    x = {
        n: t.detach().double() for n, t in make_inputs(11, (2, 40, 2, 8, 5), torch.float32, h0=True, gate=gate).items()
    }
    o_rec, _ = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=torch.float64)
    o_quad = diag_scan_quadratic(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=torch.float64)
    torch.testing.assert_close(o_quad, o_rec, rtol=0, atol=1e-12)  # float64, <= 40 decayed terms of size O(10)


@pytest.mark.parametrize("span", [0.0, ds_chunk.FACTOR_SPAN])  # 0: every per-key chunk takes the sub-chunk path
@pytest.mark.parametrize("gate", ["scalar", "key"])
@pytest.mark.parametrize(("C", "c"), [(1, 1), (8, 2), (16, 16), (64, 16)])
def test_every_chunk_and_sub_chunk_size_gives_the_same_answer(gate, C, c, span):
    x = {
        n: t.detach().double() for n, t in make_inputs(12, (1, 45, 2, 4, 3), torch.float32, h0=True, gate=gate).items()
    }
    o, S = chunk_diag_scan(
        x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=C, sub_chunk=c, factor_span=span
    )
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
    # every output finite; here dg ~ 1e-25 is a cancellation of O(1) terms q*dq - k*dk: its error is relative to them
    _check_against_the_recurrence(13, x, o, S, torch.float32, finite=True)


@pytest.mark.parametrize("wide", [False, True])
def test_narrow_per_key_groups_take_the_one_exp_path(wide, monkeypatch):
    """A group whose per-key chunks all span at most FACTOR_SPAN takes the one-exp factorisation (a division
    instead of the second exp); a group with one wide chunk does not.  Either way, outputs, state and every
    gradient match the float64 recurrence within fp32 tolerances."""
    shape = (2, 200, 2, 16, 16)  # one group of 4 chunks of 64 per head (the last one partial)
    x = make_inputs(16, shape, torch.float32, h0=True, gate="key")
    if wide:
        g = x["g"].detach().clone()
        g[1, 130, 0, 5] = -50.0  # chunk 2 of batch 1, head 0 spans > 40
        x["g"] = g.requires_grad_()
    calls: list[int] = []
    narrow = ds_chunk._factor_narrow

    def spy(q, k, v, b):
        calls.append(q.shape[2])
        return narrow(q, k, v, b)

    monkeypatch.setattr(ds_chunk, "_factor_narrow", spy)
    o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=64)
    assert calls == ([] if wide else [4]), f"the one-exp path ran on {calls} chunk batches"
    _check_against_the_recurrence(16, x, o, S, torch.float32)


def test_per_key_chunks_mix_the_factorised_and_the_sub_chunk_path(monkeypatch):
    """Chunks whose decay span exceeds FACTOR_SPAN take the sub-chunk path, the others one factorised matmul;
    in one call both run, and outputs, state and every gradient match the float64 recurrence (fp32 tolerances)."""
    shape = (1, 256, 2, 16, 16)  # 4 chunks of 64 per head: 8 chunks in all
    x = make_inputs(15, shape, torch.float32, h0=True, gate="key")
    g = x["g"].detach().clone()
    g[0, 70, 0, 3] = -45.0  # one key of chunk 1 (head 0) spans > 40: that chunk alone is wide
    g[0, 200, 1, 0] = -41.0  # and chunk 3 of head 1
    x["g"] = g.requires_grad_()
    sizes: list[int] = []
    sub = ds_chunk._intra_per_key

    def spy(q, k, b, c):
        sizes.append(q.shape[0] if q.ndim == 3 else -1)  # [n_wide, C, K] when called on the wide chunks only
        return sub(q, k, b, c)

    monkeypatch.setattr(ds_chunk, "_intra_per_key", spy)
    o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=64)
    assert sizes == [2], f"the sub-chunk path ran on {sizes} chunk batches, expected the 2 wide chunks once"
    _check_against_the_recurrence(15, x, o, S, torch.float32)


def test_hand_written_and_autograd_group_backwards_chain(monkeypatch):
    """Three groups of 512 steps; the middle one holds a wide per-key chunk, so its backward runs by autograd while
    the other two use the hand-written one: the state gradient is carried across both kinds (fp64 vs recurrence)."""
    calls: list[str] = []
    auto = ds_chunk._backward_group_autograd

    def spy_auto(*args):
        calls.append("autograd")
        return auto(*args)

    monkeypatch.setattr(ds_chunk, "_backward_group_autograd", spy_auto)
    x = {
        n: t.detach().double().requires_grad_()
        for n, t in make_inputs(17, (1, 1100, 1, 8, 4), torch.float32, h0=True, gate="key").items()
    }
    g = (x["g"].detach() * 0.05).clone()
    g[0, 700, 0, 2] = -50.0  # a wide chunk in group 2 (steps 512-1023)
    x["g"] = g.requires_grad_()
    o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=16)
    do, dS = upstream(17, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    assert calls == ["autograd"], f"expected one autograd group backward, got {calls}"
    o_r, S_r = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, x, do, dS)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-9, atol=1e-8, msg=name)  # float64, 1100-term sums


def test_factor_span_is_validated():
    x = make_inputs(16, (1, 8, 1, 4, 4), torch.float32, h0=False, gate="key")
    for bad in (-1.0, 41.0, float("nan")):
        with pytest.raises(ValueError, match="factor_span"):
            chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], factor_span=bad)


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


# ---- property tests (hypothesis): for random shapes, chunk sizes and gates, chunked == recurrent == masked


@settings(max_examples=30, deadline=None)
@given(
    shape=property_shapes,
    C=pow2_sizes,
    c=pow2_sizes,
    seed=st.integers(0, 2**16),
    gate=st.sampled_from(["scalar", "key"]),
    span=st.sampled_from([0.0, 2.0, ds_chunk.FACTOR_SPAN]),  # 2.0: a mix of factorised and sub-chunk chunks
)
def test_diag_scan_chunked_equals_recurrent_and_masked(shape, C, c, seed, gate, span):
    q, k, v, h0, lg = float64_inputs(seed, *shape, gate=gate)
    o, S = chunk_diag_scan(q, k, v, lg, initial_state=h0, chunk_size=C, sub_chunk=c, factor_span=span)
    o_r, S_r = diag_scan_recurrent(q, k, v, lg, initial_state=h0, dtype=torch.float64)
    torch.testing.assert_close(o, o_r, rtol=0, atol=PROPERTY_ATOL)
    torch.testing.assert_close(S, S_r, rtol=0, atol=PROPERTY_ATOL)
    torch.testing.assert_close(
        diag_scan_quadratic(q, k, v, lg, initial_state=h0, dtype=torch.float64), o_r, rtol=0, atol=PROPERTY_ATOL
    )


# ---- planted bugs: the decay applied one step late (S_t = diag(e^{g_{t-1}}) S_{t-1} + k_t v_t^T) and a missing
# chunk-boundary term must fail the comparisons the real forms pass.  In the PyTorch form the bug is planted by
# replacing one helper; in the Triton kernel (whose source cannot be patched from a test) by feeding the kernel
# exactly the inputs that make it compute the buggy recurrence.

BUG_SHAPE = (1, 100, 2, 16, 16)  # T = 100: three full chunks of 32 and a partial one
BUG_CHUNK = 32
F32 = torch.float32


def _bug_inputs(gate):
    x = {n: t.detach() for n, t in make_inputs(40, BUG_SHAPE, F32, h0=True, gate=gate).items()}
    x["g"] = F.logsigmoid(torch.randn(x["g"].shape, generator=torch.Generator().manual_seed(41)) + 4)  # slow decays
    return x


def _bug_reference(x):
    return diag_scan_recurrent(*(x[n].double() for n in "qkvg"), initial_state=x["h0"].double(), dtype=torch.float64)


def _one_step_late(g: torch.Tensor) -> torch.Tensor:
    """g'_t = g_{t-1} (g'_0 = 0): the decay of step t is applied at step t+1."""
    return torch.cat([torch.zeros_like(g[:, :1]), g[:, :-1]], dim=1)


@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_decay_one_step_late_is_caught_in_the_pytorch_form(gate, monkeypatch):
    x = _bug_inputs(gate)
    o_ref, S_ref = _bug_reference(x)
    o, S = chunk_diag_scan(*(x[n] for n in "qkvg"), initial_state=x["h0"], chunk_size=BUG_CHUNK)
    assert_close("o (correct)", o_ref, o, F32)
    assert_close("ht (correct)", S_ref, S, F32)
    # planted: exclusive instead of inclusive cumulative log-decay inside each chunk
    monkeypatch.setattr(ds_chunk, "_cumulative_log_decay", lambda g: g.cumsum(-2) - g)
    o_bug, S_bug = chunk_diag_scan(*(x[n] for n in "qkvg"), initial_state=x["h0"], chunk_size=BUG_CHUNK)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (decay one step late)", o_ref, o_bug, F32)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("ht (decay one step late)", S_ref, S_bug, F32)


@pytest.mark.parametrize("gate", ["scalar", "key"])
def test_decay_one_step_late_is_caught_in_the_triton_kernel(gate):
    x = _bug_inputs(gate)
    o_ref, _ = _bug_reference(x)
    o, _ = triton_chunk_diag_scan(*(x[n] for n in "qkvg"), initial_state=x["h0"], chunk_size=BUG_CHUNK)
    assert_close("o (correct)", o_ref, o, F32)
    o_bug, _ = triton_chunk_diag_scan(
        x["q"], x["k"], x["v"], _one_step_late(x["g"]), initial_state=x["h0"], chunk_size=BUG_CHUNK
    )
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (decay one step late)", o_ref, o_bug, F32)


def test_missing_chunk_boundary_term_is_caught_in_the_pytorch_form(monkeypatch):
    x = _bug_inputs("key")
    o_ref, _ = _bug_reference(x)

    def no_carry(kv, decay, h0):  # every chunk enters with h0 only
        states = h0[:, :, None].expand_as(kv).clone()
        return states, h0 + kv.sum(2)

    monkeypatch.setattr(ds_chunk, "_state_passing", no_carry)
    o_bug, _ = chunk_diag_scan(*(x[n] for n in "qkvg"), initial_state=x["h0"], chunk_size=BUG_CHUNK)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close("o (diag scan, no chunk carry)", o_ref, o_bug, F32)


def test_missing_chunk_boundary_term_is_caught_in_the_triton_kernel():
    x = _bug_inputs("key")
    o_ref, _ = _bug_reference(x)
    with pytest.raises(AssertionError, match="relative RMSE"):
        assert_close(
            "o (diag scan, no chunk carry)",
            o_ref,
            chunk_by_chunk(triton_chunk_diag_scan, x, "qkvg", chunk=BUG_CHUNK),
            F32,
        )


# ---- GPU tier


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize(
    ("shape", "dtype", "gate"),
    gpu_params([GPU_SHAPES[0]], ("scalar", "key")) + gpu_params([GPU_SHAPES[1]], ("scalar",)),
)
def test_diag_scan_large(shape, dtype, gate):
    x = make_inputs(61, shape, dtype, h0=True, gate=gate, device="cuda")
    o, S = triton_chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"])
    _check_against_the_recurrence(61, x, o, S, dtype)
