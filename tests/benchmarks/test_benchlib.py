"""The benchmark scripts' CPU-side parts (issue 18): FLOP counts as implemented, roofline shapes, goals,
argument parsing and the JSON report.  Nothing here times anything."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from attnmath.kernels._common import group_len
from attnmath.kernels.diag_scan import chunk_diag_scan
from attnmath.kernels.linear_attention import chunk_linear_attention
from torch.utils.flop_counter import FlopCounterMode

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
bl = importlib.import_module("benchlib")


def _baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs) -> int:
    """``self + A @ B`` with ``A: [b, m, k]``, ``B: [b, k, n]``: ``2 b m k n`` (the additions of self not counted)."""
    b, m, k = a_shape
    return 2 * b * m * k * b_shape[-1]


def _counted(fn) -> int:
    # torch's registry counts baddbmm but not its in-place twin baddbmm_ (the forms add A V into Q S in place):
    # the same formula, 2 b m k n, registered for it here
    inplace = {torch.ops.aten.baddbmm_: _baddbmm_flop}
    with FlopCounterMode(display=False, custom_mapping=inplace) as counter, torch.no_grad():
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("T", [64, 100, 1100])  # one chunk, a padded last chunk, three groups of 512 steps
@pytest.mark.parametrize("op", ["linear", "scalar", "key"])
def test_flop_count_is_what_the_chunked_forms_multiply(op, T):
    """torch's own FLOP counter, run on the implementation, agrees with the formula of benchlib's docstring."""
    B, H, K, V, C = 1, 2, 16, 8, 64
    g = torch.Generator().manual_seed(0)
    q, k = (torch.randn(B, T, H, K, generator=g) for _ in range(2))
    v = torch.randn(B, T, H, V, generator=g)
    if op == "linear":
        counted = _counted(lambda: chunk_linear_attention(q, k, v, chunk_size=C))
    else:
        shape = (B, T, H) if op == "scalar" else (B, T, H, K)
        lg = F.logsigmoid(torch.randn(*shape, generator=g) + 2)  # spans far below 40: the factorised path
        counted = _counted(lambda: chunk_diag_scan(q, k, v, lg, chunk_size=C))
    kind = "linear_attention" if op == "linear" else "diag_scan"
    assert counted == bl.chunk_flops(B, H, T, K, V, C, op=kind, group=group_len(C))


@pytest.mark.parametrize("op", ["linear_attention", "diag_scan"])
@pytest.mark.parametrize("T", [64, 100, 512, 1100, 8192])
def test_roofline_shapes_carry_exactly_the_forms_flops(T, op):
    B, H, K, V, C = 1, 4, 64, 32, 64
    shapes = bl.block_shapes(B, H, T, K, V, C, group_len(C), op=op)
    flops = bl.chunk_flops(B, H, T, K, V, C, op=op, group=group_len(C))
    assert sum(calls * batch * 2 * m * k * n for calls, batch, m, k, n in shapes) == flops
    with pytest.raises(ValueError, match="group must be a multiple of C"):
        bl.block_shapes(B, H, T, K, V, C, 100)


def test_chunk_flops_refuses_bad_sizes():
    with pytest.raises(ValueError, match="T must be an int >= 1"):
        bl.chunk_flops(1, 1, 0, 4, 4, 16)


def test_scaling_exponent_recovers_a_power_law():
    Ts = [256, 1024, 4096]
    # an exact power law: the fitted slope differs from 1.25 only by float64 roundoff in 3 logs and one division
    assert bl.scaling_exponent(Ts, [3e-9 * T**1.25 for T in Ts]) == pytest.approx(1.25, abs=1e-12)
    with pytest.raises(ValueError, match="one length >= 2"):
        bl.scaling_exponent([1], [1.0])


def test_goals_pass_and_fail_on_their_side_of_the_target():
    assert bl.Goal("speedup", 10.0, 10.0, True, "x").passed
    assert not bl.Goal("speedup", 9.99, 10.0, True, "x").passed
    assert bl.Goal("exponent", 1.1, 1.1, False).passed and not bl.Goal("exponent", 1.11, 1.1, False).passed
    assert not bl.Goal("not measured", math.nan, 1.0, True).passed  # a missing figure never passes
    assert bl.Goal("roofline", 0.5, 0.7, True).line() == "FAIL  roofline: 0.5 (need >= 0.7)"


def test_the_json_report_holds_every_figure_and_the_verdict(tmp_path):
    report = bl.Report("bench", {"threads": 1})
    report.results["linear_attention"] = {
        "seconds": {"chunked": {1024: bl.Timing(1e-3, 1.1e-3, 1e-5, 40)}},
        "x": math.nan,
    }
    report.goals = [bl.Goal("a", 2.0, 1.0, True), bl.Goal("b", 2.0, 1.0, False)]
    data = json.loads(report.write(tmp_path / "sub" / "r.json").read_text())
    assert data["passed"] is False and [g["passed"] for g in data["goals"]] == [True, False]
    assert data["results"]["linear_attention"]["seconds"]["chunked"]["1024"] == {
        "best": 1e-3,
        "median": 1.1e-3,
        "iqr": 1e-5,
        "runs": 40,
    }
    assert data["results"]["linear_attention"]["x"] is None  # NaN is written as null, not as invalid JSON


def test_bench_cpu_arguments_are_checked(capsys):
    bench = importlib.import_module("bench_cpu")
    args = bench.parse(["--quick", "--ops", "diag_scan_key", "--json", "out.json", "--rounds", "3"])
    assert (args.quick, args.ops, args.json, args.rounds, args.threads) == (True, "diag_scan_key", "out.json", 3, 1)
    for bad in (["--ops", "bogus"], ["--rounds", "0"], ["--threads", "x"], ["--min-run-time", "0"]):
        with pytest.raises(SystemExit):
            bench.parse(bad)
    assert "--min-run-time must be > 0" in capsys.readouterr().err


def test_bench_cpu_goals_read_the_measured_figures():
    bench = importlib.import_module("bench_cpu")
    la = {
        "roofline_fraction": {1024: 0.2, 2048: 0.71, 16384: 0.69},
        "ratios_to_chunked": {"fla naive chunk": {512: 0.5, 1024: 2.5, 4096: 2.1}, "recurrent": {8192: 12.0}},
        "exponents": {"chunked": {"2048-16384": 1.02}},
        "backward": {8192: {"backward_over_forward": 2.0}},
    }
    goals = {g.name: g for g in bench.goals({"linear_attention": la}, fla=True)}
    assert goals["linear attention, min roofline fraction over T >= 2048"].value == 0.69  # T < 2048 ignored
    assert goals["linear attention, min speedup over fla naive chunk, T >= 1024"].value == 2.1
    assert [g.passed for g in goals.values()] == [False, True, True, True, True]
