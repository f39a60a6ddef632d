"""CPU benchmark of the chunked PyTorch forms, with a bmm roofline (run by ``make bench``; a script, not a test).

For T = 256 ... 16384 (B=1, H=4, D=64, fp32, one thread unless ``--threads``), each operator
(``linear_attention``, ``diag_scan_scalar``, ``diag_scan_key``) is timed in its forms: the chunked form, the
step-by-step recurrence, the quadratic masked form (while its scores fit in 512 MiB) and, for linear
attention, fla's ``naive_chunk_linear_attn`` and ``naive_recurrent_linear_attn`` when fla is importable.
In the same run and thread setting, ``torch.bmm`` is timed on the chunked form's own block shapes, and
each chunked form's achieved FLOP/s is printed as a fraction of it (FLOPs as implemented: see
``benchmarks/benchlib.py``).  The chunked forms are also timed forward + backward at T = 2048 and 8192.

Timing: :class:`torch.utils.benchmark.Timer` (``blocked_autorange``); ``--rounds`` interleaved rounds
over all cells, the minimum block time kept (the figure least disturbed by other work on a shared
machine; the median is in the JSON report).  The bmm roofline is measured in every round as well, next to
the forms it bounds, and its minimum kept: a drift in the machine's speed between rounds moves both sides of
a roofline fraction alike.  With fla, the run also prints what the 2x-fla goal asks of the products alone
(:func:`fla_bound`).  Goals (issue 18), each printed as PASS/FAIL with its figure:

- chunked linear attention at >= 70 % of the same-shape bmm throughput for every T >= 2048;
- chunked linear attention >= 2x faster than fla's naive chunk reference at every T >= 1024;
- chunked linear attention >= 10x faster than its step recurrence at T = 8192, scaling exponent <= 1.15
  for T in [2048, 16384];
- per-key diagonal scan >= 10x faster than its recurrence at T = 8192, exponent <= 1.1;
- every chunked form's backward <= 3x its forward (T = 8192).

Exits 1 when a goal fails.  ``--quick`` runs T <= 2048 without goals; ``--json FILE`` writes every figure
(times, ratios, exponents, roofline fractions, goals, environment).

Why one thread by default: on a machine shared with other work, the step recurrence's thousands of
tiny operations each open a parallel region that waits for a descheduled worker thread, and the
ratios stop meaning anything.  ``--threads N`` sets another count.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib as bl
from attnmath.kernels._common import group_len
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_quadratic, diag_scan_recurrent
from attnmath.kernels.linear_attention import (
    chunk_linear_attention,
    linear_attention_quadratic,
    linear_attention_recurrent,
)

from attnmath.base.chunks import CHUNK_SIZE
from attnmath.fastforms.timing import fla_references

B, H, D = 1, 4, 64
QUADRATIC_BYTES = 512 * 2**20
GOAL_ROOFLINE, GOAL_FLA, GOAL_REC, GOAL_EXP_LA, GOAL_EXP_KEY, GOAL_BWD = 0.70, 2.0, 10.0, 1.15, 1.1, 3.0
BACKWARD_TS = (2048, 8192)


def forms(op: str) -> dict[str, object]:
    """Forward callables ``f(q, k, v, g) -> o`` of ``op``."""
    if op == "linear_attention":
        out: dict[str, object] = {
            "chunked": lambda q, k, v, g: chunk_linear_attention(q, k, v, chunk_size=CHUNK_SIZE)[0],
            "recurrent": lambda q, k, v, g: linear_attention_recurrent(q, k, v)[0],
            "quadratic": lambda q, k, v, g: linear_attention_quadratic(q, k, v),
        }
        fla = fla_references()
        if fla:
            out["fla naive chunk"] = lambda q, k, v, g: fla["fla naive chunk"](q, k, v)
            out["fla naive recurrent"] = lambda q, k, v, g: fla["fla naive recurrent"](q, k, v)[0]
        return out
    return {
        "chunked": lambda q, k, v, g: chunk_diag_scan(q, k, v, g, chunk_size=CHUNK_SIZE)[0],
        "recurrent": lambda q, k, v, g: diag_scan_recurrent(q, k, v, g)[0],
        "quadratic": lambda q, k, v, g: diag_scan_quadratic(q, k, v, g),
    }


def inputs(op: str, T: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, T, H, D, generator=g) for _ in range(3))
    gshape = {"diag_scan_scalar": (B, T, H), "diag_scan_key": (B, T, H, D)}.get(op)
    lg = torch.zeros(0) if gshape is None else F.logsigmoid(torch.randn(*gshape, generator=g) + 2)
    return q, k, v, lg


def skip(op: str, name: str, T: int) -> bool:
    if name == "quadratic":
        per = D if op == "diag_scan_key" else 1
        return B * H * T * T * per * 4 > QUADRATIC_BYTES
    return name.startswith("fla naive chunk") and T % 64 != 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    Ts = [2**p for p in range(8, 12 if args.quick else 15)]
    ops = args.ops.split(",")
    report = bl.Report("benchmarks/bench_cpu.py", bl.environment(args.threads))
    fla = fla_references() is not None
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), fp32, B={B} H={H} D={D}, chunk {CHUNK_SIZE}; "
        f"fla: {'importable' if fla else 'not importable (pip install -e .[compare])'}; {args.rounds} rounds"
    )
    data = {(op, T): inputs(op, T) for op in ops for T in Ts}
    best: dict[str, dict[str, dict[int, bl.Timing]]] = {op: {} for op in ops}
    roof: dict[str, dict[int, float]] = {op: {} for op in ops}
    for r in range(args.rounds):
        for op in ops:
            for name, f in forms(op).items():
                for T in Ts:
                    if skip(op, name, T):
                        continue
                    with torch.no_grad():
                        t = bl.measure(lambda f=f, a=data[op, T]: f(*a), args.threads, args.min_run_time)
                    cell = best[op].setdefault(name, {})
                    if T not in cell or t.best < cell[T].best:
                        cell[T] = t
            for T in Ts:  # the roofline in every round too: a drift in the machine's speed moves both figures
                t_roof = bmm_floor(op, T, CHUNK_SIZE, args)
                roof[op][T] = min(roof[op].get(T, math.inf), t_roof)
        print(f"  round {r + 1}/{args.rounds} done")
    bwd = {op: backward_times(op, [T for T in BACKWARD_TS if T in Ts], args) for op in ops}
    for op in ops:
        report.results[op] = table(op, best[op], roof[op], bwd[op], Ts)
    report.results["bmm_roofline_seconds"] = roof
    if not args.quick:
        if fla and "linear_attention" in ops:
            report.results["fla_goal_bound"] = fla_bound(best["linear_attention"], args)
        report.goals = goals(report.results, fla)
        print("\n== goals (issue 18)")
        for goal in report.goals:
            print("   " + goal.line())
    if args.json:
        print(f"\nJSON report: {report.write(args.json)}")
    return 0 if report.passed else 1


def bmm_floor(op: str, T: int, C: int, args: argparse.Namespace) -> float:
    """Seconds ``torch.bmm`` alone needs for the products of ``op``'s chunked form at chunk size ``C``."""
    shapes = bl.block_shapes(B, H, T, D, D, C, group_len(C), op=op)
    return bl.roofline_seconds(shapes, threads=args.threads, min_run_time=args.min_run_time)


