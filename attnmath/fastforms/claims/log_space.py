r"""Claim on log-space decays: every exponent of the chunked scan is non-positive, so strong decays stay exact.

Book: ``notebooks/20_kernels``, section "Why log space".
"""

from __future__ import annotations

import importlib
from unittest import mock

import sympy as sp
import torch

from attnmath.base.numerics import unit_roundoff
from attnmath.claims import claim, close, control, holds, rel_close, symbolic_true
from attnmath.kernels import dispatch
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_recurrent

from .. import derivation as der
from .inputs import EXACT_REASON, EXACT_RTOL, F64, R32, R32_REASON, concrete, seeded_inputs, triton_run
from .sizes import SIZES

_DS_CHUNK = importlib.import_module("attnmath.kernels.diag_scan.chunk")
U64 = unit_roundoff(torch.float64)


@claim(
    "kernels.log-space-decays-stable",
    title="Every exponential in the chunked scan has a non-positive argument, so strong decays neither overflow nor lose accuracy",
    statement=r"g_l \le 0 \Rightarrow b_i - b_j = \sum_{l=j+1}^{i} g_l \le 0\ (j\le i),\ b_i \le 0,\ \beta - b_j \le 0;"
    r"\ \text{whereas } e^{-b_j} \text{ (factorised form) overflows fp32 once } -b_j > 88.7",
    source="reconstructed here: the chunked form's decays as differences of cumulative log-decays, measured here "
    "at g = -60 per step (see the book's Sources appendix)",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric", "kernel"),
)
def _log_space_decays_stay_finite(tier: str):
    g = sp.symbols("g_2:5", nonpositive=True)
    checks = [
        symbolic_true("b_4 - b_1 = g_2 + g_3 + g_4 <= 0 for g_l <= 0", sp.Le(g[0] + g[1] + g[2], 0)),
        symbolic_true("beta - b_2 = g_3 + g_4 <= 0", sp.Le(g[1] + g[2], 0)),
    ]
    seq = der.sequence(5, 2, 1, gate="key")
    vals, x = concrete(seq, 21)
    vals["g"], x["g"] = 400 * vals["g"], 400 * x["g"]  # strong, uneven decays: g in about [-400, -4]
    G = seq["g"][:4, :]  # one chunk of C = 4 steps
    b = sp.Matrix(4, 2, lambda i, c: sum(G[l, c] for l in range(i + 1)))
    checks.append(
        close(
            "the library's cumulative log-decay b_i (chunk of 4, uneven g) vs Σ_{l<=i} g_l evaluated at 30 digits",
            _DS_CHUNK._cumulative_log_decay(x["g"][0, :4, 0]),
            der.evaluate(b, {"g": G}, {"g": vals["g"][:4]}),
            atol=4 * 400 * U64 * 4,
            reason="4 additions of |g| <= 400 (about 1600 in all): 4 u64 x 1600",
            kind="symbolic",
        )
    )
    O_rec, S_rec = der.recurrent(seq)
    o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=4)
    checks += [
        rel_close(
            "chunk_diag_scan (C=4) at uneven strong decays vs the sympy recurrence × K^-1/2 at 30 digits, T=5",
            o[0, :, 0],
            2**-0.5 * der.evaluate(O_rec, seq, vals),
            rtol=EXACT_RTOL,
            reason=EXACT_REASON,
            kind="symbolic",
        ),
        rel_close(
            "the same: final state",
            S[0, 0],
            der.evaluate(S_rec, seq, vals),
            rtol=EXACT_RTOL,
            reason=EXACT_REASON,
            kind="symbolic",
        ),
    ]
    T = SIZES[tier].log_space_length
    for gate in ("scalar", "key"):
        x = seeded_inputs(2, 1, T, 2, 16, 8, gate, dtype=torch.float32)
        x["g"] = torch.full_like(x["g"], -60.0)  # a 64-step chunk accumulates b = -3840
        o_r, S_r = diag_scan_recurrent(*(x[n].double() for n in "qkvg"), initial_state=x["h0"].double(), dtype=F64)
        o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=64)
        checks.append(rel_close(f"{gate} g = -60: fp32 PyTorch chunked output", o, o_r, rtol=R32, reason=R32_REASON))
        checks.append(
            rel_close(f"{gate} g = -60: fp32 PyTorch chunked final state", S, S_r, rtol=R32, reason=R32_REASON)
        )
        b = x["g"].transpose(1, 2)[:, :, :64].cumsum(2)  # cumulative log-decay over the first chunk
        factor = torch.exp(-b)  # what (q e^{b})(k e^{-b})^T would need
        checks.append(
            holds(
                f"{gate} g = -60: the factorised form's e^(-b) overflows fp32", not bool(torch.isfinite(factor).all())
            )
        )
        o_t, _ = triton_run(dispatch.diag_scan, x, "qkvg", chunk_size=64)
        checks.append(
            rel_close(f"{gate} g = -60: Triton output", o_t.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel")
        )
    return checks


@control(
    "kernels.log-space-decays-stable",
    "intra-chunk scores in factorised form (q e^b)(k e^(-b))ᵀ instead of e^(b_i - b_j)",
)
def _factorised_intra_chunk_scores():
    def factorised(q, k, b):
        mask = _DS_CHUNK.causal_mask(q.shape[-2], q.device)
        return ((q * b.exp()) @ (k * (-b).exp()).transpose(-1, -2)).masked_fill(~mask, 0.0)

    with mock.patch.object(_DS_CHUNK, "_intra_scalar", factorised):
        yield


@control(
    "kernels.log-space-decays-stable",
    "cumulative log-decay b_i accumulated in fp32 whatever the input dtype (strong decays lose float64 accuracy)",
)
def _cumulative_decay_in_fp32():
    def in_fp32(g):
        return g.float().cumsum(-2).to(g.dtype)

    with mock.patch.object(_DS_CHUNK, "_cumulative_log_decay", in_fp32):
        yield
