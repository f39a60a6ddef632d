"""The dispatch point (``kernels/dispatch.py``): backend choice, both backends agree, bad inputs and types."""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels import _triton, dispatch
from attnmath.kernels.linear_attention import reference

from ._helpers import assert_close, make_inputs

F32, F64 = torch.float32, torch.float64


def test_backend_follows_cuda_and_the_users_interpreter_switch(monkeypatch):
    if torch.cuda.is_available():
        assert dispatch.backend() == "triton" and dispatch.backend("cpu") == "torch"
        return
    monkeypatch.setattr(_triton, "_SET_BY_US", False)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert dispatch.backend() == "triton"
    assert dispatch.backend(dtype=F64) == "torch"  # the Triton kernels compute in fp32
    monkeypatch.setattr(_triton, "_SET_BY_US", True)  # switched on by kernels itself, not by the user
    assert dispatch.backend() == "torch"
    monkeypatch.delenv("TRITON_INTERPRET")
    monkeypatch.setattr(_triton, "_SET_BY_US", False)
    assert dispatch.backend() == "torch"


_FORCED_TRITON_SCRIPT = """
import os, torch
from attnmath.kernels import dispatch
g = torch.Generator().manual_seed(0)
q, k, v = (torch.randn(1, 150, 2, 16, generator=g) for _ in range(3))
gate = -torch.rand(1, 150, 2, 16, generator=g)
a = dispatch.linear_attention(q, k, v, backend="triton")[0]
b = dispatch.diag_scan(q, k, v, gate, backend="triton")[0]
c = dispatch.softmax_attention(q, k, v, backend="triton")
ref = (dispatch.linear_attention(q, k, v, backend="torch")[0], dispatch.diag_scan(q, k, v, gate, backend="torch")[0],
       dispatch.softmax_attention(q, k, v, backend="torch"))
err = max(float((x - y).abs().max() / y.abs().max()) for x, y in zip((a, b, c), ref))
print(repr(os.environ.get("TRITON_INTERPRET")), dispatch.backend(), err)
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU Triton compiles; there is no interpreter to switch on")
def test_forcing_triton_on_cpu_leaves_the_environment_as_it_was():
    """backend="triton" on a CPU switches the interpreter on for Triton's own reads only: os.environ is restored,
    and the default backend stays the user's choice (torch)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run(
        [sys.executable, "-c", _FORCED_TRITON_SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    env_after, default, err = out.stdout.split()
    assert env_after == "None" and default == "torch"
    # fp32 over 150 steps, 3 chunks: unit roundoff 6e-8 x a growth factor of ~1e3 (sums of T*K products)
    assert float(err) < 1e-4


@pytest.mark.parametrize("op", ["linear_attention", "diag_scan", "softmax_attention"])
def test_both_backends_give_the_same_answer(op):
    x = {n: t.detach() for n, t in make_inputs(50, (2, 50, 2, 16, 16), F32, h0=True, gate="key").items()}
    args = (x["q"], x["k"], x["v"]) + ((x["g"],) if op == "diag_scan" else ())
    kw = {} if op == "softmax_attention" else {"initial_state": x["h0"]}
    fn = getattr(dispatch, op)
    a, b = fn(*args, backend="torch", **kw), fn(*args, backend="triton", **kw)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    assert_close(f"{op}: triton vs torch", a, b, F32)


BAD = [
    ("q must have 4 dimensions", lambda q, k, v, g: dispatch.linear_attention(q[0], k, v)),
    ("k must have the shape of q", lambda q, k, v, g: dispatch.linear_attention(q, k[:, :, :, :8], v)),
    ("v must have shape", lambda q, k, v, g: dispatch.linear_attention(q, k, v[:, :5])),
    (
        "initial_state must have shape",
        lambda q, k, v, g: dispatch.linear_attention(q, k, v, initial_state=torch.zeros(1, 2, 3)),
    ),
    ("g must have shape", lambda q, k, v, g: dispatch.diag_scan(q, k, v, g[:, :, :, :3])),
    (
        "chunk_size must be a power of two",
        lambda q, k, v, g: dispatch.diag_scan(q, k, v, g, chunk_size=24, backend="torch"),
    ),
    ("backend must be one of", lambda q, k, v, g: dispatch.softmax_attention(q, k, v, backend="cuda")),
    ("scale must be > 0", lambda q, k, v, g: dispatch.softmax_attention(q, k, v, scale=-1.0)),
    (
        "K must be <= 256",
        lambda q, k, v, g: dispatch.linear_attention(*(torch.zeros(1, 4, 1, 300),) * 3, backend="triton"),
    ),
    ("chunk_size must be >= 16", lambda q, k, v, g: dispatch.diag_scan(q, k, v, g, chunk_size=8, backend="triton")),
]


@pytest.mark.parametrize(("message", "call"), BAD, ids=[m.split()[0] + "-" + m.split()[-1] for m, _ in BAD])
def test_bad_inputs_raise_a_value_error_naming_the_argument(message, call):
    x = {n: t.detach() for n, t in make_inputs(53, (1, 10, 2, 16, 16), F32, h0=False, gate="key").items()}
    with pytest.raises(ValueError, match=message):
        call(x["q"], x["k"], x["v"], x["g"])


def test_bad_types_raise_a_type_error():
    q = torch.zeros(1, 4, 1, 16, dtype=F64)
    with pytest.raises(TypeError, match="fp16, bf16 or fp32"):
        dispatch.linear_attention(q, q, q, backend="triton")
    with pytest.raises(TypeError, match="q must have a real floating dtype"):
        dispatch.linear_attention(q.long(), q, q)
    with pytest.raises(TypeError, match="initial_state must be a tuple"):
        dispatch.linear_attention(q, q, q, normalize=True, initial_state=torch.zeros(1, 1, 16, 16, dtype=F64))


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_normalize_refuses_a_denominator_that_is_not_positive(backend):
    """Features of either sign make q_t^T z_t change sign: outputs of any size (~650 measured) without the check."""
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 40, 2, 16, generator=g) for _ in range(3))
    with pytest.raises(
        ValueError, match=r"normalize=True needs a positive denominator q_t\^T z_t .* index \[b, t, h\]"
    ):
        dispatch.linear_attention(q, k, v, normalize=True, backend=backend)
    with pytest.raises(ValueError, match="positive denominator"):
        reference.linear_attention_recurrent(q, k, v, normalize=True)
    # positive features (elu + 1) pass
    fq, fk = (torch.nn.functional.elu(x) + 1 for x in (q, k))
    o, _ = dispatch.linear_attention(fq, fk, v, normalize=True, backend=backend)
    assert torch.isfinite(o).all()


