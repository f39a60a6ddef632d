"""Claim: with equal-norm keys, softmax attention is Nadaraya–Watson regression with a Gaussian kernel.

Book: ``notebooks/00_softmax_attention``, section "A kernel smoother".
"""

from __future__ import annotations

import math
from unittest import mock

import torch

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, close, control, holds

from .. import attention
from ..attention import nadaraya_watson, softmax_attention


@claim(
    "softmax.nadaraya-watson",
    title="With equal-norm keys, softmax attention is Nadaraya–Watson regression with a Gaussian kernel",
    statement=r"\lVert k_j\rVert = \rho\ \forall j \Rightarrow \mathrm{softmax}(q^\top k_j/h^2)"
    r" = \frac{K_h(q-k_j)}{\sum_l K_h(q-k_l)},\ K_h(r)=e^{-\lVert r\rVert^2/2h^2}",
    source="nadaraya1964estimating; watson1964smooth; the kernel view of attention (tsai2019transformer)",
    status_of_source="classical",
    kinds=("numeric",),
)
def _equal_norm_attention_is_nadaraya_watson(tier: str):
    gen = torch_generator(3)
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


@control("softmax.nadaraya-watson", "softmax scale 1/h instead of 1/h^2 (the bandwidth enters once, not squared)")
def _bandwidth_not_squared():
    def attention_scale_one_over_h(q, k, v, *, scale=None, **kw):
        return attention.softmax_attention(q, k, v, scale=math.sqrt(scale), **kw)

    with mock.patch(f"{__name__}.softmax_attention", attention_scale_one_over_h):
        yield