FLA_BOUND_TS, FLA_BOUND_CHUNKS = (1024, 2048), (16, 32, 64, 128)


def fla_bound(
    cells: dict[str, dict[int, bl.Timing]], args: argparse.Namespace
) -> dict[int, dict[str, float | dict[int, float]]]:
    """What the goal "2x faster than fla's naive chunk" asks of the products alone, at T = 1024 and 2048.

    Half fla's time against the time ``torch.bmm`` needs for the chunked form's own products (FLOPs as
    implemented) at each chunk size: where every floor exceeds half fla's time, no form built on these products
    can meet the goal, however little else it does; where the best floor is under it, the goal asks for that
    fraction of the roofline.  Printed, and kept in the JSON report."""
    out: dict[int, dict[str, float | dict[int, float]]] = {}
    print("\n== linear attention: what 2x fla's naive chunk asks of the products alone (bmm floor per chunk size)")
    for T in FLA_BOUND_TS:
        if T not in cells.get("fla naive chunk", {}):
            continue
        half = cells["fla naive chunk"][T].best / 2
        # minimum over the rounds, as fla's time and the roofline above: the floors do not lean high
        floors = {
            C: min(bmm_floor("linear_attention", T, C, args) for _ in range(args.rounds)) for C in FLA_BOUND_CHUNKS
        }
        C_best = min(floors, key=floors.__getitem__)
        need = floors[C_best] / half
        out[T] = {"fla_half_seconds": half, "bmm_floor_seconds": floors, "roofline_fraction_needed": need}
        print(
            f"   T={T}: fla/2 = {half:.3e} s; bmm floor "
            + ", ".join(f"C={C} {t:.3e} s" for C, t in floors.items())
            + f"; 2x needs {need:.0%} of the roofline at the best chunk ({C_best})"
            + (" -- beyond the roofline" if need > 1 else "")
        )
    return out


