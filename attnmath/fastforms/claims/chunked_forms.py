r"""Claims on the chunked forms: intra-chunk masked products plus inter-chunk state passing equal the recurrences.

Book: ``notebooks/20_kernels``, section "From the recurrence to chunks".  Each claim checks the identity
symbolically (sympy, small sizes, :mod:`attnmath.fastforms.derivation`), numerically (the PyTorch forms in
float64 against the step-by-step references) and runs the Triton kernel (kind ``kernel``).
"""

from __future__ import annotations

import importlib
from unittest import mock

from attnmath.claims import claim, control, rel_close, symbolic
from attnmath.kernels import diag_scan as _ds
from attnmath.kernels import dispatch
from attnmath.kernels import linear_attention as _la
from attnmath.kernels.diag_scan import chunk_diag_scan, diag_scan_recurrent
from attnmath.kernels.linear_attention import chunk_linear_attention, linear_attention_recurrent

from .. import derivation as der
from .inputs import EXACT_REASON, EXACT_RTOL, F64, R32, R32_REASON, R64, R64_REASON, concrete, seeded_inputs, triton_run
from .sizes import SIZES

_LA_CHUNK = importlib.import_module("attnmath.kernels.linear_attention.chunk")
_DS_CHUNK = importlib.import_module("attnmath.kernels.diag_scan.chunk")


def _symbolic_checks(gate: str | None) -> list:
    """Recurrent minus chunked, outputs and final state, for T = 4 and 5 (a partial last chunk), C = 2; then the
    library's chunked PyTorch form at T = 5, C = 2 against the sympy recurrence evaluated at seeded inputs."""
    label = {None: "no gate", "scalar": "scalar gate", "key": "per-key gate"}[gate]
    out = []
    for T, C in ((4, 2), (5, 2)):
        seq = der.sequence(T, 2, 1, gate=gate)
        O_rec, S_rec = der.recurrent(seq)
        O_chk, S_chk = der.chunked(seq, C)
        out.append(symbolic(f"{label}: outputs, recurrent - chunked, T={T}, C={C}, K=2, V=1", O_rec - O_chk))
        out.append(symbolic(f"{label}: final state, recurrent - chunked, T={T}, C={C}", S_rec - S_chk))
    vals, x = concrete(seq, 20)
    K = x["q"].shape[-1]
    if gate is None:
        o, S = chunk_linear_attention(x["q"], x["k"], x["v"], initial_state=x["h0"], chunk_size=C)
    else:
        o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=C)
    name = "chunk_linear_attention" if gate is None else "chunk_diag_scan"
    out += [
        rel_close(
            f"{label}: {name} (C={C}) output vs the sympy recurrence × s = K^-1/2 at seeded inputs, T={T}",
            o[0, :, 0],
            K**-0.5 * der.evaluate(O_rec, seq, vals),
            rtol=EXACT_RTOL,
            reason=EXACT_REASON,
            kind="symbolic",
        ),
        rel_close(
            f"{label}: {name} (C={C}) final state vs the sympy recurrence at the same inputs",
            S[0, 0],
            der.evaluate(S_rec, seq, vals),
            rtol=EXACT_RTOL,
            reason=EXACT_REASON,
            kind="symbolic",
        ),
    ]
    return out


