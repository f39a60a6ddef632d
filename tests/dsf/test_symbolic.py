"""attnmath.dsf.symbolic: the sympy identities the claims use must simplify to zero, and fail when the math is wrong."""

from __future__ import annotations

import sympy as sp

from attnmath.dsf import symbolic as S


def test_taylor_feature_coefficients_vanish():
    for m, P in ((2, 3), (3, 2), (1, 4)):
        diff = S.taylor_feature_coefficients(m, P)
        assert diff.shape[0] > 0 and all(sp.simplify(e) == 0 for e in diff)


def test_taylor_feature_coefficients_count_every_monomial():
    # m = 2, P = 3: the monomials prod (q_r k_r)^(a_r) with |a| <= 3 are 1 + 2 + 3 + 4 = 10
    assert S.taylor_feature_coefficients(2, 3).shape == (10, 1)


def test_taylor_feature_difference_and_remainder_vanish():
    assert sp.simplify(S.taylor_feature_difference(2, 3)) == 0
    assert sp.simplify(S.taylor_remainder_difference(3)) == 0


def test_normalized_weight_identity_vanishes_and_needs_the_normaliser():
    assert S.normalized_weight_identity(3) == 0
    assert S.normalized_weight_identity(2) == 0
    # the identity is not vacuous: at a numeric point the two sides are non-zero and equal; dropping 1/(1+ε̄)
    # (the factor that gives the bound its 1/(1-δ)) breaks it
    a1, a2 = sp.Rational(1, 5), sp.Rational(1, 2)
    alpha = [a1, a2, 1 - a1 - a2]
    eps = [sp.Rational(1, 10), sp.Rational(-1, 5), sp.Rational(3, 10)]
    v = [sp.Integer(2), sp.Integer(-1), sp.Integer(5)]
    ebar = sum(a * e for a, e in zip(alpha, eps))
    lhs = sum(a * (1 + e) * x for a, e, x in zip(alpha, eps, v)) / (1 + ebar) - sum(a * x for a, x in zip(alpha, v))
    centred = sum(a * (e - ebar) * x for a, e, x in zip(alpha, eps, v))
    assert lhs != 0 and lhs == centred / (1 + ebar) and lhs != centred