def backward_times(op: str, Ts: list[int], args: argparse.Namespace) -> dict[int, dict[str, float]]:
    """Forward and forward + backward seconds of the chunked form (minimum block time over ``--rounds`` rounds)."""
    out = {}
    for T in Ts:
        runs = [
            _forward_and_backward(forms(op)["chunked"], inputs(op, T), args.threads, args.min_run_time)
            for _ in range(args.rounds)
        ]
        t_f, t_fb = min(r[0] for r in runs), min(r[1] for r in runs)
        out[T] = {"forward": t_f, "forward_backward": t_fb, "backward_over_forward": (t_fb - t_f) / t_f}
    return out


def _forward_and_backward(f: object, data: tuple[torch.Tensor, ...], threads: int, mrt: float) -> tuple[float, float]:
    q, k, v, g = (x.clone().requires_grad_(x.numel() > 0) for x in data)
    do = torch.randn((*q.shape[:-1], v.shape[-1]), generator=torch.Generator().manual_seed(1))
    leaves = [x for x in (q, k, v, g) if x.requires_grad]

    def fwd_bwd() -> None:
        for x in leaves:
            x.grad = None
        f(q, k, v, g).backward(do)  # type: ignore[operator]

    with torch.no_grad():
        t_f = bl.measure(lambda: f(q, k, v, g), threads, mrt).best  # type: ignore[operator]
    return t_f, bl.measure(fwd_bwd, threads, mrt).best


def table(
    op: str,
    cells: dict[str, dict[int, bl.Timing]],
    roof: dict[int, float],
    bwd: dict[int, dict[str, float]],
    Ts: list[int],
) -> dict[str, object]:
    """Print and return one operator's figures."""
    names = list(cells)
    print(f"\n== {op}: seconds per forward pass (minimum block time)")
    print("T".rjust(7) + "".join(n.rjust(21) for n in names))
    for T in Ts:
        print(str(T).rjust(7) + "".join(_fmt(cells[n].get(T), "best", ".3e").rjust(21) for n in names))
    chunked = cells["chunked"]
    ratios = {
        n: {T: cells[n][T].best / chunked[T].best for T in cells[n] if T in chunked} for n in names if n != "chunked"
    }
    print(f"-- {op}: t_form / t_chunked (how many times slower than the chunked form)")
    for n, row in ratios.items():
        print(f"   {n:22s} " + " ".join(f"{T}:{x:.2f}" for T, x in row.items()))
    flops = {T: bl.chunk_flops(B, H, T, D, D, CHUNK_SIZE, op=op, group=group_len(CHUNK_SIZE)) for T in Ts}
    gflops = {T: flops[T] / chunked[T].best / 1e9 for T in Ts}
    frac = {T: roof[T] / chunked[T].best for T in Ts}
    print(f"-- {op}: chunked form against torch.bmm on its own block shapes (roofline)")
    for T in Ts:
        print(
            f"   T={T:5d}: {gflops[T]:6.1f} GFLOP/s achieved, bmm {flops[T] / roof[T] / 1e9:6.1f} GFLOP/s, "
            f"fraction {frac[T]:.0%}"
        )
    lo = [T for T in Ts if 2048 <= T <= 16384]
    exps = {
        n: {
            "all": bl.scaling_exponent(sorted(cells[n]), [cells[n][T].best for T in sorted(cells[n])])
            if len(cells[n]) > 1
            else math.nan,
            "2048-16384": bl.scaling_exponent(
                [T for T in lo if T in cells[n]], [cells[n][T].best for T in lo if T in cells[n]]
            )
            if len([T for T in lo if T in cells[n]]) > 1
            else math.nan,
        }
        for n in names
    }
    print(f"-- {op}: scaling exponent p (t ~ T^p): " + "; ".join(f"{n} {e['2048-16384']:.3f}" for n, e in exps.items()))
    for T, b in bwd.items():
        print(f"-- {op}: T={T} backward / forward = {b['backward_over_forward']:.2f} (fwd {b['forward']:.3e} s)")
    return {
        "seconds": {n: {T: cells[n][T] for T in cells[n]} for n in names},
        "ratios_to_chunked": ratios,
        "flops_chunked": flops,
        "gflops_chunked": gflops,
        "roofline_fraction": frac,
        "exponents": exps,
        "backward": bwd,
    }


