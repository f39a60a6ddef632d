"""What the benchmark scripts share: FLOP counts as implemented, timing, the bmm roofline, goals, the JSON report.

FLOPs as implemented (one ``[B, H]`` head, ``N = ceil(T / C)`` chunks of ``C`` steps, key width ``K``, value
width ``V``): every chunked form (linear attention, diagonal scan with a scalar or a per-key gate on its
factorised path) runs four batched matmuls per chunk,

- ``K_n^T V_n`` (or its decayed twin), ``[K, C] @ [C, V]``: ``2 C K V``;
- the intra-chunk scores ``Q_n K_n^T``, ``[C, K] @ [K, C]``: ``2 C^2 K`` (the masked upper half counted: it is computed);
- the inter-chunk read-out ``Q_n S_n``, ``[C, K] @ [K, V]``: ``2 C K V``;
- the intra-chunk product ``A_n V_n``, ``[C, C] @ [C, V]``: ``2 C^2 V``;

so ``2 C (2 K V + C K + C V)`` per chunk.  Elementwise work (masks, decays, the state passing) is not
counted: it is the overhead that the roofline fraction measures.  The *roofline* of a form is the time
``torch.bmm`` takes for exactly those four products on exactly those block shapes, batched as the form
batches them (one group of whole chunks, :func:`attnmath.kernels._common.group_len`, per call), in the
same thread setting; a form's *roofline fraction* is that time over the form's own time, i.e. its achieved
FLOP/s over bmm's FLOP/s on its shapes.

Timing uses :class:`torch.utils.benchmark.Timer` (warm-up, thread control, ``blocked_autorange``): the
report keeps the median and the interquartile range, and the goals use the minimum block time, the
figure least disturbed by other processes on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

OPS = ("linear_attention", "diag_scan_scalar", "diag_scan_key")


# ---- FLOPs and block shapes ------------------------------------------------------------------------------
def _groups(T: int, C: int, group: int) -> list[tuple[int, int]]:
    """``(count, chunks)`` of the groups a chunked form streams over: full groups, then the partial last one."""
    full, rest = divmod(T, group)
    return [(n, c) for n, c in ((full, group // C), (1 if rest else 0, math.ceil(rest / C))) if n]


def chunk_flops(B: int, H: int, T: int, K: int, V: int, C: int, *, op: str = "diag_scan", group: int = 512) -> int:
    """Matmul FLOPs of one forward pass of a chunked form, as implemented (see the module doc).

    ``op="linear_attention"`` adds its state passing, an exclusive prefix sum over a group's ``n`` chunks done
    as one ``[n, n] @ [n, K V]`` product (``2 n^2 K V`` per head and group)."""
    for name, x in (("B", B), ("H", H), ("T", T), ("K", K), ("V", V), ("C", C), ("group", group)):
        if not isinstance(x, int) or isinstance(x, bool) or x < 1:
            raise ValueError(f"{name} must be an int >= 1, got {x!r}")
    N = math.ceil(T / C)
    flops = B * H * N * 2 * C * (2 * K * V + C * K + C * V)
    if op == "linear_attention":
        flops += sum(count * B * H * 2 * n * n * K * V for count, n in _groups(T, C, group))
    return flops


def block_shapes(
    B: int, H: int, T: int, K: int, V: int, C: int, group: int, *, op: str = "diag_scan"
) -> list[tuple[int, int, int, int, int]]:
    """The form's batched matmuls as ``(calls, batch, m, k, n)``: per group of ``group`` steps, one bmm of
    ``batch = B H (group / C)`` blocks of ``[m, k] @ [k, n]`` for each of the four products (and, for linear
    attention, the prefix sum ``[n, n] @ [n, K V]`` over the group's ``n`` chunks, batch ``B H``); ``calls``
    groups (the last, partial group has fewer chunks: the form pads it to whole chunks, not to a whole group)."""
    if group % C:
        raise ValueError(f"group must be a multiple of C, got group={group}, C={C}")
    out: list[tuple[int, int, int, int, int]] = []
    for calls, chunks in _groups(T, C, group):
        n = B * H * chunks
        out += [(calls, n, K, C, V), (calls, n, C, K, C), (calls, n, C, K, V), (calls, n, C, C, V)]
        if op == "linear_attention":
            out.append((calls, B * H, chunks, chunks, K * V))
    return out


def roofline_seconds(
    shapes: Sequence[tuple[int, int, int, int, int]], *, threads: int, min_run_time: float = 0.2
) -> float:
    """Seconds ``torch.bmm`` needs for ``shapes`` (``(calls, batch, m, k, n)`` each), fp32, same threads."""
    total = 0.0
    g = torch.Generator().manual_seed(0)
    for calls, batch, m, k, n in shapes:
        a = torch.randn(batch, m, k, generator=g)
        b = torch.randn(batch, k, n, generator=g)
        out = torch.empty(batch, m, n)
        total += calls * measure(lambda a=a, b=b, out=out: torch.bmm(a, b, out=out), threads, min_run_time).best
    return total


# ---- timing ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Seconds per call: the minimum and median block time of ``blocked_autorange`` and its IQR."""

    best: float
    median: float
    iqr: float
    runs: int


def measure(fn: Callable[[], object], threads: int, min_run_time: float = 0.2) -> Timing:
    """Time ``fn()`` with :class:`torch.utils.benchmark.Timer` (``threads`` intra-op threads)."""
    from torch.utils import benchmark

    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    m = timer.blocked_autorange(min_run_time=min_run_time)
    return Timing(best=min(m.times), median=m.median, iqr=m.iqr, runs=m.number_per_run * len(m.times))


def scaling_exponent(Ts: Sequence[int], seconds: Sequence[float]) -> float:
    """Least-squares slope ``p`` of ``log t = p log T + c`` (``t ~ T^p``)."""
    if len(Ts) != len(seconds) or len(Ts) < 2:
        raise ValueError(f"Ts and seconds must have one length >= 2, got {len(Ts)} and {len(seconds)}")
    if min(Ts) <= 0 or min(seconds) <= 0:
        raise ValueError("Ts and seconds must be positive")
    x = [math.log(t) for t in Ts]
    y = [math.log(s) for s in seconds]
    mx, my = statistics.fmean(x), statistics.fmean(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)


# ---- goals and the report --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Goal:
    """One acceptance line: ``value`` compared with ``target`` (``at_least`` or at most)."""

    name: str
    value: float
    target: float
    at_least: bool
    unit: str = ""

    @property
    def passed(self) -> bool:
        return math.isfinite(self.value) and (self.value >= self.target if self.at_least else self.value <= self.target)

    def line(self) -> str:
        sign = ">=" if self.at_least else "<="
        return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.value:.3g}{self.unit} (need {sign} {self.target:g}{self.unit})"


@dataclass
class Report:
    """Everything one benchmark run measured, for ``--json``: environment, tables, goals."""

    script: str
    environment: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    goals: list[Goal] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.goals)

    def to_json(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "environment": self.environment,
            "results": self.results,
            "goals": [asdict(g) | {"passed": g.passed} for g in self.goals],
            "passed": self.passed,
        }

    def write(self, path: str | os.PathLike[str]) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(_plain(self.to_json()), indent=1, sort_keys=True, allow_nan=False) + "\n")
        return p


def _plain(x: Any) -> Any:
    """JSON-ready: dataclasses as dicts, int keys as strings, NaN/Inf as null (strict JSON has neither)."""
    if hasattr(x, "__dataclass_fields__"):
        x = asdict(x)
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, bool | int | float | str) or x is None:
        return x
    raise TypeError(f"cannot write {type(x).__name__} to JSON")


def environment(threads: int) -> dict[str, Any]:
    """Where the numbers come from: versions, CPU, threads, load, date (UTC)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "threads": threads,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    try:
        x = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}") from None
    if x < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {x}")
    return x
