r"""Sympy counterparts of the DSF identities, on small sizes (:math:`L\le3`, :math:`m\le2`).

Each function returns a sympy expression (or matrix) that must simplify to zero, or a relation
that must evaluate to True; the claims pass them to :func:`attnmath.claims.symbolic`.

- :func:`convolutional_form_difference`: recurrence minus :math:`\Phi u` at :math:`L=3`, dense :math:`2\times2`
  :math:`\Lambda_i` (the paper's eqs. (11)-(12)).
- :func:`telescoping_difference`: :math:`\Lambda_3\Lambda_2B_1-B_1\eta_1/\eta_3` for the recurrent norm (eq. (15)).
- :func:`taylor_feature_difference`: :math:`\phi_P(q)^\top\phi_P(k)-T_P(q^\top k/\sqrt m)` (Lemma 1's Taylor
  features, :math:`m=2`).
- :func:`taylor_remainder_difference`: integral form of :math:`e^s-T_P(s)` (the classical Lagrange bound).
- :func:`taylor_feature_coefficients`: the same, coefficient by coefficient against the multinomial theorem.
- :func:`normalized_weight_identity`: the centred perturbation identity behind the normalized-output bound
  :math:`\frac{\delta}{1-\delta}(\max v-\min v)` (reconstructed).
- :func:`reversed_sigmoid_differences` (eq. (23)), :func:`zoh_theorem1_differences` (Mamba's Theorem 1).
- :func:`phi1_series_difference`: :math:`\varphi_1(z)=1+z/2+z^2/6+\dots` (classical).
- :func:`warped_time_difference`: :math:`\prod_{l=j+1}^ie^{a\Delta_l}=e^{a(t_i-t_j)}` (reconstructed).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import sympy as sp

__all__ = [
    "convolutional_form_difference",
    "euler_gain_differs",
    "normalized_weight_identity",
    "phi1_series_difference",
    "reversed_sigmoid_differences",
    "taylor_feature_coefficients",
    "taylor_feature_difference",
    "taylor_remainder_difference",
    "telescoping_difference",
    "warped_time_difference",
    "zoh_theorem1_differences",
]


def _sigmoid(x: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-x))


def convolutional_form_difference(L: int = 3, N: int = 2) -> sp.Matrix:
    r"""Outputs of the loop minus :math:`\sum_{j\le i}\Phi_{ij}u_j` with :math:`\Phi_{ij}=C_i\Lambda_i\cdots\Lambda_{j+1}B_j` (+ :math:`D_i` on the diagonal), :math:`d=1`."""
    lam = [sp.Matrix(N, N, lambda r, c, i=i: sp.Symbol(f"lam{i}_{r}{c}")) for i in range(1, L + 1)]
    B = [sp.Matrix(N, 1, lambda r, c, i=i: sp.Symbol(f"B{i}_{r}")) for i in range(1, L + 1)]
    C = [sp.Matrix(1, N, lambda r, c, i=i: sp.Symbol(f"C{i}_{c}")) for i in range(1, L + 1)]
    D = sp.symbols(f"D1:{L + 1}")
    u = sp.symbols(f"u1:{L + 1}")
    h = sp.zeros(N, 1)
    y_rec = []
    for i in range(L):
        h = lam[i] * h + B[i] * u[i]
        y_rec.append((C[i] * h)[0] + D[i] * u[i])
    y_phi = []
    for i in range(L):
        total = D[i] * u[i]
        for j in range(i + 1):
            P = sp.eye(N)
            for l in range(i, j, -1):  # Λ_i Λ_{i-1} ... Λ_{j+1}
                P = P * lam[l]
            total += (C[i] * P * B[j])[0] * u[j]
        y_phi.append(total)
    return sp.Matrix([sp.expand(a - b) for a, b in zip(y_rec, y_phi)])


def telescoping_difference() -> sp.Expr:
    r"""Recurrent norm: :math:`\Lambda_i=\eta_{i-1}/\eta_i`, :math:`B_1=\psi/\eta_1`; returns :math:`\Lambda_3\Lambda_2B_1-\psi/\eta_3`."""
    e1, e2, e3, psi = sp.symbols("eta1 eta2 eta3 psi", positive=True)
    return (e2 / e3) * (e1 / e2) * (psi / e1) - psi / e3


def taylor_feature_difference(m: int = 2, order: int = 3) -> sp.Expr:
    r""":math:`\phi_P(q)^\top\phi_P(k)-\sum_{p\le P}s^p/p!` with :math:`s=q^\top k/\sqrt m`, features :math:`x^{\otimes p}/(\sqrt{p!}m^{p/4})`.

    Also checks the polynomial against ``sympy.series(exp(s))``; returns the sum of both differences.
    """
    q = sp.symbols(f"q1:{m + 1}", real=True)
    k = sp.symbols(f"k1:{m + 1}", real=True)

    def feats(x: Sequence[sp.Expr]) -> list[sp.Expr]:
        out, t = [sp.Integer(1)], [sp.Integer(1)]
        for p in range(1, order + 1):
            t = [a * b for a in t for b in x]
            out += [e / (sp.sqrt(sp.factorial(p)) * sp.Integer(m) ** sp.Rational(p, 4)) for e in t]
        return out

    inner = sum(a * b for a, b in zip(feats(q), feats(k)))
    s = sp.Symbol("s")
    T = sum(s**p / sp.factorial(p) for p in range(order + 1))
    series = sp.series(sp.exp(s), s, 0, order + 1).removeO()
    sval = sum(a * b for a, b in zip(q, k)) / sp.sqrt(m)
    return sp.expand(inner - T.subs(s, sval)) + sp.expand(T - series)


def taylor_remainder_difference(order: int = 3) -> sp.Expr:
    r""":math:`\int_0^s\frac{(s-t)^P}{P!}e^t\,dt-(e^s-T_P(s))`; with :math:`|e^t|\le e^R` it gives :math:`|e^s-T_P(s)|\le R^{P+1}e^R/(P+1)!`."""
    s, t = sp.symbols("s t", real=True)
    T = sum(s**p / sp.factorial(p) for p in range(order + 1))
    integral = sp.integrate((s - t) ** order / sp.factorial(order) * sp.exp(t), (t, 0, s))
    return integral - (sp.exp(s) - T)


def taylor_feature_coefficients(m: int = 2, order: int = 3) -> sp.Matrix:
    r"""Coefficient by coefficient: :math:`\phi_P(q)^\top\phi_P(k)` against the multinomial theorem applied to
    :math:`T_P(q^\top k/\sqrt m)`, without expanding :math:`T_P`.

    By the multinomial theorem, :math:`\frac{s^p}{p!}` with :math:`s=\sum_rq_rk_r/\sqrt m` has the monomial
    :math:`\prod_r(q_rk_r)^{a_r}` (:math:`|a|=p`) with coefficient :math:`m^{-p/2}/\prod_ra_r!`, and no
    monomial with different powers of :math:`q_r` and :math:`k_r`.  Returns, for every monomial of either
    side, the coefficient of the monomial features' inner product minus that value (all zero iff the
    features reproduce the truncated series term by term).
    """
    q = sp.symbols(f"q1:{m + 1}", real=True)
    k = sp.symbols(f"k1:{m + 1}", real=True)

    def feats(x: Sequence[sp.Expr]) -> list[sp.Expr]:
        out, t = [sp.Integer(1)], [sp.Integer(1)]
        for p in range(1, order + 1):
            t = [a * b for a in t for b in x]
            out += [e / (sp.sqrt(sp.factorial(p)) * sp.Integer(m) ** sp.Rational(p, 4)) for e in t]
        return out

    inner = sp.Poly(sp.expand(sum(a * b for a, b in zip(feats(q), feats(k)))), *q, *k)
    got = dict(zip(inner.monoms(), inner.coeffs()))
    expected = {}
    for p in range(order + 1):
        for a in itertools.product(range(p + 1), repeat=m):
            if sum(a) != p:
                continue
            coeff = sp.Integer(m) ** sp.Rational(-p, 2)
            for ar in a:
                coeff /= sp.factorial(ar)
            expected[tuple(a) + tuple(a)] = coeff
    monoms = sorted(set(got) | set(expected))
    return sp.Matrix([sp.nsimplify(got.get(mo, 0) - expected.get(mo, 0)) for mo in monoms])


def normalized_weight_identity(L: int = 3) -> sp.Expr:
    r"""The perturbation identity behind the normalized-output bound (reconstructed), for :math:`L` keys.

    With weights :math:`\alpha_j` summing to 1, perturbed weights :math:`\tilde\alpha_j=\alpha_j(1+\epsilon_j)/(1+\bar\epsilon)`,
    :math:`\bar\epsilon=\sum_j\alpha_j\epsilon_j`, and any centre :math:`c`:
    :math:`\sum_j\tilde\alpha_jv_j-\sum_j\alpha_jv_j=\frac{1}{1+\bar\epsilon}\sum_j\alpha_j(\epsilon_j-\bar\epsilon)(v_j-c)`.
    With :math:`|\epsilon_j|\le\delta` and :math:`c` the mid-range of :math:`v` it gives
    :math:`|\tilde y-y|\le\frac{\delta}{1-\delta}(\max_jv_j-\min_jv_j)`.  Returns left minus right side
    (simplifies to 0).
    """
    alpha = list(sp.symbols(f"alpha1:{L}", positive=True))
    alpha.append(1 - sum(alpha))
    eps = sp.symbols(f"epsilon1:{L + 1}", real=True)
    v = sp.symbols(f"v1:{L + 1}", real=True)
    c = sp.Symbol("c", real=True)
    ebar = sum(a * e for a, e in zip(alpha, eps))
    norm = sum(a * (1 + e) for a, e in zip(alpha, eps))
    lhs = sum(a * (1 + e) * vj for a, e, vj in zip(alpha, eps, v)) / norm - sum(a * vj for a, vj in zip(alpha, v))
    rhs = sum(a * (e - ebar) * (vj - c) for a, e, vj in zip(alpha, eps, v)) / (1 + ebar)
    return sp.simplify(sp.together(lhs - rhs))


def reversed_sigmoid_differences() -> tuple[sp.Expr, sp.Expr]:
    r"""(:math:`e^{-a\,\mathrm{softplus}(z)}-(1+e^z)^{-a}`, :math:`(1+e^z)^{-a}-\sigma(-z)^a`) — the reversed sigmoid of eq. (23)."""
    z = sp.Symbol("z", real=True)
    a = sp.Symbol("a", positive=True)
    softplus = sp.log(1 + sp.exp(z))
    return sp.exp(-a * softplus) - (1 + sp.exp(z)) ** (-a), (1 + sp.exp(z)) ** (-a) - _sigmoid(-z) ** a


def zoh_theorem1_differences() -> tuple[sp.Expr, sp.Expr]:
    r"""Mamba Thm 1 with :math:`A=-1`, :math:`b=1`, :math:`\Delta=\mathrm{softplus}(z)`: (:math:`e^{-\Delta}-(1-\sigma(z))`, :math:`\bar B_{ZOH}-\sigma(z)`)."""
    z = sp.Symbol("z", real=True)
    Delta = sp.log(1 + sp.exp(z))
    A_bar = sp.exp(-Delta)
    B_zoh = (sp.exp(-Delta) - 1) / (-1)  # (e^{ΔA}-1)/A · b with A=-1, b=1
    return A_bar - (1 - _sigmoid(z)), B_zoh - _sigmoid(z)


def euler_gain_differs() -> sp.Basic:
    r"""The implemented Euler gain :math:`\bar B=\Delta=\mathrm{softplus}(z)` is not :math:`\sigma(z)`: at :math:`z=0`, :math:`\log2\ne1/2`."""
    z = sp.Symbol("z", real=True)
    return sp.Ne((sp.log(1 + sp.exp(z)) - _sigmoid(z)).subs(z, 0), 0)


def phi1_series_difference(order: int = 4) -> sp.Expr:
    r""":math:`\mathrm{series}((e^z-1)/z)-\sum_{p<P}z^p/(p+1)!`; the first terms are :math:`1+z/2+z^2/6`."""
    z = sp.Symbol("z")
    series = sp.series((sp.exp(z) - 1) / z, z, 0, order).removeO()
    return series - sum(z**p / sp.factorial(p + 1) for p in range(order))


def warped_time_difference(L: int = 3) -> sp.Matrix:
    r""":math:`\prod_{l=j+1}^{i}e^{a\Delta_l}-e^{a(t_i-t_j)}` for every :math:`j<i\le L`, with :math:`t_i=\sum_{l\le i}\Delta_l`."""
    a = sp.Symbol("a", negative=True)
    d = sp.symbols(f"Delta1:{L + 1}", positive=True)
    t = [sum(d[:i]) for i in range(L + 1)]
    diffs = []
    for i in range(1, L + 1):
        for j in range(i):
            prod = sp.Integer(1)
            for l in range(j + 1, i + 1):
                prod *= sp.exp(a * d[l - 1])
            diffs.append(prod - sp.exp(a * (t[i] - t[j])))
    return sp.Matrix(diffs)
