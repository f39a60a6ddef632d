"""``make gpu-check``: the GPU tier in one command (issue 18), one JSON report and one short table.

On one CUDA device, in this order:

1. the GPU test tier, ``pytest -m gpu tests/kernels``: every Triton kernel in fp32, fp16 and bf16, forward
   and backward, against float64 references, with the tolerances of the one tolerance table
   (``attnmath.base.tolerances``);
2. the device's copy bandwidth (``y.copy_(x)`` of 1 GiB, read + write counted) and its bf16 matmul
   throughput (a 8192^3 ``torch.mm``), which set the ridge point ``peak FLOP/s / bandwidth``;
3. ``benchmarks/bench_gpu.py``'s contenders on its shapes (``--dtype``, default bf16): our Triton kernels,
   fla's Triton kernels, our PyTorch chunked forms, and ``scaled_dot_product_attention`` for softmax
   attention; forward and forward + backward times, TFLOP/s, GB/s and the fraction of copy bandwidth.

Goals (each a PASS/FAIL line with its figure): each of our Triton kernels at >= 0.9x fla's forward
throughput on the same shape; and, where a kernel is memory-bound (its FLOPs per byte below the ridge
point), >= 70 % of the measured copy bandwidth.  Exit status: 0 when the tests pass and every goal holds,
1 otherwise, 2 without a CUDA device.  ``--quick`` runs one shape per operator and no backward; the
whole check is sized to finish in under 8 minutes on one GPU (``--budget-s`` stops the benchmark early,
saying so).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl

ROOT = Path(__file__).resolve().parents[1]
OURS = "ours triton"
GOAL_VS_FLA, GOAL_BANDWIDTH = 0.9, 0.70
DTYPES = ("bf16", "fp16", "fp32")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--dtype", default="bf16", choices=DTYPES, help="dtype of the benchmark (the tests run all three)")
    p.add_argument("--quick", action="store_true", help="one shape per operator")
    p.add_argument("--skip-tests", action="store_true", help="benchmark only (the test tier is not run)")
    p.add_argument("--json", default="book/_build/gpu_check.json", help="the JSON report")
    p.add_argument("--table", default="", help="also write the markdown table to this file")
    p.add_argument("--budget-s", type=float, default=420.0, help="stop benchmarking after this many seconds")
    args = p.parse_args(argv)
    if not (args.budget_s > 0):
        p.error(f"--budget-s must be > 0, got {args.budget_s}")
    return args


def run_tests(timeout_s: float) -> dict[str, Any]:
    """``pytest -m gpu tests/kernels``: its exit code, summary line and wall time."""
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-m", "gpu", "tests/kernels"]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "summary": f"timed out after {timeout_s:.0f} s", "seconds": timeout_s}
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return {"returncode": proc.returncode, "summary": lines[-1] if lines else "", "seconds": time.monotonic() - t0}


def memory_bound(row: dict[str, Any], ridge_flops_per_byte: float) -> bool:
    """A kernel is memory-bound when its FLOPs per byte of minimum traffic lie below the device's ridge point."""
    return row["flops"] / row["bytes"] < ridge_flops_per_byte


def goals(rows: list[dict[str, Any]], ridge_flops_per_byte: float) -> list[bl.Goal]:
    """The two GPU goals from the measured rows (one row per op x shape x contender)."""
    out: list[bl.Goal] = []
    by_case: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_case.setdefault((r["op"], r["shape"]), {})[r["contender"]] = r
    for (op, shape), contenders in sorted(by_case.items()):
        ours = contenders.get(OURS)
        if ours is None:
            continue
        fla = [c for name, c in contenders.items() if name.startswith("fla ")]
        fla_ok = [c for c in fla if "error" not in c]
        if "error" in ours:
            out.append(bl.Goal(f"{op} {shape}: ours ({ours['error']})", math.nan, GOAL_VS_FLA, True, "x"))
            continue
        if fla_ok:
            ratio = fla_ok[0]["fwd_ms"] / ours["fwd_ms"]
            out.append(bl.Goal(f"{op} {shape}: ours / fla forward throughput", ratio, GOAL_VS_FLA, True, "x"))
        elif fla:
            out.append(
                bl.Goal(f"{op} {shape}: vs fla ({fla[0].get('error', 'failed')})", math.nan, GOAL_VS_FLA, True, "x")
            )
        if memory_bound(ours, ridge_flops_per_byte):
            out.append(
                bl.Goal(
                    f"{op} {shape}: ours, fraction of copy bandwidth", ours["of_copy_bandwidth"], GOAL_BANDWIDTH, True
                )
            )
    return out


