r"""CPU timing of the forms of an operator, for the kernels chapter and ``benchmarks/bench_cpu.py`` (wall-clock, not tests).

:func:`scaling_table` times the forms of one operator over a range of sequence lengths ``T``
(forward pass, fp32, no autograd): the chunked PyTorch form, the step-by-step recurrence, the
quadratic masked form (skipped above a memory budget) and, for linear attention, fla's naive
PyTorch references when ``fla`` is importable.  :func:`scaling_exponent` fits
:math:`t \propto T^p` by least squares on :math:`\log t` vs :math:`\log T`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from attnmath.base import validation as V
from attnmath.base.chunks import CHUNK_SIZE
from attnmath.base.numerics import torch_generator
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_quadratic, diag_scan_recurrent
from attnmath.kernels.linear_attention import (
    chunk_linear_attention,
    linear_attention_quadratic,
    linear_attention_recurrent,
)

__all__ = ["exponents", "fla_references", "forms", "ratios", "scaling_exponent", "scaling_table", "time_call"]

OPS = ("linear_attention", "diag_scan_scalar", "diag_scan_key")
QUADRATIC_BYTES = 512 * 2**20  # skip the quadratic form when one fp32 [B, H, T, T] score tensor exceeds this


def time_call(fn: Callable[[], object], *, repeats: int = 5, budget_s: float = 0.5) -> float:
    """Minimum wall time of ``fn()`` over up to ``repeats`` runs (fewer when a run is slow; at least one).

    ``repeats`` >= 1; ``budget_s`` >= 0 seconds (0: one run).
    """
    V.function(fn, "fn")
    repeats = V.integer(repeats, "repeats", minimum=1)
    budget_s = V.real(budget_s, "budget_s", nonnegative=True)
    best, spent, n = math.inf, 0.0, 0
    while n < repeats and (n == 0 or spent < budget_s):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best


def scaling_exponent(Ts: Sequence[int], seconds: Sequence[float]) -> float:
    """Least-squares slope ``p`` of ``log t = p log T + c``.

    ``Ts`` and ``seconds``: 1-D, positive, finite, of one length >= 2.
    """
    Ts_, seconds_ = _positive_points(Ts, "Ts"), _positive_points(seconds, "seconds")
    if len(Ts_) != len(seconds_):
        raise ValueError(f"Ts and seconds must have one length, got {len(Ts_)} and {len(seconds_)}")
    x, y = np.log(Ts_), np.log(seconds_)
    return float(np.polyfit(x, y, 1)[0])


def fla_references() -> dict[str, Callable] | None:
    """fla's ``naive_recurrent_linear_attn`` and ``naive_chunk_linear_attn``, or ``None`` when fla is not importable."""
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fla warns that Triton rolls back to CPU
            from fla.ops.linear_attn.naive import naive_chunk_linear_attn, naive_recurrent_linear_attn
    except Exception:  # fla is optional (the `compare` extra); any import failure means "not available"
        return None
    return {"fla naive recurrent": naive_recurrent_linear_attn, "fla naive chunk": naive_chunk_linear_attn}


def forms(op: str, *, with_fla: bool = True) -> dict[str, Callable]:
    """Forward callables ``f(q, k, v, g) -> o`` for ``op`` in ``linear_attention``, ``diag_scan_scalar``, ``diag_scan_key``."""
    op = V.choice(op, "op", OPS)
    with_fla = V.flag(with_fla, "with_fla")
    if op == "linear_attention":
        out = {
            "chunked": lambda q, k, v, g: chunk_linear_attention(q, k, v, chunk_size=CHUNK_SIZE)[0],
            "recurrent": lambda q, k, v, g: linear_attention_recurrent(q, k, v)[0],
            "quadratic": lambda q, k, v, g: linear_attention_quadratic(q, k, v),
        }
        fla = fla_references() if with_fla else None
        if fla:
            scale = None  # both sides use K**-0.5
            out["fla naive recurrent"] = lambda q, k, v, g: fla["fla naive recurrent"](q, k, v, scale=scale)[0]
            out["fla naive chunk"] = lambda q, k, v, g: fla["fla naive chunk"](q, k, v, scale=scale)
        return out
    if op in ("diag_scan_scalar", "diag_scan_key"):
        return {
            "chunked": lambda q, k, v, g: chunk_diag_scan(q, k, v, g, chunk_size=CHUNK_SIZE)[0],
            "recurrent": lambda q, k, v, g: diag_scan_recurrent(q, k, v, g)[0],
            "quadratic": lambda q, k, v, g: diag_scan_quadratic(q, k, v, g),
        }
    raise AssertionError(op)  # unreachable: V.choice checked op


def _quadratic_fits(op: str, B: int, H: int, T: int, D: int) -> bool:
    per = D if op == "diag_scan_key" else 1  # the per-key masked form holds a [B, H, T, T, K] decay tensor
    return B * H * T * T * per * 4 <= QUADRATIC_BYTES


