"""Shared pieces of the kernel tests: named comparisons, seeded inputs, shape grids with readable ids, the GPU tier."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from attnmath.base.tolerances import tolerance

DTYPE_NAMES = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16", torch.float64: "fp64"}

# GPU tier (``pytest -m gpu``, needs CUDA): bf16 and fp16, large shapes, Triton kernels against the fp64
# references run on the GPU (loops of T steps; the softmax one materialises T x T).  Deselected on CPU
# (``make test`` runs ``-m "not gpu"``); skipped with a reason when run without CUDA.
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="GPU tier: needs CUDA")
GPU_SHAPES = [(2, 1024, 4, 64, 64), (1, 4100, 4, 128, 64)]  # 4100: not a multiple of any chunk size
GPU_DTYPES = [torch.bfloat16, torch.float16]


def errors(ref: torch.Tensor, out: torch.Tensor, scale: float = 0.0) -> tuple[float, float, float]:
    """``(max_abs, relative RMSE, max-abs unit)`` of ``out`` against ``ref`` (both upcast to float64).

    The RMSE is relative to ``max(rms(ref), scale)`` and the max-abs unit is ``max(max|ref|, scale)``:
    ``scale`` is the size of the terms a result is a difference of, when that is larger than the result.
    """
    ref, out = ref.detach().double().cpu(), out.detach().double().cpu()
    diff = out - ref
    max_abs = float(diff.abs().max()) if diff.numel() else 0.0
    ref_rms = max(float(ref.pow(2).mean().sqrt()) if ref.numel() else 0.0, scale)
    rmse = float(diff.pow(2).mean().sqrt()) / ref_rms if ref_rms > 0 else max_abs
    unit = max(float(ref.abs().max()) if ref.numel() else 0.0, scale)
    return max_abs, rmse, unit


def assert_close(name: str, ref: torch.Tensor, out: torch.Tensor, dtype: torch.dtype, *, scale: float = 0.0) -> None:
    """Fail unless ``out`` matches ``ref`` within ``tolerance(dtype)``; the message names the tensor and both errors."""
    assert out.shape == ref.shape, f"{name}: shape {list(out.shape)} != reference {list(ref.shape)}"
    assert not torch.isnan(out).any(), f"{name}: NaN in the kernel output (unwritten memory is NaN-poisoned)"
    tol = tolerance(dtype)
    max_abs, rmse, unit = errors(ref, out, scale)
    ok = math.isfinite(max_abs) and rmse <= tol.rmse and max_abs <= tol.max_abs * max(unit, 1e-30)
    assert ok, (
        f"{name}: max-abs {max_abs:.3e} (bound {tol.max_abs:.1e} x max|ref| {unit:.3e}), "
        f"relative RMSE {rmse:.3e} (bound {tol.rmse:.1e}); {DTYPE_NAMES[dtype]}: {tol.reason}"
    )


def case_id(B, T, H, K, V, dtype, h0, extra: str = "") -> str:
    d = f"D{K}" if K == V else f"D{K}x{V}"
    return f"B{B}-T{T}-H{H}-{d}-{DTYPE_NAMES[dtype]}" + ("-h0" if h0 else "") + (f"-{extra}" if extra else "")


def grid(shapes, dtypes, *, extra=()) -> list:
    """``pytest.param((B, T, H, K, V), dtype, h0, *extra)`` for each shape/dtype, with and without an initial state."""
    out = []
    for B, T, H, K, V in shapes:
        for dtype in dtypes:
            for h0 in (False, True):
                for e in extra or (None,):
                    args = ((B, T, H, K, V), dtype, h0) + (() if e is None else (e,))
                    out.append(pytest.param(*args, id=case_id(B, T, H, K, V, dtype, h0, "" if e is None else str(e))))
    return out


def gpu_params(shapes, extra=("",), h0=True) -> list:
    """``pytest.param(shape, dtype, extra)`` over :data:`GPU_DTYPES` for the GPU tier."""
    return [pytest.param(s, dt, e, id=case_id(*s, dt, h0, e)) for s in shapes for dt in GPU_DTYPES for e in extra]


def make_inputs(seed, shape, dtype, *, h0: bool, gate: str | None = None, positive: bool = False, device="cpu"):
    """Seeded ``q, k, v`` (``[B, T, H, D]``), optional log-decay ``g`` and initial state, all leaves.

    ``gate``: None, ``"scalar"`` ([B, T, H]) or ``"key"`` ([B, T, H, K]); ``g = logsigmoid(x + 2)``
    (mean about -0.15: decays slow enough that the state carries across several chunks).
    """
    B, T, H, K, V = shape
    gen = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(B, T, H, K, generator=gen) for _ in range(2))
    if positive:
        q, k = F.elu(q) + 1, F.elu(k) + 1
    v = torch.randn(B, T, H, V, generator=gen)
    out = {"q": q, "k": k, "v": v}
    if gate is not None:
        gshape = (B, T, H) if gate == "scalar" else (B, T, H, K)
        out["g"] = F.logsigmoid(torch.randn(*gshape, generator=gen) + 2)
    if h0:
        out["h0"] = torch.randn(B, H, K, V, generator=gen)
    return {n: x.to(device=device, dtype=dtype).requires_grad_() for n, x in out.items()}


def upstream(seed, o: torch.Tensor, S: torch.Tensor | None):
    """Seeded upstream gradients ``do`` (in o's dtype) and ``dS`` (for the final state)."""
    gen = torch.Generator().manual_seed(seed + 1000)
    do = torch.randn(o.shape, generator=gen).to(device=o.device, dtype=o.dtype)
    dS = None if S is None else torch.randn(S.shape, generator=gen).to(device=S.device, dtype=S.dtype)
    return do, dS


def outputs_and_grads(o, S, inputs: dict, do, dS) -> dict:
    """Named forward outputs and every input gradient of ``(o * do).sum() + (S * dS).sum()``."""
    loss = (o.double() * do.double()).sum()
    if S is not None:
        loss = loss + (S.double() * dS.double()).sum()
    names = list(inputs)
    grads = torch.autograd.grad(loss, [inputs[n] for n in names])
    out = {"o": o, **({"ht": S} if S is not None else {})}
    out.update({f"d{n}": gr for n, gr in zip(names, grads)})
    return out


def as_reference(inputs: dict) -> dict:
    """float64 leaf copies of the (already rounded) inputs, on their device, for the reference run."""
    return {n: x.detach().double().requires_grad_() for n, x in inputs.items()}


def gate_gradient_scale(ref_inputs: dict, ref_grads: dict) -> float:
    """RMS size of the terms ``q*dq`` and ``k*dk`` whose running difference is the gate gradient ``dg``.

    ``dg`` is a cancellation (it is exactly 0 at T = 1 without an initial state), so its rounding error
    is relative to these terms, not to ``dg`` itself.
    """
    q, k = ref_inputs["q"].detach(), ref_inputs["k"].detach()
    terms = (q * ref_grads["dq"]).abs() + (k * ref_grads["dk"]).abs()
    return float(terms.double().pow(2).mean().sqrt())


def softmax_gradient_scale(ref_inputs: dict, do: torch.Tensor, causal: bool) -> dict[str, float]:
    r"""RMS size of the summands of ``dq`` and ``dk`` in :math:`dS = P\odot(dO\,V^\top - \mathrm{rowsum}(dO\odot O))`.

    ``dq = s dS K`` cancels exactly when a row attends to one key (T = 1: ``dq = dk = 0``), so the
    rounding error of ``dq``/``dk`` is relative to :math:`s\,(P\odot|dO\,V^\top|)\,|K|` and its transpose.
    """
    q, k, v = (ref_inputs[n].detach().double().transpose(1, 2) for n in ("q", "k", "v"))
    s = q.shape[-1] ** -0.5
    logits = s * q @ k.transpose(-1, -2)
    if causal:
        T = q.shape[-2]
        logits = logits.masked_fill(~torch.ones(T, T, dtype=torch.bool, device=q.device).tril(), float("-inf"))
    P = torch.softmax(logits, -1)
    W = P * (do.double().transpose(1, 2) @ v.transpose(-1, -2)).abs()
    rms = lambda x: float(x.pow(2).mean().sqrt())  # noqa: E731
    return {"dq": rms(s * W @ k.abs()), "dk": rms(s * W.transpose(-1, -2) @ q.abs())}


# Property tests (hypothesis): random shapes and chunk sizes, chunked == recurrent == masked in float64.
PROPERTY_ATOL = 1e-10  # float64: eps 2.2e-16 x (T <= 40 terms of size <= ~1e2 and their reordering) with a wide margin
property_shapes = st.tuples(
    st.integers(1, 2), st.integers(1, 40), st.integers(1, 3), st.integers(1, 9), st.integers(1, 7)
)  # B, T, H, K, V
pow2_sizes = st.sampled_from([1, 2, 4, 8, 16, 32, 64])


def float64_inputs(seed, B, T, H, K, V, gate=None):
    """Seeded float64 ``q, k, v, h0`` and a log-decay ``logsigmoid(3 x)`` (strong and weak decays) for the property tests."""
    g = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(B, T, H, K, generator=g, dtype=torch.float64) for _ in range(2))
    v = torch.randn(B, T, H, V, generator=g, dtype=torch.float64)
    h0 = torch.randn(B, H, K, V, generator=g, dtype=torch.float64)
    gshape = {None: None, "scalar": (B, T, H), "key": (B, T, H, K)}[gate]
    lg = None if gshape is None else F.logsigmoid(3 * torch.randn(*gshape, generator=g, dtype=torch.float64))
    return q, k, v, h0, lg


def chunk_by_chunk(fn, x: dict, names: str, *, chunk: int):
    """Run each chunk of ``chunk`` steps on its own from the initial state (a planted bug: the inter-chunk
    term is missing); ``names``: the inputs passed positionally, ``"qkv"`` or ``"qkvg"``."""
    outs = []
    for start in range(0, x["q"].shape[1], chunk):
        sl = {n: x[n][:, start : start + chunk] for n in names}
        o, _ = fn(*(sl[n] for n in names), initial_state=x["h0"], chunk_size=chunk)
        outs.append(o)
    return torch.cat(outs, dim=1)
