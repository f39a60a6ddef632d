"""Fuzz harness of the public API (issue 17, deliverable 2).

Every public callable (:mod:`tests.fuzz.api`) is called with its valid example (:mod:`tests.fuzz.examples`),
then with each argument corrupted in turn (:data:`CORRUPTIONS`).  Each call runs in a worker process
with a per-call time limit and a memory cap (``RLIMIT_AS``); the outcome is one of

- ``clear``: a ``ValueError``/``TypeError`` whose message names the corrupted argument;
- ``valid``: a valid variant (non-contiguous, ``requires_grad``, a known-valid corruption) that works;
- ``unclear``: any other exception, a message that does not name the argument, or a valid variant that fails;
- ``silent``: an invalid input returned a result;
- ``hang``: past the time limit (or the worker died, e.g. on the memory cap: ``crash``, counted unclear).
"""

from __future__ import annotations

import inspect
import math
import multiprocessing as mp
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np
import torch

OUTCOMES = ("clear", "valid", "unclear", "silent", "hang")
VALID_VARIANTS = ("noncontiguous", "requires_grad")
NONDETERMINISTIC = ("fastforms.timing.",)  # timings: a valid variant cannot match the example's numbers


def _nc(x: torch.Tensor) -> torch.Tensor:
    buf = torch.empty(*x.shape, 2, dtype=x.dtype)
    out = buf[..., 0]
    out.copy_(x)
    return out


def _poke(x: Any, value: float) -> Any:
    y = x.clone() if isinstance(x, torch.Tensor) else np.array(x, dtype=float, copy=True)
    if isinstance(y, torch.Tensor) and math.isfinite(value) and y.dtype != torch.float64:
        value = torch.finfo(y.dtype).max  # the largest finite value of a narrower dtype
    y.reshape(-1)[0] = value
    return y


def _shrink(x: Any) -> Any:
    n = x.shape[-1]
    return (
        x[..., : n - 1]
        if n > 1
        else (torch.cat([x, x], -1) if isinstance(x, torch.Tensor) else np.concatenate([x, x], -1))
    )


def _tensor_corruptions(x: torch.Tensor) -> dict[str, Callable[[], Any]]:
    c: dict[str, Callable[[], Any]] = {"rank_up": lambda: x.unsqueeze(0), "none": lambda: None, "list": x.tolist}
    if x.ndim:
        c["rank_down"] = lambda: x[0]
        c["size"] = lambda: _shrink(x)
        if x.ndim >= 2:
            c["rows"] = lambda: x[1:] if x.shape[0] > 1 else torch.cat([x, x])
        c["empty"] = lambda: x[..., :0]
        c["noncontiguous"] = lambda: _nc(x)
    c["numpy"] = lambda: x.detach().numpy()
    c["meta"] = lambda: x.to("meta")
    c["string"] = lambda: "x"
    if x.is_floating_point():
        c["int"] = lambda: x.round().to(torch.int64)
        c["bool"] = lambda: x > 0
        c["complex"] = lambda: x.to(torch.complex128)
        c["nan"] = lambda: _poke(x, math.nan)
        c["inf"] = lambda: _poke(x, math.inf)
        c["huge"] = lambda: _poke(x, 1e308)
        c["requires_grad"] = lambda: x.detach().clone().requires_grad_(True)
    else:
        c["float"] = lambda: x.double()
        if x.dtype != torch.bool:
            c["negative"] = lambda: x - 1000
    return c


def corruptions(value: Any) -> dict[str, Callable[[], Any]]:
    """The corruptions of one argument value, by name (a factory each, so every call gets a fresh one)."""
    if isinstance(value, torch.Tensor):
        return _tensor_corruptions(value)
    if isinstance(value, np.ndarray):
        c: dict[str, Callable[[], Any]] = {"rank_up": lambda: value[None], "none": lambda: None, "string": lambda: "x"}
        if value.ndim:
            c["rank_down"] = lambda: value[0]
            c["size"] = lambda: _shrink(value)
            c["empty"] = lambda: value[..., :0]
        c["int"] = lambda: value.round().astype(np.int64)
        c["complex"] = lambda: value.astype(np.complex128)
        c["nan"] = lambda: _poke(value, math.nan)
        c["inf"] = lambda: _poke(value, math.inf)
        c["huge"] = lambda: _poke(value, 1e308)
        return c
    if isinstance(value, bool):
        return {"none": lambda: None, "string": lambda: "yes"}
    if isinstance(value, int):
        return {
            "zero": lambda: 0,
            "negative": lambda: -1,
            "string": lambda: str(value),
            "none": lambda: None,
            "fraction": lambda: value + 0.5,
            "huge": lambda: 1e308,
            "bool": lambda: True,
        }
    if isinstance(value, float):
        return {
            "nan": lambda: math.nan,
            "inf": lambda: math.inf,
            "negative": lambda: -abs(value) - 1.0,
            "zero": lambda: 0.0,
            "string": lambda: str(value),
            "none": lambda: None,
            "huge": lambda: 1e308,
            "complex": lambda: complex(value, 1.0),
        }
    if isinstance(value, str):
        return {"bogus": lambda: "bogus", "none": lambda: None, "number": lambda: 3}
    if isinstance(value, list | tuple):
        c = {"empty": lambda: type(value)(), "none": lambda: None, "string": lambda: "x"}
        if value and isinstance(value[0], int | float) and not isinstance(value[0], bool):
            c["negative"] = lambda: type(value)([-1, *value[1:]])
            c["nan"] = lambda: type(value)([math.nan, *value[1:]])
        return c
    if isinstance(value, dict):
        return {"empty": lambda: {}, "none": lambda: None}
    if isinstance(value, torch.dtype):
        return {"string": lambda: str(value), "int_dtype": lambda: torch.int64}
    if isinstance(value, torch.Generator):
        return {"number": lambda: 3, "string": lambda: "x"}
    return {"none": lambda: None, "number": lambda: 3, "string": lambda: "x"}


