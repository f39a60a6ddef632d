r"""Symbolic (sympy) versions of the recurrences and of their chunked forms, at small sizes.

The chapter ``notebooks/20_kernels`` and the claims in :mod:`attnmath.fastforms.claims` build both sides of
each identity here and check that their difference simplifies to zero:

- :func:`recurrent` — :math:`S_t = \mathrm{diag}(e^{g_t})S_{t-1} + k_tv_t^\top`, :math:`o_t = S_t^\top q_t`
  (linear attention when there is no gate);
- :func:`chunked` — intra-chunk masked product plus inter-chunk state passing, with cumulative
  log-decays :math:`b_i` from the chunk start and decays :math:`e^{b_i - b_j}` (:math:`j \le i`),
  :math:`e^{b_i}`, :math:`e^{\beta - b_j}`;
- :func:`gate_gradient_sides` — both sides of :math:`\partial L/\partial g_t = \sum_{u\ge t}
  (q_u\odot\partial_{q_u}L - k_u\odot\partial_{k_u}L) + [S_T\odot\partial_{S_T}L]\mathbf 1`;
- :func:`online_softmax_sides` — one online-softmax update against the softmax of the whole row;
- :func:`softmax_attention` — the softmax average :math:`\sum_j e^{x_{ij}}v_j/\sum_j e^{x_{ij}}` written out;
- :func:`evaluate` — a sympy expression at concrete numbers in 30-digit arithmetic, the reference the claims
  hold the library's float64 functions to.

Scale :math:`s = 1` throughout (it multiplies both sides); :func:`evaluate` applies the library's default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from attnmath.base import validation as val  # not ``V``: :func:`sequence` has an argument ``V``

__all__ = [
    "chunked",
    "evaluate",
    "gate_gradient_sides",
    "normalised_and_augmented",
    "online_softmax_sides",
    "recurrent",
    "sequence",
    "softmax_attention",
]

FULL = ("q", "k", "v", "g", "h0")  # the entries of :func:`sequence`


def sequence(T: int, K: int, V: int, *, gate: str | None = None, initial_state: bool = True) -> dict:
    """Symbols ``q, k`` (T x K), ``v`` (T x V), ``g`` (T x K; per key, scalar per step, or zeros) and ``h0`` (K x V).

    ``T``, ``K``, ``V`` >= 1; ``gate`` is ``None``, ``"scalar"`` or ``"key"``; ``initial_state`` a bool.
    """
    T, K, V = val.integer(T, "T", minimum=1), val.integer(K, "K", minimum=1), val.integer(V, "V", minimum=1)
    if gate is not None:
        val.choice(gate, "gate", ("scalar", "key"))
    initial_state = val.flag(initial_state, "initial_state")
    q = sp.Matrix(T, K, lambda t, i: sp.Symbol(f"q_{t + 1}{i + 1}", real=True))
    k = sp.Matrix(T, K, lambda t, i: sp.Symbol(f"k_{t + 1}{i + 1}", real=True))
    v = sp.Matrix(T, V, lambda t, i: sp.Symbol(f"v_{t + 1}{i + 1}", real=True))
    if gate == "key":
        g = sp.Matrix(T, K, lambda t, i: sp.Symbol(f"g_{t + 1}{i + 1}", nonpositive=True))
    elif gate == "scalar":
        gs = [sp.Symbol(f"g_{t + 1}", nonpositive=True) for t in range(T)]
        g = sp.Matrix(T, K, lambda t, i: gs[t])
    else:
        g = sp.zeros(T, K)
    h0 = sp.Matrix(K, V, lambda i, j: sp.Symbol(f"h_{i + 1}{j + 1}", real=True)) if initial_state else sp.zeros(K, V)
    return {"q": q, "k": k, "v": v, "g": g, "h0": h0}


def recurrent(seq: dict) -> tuple[sp.Matrix, sp.Matrix]:
    r"""Step by step: :math:`S_t = \mathrm{diag}(e^{g_t})S_{t-1} + k_t v_t^\top`, :math:`o_t = S_t^\top q_t`; returns ``(O [T x V], S_T)``."""
    _check_seq(seq, "seq", FULL)
    q, k, v, g = seq["q"], seq["k"], seq["v"], seq["g"]
    S = seq["h0"]
    rows = []
    for t in range(q.rows):
        S = sp.diag(*[sp.exp(x) for x in g.row(t)]) * S + k.row(t).T * v.row(t)
        rows.append((S.T * q.row(t).T).T)
    return sp.Matrix.vstack(*rows), S


def chunked(seq: dict, C: int, *, carry: bool = True) -> tuple[sp.Matrix, sp.Matrix]:
    r"""Chunks of ``C`` steps: :math:`o_i = (q_i\odot e^{b_i})^\top S_n + \sum_{j\le i}\sum_k q_{ik}k_{jk}e^{b_{ik}-b_{jk}}v_j`,
    :math:`S_{n+1} = \mathrm{diag}(e^{\beta})S_n + \sum_j \mathrm{diag}(e^{\beta-b_j})k_jv_j^\top`; returns ``(O, S_T)``.

    ``carry=False`` plants a bug for demonstration: every chunk starts from ``h0`` (the inter-chunk
    term is missing), so the difference to :func:`recurrent` must *not* simplify to zero.

    ``seq`` as :func:`sequence` returns it; ``C`` >= 1; ``carry`` a bool."""
    _check_seq(seq, "seq", FULL)
    C = val.integer(C, "C", minimum=1)
    carry = val.flag(carry, "carry")
    q, k, v, g = seq["q"], seq["k"], seq["v"], seq["g"]
    T, K = q.shape
    S = seq["h0"]
    rows = []
    for start in range(0, T, C):
        S = S if carry else seq["h0"]
        idx = list(range(start, min(start + C, T)))
        b = {i: [sum(g[l, c] for l in range(start, i + 1)) for c in range(K)] for i in idx}
        beta = b[idx[-1]]
        for i in idx:
            inter = sp.Matrix([[q[i, c] * sp.exp(b[i][c]) for c in range(K)]]) * S
            intra = sum(
                (
                    sum(q[i, c] * k[j, c] * sp.exp(b[i][c] - b[j][c]) for c in range(K)) * v.row(j)
                    for j in idx
                    if j <= i
                ),
                sp.zeros(1, v.cols),
            )
            rows.append(inter + intra)
        S = sp.diag(*[sp.exp(x) for x in beta]) * S + sum(
            (sp.diag(*[sp.exp(beta[c] - b[j][c]) for c in range(K)]) * k.row(j).T * v.row(j) for j in idx),
            sp.zeros(K, v.cols),
        )
    return sp.Matrix.vstack(*rows), S


def normalised_and_augmented(T: int, K: int) -> tuple[sp.Matrix, sp.Matrix]:
    r"""Both sides of the normaliser trick (value width 1): :math:`S_t^\top q_t/(z_t^\top q_t)` with :math:`z_t = z_0 + \sum_{j\le t}k_j`,
    and the ratio of the two output columns of linear attention on :math:`[v_t, 1]` from the state :math:`[S_0, z_0]`.

    ``T``, ``K`` >= 1."""
    T, K = val.integer(T, "T", minimum=1), val.integer(K, "K", minimum=1)
    seq = sequence(T, K, 1)
    z0 = sp.Matrix(K, 1, lambda i, _: sp.Symbol(f"z_{i + 1}", real=True))
    S, z, direct = seq["h0"], z0, []
    for t in range(T):
        S = S + seq["k"].row(t).T * seq["v"].row(t)
        z = z + seq["k"].row(t).T
        direct.append((S.T * seq["q"].row(t).T)[0] / (z.T * seq["q"].row(t).T)[0])
    aug = {**seq, "v": seq["v"].row_join(sp.ones(T, 1)), "g": sp.zeros(T, K), "h0": seq["h0"].row_join(z0)}
    O, _ = recurrent(aug)
    return sp.Matrix(direct), sp.Matrix([O[t, 0] / O[t, 1] for t in range(T)])


def gate_gradient_sides(T: int = 3) -> tuple[sp.Matrix, sp.Matrix]:
    r"""``(dL/dg_t, identity)`` for a scalar-channel scan (K = V = 1) with a generic linear loss
    :math:`L = \sum_t w_t o_t + w_S S_T`; both ``T x 1`` (``T`` >= 1)."""
    T = val.integer(T, "T", minimum=1)
    seq = sequence(T, 1, 1, gate="key")
    w = [sp.Symbol(f"w_{t + 1}", real=True) for t in range(T)]
    wS = sp.Symbol("w_S", real=True)
    O, S = recurrent(seq)
    L = sum(w[t] * O[t, 0] for t in range(T)) + wS * S[0, 0]
    q, k, g = seq["q"], seq["k"], seq["g"]
    lhs = sp.Matrix([sp.diff(L, g[t, 0]) for t in range(T)])
    terms = [q[u, 0] * sp.diff(L, q[u, 0]) - k[u, 0] * sp.diff(L, k[u, 0]) for u in range(T)]
    rhs = sp.Matrix([sum(terms[t:]) + S[0, 0] * wS for t in range(T)])
    return lhs, rhs


def online_softmax_sides(n_old: int = 2, n_new: int = 2) -> list[sp.Expr]:
    r"""Differences that must vanish for one online-softmax update with *any* old shift :math:`m` and new shift :math:`m'`:
    :math:`e^{m-m'}\ell + \sum_{new}e^{x-m'} - \sum_{all}e^{x-m'}` and the same for the value accumulator,
    and :math:`a'/\ell'` minus the softmax average (the shifts cancel).

    ``n_old``, ``n_new`` >= 0 scores before and in the update (0 old: the first block of a row; 0 new: an
    empty update), at least one in all."""
    n_old, n_new = val.integer(n_old, "n_old", minimum=0), val.integer(n_new, "n_new", minimum=0)
    val.integer(n_old + n_new, "n_old + n_new", minimum=1)  # the softmax of no scores is 0/0
    x = sp.symbols(f"x1:{n_old + n_new + 1}", real=True)
    vv = sp.symbols(f"v1:{n_old + n_new + 1}", real=True)
    m, m2 = sp.symbols("m m'", real=True)
    old, new = range(n_old), range(n_old, n_old + n_new)
    ell = sum(sp.exp(x[j] - m) for j in old)
    acc = sum(sp.exp(x[j] - m) * vv[j] for j in old)
    ell2 = sp.exp(m - m2) * ell + sum(sp.exp(x[j] - m2) for j in new)
    acc2 = sp.exp(m - m2) * acc + sum(sp.exp(x[j] - m2) * vv[j] for j in new)
    full_l = sum(sp.exp(x[j] - m2) for j in range(n_old + n_new))
    full_a = sum(sp.exp(x[j] - m2) * vv[j] for j in range(n_old + n_new))
    softmax_avg = sum(sp.exp(x[j]) * vv[j] for j in range(n_old + n_new)) / sum(
        sp.exp(x[j]) for j in range(n_old + n_new)
    )
    return [ell2 - full_l, acc2 - full_a, acc2 / ell2 - softmax_avg]


def softmax_attention(seq: dict, *, causal: bool = True, scale: float | sp.Expr = 1) -> sp.Matrix:
    r""":math:`o_i = \sum_{j} e^{x_{ij}}v_j / \sum_j e^{x_{ij}}`, :math:`x_{ij} = s\,q_i^\top k_j`, over :math:`j \le i`
    when ``causal`` (all :math:`j` otherwise); ``T x V``.

    ``scale`` > 0: a real number or a sympy expression (a number such as ``1/sqrt(2)``, or a symbol not known
    to be <= 0); ``causal`` a bool."""
    _check_seq(seq, "seq", ("q", "k", "v"))
    causal = val.flag(causal, "causal")
    scale = _positive_scale(scale, "scale")
    q, k, v = seq["q"], seq["k"], seq["v"]
    rows = []
    for i in range(q.rows):
        js = range(i + 1) if causal else range(q.rows)
        w = [sp.exp(sp.sympify(scale) * (q.row(i) * k.row(j).T)[0]) for j in js]
        rows.append(sum((w[n] * v.row(j) for n, j in enumerate(js)), sp.zeros(1, v.cols)) / sum(w))
    return sp.Matrix.vstack(*rows)


def evaluate(expr: sp.Expr | sp.MatrixBase, seq: dict, values: dict, *, digits: int = 30) -> np.ndarray:
    r"""``expr`` (a sympy matrix or expression in the symbols of ``seq``) at ``values`` in ``digits``-digit arithmetic.

    ``values[name]`` is an array with the shape of ``seq[name]`` (``q, k`` T x K, ``v`` T x V, ``g`` T x K,
    ``h0`` K x V; a scalar gate repeats its step's value over the keys).  Every symbol of ``expr`` must get a
    value; a symbol given two different values (an inconsistent scalar gate) is a ``ValueError``.  Values must be
    finite reals; ``digits`` >= 1.  Returns float64 with the shape of ``expr``.
    """
    if not isinstance(expr, sp.Expr | sp.MatrixBase):
        raise TypeError(f"expr must be a sympy expression or matrix, got {type(expr).__name__}")
    if not isinstance(seq, dict) or not isinstance(values, dict):
        raise TypeError(f"seq and values must be dicts, got {type(seq).__name__} and {type(values).__name__}")
    _check_seq(seq, "seq", ())
    digits = val.integer(digits, "digits", minimum=1)
    subs: dict = {}
    for name, value in values.items():
        if name not in seq:
            raise ValueError(f"values[{name!r}]: no such entry in seq (has {sorted(seq)})")
        M = seq[name]
        arr = val.real_array(value, f"values[{name!r}]", nonempty=False)
        if arr.shape != M.shape:
            raise ValueError(f"values[{name!r}] must have shape {M.shape}, got {arr.shape}")
        for idx in np.ndindex(*M.shape):
            sym = M[idx]
            if isinstance(sym, sp.Symbol):
                x = sp.Float(float(arr[idx]), digits)
                if sym in subs and subs[sym] != x:
                    raise ValueError(f"values[{name!r}]: symbol {sym} given two values, {subs[sym]} and {x}")
                subs[sym] = x
    M = expr if isinstance(expr, sp.MatrixBase) else sp.Matrix([expr])
    free = M.free_symbols - set(subs)
    if free:
        raise ValueError(f"values leave symbols without a value: {sorted(map(str, free))}")
    return np.array(M.evalf(digits, subs=subs).tolist(), dtype=np.float64).reshape(M.shape)


def _check_seq(seq: Any, name: str, needed: tuple[str, ...]) -> None:
    """``seq``: a dict of sympy matrices holding ``needed``; those of :data:`FULL` with the shapes of :func:`sequence`."""
    if not isinstance(seq, dict):
        raise TypeError(f"{name} must be a dict of sympy matrices (see sequence), got {type(seq).__name__}")
    missing = [n for n in needed if n not in seq]
    if missing:
        raise ValueError(f"{name} must hold the entries {list(needed)}, missing {missing} (has {sorted(seq)})")
    for n, M in seq.items():
        if not isinstance(M, sp.MatrixBase):
            raise TypeError(f"{name}[{n!r}] must be a sympy matrix, got {type(M).__name__}")
    if "q" not in seq:
        return
    T, K = seq["q"].shape
    Vw = seq["v"].shape[1] if "v" in seq else None
    want = {"k": (T, K), "v": (T, Vw), "g": (T, K), "h0": (K, Vw)}
    for n, shape in want.items():
        if n in seq and None not in shape and seq[n].shape != shape:
            raise ValueError(f"{name}[{n!r}] must have shape {shape} (q is {T} x {K}), got {seq[n].shape}")


def _positive_scale(scale: Any, name: str) -> Any:
    """A real number > 0 (returned as is), or a sympy expression: a number > 0, or one not known to be <= 0."""
    if isinstance(scale, sp.Expr):
        if scale.is_number:
            if not scale.is_real:
                raise TypeError(f"{name} must be real, got {scale}")
            val.real(float(scale), name, positive=True)
        elif scale.is_positive is False:
            raise ValueError(f"{name} must be > 0, got {scale}, which is known to be <= 0")
        return scale
    val.real(scale, name, positive=True)
    return scale
