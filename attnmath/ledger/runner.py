"""Running claims: one claim (:func:`run`) or a selection (:func:`run_all`).

A claim that raises becomes a failed result carrying the exception (a run never aborts); a claim
that needs an optional package that is missing here (Triton) becomes a skipped result.
"""

from __future__ import annotations

import contextlib
import inspect
import time
import traceback
from collections.abc import Iterator

import numpy as np

from ..base.errors import MissingDependency
from ..base.tiers import check_tier
from . import cells
from .cache import _cache_load, _cache_store, _control_load, _control_store
from .checks import Check
from .registry import Claim, Control, get, select
from .results import ClaimResult, ControlResult, _worst


@contextlib.contextmanager
def _caller_random_state_kept() -> Iterator[None]:
    """Restore numpy's legacy global stream and torch's CPU generator after a claim reseeds them."""
    import torch

    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global stream a caller may be using
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            np.random.set_state(np_state)  # noqa: NPY002


def _seed_everything(seed: int = 0) -> None:
    import torch  # a base dependency; imported here so that `import attnmath.claims` stays light

    np.random.seed(seed)  # noqa: NPY002 - reset the legacy global stream too, in case a check uses it
    torch.manual_seed(seed)


def _evaluate(c: Claim, tier: str) -> list[Check]:
    """The claim's checks, validated against its declared kinds (raises what the claim raises)."""
    params = inspect.signature(c.func).parameters
    out = c.func(tier) if params else c.func()
    checks = [out] if isinstance(out, Check) else list(out)
    if not checks or not all(isinstance(ch, Check) for ch in checks):
        raise TypeError(f"claim {c.id} must return Check objects, got {out!r}")
    missing = set(c.kinds) - {ch.kind for ch in checks}
    extra = {ch.kind for ch in checks} - set(c.kinds)
    if missing or extra:
        raise ValueError(
            f"claim {c.id} declares kinds {c.kinds} but its checks have "
            f"{sorted({ch.kind for ch in checks})} (missing {sorted(missing)})"
        )
    return checks


def run(claim_or_id: Claim | str, tier: str = "ci", *, controls: bool = False) -> ClaimResult:
    """Run one claim; exceptions become a failed result (never propagate).

    With ``controls=True`` each of the claim's negative controls (:func:`run_control`) runs after it
    and ``result.controls`` lists their outcomes. The global numpy and torch streams are reseeded (0)
    before the claim and restored to the caller's state afterwards. When ``ATTNMATH_CLAIM_CACHE`` is set (``make test``),
    a result stored there for the same claim, tier and source fingerprint is returned instead of
    running the claim again (see :mod:`attnmath.ledger.cache`).
    """
    check_tier(tier)
    c = get(claim_or_id) if isinstance(claim_or_id, str) else claim_or_id
    with _caller_random_state_kept():
        result = _cache_load(c, tier) or _run_claim(c, tier)
        if controls and not result.skipped:
            result.controls = [_cached_control(c, ctl, tier) for ctl in c.controls]
    return result


def _traceback_text(exc: BaseException, head: int = 3, tail: int = 5) -> str:
    """The traceback of ``exc``: its outermost ``head`` frames (which claim, which check) and its innermost
    ``tail`` frames (where it was raised: for a sweep cell, the worker's own frames, which Dask appends)."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = ["Traceback (most recent call last):\n"]
    if len(frames) > head + tail:
        lines += traceback.format_list(frames[:head])
        lines.append(f"  ... {len(frames) - head - tail} frame(s) omitted ...\n")
        lines += traceback.format_list(frames[-tail:])
    else:
        lines += traceback.format_list(frames)
    return "".join(lines + traceback.format_exception_only(exc))


def _run_claim(c: Claim, tier: str) -> ClaimResult:
    _seed_everything(0)
    t0 = time.perf_counter()
    try:
        checks = _evaluate(c, tier)
    except MissingDependency as exc:  # an optional package is absent here: skipped, not failed (never cached)
        return ClaimResult(
            c, False, [], None, None, time.perf_counter() - t0, None, tier, skipped=f"{exc.package} not installed"
        )
    except Exception as exc:  # a raising check is a failed claim, by design
        tb = _traceback_text(exc)
        result = ClaimResult(
            c, False, [], None, None, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}\n{tb}", tier
        )
        _cache_store(result)
        return result
    seconds = time.perf_counter() - t0
    worst = _worst(checks)
    result = ClaimResult(
        c,
        all(ch.passed for ch in checks),
        checks,
        worst.error if worst else None,
        worst.tolerance if worst else None,
        seconds,
        None,
        tier,
    )
    _cache_store(result)
    return result


def _cached_control(c: Claim, ctl: Control, tier: str) -> ControlResult:
    stored = _control_load(c.id, ctl.name, tier)
    if stored is not None:
        return stored
    result = run_control(c, ctl, tier)
    _control_store(c.id, tier, result)
    return result


def run_control(claim_or_id: Claim | str, control: Control | str, tier: str = "ci") -> ControlResult:
    """Run the claim's own checks inside the negative control ``control``; caught iff a check fails.

    A claim that *raises* inside the control is not counted as caught: the control must build a
    world in which the checks run and fail (the error names the exception, so the control can be fixed).
    """
    check_tier(tier)
    c = get(claim_or_id) if isinstance(claim_or_id, str) else claim_or_id
    if isinstance(control, str):
        by_name = {ctl.name: ctl for ctl in c.controls}
        if control not in by_name:
            raise KeyError(f"claim {c.id!r} has no control {control!r}; it has {sorted(by_name)}")
        control = by_name[control]
    t0 = time.perf_counter()
    try:
        with _caller_random_state_kept(), cells.world(f"control {c.id}: {control.name}"), control.patch():
            _seed_everything(0)
            checks = _evaluate(c, tier)
    except Exception as exc:
        return ControlResult(control.name, False, None, f"raised {type(exc).__name__}: {exc}", time.perf_counter() - t0)
    seconds = time.perf_counter() - t0
    failed = [ch for ch in checks if not ch.passed]
    if not failed:
        return ControlResult(control.name, False, None, "every check passed in the wrong world", seconds)
    first = failed[0]
    if first.error is not None and first.tolerance is not None:
        how = f"error {first.error:.3g} > tol {first.tolerance:.3g}"
    else:
        how = first.details or "failed"
    return ControlResult(control.name, True, first.name, how, seconds)


def run_all(
    pattern: str | None = None, tier: str = "ci", progress: bool = False, *, controls: bool = False
) -> list[ClaimResult]:
    claims = select(pattern)
    if progress:
        from tqdm import tqdm

        bar = tqdm(claims, desc="claims", unit="claim", dynamic_ncols=True)
        results = []
        for c in bar:
            bar.set_postfix_str(c.id, refresh=False)
            results.append(run(c, tier, controls=controls))
        return results
    return [run(c, tier, controls=controls) for c in claims]
