"""Claims of the softmax-attention chapter (``notebooks/00_softmax_attention``)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy as sp
import torch

from .claims import at_most, claim, close, holds, statistical, symbolic
from .softmax import attention_weights, hard_attention, nadaraya_watson, softmax_attention

F64_EPS = float(torch.finfo(torch.float64).eps)  # 2.2e-16, unit roundoff of float64 (x2)


def _rng(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@claim(
    "softmax.rows-sum-to-one",
    title="Every row of the attention matrix is a probability vector",
    statement=r"A_{ij} = \frac{e^{s_{ij}}}{\sum_{l} e^{s_{il}}} \ge 0,\quad \sum_j A_{ij} = 1",
    source="vaswani2017attention, eq. (1)",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _rows_sum_to_one(scale: str):
    s = sp.symbols("s1:4", real=True)
    row = [sp.exp(si) / sum(sp.exp(sj) for sj in s) for si in s]
    L = 64 if scale == "ci" else 512
    g = _rng(0)
    q, k = (
        torch.randn(3, L, 16, generator=g, dtype=torch.float64),
        torch.randn(3, L, 16, generator=g, dtype=torch.float64),
    )
    checks = [symbolic("sum of the three softmax weights minus 1, symbols s1..s3", sum(row) - 1)]
    for causal in (False, True):
        A = attention_weights(q, k, causal=causal)
        checks.append(
            close(
                f"row sums (causal={causal}), L={L}",
                A.sum(-1),
                torch.ones(3, L, dtype=torch.float64),
                atol=4 * L * F64_EPS,
                reason="float64 summation of L terms: 4 L eps",
            )
        )
        checks.append(holds(f"all weights >= 0 (causal={causal})", bool((A >= 0).all())))
    return checks


@claim(
    "softmax.permutation-equivariant",
    title="Without positions, self-attention is permutation-equivariant",
    statement=r"\mathrm{Attn}(PX) = P\,\mathrm{Attn}(X) \text{ for every permutation matrix } P",
    source="vaswani2017attention, sec. 3.5 (why positional encodings are added)",
    status_of_source="classical",
    kinds=("numeric",),
)
def _permutation(scale: str):
    L, d = (32, 16) if scale == "ci" else (256, 64)
    g = _rng(1)
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
    "softmax.scaling-unit-variance",
    title="The 1/sqrt(d) scale keeps the logit variance at one",
    statement=r"q,k \sim \mathcal N(0, I_m) \text{ independent} \Rightarrow \operatorname{Var}(q^\top k/\sqrt m) = 1",
    source="vaswani2017attention, sec. 3.2.1, footnote 4",
    status_of_source="stated",
    kinds=("symbolic", "statistical"),
)
def _unit_variance(scale: str):
    # Symbolic: Var(sum_i q_i k_i) = sum_i E[q_i^2] E[k_i^2] for independent zero-mean factors.
    from sympy.stats import E, Normal, variance

    m = 3
    qs = [Normal(f"q{i}", 0, 1) for i in range(m)]
    ks = [Normal(f"k{i}", 0, 1) for i in range(m)]
    logit = sum(a * b for a, b in zip(qs, ks)) / sp.sqrt(m)
    sym = [
        symbolic("Var(q.k/sqrt(3)) - 1 with sympy.stats normals", variance(logit) - 1),
        symbolic("E[q.k/sqrt(3)] = 0", E(logit)),
    ]
    n, m_mc, seed = (20000, 64, 0) if scale == "ci" else (400000, 64, 0)
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, m_mc))
    k = rng.standard_normal((n, m_mc))
    z = (q * k).sum(1) / math.sqrt(m_mc)
    centred_sq = (z - z.mean()) ** 2
    est = centred_sq.mean()
    stderr = centred_sq.std(ddof=1) / math.sqrt(n)
    return [*sym, statistical(f"sample variance of q.k/sqrt({m_mc})", est, 1.0, stderr, n_trials=n, seed=seed)]


@claim(
    "softmax.zero-temperature-argmax",
    title="As the temperature goes to zero, attention becomes hard argmax retrieval",
    statement=r"\lim_{\tau\to0^+}\mathrm{softmax}(s/\tau)_j = \mathbb 1[j = \arg\max s],\quad"
    r"1 - A_{i j^*} \le (L-1)\,e^{-\gamma_i/\tau}",
    source="classical (Boltzmann distribution at zero temperature)",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _zero_temperature(scale: str):
    g_sym, tau = sp.symbols("gamma tau", positive=True)
    w_top = 1 / (1 + sp.exp(-g_sym / tau))  # two logits with gap gamma > 0
    checks = [symbolic("lim_{tau->0+} of the top weight minus 1", sp.limit(w_top, tau, 0, "+") - 1)]
    L, m, dv = 16, 8, 4
    gen = _rng(2)
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


@claim(
    "softmax.nadaraya-watson",
    title="With equal-norm keys, softmax attention is Nadaraya–Watson regression with a Gaussian kernel",
    statement=r"\lVert k_j\rVert = \rho\ \forall j \Rightarrow \mathrm{softmax}(q^\top k_j/h^2)"
    r" = \frac{K_h(q-k_j)}{\sum_l K_h(q-k_l)},\ K_h(r)=e^{-\lVert r\rVert^2/2h^2}",
    source="nadaraya1964estimating; watson1964smooth; the kernel view of attention (tsai2019transformer)",
    status_of_source="classical",
    kinds=("numeric",),
)
def _nadaraya_watson(scale: str):
    gen = _rng(3)
    Lq, N, m, dv = 24, 40, 6, 3
    k = torch.randn(N, m, generator=gen, dtype=torch.float64)
    k = 1.7 * k / k.norm(dim=-1, keepdim=True)  # equal norms rho = 1.7
    q = torch.randn(Lq, m, generator=gen, dtype=torch.float64)
    v = torch.randn(N, dv, generator=gen, dtype=torch.float64)
    checks = []
    for h in (0.5, 1.0, 2.0):
        nw = nadaraya_watson(q, k, v, bandwidth=h)
        att = softmax_attention(q, k, v, scale=1.0 / h**2)
        checks.append(
            close(
                f"NW(h={h}) - softmax attention(scale=1/h^2)",
                nw,
                att,
                atol=1e-12,
                reason="float64; cdist squares distances, losing ~log2(|q|^2/h^2) bits: 1e-12",
            )
        )
    # Counter-check: with unequal key norms the two differ (the equal-norm assumption matters).
    k2 = k * torch.linspace(0.5, 2.0, N, dtype=torch.float64)[:, None]
    diff = (nadaraya_watson(q, k2, v, bandwidth=1.0) - softmax_attention(q, k2, v, scale=1.0)).abs().max().item()
    checks.append(
        holds(
            "unequal key norms: the two smoothers differ by more than 1e-3",
            diff > 1e-3,
            details=f"max difference {diff:.3g}",
        )
    )
    return checks


@claim(
    "softmax.convex-mixing",
    title="Each output is a convex combination of the values",
    statement=r"y_i = \sum_j A_{ij} v_j,\ A_{ij}\ge0,\ \sum_j A_{ij}=1 \Rightarrow \min_j v_{jc} \le y_{ic} \le \max_j v_{jc}",
    source="classical (row-stochastic mixing matrix)",
    status_of_source="classical",
    kinds=("numeric",),
)
def _convex(scale: str):
    gen = _rng(4)
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
