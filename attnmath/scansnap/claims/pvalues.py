"""Checks built from the p-value of a one-sided hypothesis test (used by the long-sequence and learning-rate claims)."""

from __future__ import annotations

import numpy as np

from attnmath.claims import Check


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