@claim(
    "kernels.linear-attention-chunked-form",
    title="Chunked linear attention: intra-chunk masked product plus inter-chunk state passing equals the recurrence",
    statement=r"O_n = s\,(Q_nS_n + [(Q_nK_n^\top)\odot M]V_n),\quad S_{n+1} = S_n + K_n^\top V_n"
    r"\ \Longleftrightarrow\ S_t = S_{t-1} + k_tv_t^\top,\ o_t = s\,S_t^\top q_t",
    source="katharopoulos2020transformers, eqs. (16)-(20) (recurrent form); chunkwise form: yang2024gated, sec. 2",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _linear_attention_chunked_equals_recurrence(tier: str):
    checks = _symbolic_checks(None)
    T = SIZES[tier].chunked_length
    x = seeded_inputs(0, 2, T, 2, 16, 8)
    o_r, S_r = linear_attention_recurrent(x["q"], x["k"], x["v"], initial_state=x["h0"], dtype=F64)
    for C in (1, 16, 64):
        o, S = chunk_linear_attention(x["q"], x["k"], x["v"], initial_state=x["h0"], chunk_size=C)
        checks.append(
            rel_close(f"PyTorch chunked (C={C}) output vs recurrence, T={T}", o, o_r, rtol=R64, reason=R64_REASON)
        )
        checks.append(rel_close(f"PyTorch chunked (C={C}) final state", S, S_r, rtol=R64, reason=R64_REASON))
    o, S = triton_run(dispatch.linear_attention, x, "qkv", chunk_size=32)
    checks.append(
        rel_close("Triton output vs fp64 recurrence", o.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel")
    )
    checks.append(rel_close("Triton final state", S.cpu(), S_r, rtol=R32, reason=R32_REASON, kind="kernel"))
    return checks


@control(
    "kernels.linear-attention-chunked-form",
    "intra-chunk mask without the diagonal (j < i instead of j <= i): a token does not see its own key",
)
def _strict_intra_chunk_mask():
    def strict(x):
        return x.tril_(-1)

    with mock.patch.object(_LA_CHUNK, "causal_", strict):
        yield


@control(
    "kernels.linear-attention-chunked-form",
    "every backend (reference, PyTorch chunked, Triton) reads the output before the write: o_t = s S_{t-1}^T q_t",
)
def _output_before_write_everywhere():
    def exclusive(fn):
        def run(q, k, v, *args, scale=None, **kw):
            o, S = fn(q, k, v, *args, scale=scale, **kw)
            s = q.shape[-1] ** -0.5 if scale is None else scale
            return o - (s * (q * k).sum(-1, keepdim=True) * v).to(o), S

        return run

    with (
        mock.patch(f"{__name__}.linear_attention_recurrent", exclusive(_la.linear_attention_recurrent)),
        mock.patch(f"{__name__}.chunk_linear_attention", exclusive(_la.chunk_linear_attention)),
        mock.patch.object(dispatch, "linear_attention", exclusive(dispatch.linear_attention)),
    ):
        yield


@claim(
    "kernels.diag-scan-chunked-form",
    title="Chunked diagonal scan with cumulative log-decays equals the time-varying diagonal recurrence",
    statement=r"o_i = s\Big[(q_i\odot e^{b_i})^\top S_n + \sum_{j\le i}(q_i\odot e^{b_i-b_j})^\top k_j\,v_j\Big],\ "
    r"S_{n+1} = \mathrm{diag}(e^{\beta})S_n + \sum_j\mathrm{diag}(e^{\beta-b_j})k_jv_j^\top,\ b_i = \sum_{l\le i} g_l",
    source="yang2024gated, sec. 3 (chunkwise GLA); dao2024transformers, SSD chunked algorithm; "
    "sieber2024understanding, eqs. (11)-(12) (the DSF recurrence and its convolution kernel)",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _diag_scan_chunked_equals_recurrence(tier: str):
    checks = _symbolic_checks("scalar") + _symbolic_checks("key")
    T = SIZES[tier].chunked_length
    for gate in ("scalar", "key"):
        x = seeded_inputs(1, 2, T, 2, 16, 8, gate)
        o_r, S_r = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=F64)
        # span 0 sends every per-key chunk down the sub-chunk path; the default span (40) takes the factorised
        # one-matmul path for these mild decays
        for C, c, span in ((1, 1, 0.0), (16, 4, 0.0), (64, 16, 0.0), (64, 16, _DS_CHUNK.FACTOR_SPAN)):
            if gate == "scalar" and span:
                continue  # the span concerns per-key gates only: the scalar form is the same at every span
            o, S = chunk_diag_scan(
                x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=C, sub_chunk=c, factor_span=span
            )
            path = "" if gate == "scalar" else (", sub-chunk path" if span == 0 else ", factorised path")
            checks.append(
                rel_close(f"{gate} g: PyTorch chunked (C={C}, c={c}{path}) output", o, o_r, rtol=R64, reason=R64_REASON)
            )
            checks.append(
                rel_close(
                    f"{gate} g: PyTorch chunked (C={C}, c={c}{path}) final state", S, S_r, rtol=R64, reason=R64_REASON
                )
            )
        o, S = triton_run(dispatch.diag_scan, x, "qkvg", chunk_size=32)
        checks.append(rel_close(f"{gate} g: Triton output", o.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel"))
        checks.append(
            rel_close(f"{gate} g: Triton final state", S.cpu(), S_r, rtol=R32, reason=R32_REASON, kind="kernel")
        )
    return checks


@control(
    "kernels.diag-scan-chunked-form",
    "cumulative log-decay off by one step (exclusive b_i = sum_{l<i} g_l instead of sum_{l<=i} g_l)",
)
def _exclusive_cumulative_decay():
    def exclusive(g):
        return g.cumsum(-2) - g

    with mock.patch.object(_DS_CHUNK, "_cumulative_log_decay", exclusive):
        yield


@control(
    "kernels.diag-scan-chunked-form",
    "every backend (reference, PyTorch chunked, Triton) decays after the write: S_t = diag(e^{g_t})(S_{t-1} + k_t v_t^T)",
)
def _decay_after_write_everywhere():
    def after_write(fn):
        def run(q, k, v, g, *args, **kw):
            return fn(q, k * (g if g.ndim == k.ndim else g[..., None]).exp().to(k), v, g, *args, **kw)

        return run

    with (
        mock.patch(f"{__name__}.diag_scan_recurrent", after_write(_ds.diag_scan_recurrent)),
        mock.patch(f"{__name__}.chunk_diag_scan", after_write(_ds.chunk_diag_scan)),
        mock.patch.object(dispatch, "diag_scan", after_write(dispatch.diag_scan)),
    ):
        yield
