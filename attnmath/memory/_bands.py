"""Check constructors shared by the ``memory.*`` claims (statistical bands with a relative floor)."""

from __future__ import annotations

import math

import torch

from ..claims import Check

CI = "ci"
F64 = torch.float64

F64_EPS = 2.220446049250313e-16  # float64 unit roundoff x 2 (torch.finfo(torch.float64).eps)


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
    """Statistical check with the dossier's band ``max(nsigma * SE, rel * |target|)`` (or their sum, ``combine="sum"``).

    The reason records the seed, the trial count and the band (the ledger shows it), e.g.
    "max(4 SE, 2%) band, 200 trials, seed 0 (dossier P5)".
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


def gen(seed: int) -> torch.Generator:
    """A seeded local torch generator (claims never touch the global RNG)."""
    return torch.Generator().manual_seed(seed)
