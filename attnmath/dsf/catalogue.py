r"""The architecture catalogue: every DSF constructor next to its native implementation, on one seeded draw.

:func:`native_agreement` builds each architecture from random native parameters (float64), runs the
DSF loop, the DSF's :math:`\Phi u` (or the chunked form) and the native code, and reports the
largest relative difference.  It backs the catalogue table of ``notebooks/10_dsf_framework``; the
per-architecture claims ``dsf.native.*`` (and ``dsf.linear-attention-three-ways``, ``dsf.ssd-duality``,
``dsf.reversed-sigmoid``, ``dsf.normalized-attention-eq22``) are the checked versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..base.numerics import torch_generator
from . import native_attention as NA
from . import native_rnn as NR
from . import native_ssm as NS
from .architectures_attention import (
    flowformer_causal_dsf,
    linear_attention_dsf,
    normalized_attention_dsf,
    softmax_taylor_dsf,
)
from .architectures_extensions import deltanet_dsf, titans_dsf
from .architectures_rnn import mlstm_dsf, qlstm_dsf, rglru_dsf
from .architectures_ssm import gla_dsf, mamba2_ssd_dsf, retnet_dsf, s6_dsf, ssd_paper_dsf
from .core import DSF

__all__ = ["Agreement", "native_agreement"]


@dataclass(frozen=True)
class Agreement:
    """One row: architecture, DSF structure, state size N, relative error of the loop and of Φu / chunked."""

    name: str
    structure: str
    N: int
    loop_error: float
    other_error: float
    other_form: str


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def native_agreement(seed: int = 0, L: int = 16) -> list[Agreement]:
    """DSF vs native for every constructor of the chapter (float64, batch 2, sequence length ``L``)."""
    g = torch_generator(seed)

    def r(*s: int) -> torch.Tensor:
        return torch.randn(*s, generator=g, dtype=torch.float64)

    rows: list[Agreement] = []

    def add(
        name: str,
        dsf: DSF,
        u: torch.Tensor,
        y: torch.Tensor,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        fwd = (lambda t: t) if transform is None else transform
        y_loop = fwd(dsf.recurrent(u))
        if dsf.structure in ("scalar", "diagonal"):
            other, form = fwd(dsf.chunked(u, 5)), "chunked(5)"
        else:
            other, form = fwd(dsf.parallel(u)), "Φu"
        rows.append(Agreement(name, dsf.structure, dsf.N, _rel(y_loop, y), _rel(other, y), form))

    B, d, m, dv = 2, 4, 3, 2
    u = r(B, L, d)
    WQ, WK, WV = r(m, d) / 2, r(m, d) / 2, r(dv, d) / 2
    q, k, v = u @ WQ.T, u @ WK.T, u @ WV.T
    add("softmax, Taylor P=4", softmax_taylor_dsf(u, WQ, WK, WV, 4), u, NA.taylor_attention_causal(q, k, v, 4))
    add("linear attention (elu+1)", linear_attention_dsf(u, WQ, WK, WV), u, NA.katharopoulos_attention(q, k, v))
    nargs = (WQ, r(m), WK, r(m), WV, r(d) / 2, 0.1)
    y = NA.normalized_attention(u, *nargs)
    add("normalized attention, output norm", normalized_attention_dsf(u, *nargs, realization="output"), u, y)
    add("normalized attention, recurrent norm", normalized_attention_dsf(u, *nargs, realization="recurrent"), u, y)
    n = 3
    A = -torch.arange(1, n + 1, dtype=torch.float64).expand(d, n).clone()
    delta, b, c, D = r(B, L, d), r(B, L, n), r(B, L, n), r(d)
    for disc, nat in (("euler", NS.selective_scan_ref), ("zoh", NS.selective_scan_zoh)):
        add(
            f"S6 / Mamba ({disc})",
            s6_dsf(u, delta, A, b, c, D, None, True, discretization=disc),
            u,
            nat(u, delta, A, b, c, D, None, True),
        )
    w, beta, Alog = r(d), r(d), torch.tensor(0.0, dtype=torch.float64)
    add(
        "SSD of the paper (S6_2)",
        ssd_paper_dsf(u, w, beta, Alog, b, c, D),
        u,
        NS.s6_2_ref(u, w, beta, Alog, b, c, D),
    )
    H, P = 2, 2
    x, dt, Ah, Dh = r(B, L, H, P), r(B, L, H), -(0.5 + torch.rand(H, generator=g, dtype=torch.float64)), r(H)
    y = NS.mamba2_recurrent(x, dt, Ah, b, c, Dh, dt_softplus=True)
    add(
        "Mamba-2 SSD",
        mamba2_ssd_dsf(x, dt, Ah, b, c, Dh, dt_softplus=True),
        x.movedim(-2, -3),
        y,
        lambda t: t.movedim(-3, -2),
    )
    Wg, bg = r(3 * d, d) / math.sqrt(d), r(3 * d)
    add("qLSTM", qlstm_dsf(u, Wg, bg), u, NR.qlstm_scan(u, Wg, bg))
    add(
        "qLSTM-rev (eq. 23)",
        qlstm_dsf(u, Wg, bg, reversed=True, alpha=0.8),
        u,
        NR.qlstm_scan(u, Wg, bg, reversed=True, alpha=0.8),
    )
    reset = torch.zeros(B, L, dtype=torch.bool)
    reset[:, 0] = True
    rg = (r(d, d) / 2, r(d), r(d, d) / 2, r(d), r(d))
    add("RG-LRU", rglru_dsf(u, *rg, reset), u, NR.rg_lru(u, *rg, reset))
    K, Vd = 3, 2
    qh, kh, vh = r(B, H, L, K), r(B, H, L, K), r(B, H, L, Vd)
    gamma = 1 - 2.0 ** (-5.0 - torch.arange(H, dtype=torch.float64))
    add("RetNet", retnet_dsf(qh, kh, vh, gamma), vh, NS.retention_parallel(qh, kh, vh, gamma))
    lg = F.logsigmoid(r(B, H, L, K) + 2)
    add("GLA", gla_dsf(qh, kh, vh, lg), vh, NS.gla_recurrent(qh, kh, vh, lg))
    ip, fp, op = r(B, H, L) - 1, r(B, H, L) + 2, r(B, H, L, Vd)
    add(
        "mLSTM",
        mlstm_dsf(qh, kh / math.sqrt(K), vh, ip, fp, op),
        vh,
        NR.mlstm_recurrent(qh, kh / math.sqrt(K), vh, ip, fp, op),
    )
    ku = F.normalize(kh, dim=-1)
    bt, la = torch.rand(B, H, L, generator=g, dtype=torch.float64), F.logsigmoid(r(B, H, L) + 3)
    add("DeltaNet", deltanet_dsf(qh, ku, vh, bt), vh, NR.delta_rule_recurrent(qh, ku, vh, bt))
    add("Gated DeltaNet", deltanet_dsf(qh, ku, vh, bt, la), vh, NR.delta_rule_recurrent(qh, ku, vh, bt, la))
    add("Flowformer (causal)", flowformer_causal_dsf(qh, kh, vh), vh, NA.flowformer_causal(qh, kh, vh))
    th, al, et = (s * torch.rand(B, H, L, generator=g, dtype=torch.float64) for s in (0.2, 0.1, 0.8))
    add("Titans linear memory", titans_dsf(qh, ku, vh, th, al, et), vh, NR.titans_linear_memory(qh, ku, vh, th, al, et))
    return rows
