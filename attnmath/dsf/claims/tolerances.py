"""Float64 tolerances shared by the DSF chapter's identity claims (each with the argument behind it).

Identities are checked in float64 at :math:`L\\le256`; the roundoff of an :math:`L`-term sum of products of
O(1) numbers is about :math:`L\\varepsilon_{64}\\approx5.7\\times10^{-14}` at :math:`L=256`, and the
identities measured here came out at most about :math:`10^{-13}`.
"""

from __future__ import annotations

TOL_IDENTITY = 1e-12
REASON_IDENTITY = "float64 identity tolerance (rtol 1e-12; roundoff of L-term sums is ~L eps <= 6e-14)"
TOL_DUALITY = 1e-10
REASON_DUALITY = "duality tolerance 1e-10 (exponentials of warped times up to |a t| ~ 30 amplify roundoff)"