@dataclass(frozen=True)
class Task:
    key: str
    arg: str  # "" for the example call itself
    corruption: str

    @property
    def id(self) -> str:
        return f"{self.key}:{self.arg}:{self.corruption}" if self.arg else f"{self.key}:example"


def _bound(key: str) -> tuple[Callable[..., Any], inspect.BoundArguments, dict[str, Any]]:
    from .api import public_callables
    from .examples import EXAMPLES

    fn = _CALLABLES.setdefault("_all", public_callables())[key]  # type: ignore[index]
    args, kwargs = EXAMPLES[key]()
    sig = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    supplied = dict(bound.arguments)
    bound.apply_defaults()
    return fn, bound, supplied


_CALLABLES: dict[str, Any] = {}


def _fuzzable(key: str, bound: inspect.BoundArguments, supplied: dict[str, Any]) -> list[tuple[str, str]]:
    from .api import is_method

    out: list[tuple[str, str]] = []
    params = bound.signature.parameters
    for i, (name, value) in enumerate(bound.arguments.items()):
        kind = params[name].kind
        if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if i == 0 and is_method(key):
            continue
        if value is None:
            continue
        for corr in corruptions(value):
            out.append((name, corr))
    return out


def tasks_for(key: str) -> list[Task]:
    """The example call plus every (argument, corruption) of ``key``."""
    _, bound, supplied = _bound(key)
    return [Task(key, "", "example")] + [Task(key, a, c) for a, c in _fuzzable(key, bound, supplied)]


def run_task(task: Task) -> tuple[str, str]:
    """Run one call in this process; return (outcome, detail)."""
    from .classification import known_valid

    fn, bound, _ = _bound(task.key)
    valid = task.arg == "" or task.corruption in VALID_VARIANTS
    if task.corruption == "none" and bound.signature.parameters[task.arg].default is None:
        valid = True  # None is the parameter's own default
    if task.arg:
        try:
            bound.arguments[task.arg] = corruptions(bound.arguments[task.arg])[task.corruption]()
        except Exception as e:  # the harness could not build this corruption: surface it
            return "unclear", f"harness: cannot build {task.corruption}: {type(e).__name__}: {e}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*bound.args, **bound.kwargs)
    except (ValueError, TypeError) as e:
        msg = str(e)
        if valid:
            return "unclear", f"valid input rejected: {type(e).__name__}: {msg[:160]}"
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(task.arg)}(?![A-Za-z0-9_])", msg):
            return "clear", ""
        return "unclear", f"{type(e).__name__} not naming {task.arg}: {msg[:160]}"
    except Exception as e:  # any other exception is an unclear error
        return "unclear", f"{type(e).__name__}: {str(e)[:160]}"
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    if valid:
        if task.corruption in VALID_VARIANTS and not task.key.startswith(NONDETERMINISTIC):
            _, ref_bound, _ = _bound(task.key)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = fn(*ref_bound.args, **ref_bound.kwargs)
            if not _same(result, ref):
                return "unclear", "valid variant gave a different result than the example"
        return "valid", ""
    reason = known_valid(task.key, task.arg, task.corruption)
    if reason is not None:
        return "valid", reason
    finite = _finite(result)
    if task.corruption == "huge" and finite:
        return "valid", "a huge finite input gave a finite result"
    if task.corruption == "meta":
        return "valid", "meta tensors supported"
    return "silent", "returned a result" + ("" if finite else " with NaN/Inf")