def table(rows: list[dict[str, Any]], device: dict[str, Any], tests: dict[str, Any], goal_list: list[bl.Goal]) -> str:
    """The short markdown table of the report (what goes into the README's performance section)."""
    head = [
        f"**{device.get('name', '?')}**, {device.get('date_utc', '?')}: copy bandwidth "
        f"{device.get('copy_gbps', math.nan):.0f} GB/s, bf16 mm {device.get('mm_tflops', math.nan):.0f} TFLOP/s; "
        f"GPU tests: {tests.get('summary', 'not run')}",
        "",
        "| op | shape | contender | fwd ms | fwd+bwd ms | TFLOP/s | GB/s | of copy bw |",
        "|---|---|---|---|---|---|---|---|",
    ]
    body = []
    for r in rows:
        if "error" in r:
            body.append(f"| {r['op']} | {r['shape']} | {r['contender']} | {r['error']} | | | | |")
            continue
        body.append(
            f"| {r['op']} | {r['shape']} | {r['contender']} | {r['fwd_ms']:.3f} | {_f(r['fwd_bwd_ms'], '.3f')} | "
            f"{r['tflops']:.1f} | {r['gbps']:.0f} | {r['of_copy_bandwidth']:.0%} |"
        )
    tail = ["", *(f"- {g.line()}" for g in goal_list)]
    return "\n".join(head + body + tail)


def _f(x: float, spec: str) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def write(path: str, report: dict[str, Any]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(bl._plain(report), indent=1, sort_keys=True, allow_nan=False) + "\n")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu_check.py needs a CUDA device (make gpu-check runs the GPU tier); on a CPU use make bench.")
        return 2
    t0 = time.monotonic()
    tests = {"summary": "skipped (--skip-tests)"} if args.skip_tests else run_tests(timeout_s=240.0)
    print(f"GPU tests: {tests['summary']} ({tests.get('seconds', 0):.0f} s)")
    rows, device = benchmark(args, deadline=t0 + args.budget_s)
    ridge = device["mm_tflops"] * 1e12 / (device["copy_gbps"] * 1e9)
    goal_list = goals(rows, ridge)
    if not args.skip_tests and tests.get("returncode") != 0:  # failed or timed out: never a pass
        goal_list.append(bl.Goal(f"GPU test tier: {tests['summary']}", math.nan, 0.0, True))
    text = table(rows, device, tests, goal_list)
    print(text)
    report = {
        "device": device,
        "tests": tests,
        "rows": rows,
        "goals": [asdict(g) | {"passed": g.passed} for g in goal_list],
    }
    report["passed"] = all(g.passed for g in goal_list)
    print(f"\nJSON report: {write(args.json, report)} ({time.monotonic() - t0:.0f} s in all)")
    if args.table:
        Path(args.table).write_text(text + "\n")
    return 0 if report["passed"] else 1


def _mm_ms(do_bench: Any, torch: Any) -> float:
    """Median ms of an 8192^3 bf16 matmul: the device's practical matmul peak."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    return float(do_bench(lambda: a @ a, return_mode="median"))


def benchmark(args: argparse.Namespace, deadline: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every contender of bench_gpu.py on its shapes, as rows; the device's bandwidth and matmul peak."""
    import bench_gpu as bg
    import torch
    from triton.testing import do_bench

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[args.dtype]
    nbytes = torch.finfo(dtype).bits // 8
    bw = bg.copy_bandwidth_gbps(do_bench)
    mm_ms = _mm_ms(do_bench, torch)
    device = bl.environment(torch.get_num_threads()) | {
        "name": torch.cuda.get_device_name(),
        "copy_gbps": bw,
        "mm_tflops": 2 * 8192**3 / (mm_ms * 1e-3) / 1e12,
        "dtype": args.dtype,
    }
    shapes = [(4, 4096, 16, 128, 128)] if args.quick else [(8, 2048, 16, 128, 128), (4, 8192, 16, 128, 128)]
    rows: list[dict[str, Any]] = []
    for op in ("linear_attention", "diag_scan_scalar", "diag_scan_key", "softmax_attention"):
        for B, T, H, K, V in shapes:
            if time.monotonic() > deadline:
                rows.append({"op": op, "shape": f"B{B} T{T} H{H} D{K}", "contender": "-", "error": "budget spent"})
                continue
            data = bg.make(op, B, T, H, K, V, dtype)
            flops, io_f = bg.nominal(op, B, T, H, K, V, nbytes)
            for name, (fn, has_bwd) in bg.contenders(op).items():
                r = bg.measure_row(do_bench, fn, has_bwd and not args.quick, data, flops, io_f, bw)
                rows.append(
                    {"op": op, "shape": f"B{B} T{T} H{H} D{K}", "contender": name, "flops": flops, "bytes": io_f} | r
                )
            del data
            torch.cuda.empty_cache()
    return rows, device


if __name__ == "__main__":
    sys.exit(main())