@pytest.mark.parametrize("op", ["linear_attention", "diag_scan", "softmax_attention"])
def test_a_transposed_b_h_t_k_input_is_refused_where_its_shape_gives_it_away(op):
    x = torch.zeros(1, 2, 300, 16)  # [B, H, T, K] with H = 2 heads, T = 300 steps
    args = (x, x, x) + ((torch.zeros(1, 2, 300, 16),) if op == "diag_scan" else ())
    with pytest.raises(ValueError, match=r"looks like the \[B, H, T, K\] layout.*transpose\(1, 2\)"):
        getattr(dispatch, op)(*args, backend="torch")
    # The right layout of the same tensors is accepted.
    y = x.transpose(1, 2)
    args = (y, y, y) + ((torch.zeros(1, 300, 2, 16),) if op == "diag_scan" else ())
    getattr(dispatch, op)(*args, backend="torch")


@pytest.mark.parametrize("op", ["linear_attention", "diag_scan", "softmax_attention"])
def test_each_operator_is_callable_from_the_kernels_package(op):
    """attnmath.kernels.<op>(...) is dispatch.<op>(...); the folder's modules stay importable."""
    import inspect

    from attnmath import kernels

    x = {n: t.detach() for n, t in make_inputs(7, (1, 20, 2, 16, 16), F32, h0=False, gate="key").items()}
    args = (x["q"], x["k"], x["v"]) + ((x["g"],) if op == "diag_scan" else ())
    a, b = getattr(kernels, op)(*args, backend="torch"), getattr(dispatch, op)(*args, backend="torch")
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    assert torch.equal(a, b)
    assert inspect.signature(getattr(kernels, op)) == inspect.signature(getattr(dispatch, op))
    assert getattr(kernels, op).reference.__name__ == f"attnmath.kernels.{op}.reference"
    with pytest.raises(ValueError, match="q must have 4 dimensions"):
        getattr(kernels, op)(*(t[0] for t in args))


def test_diag_scan_refuses_a_positive_log_decay():
    """g is a log-decay (<= 0): a positive entry is a growing state whose chunked factors overflow."""
    q = torch.randn(1, 8, 1, 4, generator=torch.Generator().manual_seed(0))
    g = torch.full((1, 8, 1), -0.1)
    g[0, 3, 0] = 0.5
    with pytest.raises(ValueError, match=r"^g must be <= 0\.0, got 0\.5"):
        dispatch.diag_scan(q, q, q, g)