def goals(results: dict[str, object], fla: bool) -> list[bl.Goal]:
    out: list[bl.Goal] = []
    la = results.get("linear_attention")
    if isinstance(la, dict):
        frac = la["roofline_fraction"]
        out.append(
            bl.Goal(
                "linear attention, min roofline fraction over T >= 2048",
                min(v for T, v in frac.items() if T >= 2048),
                GOAL_ROOFLINE,
                True,
            )
        )
        r = la["ratios_to_chunked"]
        if fla:
            out.append(
                bl.Goal(
                    "linear attention, min speedup over fla naive chunk, T >= 1024",
                    min(v for T, v in r["fla naive chunk"].items() if T >= 1024),
                    GOAL_FLA,
                    True,
                    "x",
                )
            )
        else:
            out.append(
                bl.Goal(
                    "linear attention vs fla naive chunk (fla not importable: not measured)",
                    math.nan,
                    GOAL_FLA,
                    True,
                    "x",
                )
            )
        out.append(
            bl.Goal(
                "linear attention, speedup over the recurrence at T = 8192", r["recurrent"][8192], GOAL_REC, True, "x"
            )
        )
        out.append(
            bl.Goal(
                "linear attention, scaling exponent T in [2048, 16384]",
                la["exponents"]["chunked"]["2048-16384"],
                GOAL_EXP_LA,
                False,
            )
        )
    key = results.get("diag_scan_key")
    if isinstance(key, dict):
        out.append(
            bl.Goal(
                "per-key diagonal scan, speedup over the recurrence at T = 8192",
                key["ratios_to_chunked"]["recurrent"][8192],
                GOAL_REC,
                True,
                "x",
            )
        )
        out.append(
            bl.Goal(
                "per-key diagonal scan, scaling exponent T in [2048, 16384]",
                key["exponents"]["chunked"]["2048-16384"],
                GOAL_EXP_KEY,
                False,
            )
        )
    for op, res in results.items():
        if isinstance(res, dict) and 8192 in res.get("backward", {}):
            out.append(
                bl.Goal(
                    f"{op}, backward / forward at T = 8192",
                    res["backward"][8192]["backward_over_forward"],
                    GOAL_BWD,
                    False,
                    "x",
                )
            )
    return out


def _fmt(t: bl.Timing | None, attr: str, spec: str) -> str:
    return "-" if t is None else format(getattr(t, attr), spec)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="T <= 2048, no goals")
    p.add_argument("--ops", default=",".join(bl.OPS), help="comma-separated operators")
    p.add_argument("--rounds", type=bl.positive_int, default=2, help="interleaved rounds (minimum kept)")
    p.add_argument("--threads", type=bl.positive_int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--min-run-time", type=float, default=0.2, help="seconds per blocked_autorange")
    p.add_argument("--json", default="", help="write every figure to this JSON file")
    args = p.parse_args(argv)
    bad = [op for op in args.ops.split(",") if op not in bl.OPS]
    if bad:
        p.error(f"--ops must be a comma-separated subset of {bl.OPS}, got {bad}")
    if not (args.min_run_time > 0):
        p.error(f"--min-run-time must be > 0, got {args.min_run_time}")
    return args


if __name__ == "__main__":
    sys.exit(main())
