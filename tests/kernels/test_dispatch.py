"""The dispatch point: backend choice, import safety without CUDA or the interpreter, DSF adapters, bad inputs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from attnmath.kernels import _triton, dispatch
from attnmath.kernels.diag_scan import (
    default_retnet_gammas,
    diag_scan_recurrent,
    gla_scan,
    retnet_reference,
    retnet_scan,
    s6_reference,
    s6_scan,
    ssd_reference,
    ssd_scan,
)

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


@pytest.mark.parametrize("op", ["linear_attention", "diag_scan", "softmax_attention"])
def test_both_backends_give_the_same_answer(op):
    x = {n: t.detach() for n, t in make_inputs(50, (2, 50, 2, 16, 16), F32, h0=True, gate="key").items()}
    args = (x["q"], x["k"], x["v"]) + ((x["g"],) if op == "diag_scan" else ())
    kw = {} if op == "softmax_attention" else {"initial_state": x["h0"]}
    fn = getattr(dispatch, op)
    a, b = fn(*args, backend="torch", **kw), fn(*args, backend="triton", **kw)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    assert_close(f"{op}: triton vs torch", a, b, F32)


def _run(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    clean.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean, timeout=120)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_import_is_safe_without_cuda_or_the_interpreter_and_forcing_triton_works():
    code = (
        "import sys, torch\nimport attnmath.kernels as kernels\n"
        "from attnmath import claims\n"
        "claims.load_all()\n"
        "assert 'triton' not in sys.modules, 'importing kernels imported triton'\n"
        "print(kernels.backend())\n"
        "q = torch.randn(1, 20, 1, 16)\n"
        "o, S = kernels.dispatch.linear_attention(q, q, q, backend='triton')\n"
        "r, _ = kernels.dispatch.linear_attention(q, q, q, backend='torch')\n"
        "assert (o - r).abs().max() < 1e-4, (o - r).abs().max()\n"
        "print(kernels.backend())\n"
    )
    res = _run(code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["torch", "torch"]  # forcing Triton does not change the default


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_triton_imported_before_the_interpreter_switch_is_a_clear_error():
    code = (
        "import triton, torch\nimport attnmath.kernels as kernels\n"
        "q = torch.randn(1, 20, 1, 16)\n"
        "kernels.dispatch.linear_attention(q, q, q, backend='triton')\n"
    )
    res = _run(code)
    assert res.returncode != 0 and "set TRITON_INTERPRET=1 before the first" in res.stderr


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_s6_as_a_diagonal_scan(backend):
    g = torch.Generator().manual_seed(51)
    Bs, T, d, n = 2, 45, 5, 16
    u, z = torch.randn(Bs, T, d, generator=g, dtype=F64), torch.randn(Bs, T, d, generator=g, dtype=F64)
    delta = F.softplus(z - 1)
    A = -torch.arange(1, n + 1, dtype=F64).repeat(d, 1)  # S4D-real initialisation a_r = -r
    Bm, Cm = torch.randn(Bs, T, n, generator=g, dtype=F64), torch.randn(Bs, T, n, generator=g, dtype=F64)
    D, h0 = torch.randn(d, generator=g, dtype=F64), torch.randn(Bs, d, n, generator=g, dtype=F64)
    dt = F64 if backend == "torch" else F32
    y, h = s6_scan(
        *(t.to(dt) for t in (u, delta, A, Bm, Cm, D)), initial_state=h0.to(dt), backend=backend, chunk_size=16
    )
    y_r, h_r = s6_reference(u, delta, A, Bm, Cm, D, initial_state=h0)
    if backend == "torch":
        torch.testing.assert_close(y, y_r, rtol=0, atol=1e-12)  # float64 reordering of <= 45 terms
        torch.testing.assert_close(h, h_r, rtol=0, atol=1e-12)
    else:
        assert_close("y (S6)", y_r, y, F32)
        assert_close("h_T (S6)", h_r, h, F32)


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_ssd_retnet_and_gla_as_diagonal_scans(backend):
    g = torch.Generator().manual_seed(52)
    Bs, T, H, P, n = 2, 45, 3, 8, 16
    dt = F64 if backend == "torch" else F32
    x = torch.randn(Bs, T, H, P, generator=g, dtype=F64)
    dts = F.softplus(torch.randn(Bs, T, H, generator=g, dtype=F64))
    A = -torch.rand(H, generator=g, dtype=F64) - 0.1
    Bm, Cm = torch.randn(Bs, T, n, generator=g, dtype=F64), torch.randn(Bs, T, n, generator=g, dtype=F64)
    D = torch.randn(H, generator=g, dtype=F64)
    y, h = ssd_scan(*(t.to(dt) for t in (x, dts, A, Bm, Cm, D)), backend=backend, chunk_size=16)
    y_r, h_r = ssd_reference(x, dts, A, Bm, Cm, D)
    q, k, v = (torch.randn(Bs, T, H, 16, generator=g, dtype=F64) for _ in range(3))
    gam = default_retnet_gammas(H)
    o_ret, _ = retnet_scan(q.to(dt), k.to(dt), v.to(dt), gam.to(dt), backend=backend, chunk_size=16)
    o_ret_r = retnet_reference(q, k, v, gam)
    gk = F.logsigmoid(torch.randn(Bs, T, H, 16, generator=g, dtype=F64))
    o_gla, _ = gla_scan(q.to(dt), k.to(dt), v.to(dt), gk.to(dt), backend=backend, chunk_size=16)
    o_gla_r, _ = diag_scan_recurrent(q, k, v, gk, dtype=F64)
    pairs = {"y (SSD)": (y_r, y), "h_T (SSD)": (h_r, h), "o (RetNet)": (o_ret_r, o_ret), "o (GLA)": (o_gla_r, o_gla)}
    for name, (ref, out) in pairs.items():
        if backend == "torch":
            torch.testing.assert_close(out, ref, rtol=0, atol=1e-12, msg=name)  # float64, <= 45 terms
        else:
            assert_close(name, ref, out, F32)


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
