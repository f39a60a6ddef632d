"""Running claims: one claim (:func:`run`) or a selection (:func:`run_all`).

A claim that raises becomes a failed result carrying the exception (a run never aborts); a claim
that needs an optional package that is missing here (Triton) becomes a skipped result.
"""

from __future__ import annotations

import inspect
import time
import traceback

import numpy as np

from ..base.errors import MissingDependency
from ..base.tiers import check_tier
from .cache import _cache_store
from .checks import Check
from .registry import Claim, get, select
from .results import ClaimResult, _worst


def _seed_everything(seed: int = 0) -> None:
    import torch  # a base dependency; imported here so that `import attnmath.claims` stays light

    np.random.seed(seed)  # noqa: NPY002 - reset the legacy global stream too, in case a check uses it
    torch.manual_seed(seed)


def run(claim_or_id: Claim | str, tier: str = "ci") -> ClaimResult:
    """Run one claim; exceptions become a failed result (never propagate)."""
    check_tier(tier)
    c = get(claim_or_id) if isinstance(claim_or_id, str) else claim_or_id
    _seed_everything(0)
    t0 = time.perf_counter()
    try:
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
    except MissingDependency as exc:  # an optional package is absent here: skipped, not failed (never cached)
        return ClaimResult(
            c, False, [], None, None, time.perf_counter() - t0, None, tier, skipped=f"{exc.package} not installed"
        )
    except Exception as exc:  # a raising check is a failed claim, by design
        tb = traceback.format_exc(limit=6)
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


def run_all(pattern: str | None = None, tier: str = "ci", progress: bool = False) -> list[ClaimResult]:
    claims = select(pattern)
    if progress:
        from tqdm import tqdm

        bar = tqdm(claims, desc="claims", unit="claim", dynamic_ncols=True)
        results = []
        for c in bar:
            bar.set_postfix_str(c.id, refresh=False)
            results.append(run(c, tier))
        return results
    return [run(c, tier) for c in claims]
