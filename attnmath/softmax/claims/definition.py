r"""Claims on the definition of softmax attention: rows are probability vectors, the :math:`1/\sqrt m` scale.

Book: ``notebooks/00_softmax_attention``, section "The definition".
"""

from __future__ import annotations

import math
from unittest import mock

import sympy as sp
import torch

from attnmath.base.numerics import F64_EPS, numpy_rng, torch_generator
from attnmath.claims import claim, close, control, holds, statistical, symbolic

from .. import attention
from ..attention import attention_weights, scores
from .sizes import SIZES


@claim(
    "softmax.rows-sum-to-one",
    title="Every row of the attention matrix is a probability vector",
    statement=r"A_{ij} = \frac{e^{s_{ij}}}{\sum_{l} e^{s_{il}}} \ge 0,\quad \sum_j A_{ij} = 1",
    source="vaswani2017attention, eq. (1)",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _rows_sum_to_one(tier: str):
    s = sp.symbols("s1:4", real=True)
    row = [sp.exp(si) / sum(sp.exp(sj) for sj in s) for si in s]
    L = SIZES[tier].rows_length
    g = torch_generator(0)
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
    "softmax.scaling-unit-variance",
    title="The 1/sqrt(d) scale keeps the logit variance at one",
    statement=r"q,k \sim \mathcal N(0, I_m) \text{ independent} \Rightarrow \operatorname{Var}(q^\top k/\sqrt m) = 1",
    source="vaswani2017attention, sec. 3.2.1, footnote 4",
    status_of_source="stated",
    kinds=("symbolic", "statistical"),
)
def _scaled_logits_have_unit_variance(tier: str):
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
    n, m_mc, seed = SIZES[tier].variance_samples, 64, 0
    rng = numpy_rng(seed)
    q = rng.standard_normal((n, m_mc))
    k = rng.standard_normal((n, m_mc))
    # one logit per sample, q_i . k_i times the library's default scale (a batch of 1 x 1 score matrices)
    z = scores(torch.from_numpy(q)[:, None, :], torch.from_numpy(k)[:, None, :]).reshape(-1).numpy()
    centred_sq = (z - z.mean()) ** 2
    est = centred_sq.mean()
    stderr = centred_sq.std(ddof=1) / math.sqrt(n)
    return [*sym, statistical(f"sample variance of q.k/sqrt({m_mc})", est, 1.0, stderr, n_trials=n, seed=seed)]


@control("softmax.rows-sum-to-one", "weights without the softmax normaliser (the exponentials of the scores)")
def _weights_without_normaliser():
    def exp_scores(q, k, *, scale=None, causal=False, temperature=1.0):
        e = attention.scores(q, k, scale=scale).div(temperature).exp()
        return e.tril() if causal else e

    with mock.patch(f"{__name__}.attention_weights", exp_scores):
        yield


@control("softmax.scaling-unit-variance", "logits scaled by 1/m instead of 1/sqrt(m)")
def _logits_scaled_by_one_over_m():
    def scores_over_m(q, k, *, scale=None):
        return attention.scores(q, k, scale=1.0 / q.shape[-1] if scale is None else scale)

    with mock.patch(f"{__name__}.scores", scores_over_m):
        yield