def scaling_table(
    op: str,
    Ts: Sequence[int],
    *,
    B: int = 1,
    H: int = 4,
    D: int = 64,
    seed: int = 0,
    rounds: int = 3,
    with_fla: bool = True,
    progress: bool = False,
    threads: int | None = None,
) -> dict[str, dict[int, float]]:
    """Seconds per forward pass, ``{form: {T: seconds}}`` (a form absent at a ``T`` was skipped for memory).

    Each (form, T) is timed once per round (a few calls when a call is fast) and the minimum over
    ``rounds`` interleaved rounds is kept, so a burst of load from other processes spoils one round
    of a measurement, not all of them.  ``threads`` sets torch's intra-op threads for the
    measurement (restored afterwards): on a machine shared with other work, one thread avoids the
    step loop's many tiny parallel regions waiting for a descheduled worker thread.

    ``op`` is one of :data:`OPS`; ``Ts`` a non-empty list of lengths >= 1; ``B``, ``H``, ``D``, ``rounds``
    and ``threads`` (when given) are >= 1; ``seed`` >= 0.
    """
    op = V.choice(op, "op", OPS)
    Ts = V.integers(Ts, "Ts", minimum=1)
    B, H, D = (V.integer(x, name, minimum=1) for x, name in ((B, "B"), (H, "H"), (D, "D")))
    seed = V.integer(seed, "seed", minimum=0)
    rounds = V.integer(rounds, "rounds", minimum=1)
    with_fla = V.flag(with_fla, "with_fla")
    if threads is not None:
        threads = V.integer(threads, "threads", minimum=1)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _scaling_table(op, Ts, B, H, D, seed, rounds, with_fla, progress)
    finally:
        torch.set_num_threads(old_threads)


def _scaling_table(
    op: str,
    Ts: Sequence[int],
    B: int,
    H: int,
    D: int,
    seed: int,
    rounds: int,
    with_fla: bool,
    progress: bool,
) -> dict[str, dict[int, float]]:
    fs = forms(op, with_fla=with_fla)
    table: dict[str, dict[int, float]] = {name: {} for name in fs}
    g = torch_generator(seed)
    data = {}
    for T in Ts:
        q, k, v = (torch.randn(B, T, H, D, generator=g) for _ in range(3))
        gshape = {"diag_scan_scalar": (B, T, H), "diag_scan_key": (B, T, H, D)}.get(op)
        lg = None if gshape is None else F.logsigmoid(torch.randn(*gshape, generator=g) + 2)
        data[T] = (q, k, v, lg)
    items = [
        (T, name)
        for T in Ts
        for name in fs
        if not (name == "quadratic" and not _quadratic_fits(op, B, H, T, D))
        and not (name == "fla naive chunk" and T % 64)  # fla's naive chunk form needs T % 64 == 0
    ]
    runs: Iterable[tuple[int, int, str]] = [(r, T, name) for r in range(rounds) for T, name in items]
    if progress:
        from tqdm import tqdm

        runs = tqdm(runs, desc=op, unit="run")
    with torch.no_grad():
        for _, T, name in runs:
            t = time_call(lambda f=fs[name], a=data[T]: f(*a))  # type: ignore[misc]  # mypy cannot infer a lambda that binds loop values as default arguments
            table[name][T] = min(t, table[name].get(T, math.inf))
    return table


def ratios(table: dict[str, dict[int, float]], base: str = "chunked") -> dict[str, dict[int, float]]:
    """``{form: {T: t_form / t_base}}`` for every other form (how many times slower than ``base``).

    ``table``: ``{form: {T: seconds}}`` as :func:`scaling_table` returns it (seconds > 0); ``base`` one of its forms.
    """
    _check_table(table)
    base = V.choice(base, "base", list(table))
    return {
        name: {T: t / table[base][T] for T, t in row.items() if T in table[base]}
        for name, row in table.items()
        if name != base
    }


def exponents(table: dict[str, dict[int, float]], lo: int | None = None, hi: int | None = None) -> dict[str, float]:
    """Fitted scaling exponent of each form over the ``T`` in ``[lo, hi]`` it was timed at (NaN if < 2 points).

    ``table``: ``{form: {T: seconds}}`` as :func:`scaling_table` returns it (seconds > 0).
    """
    _check_table(table)
    lo = None if lo is None else V.integer(lo, "lo")
    hi = None if hi is None else V.integer(hi, "hi")
    out = {}
    for name, row in table.items():
        pts = sorted((T, t) for T, t in row.items() if (lo is None or T >= lo) and (hi is None or T <= hi))
        out[name] = scaling_exponent(*zip(*pts)) if len(pts) >= 2 else math.nan
    return out


def _positive_points(x: Any, name: str) -> np.ndarray:
    """A 1-D float64 array of at least two finite values > 0 (points of a log-log fit)."""
    arr = V.real_array(x, name, ndim=1)
    V.integer(arr.size, f"the number of points in {name}", minimum=2)
    V.real(arr.min(), f"min({name})", positive=True)
    return arr


def _check_table(table: Any) -> None:
    """``{form: {T: seconds}}``: a non-empty mapping of names to mappings of lengths >= 1 to seconds > 0."""
    if not isinstance(table, Mapping) or not all(isinstance(row, Mapping) for row in table.values()):
        raise TypeError(f"table must be a mapping {{form: {{T: seconds}}}}, got {type(table).__name__}")
    if not table:
        raise ValueError("table must be non-empty, got an empty mapping")
    for name, row in table.items():
        for T, t in row.items():
            V.integer(T, f"table[{name!r}] length", minimum=1)
            V.real(t, f"table[{name!r}][{T}]", positive=True)
