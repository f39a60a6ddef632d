r"""Check constructors: one verified fact inside a claim (:class:`Check`) and the functions that build it.

A claim function returns :class:`Check` objects. Every tolerance carries a stated reason (unit
roundoff x growth, a 4-sigma band, ...); a check passes iff ``error <= tolerance`` (numeric,
statistical, kernel) or its symbolic difference simplifies to zero. Chapters build their checks only
with the public constructors of this module (:func:`symbolic`, :func:`close`, :func:`band`, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("symbolic", "numeric", "statistical", "kernel")


@dataclass(frozen=True)
class Check:
    """One verified fact inside a claim.

    ``error`` and ``tolerance`` are in the same units; the check passes iff
    ``error <= tolerance`` (numeric, statistical, kernel) or the symbolic difference
    simplified to zero.  ``reason`` says where the tolerance comes from.
    """

    kind: str
    name: str
    passed: bool
    error: float | None = None
    tolerance: float | None = None
    reason: str = ""
    details: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Check.kind must be one of {KINDS}, got {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "passed": bool(self.passed),
            "error": _json_float(self.error),
            "tolerance": _json_float(self.tolerance),
            "reason": self.reason,
            "details": self.details,
        }


def _json_float(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu()
        if x.dtype.is_floating_point and str(x.dtype) not in _NUMPY_FLOATS:
            x = x.double()
        return x.numpy()
    return np.asarray(x)


_NUMPY_FLOATS = ("torch.float64", "torch.float32", "torch.float16")  # dtypes numpy holds as they are


def _require_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("reason: every tolerance needs a stated reason (dtype roundoff x growth, 4 sigma, ...)")
    return reason


def symbolic(name: str, difference: Any, *, details: str = "") -> Check:
    """Pass iff ``sympy.simplify(difference) == 0`` (a matrix must simplify to all zeros)."""
    import sympy as sp

    simplified = sp.simplify(difference)
    if isinstance(simplified, sp.MatrixBase):
        ok = all(sp.simplify(e) == 0 for e in simplified)
    else:
        ok = simplified == 0
    return Check("symbolic", name, bool(ok), details=details or ("" if ok else f"residual: {simplified}"))


def symbolic_true(name: str, statement: Any, *, details: str = "") -> Check:
    """Pass iff a sympy relation/boolean evaluates to ``True`` (e.g. a sign under assumptions)."""
    import sympy as sp

    value = sp.simplify(statement)
    ok = value is sp.true or value is True
    return Check("symbolic", name, bool(ok), details=details or ("" if ok else f"evaluated to: {value}"))


def close(name: str, actual: Any, expected: Any, *, atol: float, reason: str, kind: str = "numeric") -> Check:
    """Max-abs agreement: pass iff ``max |actual - expected| <= atol``; NaN fails."""
    _require_reason(reason)
    a, e = _to_numpy(actual), _to_numpy(expected)
    if a.shape != e.shape:
        return Check(kind, name, False, details=f"shape mismatch {a.shape} vs {e.shape}", reason=reason)
    err = float(np.max(np.abs(a - e))) if a.size else 0.0
    ok = bool(np.isfinite(err) and err <= atol)
    return Check(kind, name, ok, err, float(atol), reason)


def rel_close(name: str, actual: Any, expected: Any, *, rtol: float, reason: str, kind: str = "numeric") -> Check:
    """Relative agreement in the max norm: ``max|a - e| / max|e| <= rtol``; NaN fails."""
    _require_reason(reason)
    a, e = _to_numpy(actual), _to_numpy(expected)
    if a.shape != e.shape:
        return Check(kind, name, False, details=f"shape mismatch {a.shape} vs {e.shape}", reason=reason)
    denom = float(np.max(np.abs(e))) if e.size else 0.0
    num = float(np.max(np.abs(a - e))) if a.size else 0.0
    err = num / denom if denom > 0 else num
    ok = bool(np.isfinite(err) and err <= rtol)
    return Check(kind, name, ok, err, float(rtol), reason)


def at_most(name: str, value: float, bound: float, *, reason: str, kind: str = "numeric") -> Check:
    """Pass iff ``value <= bound`` (an inequality the claim asserts)."""
    _require_reason(reason)
    value = float(value)
    ok = bool(np.isfinite(value) and value <= bound)
    return Check(kind, name, ok, value, float(bound), reason)


def at_least(name: str, value: float, bound: float, *, reason: str, kind: str = "numeric") -> Check:
    """Pass iff ``value >= bound``; reported as error = bound - value <= 0 margin in details."""
    _require_reason(reason)
    value = float(value)
    ok = bool(np.isfinite(value) and value >= bound)
    return Check(kind, name, ok, None, None, reason, details=f"value {value:.6g} >= bound {bound:.6g}")


def statistical(
    name: str,
    estimate: float,
    target: float,
    stderr: float,
    *,
    n_trials: int,
    seed: int,
    nsigma: float = 4.0,
) -> Check:
    """Monte-Carlo check: pass iff ``|estimate - target| <= nsigma * stderr``.

    The seed, trial count and band are recorded in ``details`` and ``reason`` (the ledger
    shows them), so every statistical claim states what it was run with.
    """
    if n_trials <= 0:
        raise ValueError(f"n_trials must be positive, got {n_trials}")
    err = abs(float(estimate) - float(target))
    tol = float(nsigma) * float(stderr)
    ok = bool(np.isfinite(err) and err <= tol)
    reason = f"{nsigma:g} sigma band of the Monte-Carlo mean ({n_trials} trials, seed {seed})"
    details = f"estimate {estimate:.6g}, target {target:.6g}, stderr {stderr:.3g}"
    return Check("statistical", name, ok, err, tol, reason, details)


def holds(name: str, condition: bool, *, kind: str = "numeric", details: str = "") -> Check:
    """A boolean fact (an ordering, a sign, an exact equality of integers)."""
    return Check(kind, name, bool(condition), details=details)


def band(
    name: str,
    estimate: float,
    target: float,
    stderr: float,
    *,
    trials: int,
    seed: int,
    rel: float = 0.0,
    nsigma: float = 4.0,
    combine: str = "max",
    source: str = "",
) -> Check:
    """Statistical check with the band ``max(nsigma * SE, rel * |target|)`` (or their sum, ``combine="sum"``).

    The reason records the seed, the trial count and the band (the ledger shows it), e.g.
    "max(4 SE, 2%) band of the Monte-Carlo estimate (200 trials, seed 0); measured here".
    """
    err = abs(float(estimate) - float(target))
    if combine not in ("max", "sum"):
        raise ValueError(f"combine must be 'max' or 'sum', got {combine!r}")
    parts = (nsigma * float(stderr), rel * abs(float(target)))
    tol = max(parts) if combine == "max" else sum(parts)
    band_txt = f"{nsigma:g} SE"
    if rel:
        band_txt = f"max({nsigma:g} SE, {rel:.0%})" if combine == "max" else f"{rel:.0%} + {nsigma:g} SE"
    reason = f"{band_txt} band of the Monte-Carlo estimate ({trials} trials, seed {seed})" + (
        f"; {source}" if source else ""
    )
    details = f"estimate {estimate:.6g}, target {target:.6g}, stderr {stderr:.3g}"
    return Check("statistical", name, bool(math.isfinite(err) and err <= tol), err, tol, reason, details)


def rel_band(
    name: str, estimate: float, target: float, *, rel: float, trials: int, seed: int, source: str = ""
) -> Check:
    """Statistical check with a purely relative band ``|est - target| <= rel |target|`` (a calibrated [M] band)."""
    err = abs(float(estimate) - float(target))
    tol = rel * abs(float(target))
    reason = f"{rel:.0%} relative band ({trials} trials, seed {seed})" + (f"; {source}" if source else "")
    details = f"estimate {estimate:.6g}, target {target:.6g}"
    return Check("statistical", name, bool(math.isfinite(err) and err <= tol), err, tol, reason, details)


def pvalue_not_rejected(name: str, p: float, alpha: float, *, test: str, n: int, seed: str) -> Check:
    """A one-sided test whose null must *not* be rejected: passes iff ``p >= alpha``.

    Reported as ``error = -log10 p`` against ``tolerance = -log10 alpha``.
    """
    err = float(-np.log10(max(p, 1e-300)))
    return Check(
        "statistical",
        name,
        bool(p >= alpha),
        err,
        float(-np.log10(alpha)),
        f"{test}: null kept iff p >= {alpha} ({n} trials, seed {seed})",
        f"p = {p:.3g}",
    )


def pvalue_rejected(name: str, p: float, alpha: float, *, test: str, n: int, seed: str) -> Check:
    """A one-sided test whose null must be rejected: passes iff ``p < alpha`` (error = p, tolerance = alpha)."""
    return Check(
        "statistical",
        name,
        bool(p < alpha),
        float(p),
        float(alpha),
        f"{test}: reject iff p < {alpha} ({n} trials, seeds {seed})",
        f"p = {p:.3g}",
    )
