"""CPU benchmark of the chunked PyTorch forms (run by ``make bench``; a script, not a timed test).

For T = 256 ... 16384 (B=1, H=4, D=64, fp32, forward pass, one thread unless ``--threads``): the chunked form vs the step-by-step
recurrence vs the quadratic masked form (skipped above 512 MiB of scores), and, when fla is
importable, vs fla's ``naive_recurrent_linear_attn`` and ``naive_chunk_linear_attn``.  Prints
seconds, per-pair ratios and fitted scaling exponents, then the two acceptance criteria of the chunked form:

- at T = 8192, chunked linear attention is at least 10x faster than the step-by-step recurrence;
- its scaling exponent between T = 2048 and T = 16384 is at most 1.15.

Exits 1 when either fails.  The acceptance numbers come from their own measurement: the chunked
form at T = 2048 ... 16384 and the recurrence at T = 8192, interleaved over ``--accept-rounds``
rounds, minimum kept (the median is printed too: on a loaded machine the two differ).

Why one thread by default: on a machine shared with other work, the step recurrence's thousands
of tiny operations each open a parallel region that waits for a descheduled worker thread; with
two threads and a load average of 4 on 2 CPUs the recurrence ran 60x slower than alone, the
chunked form up to 15x, and the ratios meant nothing.  ``--threads 0`` keeps torch's default.
``--quick`` runs T <= 2048 and skips the acceptance check; ``--accept-only`` runs only that check.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys

import torch
from attnmath.kernels.linear_attention import chunk_linear_attention, linear_attention_recurrent

from attnmath.base.chunks import CHUNK_SIZE
from attnmath.fastforms import timing as bm

ACCEPT_T, ACCEPT_SPEEDUP, ACCEPT_LO, ACCEPT_HI, ACCEPT_EXPONENT = 8192, 10.0, 2048, 16384, 1.15


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def report(op: str, table: dict, Ts) -> None:
    names = list(table)
    print(f"\n== {op}: seconds per forward pass (min over repeats)")
    print("T".rjust(7) + "".join(n.rjust(22) for n in names))
    for T in Ts:
        print(str(T).rjust(7) + "".join(_fmt(table[n].get(T), ".3e").rjust(22) for n in names))
    rat = bm.ratios(table)
    print(f"-- {op}: ratio t_form / t_chunked (how many times slower than chunked)")
    print("T".rjust(7) + "".join(n.rjust(22) for n in rat))
    for T in Ts:
        print(str(T).rjust(7) + "".join(_fmt(rat[n].get(T), ".2f").rjust(22) for n in rat))
    ex_all, ex_hi = bm.exponents(table), bm.exponents(table, ACCEPT_LO, ACCEPT_HI)
    print(f"-- {op}: fitted scaling exponent p (t ~ T^p)")
    for n in names:
        print(f"   {n:22s} all T: {_fmt(ex_all[n], '.3f')}   T in [{ACCEPT_LO}, {ACCEPT_HI}]: {_fmt(ex_hi[n], '.3f')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T <= 2048, no acceptance check")
    parser.add_argument("--ops", default="linear_attention,diag_scan_scalar,diag_scan_key")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (the minimum is kept)")
    parser.add_argument(
        "--accept-rounds", type=int, default=20, help="interleaved rounds of the acceptance measurement"
    )
    parser.add_argument("--accept-only", action="store_true", help="only the acceptance measurement")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1; 0 keeps torch's default)"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    Ts = [2**p for p in range(8, 12 if args.quick else 15)]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, B=1 H=4 D=64; fla: "
        f"{'importable' if bm.fla_references() else 'not importable (pip install -e .[compare])'}"
    )
    tables = {}
    for op in [] if args.accept_only else args.ops.split(","):
        tables[op] = bm.scaling_table(op, Ts, rounds=args.rounds)
        report(op, tables[op], Ts)
    if args.quick:
        return 0
    return acceptance(args.accept_rounds)


def acceptance(rounds: int) -> int:
    """The two acceptance criteria, from their own interleaved samples (minimum kept; the median shows the noise)."""
    g = torch.Generator().manual_seed(1)
    Ts = [T for T in (2048, 4096, 8192, 16384) if ACCEPT_LO <= T <= ACCEPT_HI]
    data = {T: tuple(torch.randn(1, T, 4, 64, generator=g) for _ in range(3)) for T in Ts}
    chunk = {T: [] for T in Ts}
    rec = []
    with torch.no_grad():
        for r in range(rounds):
            for T in Ts:
                chunk[T].append(
                    bm.time_call(lambda a=data[T]: chunk_linear_attention(*a, chunk_size=CHUNK_SIZE), repeats=1)
                )
            if r < max(2, rounds // 4):
                rec.append(bm.time_call(lambda a=data[ACCEPT_T]: linear_attention_recurrent(*a), repeats=1))
    best = {T: min(v) for T, v in chunk.items()}
    speedup = min(rec) / best[ACCEPT_T]
    p = bm.scaling_exponent(Ts, [best[T] for T in Ts])
    ok_speed, ok_p = speedup >= ACCEPT_SPEEDUP, p <= ACCEPT_EXPONENT
    print(f"\n== acceptance, linear attention, B=1 H=4 D=64 fp32 CPU, {rounds} interleaved rounds")
    for T in Ts:
        print(f"   chunked T={T:5d}: min {best[T]:.4f} s, median {statistics.median(chunk[T]):.4f} s")
    print(
        f"   step recurrence T={ACCEPT_T}: min {min(rec):.3f} s, median {statistics.median(rec):.3f} s ({len(rec)} runs)"
    )
    print(
        f"   speedup of chunked over the step recurrence at T={ACCEPT_T}: {speedup:.1f}x "
        f"(need >= {ACCEPT_SPEEDUP:.0f}x): {'PASS' if ok_speed else 'FAIL'}"
    )
    print(
        f"   scaling exponent of chunked for T in [{ACCEPT_LO}, {ACCEPT_HI}]: {p:.3f} "
        f"(need <= {ACCEPT_EXPONENT}): {'PASS' if ok_p else 'FAIL'}"
    )
    print(f"   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end)")
    return 0 if ok_speed and ok_p else 1


if __name__ == "__main__":
    sys.exit(main())
