r"""Claims on attention as a row-stochastic mixing matrix: value hull, permutations, zero temperature.

Book: ``notebooks/00_softmax_attention``, section "A row-stochastic mixing matrix".
"""

from __future__ import annotations

import itertools
import math
from unittest import mock

import sympy as sp
import torch

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_most, claim, close, control, holds, symbolic

from .. import attention
from ..attention import hard_attention, softmax_attention
from .sizes import SIZES


@claim(
    "softmax.convex-mixing",
    title="Each output is a convex combination of the values",
    statement=r"y_i = \sum_j A_{ij} v_j,\ A_{ij}\ge0,\ \sum_j A_{ij}=1 \Rightarrow \min_j v_{jc} \le y_{ic} \le \max_j v_{jc}",
    source="classical (row-stochastic mixing matrix)",
    status_of_source="classical",
    kinds=("numeric",),
)
def _outputs_stay_in_the_value_hull(tier: str):
    gen = torch_generator(4)
    L, m, dv = 48, 8, 5
    q, k = (3 * torch.randn(L, m, generator=gen, dtype=torch.float64) for _ in range(2))
    v = torch.randn(L, dv, generator=gen, dtype=torch.float64)
    checks = []
    for causal in (False, True):
        y = softmax_attention(q, k, v, causal=causal)
        if causal:
            lo = torch.cummin(v, 0).values
            hi = torch.cummax(v, 0).values
        else:
            lo, hi = v.min(0).values.expand_as(y), v.max(0).values.expand_as(y)
        slack = 8 * L * F64_EPS
        viol = torch.clamp(torch.maximum(lo - y, y - hi), min=0).max().item()
        checks.append(
            at_most(
                f"violation of the value hull (causal={causal})",
                viol,
                slack,
                reason="float64 roundoff of an L-term convex sum: 8 L eps",
            )
        )
    return checks


@claim(
    "softmax.permutation-equivariant",
    title="Without positions, self-attention is permutation-equivariant",
    statement=r"\mathrm{Attn}(PX) = P\,\mathrm{Attn}(X) \text{ for every permutation matrix } P",
    source="vaswani2017attention, sec. 3.5 (why positional encodings are added)",
    status_of_source="classical",
    kinds=("numeric",),
)
def _self_attention_commutes_with_permutations(tier: str):
    L, d = SIZES[tier].permutation_length, SIZES[tier].permutation_width
    g = torch_generator(1)
    X = torch.randn(L, d, generator=g, dtype=torch.float64)
    Wq, Wk, Wv = (torch.randn(d, d, generator=g, dtype=torch.float64) / math.sqrt(d) for _ in range(3))
    perm = torch.randperm(L, generator=g)

    def attn(Z):
        return softmax_attention(Z @ Wq, Z @ Wk, Z @ Wv)

    lhs, rhs = attn(X[perm]), attn(X)[perm]
    return [
        close(
            "Attn(PX) - P Attn(X)",
            lhs,
            rhs,
            atol=8 * d * L * F64_EPS,
            reason="float64 roundoff of two products of length d and L: 8 d L eps",
        )
    ]


@claim(
    "softmax.zero-temperature-argmax",
    title="As the temperature goes to zero, attention becomes hard argmax retrieval",
    statement=r"\lim_{\tau\to0^+}\mathrm{softmax}(s/\tau)_j = \mathbb 1[j = \arg\max s],\quad"
    r"1 - A_{i j^*} \le (L-1)\,e^{-\gamma_i/\tau}",
    source="classical (Boltzmann distribution at zero temperature)",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _zero_temperature_is_argmax(tier: str):
    g_sym, tau = sp.symbols("gamma tau", positive=True)
    w_top = 1 / (1 + sp.exp(-g_sym / tau))  # two logits with gap gamma > 0
    checks = [symbolic("lim_{tau->0+} of the top weight minus 1", sp.limit(w_top, tau, 0, "+") - 1)]
    L, m, dv = 16, 8, 4
    gen = torch_generator(2)
    q = torch.randn(L, m, generator=gen, dtype=torch.float64)
    k = torch.randn(L, m, generator=gen, dtype=torch.float64)
    v = torch.randn(L, dv, generator=gen, dtype=torch.float64)
    logits = q @ k.T
    top2 = logits.topk(2, dim=-1).values
    gap = top2[:, 0] - top2[:, 1]  # per-query margin gamma_i > 0 (ties have probability 0)
    hard = hard_attention(q, k, v)
    vmax = v.abs().max().item()
    errs = []
    for t in (1.0, 0.1, 0.01, 1e-3, 1e-4):
        soft = softmax_attention(q, k, v, scale=1.0, temperature=t)
        err_rows = (soft - hard).abs().amax(-1)
        # |y_i - v_j*| <= 2 max|v| (1 - A_ij*) <= 2 max|v| (L-1) exp(-gamma_i/tau), row by row
        bound_rows = 2 * vmax * (L - 1) * torch.exp(-gap / t) + 64 * F64_EPS * vmax
        worst = int(torch.argmax(err_rows / bound_rows))
        errs.append(err_rows.max().item())
        checks.append(
            at_most(
                f"max |soft - hard| at tau={t:g} (worst row vs its bound)",
                err_rows[worst].item(),
                bound_rows[worst].item(),
                reason="(L-1) exp(-gamma_i/tau) tail bound per row plus float64 roundoff 64 eps",
            )
        )
    checks.append(
        holds(
            "smallest margin gamma_i exceeds 1e-2",
            gap.min().item() > 1e-2,
            details=f"min margin {gap.min().item():.3g}",
        )
    )
    checks.append(
        at_most(
            "max |soft - hard| at tau=1e-4",
            errs[-1],
            1e-12,
            reason="every margin gamma_i exceeds 1e-2 here, so the tail is below e^-100",
        )
    )
    checks.append(
        holds("error decreases monotonically as tau decreases", all(a >= b for a, b in itertools.pairwise(errs)))
    )
    return checks


@control("softmax.convex-mixing", "values mixed by the unnormalised exponentials (rows no longer sum to one)")
def _mixing_without_normaliser():
    def unnormalised(q, k, v, *, scale=None, causal=False, temperature=1.0):
        e = attention.scores(q, k, scale=scale).div(temperature).exp()
        return (e.tril() if causal else e) @ v

    with mock.patch(f"{__name__}.softmax_attention", unnormalised):
        yield


@control("softmax.permutation-equivariant", "a positional bias on the queries (position i adds 0.1 i)")
def _positional_bias():
    def with_positions(q, k, v, **kw):
        pos = 0.1 * torch.arange(q.shape[-2], dtype=q.dtype)[:, None]
        return attention.softmax_attention(q + pos, k, v, **kw)

    with mock.patch(f"{__name__}.softmax_attention", with_positions):
        yield


@control("softmax.zero-temperature-argmax", "attention with a 0.1 % uniform floor (smoothed weights)")
def _uniform_floor():
    def smoothed(q, k, v, **kw):
        return 0.999 * attention.softmax_attention(q, k, v, **kw) + 0.001 * v.mean(-2, keepdim=True)

    with mock.patch(f"{__name__}.softmax_attention", smoothed):
        yield
