"""``make gpu-check``'s CPU-side parts (issue 18): argument parsing, the goals from measured rows, the table,
the JSON report, and the refusal without CUDA.  The measurements themselves need a GPU."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
gc = importlib.import_module("gpu_check")


def _row(contender, fwd_ms, *, op="linear_attention", flops=1e9, nbytes=1e9, of_bw=0.5, error=None):
    r = {"op": op, "shape": "B4 T4096 H16 D128", "contender": contender, "flops": flops, "bytes": nbytes}
    if error:
        return r | {"error": error}
    return r | {"fwd_ms": fwd_ms, "fwd_bwd_ms": math.nan, "tflops": 1.0, "gbps": 100.0, "of_copy_bandwidth": of_bw}


def test_arguments():
    args = gc.parse(["--dtype", "fp16", "--quick", "--json", "r.json", "--budget-s", "60"])
    assert (args.dtype, args.quick, args.json, args.budget_s, args.skip_tests) == ("fp16", True, "r.json", 60.0, False)
    for bad in (["--dtype", "int8"], ["--budget-s", "0"], ["--budget-s", "x"]):
        with pytest.raises(SystemExit):
            gc.parse(bad)


def test_goals_compare_with_fla_and_with_the_copy_bandwidth_where_memory_bound():
    ridge = 10.0  # FLOPs per byte
    rows = [
        _row("ours triton", 1.0, flops=1e9, nbytes=1e9, of_bw=0.75),  # 1 FLOP/byte: memory-bound
        _row("fla chunk_linear_attn", 0.95),
        _row("ours triton", 2.0, op="softmax_attention", flops=1e12, nbytes=1e9, of_bw=0.1),  # compute-bound
        _row("fla parallel_attn", 1.0, op="softmax_attention"),
    ]
    got = {g.name: g for g in gc.goals(rows, ridge)}
    assert got["linear_attention B4 T4096 H16 D128: ours / fla forward throughput"].value == pytest.approx(0.95)
    assert got["linear_attention B4 T4096 H16 D128: ours / fla forward throughput"].passed
    assert got["linear_attention B4 T4096 H16 D128: ours, fraction of copy bandwidth"].passed
    soft = got["softmax_attention B4 T4096 H16 D128: ours / fla forward throughput"]
    assert soft.value == pytest.approx(0.5) and not soft.passed  # half of fla's throughput fails 0.9x
    assert not any("softmax_attention" in n and "bandwidth" in n for n in got)  # compute-bound: no bandwidth goal


def test_a_failing_or_missing_contender_is_a_failed_goal_not_a_dropped_one():
    rows = [_row("ours triton", 0.0, error="failed: RuntimeError: x"), _row("fla chunk_linear_attn", 1.0)]
    (goal,) = gc.goals(rows, 10.0)
    assert not goal.passed and "RuntimeError" in goal.name
    rows = [_row("ours triton", 1.0, of_bw=0.9), _row("fla (ImportError)", 0.0, error="not available")]
    assert [g.passed for g in gc.goals(rows, 10.0)] == [False, True]


def test_table_and_report(tmp_path):
    rows = [_row("ours triton", 1.0), _row("fla chunk_linear_attn", 0.0, error="failed: X")]
    device = {"name": "GPU-X", "date_utc": "2026-12-07T10:00:00Z", "copy_gbps": 3000.0, "mm_tflops": 700.0}
    goal_list = gc.goals(rows, 0.1)
    text = gc.table(rows, device, {"summary": "12 passed"}, goal_list)
    assert text.splitlines()[0].startswith("**GPU-X**, 2026-12-07T10:00:00Z: copy bandwidth 3000 GB/s")
    assert "| linear_attention | B4 T4096 H16 D128 | ours triton | 1.000 | - | 1.0 | 100 | 50% |" in text
    assert "| fla chunk_linear_attn | failed: X |" in text
    data = json.loads(gc.write(str(tmp_path / "g.json"), {"rows": rows, "x": math.inf}).read_text())
    assert data["x"] is None and data["rows"][0]["fwd_bwd_ms"] is None


def test_without_cuda_it_says_so_and_exits_2(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gc.main(["--skip-tests"]) == 2
    assert "needs a CUDA device" in capsys.readouterr().out