def _leaves(obj: Any, depth: int = 0) -> list[Any]:
    if depth > 3:
        return []
    if isinstance(obj, torch.Tensor | np.ndarray | float | complex):
        return [obj]
    if isinstance(obj, list | tuple):
        return [x for o in obj for x in _leaves(o, depth + 1)]
    if isinstance(obj, dict):
        return [x for o in obj.values() for x in _leaves(o, depth + 1)]
    if type(obj).__module__.startswith("attnmath") and hasattr(obj, "__dict__") and not callable(obj):
        return [x for o in vars(obj).values() for x in _leaves(o, depth + 1)]
    return []


def _finite(obj: Any) -> bool:
    for x in _leaves(obj):
        if isinstance(x, torch.Tensor):
            if (
                x.device.type != "meta"
                and (x.is_floating_point() or x.is_complex())
                and not bool(torch.isfinite(x).all())
            ):
                return False
        elif isinstance(x, np.ndarray):
            if x.dtype.kind in "fc" and not bool(np.isfinite(x).all()):
                return False
        elif not math.isfinite(abs(x)):
            return False
    return True


def _same(a: Any, b: Any) -> bool:
    la, lb = _leaves(a), _leaves(b)
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        x = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
        y = y.detach() if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
        if x.device.type == "meta" or x.shape != y.shape:
            return False
        if not torch.allclose(x.to(y.dtype), y, rtol=1e-12, atol=1e-12, equal_nan=True):
            return False
    return True


def _worker(conn: Connection, mem_bytes: int) -> None:
    import resource

    import matplotlib

    matplotlib.use("Agg")
    torch.set_num_threads(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # progress bars and LAPACK chatter of the fuzzed calls
    os.dup2(devnull, 2)
    try:
        with open("/proc/self/status") as fh:
            vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + mem_bytes, vm + mem_bytes))
    except (OSError, StopIteration, ValueError):
        pass
    while True:
        task = conn.recv()
        if task is None:
            return
        conn.send(run_task(task))


class _Slot:
    def __init__(self, ctx: Any, mem_bytes: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, mem_bytes), daemon=True)
        self.proc.start()
        child.close()
        self.task: Task | None = None
        self.deadline = 0.0

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()


def run_tasks(
    tasks: Iterable[Task], *, workers: int = 2, timeout_s: float = 10.0, mem_gib: float = 4.0
) -> dict[str, tuple[str, str]]:
    """Run ``tasks`` in ``workers`` processes; a call past ``timeout_s`` is a ``hang``."""
    ctx = mp.get_context("spawn")
    mem = int(mem_gib * 2**30)
    todo = list(tasks)[::-1]
    results: dict[str, tuple[str, str]] = {}
    slots = [_Slot(ctx, mem) for _ in range(max(1, min(workers, len(todo))))]
    startup = 60.0  # the first call of a fresh worker also imports torch and attnmath
    for s in slots:
        s.deadline = startup
    fresh = {id(s) for s in slots}
    try:
        while todo or any(s.task for s in slots):
            for s in slots:
                if s.task is None and todo:
                    s.task = todo.pop()
                    s.conn.send(s.task)
                    s.deadline = time.monotonic() + timeout_s + (startup if id(s) in fresh else 0.0)
                    fresh.discard(id(s))
            busy = [s for s in slots if s.task]
            ready = wait([s.conn for s in busy], timeout=max(0.0, min(s.deadline for s in busy) - time.monotonic()))
            now = time.monotonic()
            for i, s in enumerate(slots):
                if s.task is None:
                    continue
                if s.conn in ready:
                    try:
                        results[s.task.id] = s.conn.recv()
                        s.task = None
                        continue
                    except EOFError:
                        results[s.task.id] = ("unclear", f"crash: worker died (exit {s.proc.exitcode})")
                elif now >= s.deadline:
                    results[s.task.id] = ("hang", f"no answer within {timeout_s:g} s")
                else:
                    continue
                s.kill()
                slots[i] = _Slot(ctx, mem)
                fresh.add(id(slots[i]))
    finally:
        for s in slots:
            try:
                s.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
            s.proc.join(timeout=5)
            if s.proc.is_alive():
                s.proc.kill()
    return results


def summarize(results: dict[str, tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Counts per callable and outcome."""
    out: dict[str, dict[str, int]] = {}
    for tid, (outcome, _) in results.items():
        key = tid.split(":")[0]
        out.setdefault(key, dict.fromkeys(OUTCOMES, 0))[outcome] += 1
    return out


def table(results: dict[str, tuple[str, str]]) -> str:
    totals = dict.fromkeys(OUTCOMES, 0)
    for outcome, _ in results.values():
        totals[outcome] += 1
    lines = ["| outcome | calls |", "|---|---|"] + [f"| {k} | {v} |" for k, v in totals.items()]
    lines.append(f"| total | {sum(totals.values())} |")
    return "\n".join(lines)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))
