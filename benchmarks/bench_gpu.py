"""GPU benchmark: our Triton kernels vs fla's Triton kernels vs PyTorch (needs CUDA; not run by ``make bench``).

For each operator and shape, forward (and forward+backward where both sides have one) times from
``triton.testing.do_bench`` (median ms), then

- TFLOP/s from a nominal operation count: chunked linear/diagonal scan ``B H T (2C(K+V) + 4KV)`` with
  ``C = CHUNK_SIZE`` = 64 (masked products counted in full); causal softmax attention ``2 B H T^2 (K+V) / 2``;
- GB/s from the minimum traffic: read q, k, v (and g), write o, each once in its dtype (backward: read
  q, k, v, (g), do, write dq, dk, dv, (dg));
- the fraction of the device's measured copy bandwidth (``y.copy_(x)`` of 1 GiB, counting read + write).

Competitors: fla ``chunk_linear_attn(normalize=False)``, ``chunk_simple_gla`` (scalar gate),
``chunk_gla`` (per-key gate), ``parallel_attn``; PyTorch: our chunked forms on the GPU and
``scaled_dot_product_attention(is_causal=True)``.  A competitor that fails (missing, or an error) is
reported as such, not dropped silently.  Usage: ``python benchmarks/bench_gpu.py [--dtype bf16] [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import sys

import torch
import torch.nn.functional as F

from attnmath.base.chunks import CHUNK_SIZE


def copy_bandwidth_gbps(do_bench) -> float:
    x = torch.empty(2**28, dtype=torch.float32, device="cuda")  # 1 GiB
    y = torch.empty_like(x)
    ms = do_bench(lambda: y.copy_(x), return_mode="median")
    return 2 * x.numel() * x.element_size() / (ms * 1e-3) / 1e9


def make(op, B, T, H, K, V, dtype, seed=0):
    g = torch.Generator(device="cuda").manual_seed(seed)
    q, k = (torch.randn(B, T, H, K, device="cuda", dtype=dtype, generator=g) for _ in range(2))
    v = torch.randn(B, T, H, V, device="cuda", dtype=dtype, generator=g)
    gate = None
    if op == "diag_scan_scalar":
        gate = F.logsigmoid(torch.randn(B, T, H, device="cuda", generator=g) + 2).to(dtype)
    elif op == "diag_scan_key":
        gate = F.logsigmoid(torch.randn(B, T, H, K, device="cuda", generator=g) + 2).to(dtype)
    return q, k, v, gate


def contenders(op):
    """``{name: (forward callable(q, k, v, g) -> o, has_backward)}``; import failures become entries that raise."""
    from attnmath.kernels import dispatch
    from attnmath.kernels.diag_scan import chunk_diag_scan
    from attnmath.kernels.linear_attention import chunk_linear_attention
    from attnmath.kernels.softmax_attention import blockwise_softmax_attention

    out = {}
    if op == "linear_attention":
        out["ours triton"] = (lambda q, k, v, g: dispatch.linear_attention(q, k, v, backend="triton")[0], True)
        out["ours pytorch chunked"] = (lambda q, k, v, g: chunk_linear_attention(q, k, v)[0], True)
    elif op.startswith("diag_scan"):
        out["ours triton"] = (lambda q, k, v, g: dispatch.diag_scan(q, k, v, g, backend="triton")[0], True)
        out["ours pytorch chunked"] = (lambda q, k, v, g: chunk_diag_scan(q, k, v, g)[0], True)
    else:
        out["ours triton"] = (lambda q, k, v, g: dispatch.softmax_attention(q, k, v, backend="triton"), True)
        out["ours pytorch blockwise"] = (lambda q, k, v, g: blockwise_softmax_attention(q, k, v)[0], True)
        out["torch sdpa"] = (
            lambda q, k, v, g: F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
            ).transpose(1, 2),
            True,
        )
    try:
        if op == "linear_attention":
            from fla.ops.linear_attn import chunk_linear_attn

            out["fla chunk_linear_attn"] = (lambda q, k, v, g: chunk_linear_attn(q, k, v, normalize=False)[0], True)
        elif op == "diag_scan_scalar":
            from fla.ops.simple_gla import chunk_simple_gla

            out["fla chunk_simple_gla"] = (lambda q, k, v, g: chunk_simple_gla(q, k, v, g=g)[0], True)
        elif op == "diag_scan_key":
            from fla.ops.gla import chunk_gla

            out["fla chunk_gla"] = (lambda q, k, v, g: chunk_gla(q, k, v, g)[0], True)
        else:
            from fla.ops.attn import parallel_attn

            out["fla parallel_attn"] = (lambda q, k, v, g: parallel_attn(q, k, v), True)
    except Exception as exc:  # fla is optional: report why it is absent
        out[f"fla ({type(exc).__name__})"] = (None, False)
    return out


def nominal(op, B, T, H, K, V, nbytes, C=CHUNK_SIZE):
    if op == "softmax_attention":
        flops = 2 * B * H * T * T * (K + V) / 2
    else:
        flops = B * H * T * (2 * C * (K + V) + 4 * K * V)
    gate_elems = {"diag_scan_scalar": B * T * H, "diag_scan_key": B * T * H * K}.get(op, 0)
    io_fwd = (B * T * H * (2 * K + 2 * V) + gate_elems) * nbytes  # read q, k, v, (g); write o
    return flops, io_fwd


def measure_row(do_bench, fn, has_bwd, data, flops, io_f, bw) -> dict:
    """One contender on one shape: forward ms, forward+backward ms, TFLOP/s, GB/s, fraction of copy bandwidth.

    ``{"error": ...}`` when the contender is missing or fails (reported, not dropped)."""
    if fn is None:
        return {"error": "not available"}
    q, k, v, g = data
    try:
        ms = do_bench(lambda: fn(q, k, v, g), return_mode="median")
        msb = math.nan
        if has_bwd:
            leaves = [t.detach().requires_grad_() for t in (q, k, v)] + [
                None if g is None else g.detach().requires_grad_()
            ]
            do = torch.randn_like(v)
            msb = do_bench(
                lambda: fn(*leaves).backward(do),
                grad_to_none=[x for x in leaves if x is not None],
                return_mode="median",
            )
    except Exception as exc:  # report the failure of one contender and go on
        return {"error": f"failed: {type(exc).__name__}: {str(exc)[:80]}"}
    gbps = io_f / (ms * 1e-3) / 1e9
    return {
        "fwd_ms": ms,
        "fwd_bwd_ms": msb,
        "tflops": flops / (ms * 1e-3) / 1e12,
        "gbps": gbps,
        "of_copy_bandwidth": gbps / bw,
    }


def bench_one(do_bench, fn, has_bwd, data, flops, io_f, bw) -> str:
    """One table row as text (see :func:`measure_row`)."""
    r = measure_row(do_bench, fn, has_bwd, data, flops, io_f, bw)
    if "error" in r:
        return r["error"]
    return (
        f"{r['fwd_ms']:8.3f} {r['tflops']:8.2f} {r['gbps']:7.0f} {r['of_copy_bandwidth']:7.1%} {r['fwd_bwd_ms']:10.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    parser.add_argument("--quick", action="store_true", help="one shape per operator")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_gpu.py needs a CUDA device; use benchmarks/bench_cpu.py on a CPU.")
        return 2
    from triton.testing import do_bench

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    nbytes = torch.finfo(dtype).bits // 8
    bw = copy_bandwidth_gbps(do_bench)
    print(f"{torch.cuda.get_device_name()}: measured copy bandwidth {bw:.0f} GB/s; dtype {args.dtype}")
    shapes = (
        [(4, 4096, 16, 128, 128)]
        if args.quick
        else [(8, 2048, 16, 128, 128), (4, 8192, 16, 128, 128), (2, 16384, 8, 64, 64)]
    )
    header = f"{'op':18s} {'shape':22s} {'contender':26s} {'fwd ms':>8s} {'TFLOP/s':>8s} {'GB/s':>7s} {'of copy':>7s} {'fwd+bwd ms':>10s}"
    print(header)
    for op in ("linear_attention", "diag_scan_scalar", "diag_scan_key", "softmax_attention"):
        for B, T, H, K, V in shapes:
            data = make(op, B, T, H, K, V, dtype)
            flops, io_f = nominal(op, B, T, H, K, V, nbytes)
            shape = f"B{B} T{T} H{H} D{K}"
            for name, (fn, has_bwd) in contenders(op).items():
                print(f"{op:18s} {shape:22s} {name:26s} " + bench_one(do_bench, fn, has_bwd, data, flops, io_f, bw))
            del data
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
