"""GPU tier (``pytest -m gpu``, needs CUDA): bf16 and fp16, large shapes, Triton kernels against the fp64 references.

Deselected on CPU (``make test`` runs ``-m "not gpu"``); skipped with a reason when run without CUDA.
The references run on the GPU in float64 (loops of T steps; the softmax one materialises T x T).
"""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels.diag_scan import diag_scan_recurrent, triton_chunk_diag_scan
from attnmath.kernels.linear_attention import linear_attention_recurrent, triton_chunk_linear_attention
from attnmath.kernels.softmax_attention import softmax_attention_reference, triton_flash_attention

from ._helpers import (
    as_reference,
    assert_close,
    case_id,
    gate_gradient_scale,
    make_inputs,
    outputs_and_grads,
    softmax_gradient_scale,
    upstream,
)

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU tier: needs CUDA")]

SHAPES = [(2, 1024, 4, 64, 64), (1, 4100, 4, 128, 64)]  # 4100: not a multiple of any chunk size
DTYPES = [torch.bfloat16, torch.float16]


def _params(shapes, extra=("",), h0=True):
    return [pytest.param(s, dt, e, id=case_id(*s, dt, h0, e)) for s in shapes for dt in DTYPES for e in extra]


@pytest.mark.parametrize(("shape", "dtype", "_"), _params(SHAPES))
def test_linear_attention_large(shape, dtype, _):
    x = make_inputs(60, shape, dtype, h0=True, device="cuda")
    o, S = triton_chunk_linear_attention(x["q"], x["k"], x["v"], initial_state=x["h0"])
    do, dS = upstream(60, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    r = as_reference(x)
    o_r, S_r = linear_attention_recurrent(r["q"], r["k"], r["v"], initial_state=r["h0"], dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, r, do, dS)
    for name in want:
        assert_close(name, want[name], got[name], dtype)


@pytest.mark.parametrize(
    ("shape", "dtype", "gate"), _params([SHAPES[0]], ("scalar", "key")) + _params([SHAPES[1]], ("scalar",))
)
def test_diag_scan_large(shape, dtype, gate):
    x = make_inputs(61, shape, dtype, h0=True, gate=gate, device="cuda")
    o, S = triton_chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"])
    do, dS = upstream(61, o, S)
    got = outputs_and_grads(o, S, x, do, dS)
    r = as_reference(x)
    o_r, S_r = diag_scan_recurrent(r["q"], r["k"], r["v"], r["g"], initial_state=r["h0"], dtype=torch.float64)
    want = outputs_and_grads(o_r, S_r, r, do, dS)
    for name in want:
        scale = gate_gradient_scale(r, want) if name == "dg" else 0.0  # dg: a running difference of q*dq, k*dk
        assert_close(name, want[name], got[name], dtype, scale=scale)


@pytest.mark.parametrize(("shape", "dtype", "_"), _params(SHAPES, h0=False))
def test_flash_attention_large(shape, dtype, _):
    x = make_inputs(62, shape, dtype, h0=False, device="cuda")
    o = triton_flash_attention(x["q"], x["k"], x["v"])
    do, _unused = upstream(62, o, None)
    got = outputs_and_grads(o, None, x, do, None)
    r = as_reference(x)
    want = outputs_and_grads(
        softmax_attention_reference(r["q"], r["k"], r["v"], dtype=torch.float64), None, r, do, None
    )
    scales = softmax_gradient_scale(r, do, True)
    for name in want:
        assert_close(name, want[name], got[name], dtype, scale=scales.get(name, 0.0))
