r"""Printing numbers at the precision that carries their meaning, so that outputs are portable.

A notebook's stored outputs are compared with a fresh run on another machine (nbval). Quantities
that depend on the last bits of floating point (which differ between CPUs, BLAS kernels and SIMD
paths) must not be printed to their last digit: an adaptive ODE solver turns an ulp of difference
into a different step count (Van der Pol, μ = 100, rtol 1e-6: 11885 steps on one machine, 11892 on
another). :func:`sig` rounds such a quantity to the significant digits its claim is about.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["sig"]


def sig(x: float, digits: int = 3) -> str:
    r"""``x`` rounded to ``digits`` significant digits, in fixed notation with thousands separators.

    :math:`\mathrm{sig}(x, d) = \mathrm{round}(x, d - 1 - \lfloor\log_{10}|x|\rfloor)`; for example
    ``sig(11885) == "11,900"``, ``sig(0.71583) == "0.716"``, ``sig(138) == "138"``; an integer never
    gets decimals (``sig(29) == "29"``, ``sig(29.0) == "29.0"``). Use it for step
    counts, ratios and speed-ups whose last digits depend on rounding (3 digits for a step count, 2 for
    a speed-up).
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"x must be a real number, got {type(x).__name__}")
    if isinstance(digits, bool) or not isinstance(digits, numbers.Integral) or digits < 1:
        raise ValueError(f"digits must be an integer >= 1, got {digits!r}")
    integral = isinstance(x, numbers.Integral)
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"x must be finite, got {x}")
    if x == 0:
        return "0"
    rounded = float(f"{x:.{digits - 1}e}")
    decimals = 0 if integral else max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:,.{decimals}f}"
