r"""Claims of the Scan and Snap chapter: the long-sequence limit of the attention mixture (``tian2023scan``, Lemmas 2 and 18)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import torch

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, close, control, pvalue_not_rejected

from ..data import hoeffding_radius, population_attention, syn_small
from .sizes import SIZES

SRC = "tian2023scan"


@claim(
    "scansnap.s01-long-sequence-limit",
    title="Long sequences: the attention mixture tends to c_n at the CLT rate (Lemma 2, Lemma 18)",
    statement=r"X^\top b_T \to c_{m,n},\ c_{l|m,n} \propto \mathbb P(l|m,n)e^{z_{ml}};\quad |q_l - \mathbb P(l|n)| \le \sqrt{\ln(2/\delta)/(2(T-1))}\ \text{w.p.}\ 1-\delta",
    source=f"{SRC}, Lemma 2 and Lemma 18",
    status_of_source="stated",
    kinds=("numeric", "statistical"),
)
def _sampled_mixture_tends_to_its_limit(tier: str):
    from scipy.stats import binomtest

    S = SIZES[tier]
    data = syn_small()
    n_seq = S.sequences
    Z = torch.randn(data.M, data.M, generator=torch_generator(0), dtype=torch.float64)
    c = population_attention(Z, data)[0]
    gen = torch_generator(1)
    Ts, means, exceed, total = (128, 1024, 8192), [], 0, 0
    support = data.probs[0] > 0
    for T in Ts:
        cls0 = data.probs[0].expand(n_seq, -1)
        x = torch.multinomial(cls0, T - 1, replacement=True, generator=gen)
        b = torch.softmax(Z[data.query[0], x], dim=-1)
        v = torch.zeros(n_seq, data.M, dtype=torch.float64).scatter_add(1, x, b)
        means.append(float((v - c).abs().max(1).values.mean()))
        q = torch.zeros(n_seq, data.M, dtype=torch.float64).scatter_add(1, x, torch.ones_like(b)) / (T - 1)
        dev = (q - data.probs[0])[:, support].abs()
        exceed += int((dev > hoeffding_radius(T - 1, 0.05)).sum())
        total += dev.numel()
    slope = float(np.polyfit(np.log(Ts), np.log(means), 1)[0])
    p = binomtest(exceed, total, 0.05, alternative="greater").pvalue
    return [
        close(
            "log-log slope of mean max|X^T b - c| vs T (T = 128, 1024, 8192), in [-0.6, -0.4]",
            slope,
            -0.5,
            atol=0.1,
            reason="CLT rate -1/2; band [-0.6, -0.4] calibrated here (measured -0.500)",
        ),
        pvalue_not_rejected(
            f"Hoeffding exceedance at delta=0.05: {exceed} of {total}",
            p,
            0.01,
            test="one-sided binomial test of rate <= 0.05",
            n=total,
            seed="Z: 0, tokens: 1",
        ),
    ]


@control(
    "scansnap.s01-long-sequence-limit",
    "limit attention without the prior P(l|n): c_l proportional to e^{z_ml} on the support",
)
def _limit_without_the_prior():
    def softmax_of_logits_only(Z, data):
        logits = Z[data.query].to(torch.float64).masked_fill(data.probs == 0, float("-inf"))
        return torch.softmax(logits, dim=-1).to(Z.dtype)

    with mock.patch(f"{__name__}.population_attention", softmax_of_logits_only):
        yield
