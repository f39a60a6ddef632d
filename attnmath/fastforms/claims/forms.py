r"""Claims of the kernels chapter (``notebooks/20_kernels``), part 1: chunked forms, log-space stability, the normaliser.

Part 2 (gate gradient, online softmax, DSF instances) is :mod:`attnmath.fastforms.claims.gradients`.

Each claim checks an identity symbolically (sympy, small sizes, :mod:`attnmath.fastforms.derivation`),
numerically (the PyTorch forms in float64 against the step-by-step references) and, for kind
``kernel``, runs the Triton kernel (compiled on a GPU, through Triton's interpreter on a CPU) in fp32
against the float64 reference.  Kernel tolerances are those of ``tests/kernels/tolerances.py``.
"""

from __future__ import annotations

import sympy as sp
import torch
import torch.nn.functional as F

from attnmath.claims import claim, holds, rel_close, symbolic, symbolic_true
from attnmath.kernels import dispatch
from attnmath.kernels.diag_scan.chunk import chunk_diag_scan
from attnmath.kernels.diag_scan.reference import diag_scan_recurrent
from attnmath.kernels.linear_attention.chunk import chunk_linear_attention
from attnmath.kernels.linear_attention.reference import linear_attention_recurrent

from .. import derivation as der

F64 = torch.float64
R64 = 1e-11
R64_REASON = "float64: eps 2.2e-16 x reordering of <= 200 summands of size O(10), x ~200 margin"
R32 = 5e-4
R32_REASON = (
    "fp32 max-norm bound of tests/kernels/tolerances.py; expected u32 sqrt(T K) <= 6e-8 x 130 = 8e-6 at T K <= 16000"
)


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _inputs(seed: int, B: int, T: int, H: int, K: int, V: int, gate: str | None = None, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(B, T, H, K, generator=g, dtype=F64) for _ in range(2))
    v = torch.randn(B, T, H, V, generator=g, dtype=F64)
    h0 = torch.randn(B, H, K, V, generator=g, dtype=F64)
    shape = {None: None, "scalar": (B, T, H), "key": (B, T, H, K)}[gate]
    lg = None if shape is None else F.logsigmoid(torch.randn(*shape, generator=g, dtype=F64) + 2)
    return {n: (None if x is None else x.to(dtype)) for n, x in {"q": q, "k": k, "v": v, "h0": h0, "g": lg}.items()}


def _sym_checks(gate):
    label = {None: "no gate", "scalar": "scalar gate", "key": "per-key gate"}[gate]
    out = []
    for T, C in ((4, 2), (5, 2)):
        seq = der.sequence(T, 2, 1, gate=gate)
        O_rec, S_rec = der.recurrent(seq)
        O_chk, S_chk = der.chunked(seq, C)
        out.append(symbolic(f"{label}: outputs, recurrent - chunked, T={T}, C={C}, K=2, V=1", O_rec - O_chk))
        out.append(symbolic(f"{label}: final state, recurrent - chunked, T={T}, C={C}", S_rec - S_chk))
    return out


def _kernel_run(fn, x, names, **kw):
    dev = _device()
    args = [x[n].to(device=dev, dtype=torch.float32) for n in names]
    h0 = x["h0"].to(device=dev, dtype=torch.float32)
    return fn(*args, initial_state=h0, backend="triton", **kw)


@claim(
    "kernels.linear-attention-chunked-form",
    title="Chunked linear attention: intra-chunk masked product plus inter-chunk state passing equals the recurrence",
    statement=r"O_n = s\,(Q_nS_n + [(Q_nK_n^\top)\odot M]V_n),\quad S_{n+1} = S_n + K_n^\top V_n"
    r"\ \Longleftrightarrow\ S_t = S_{t-1} + k_tv_t^\top,\ o_t = s\,S_t^\top q_t",
    source="katharopoulos2020transformers, eqs. (16)-(20) (recurrent form); chunkwise form: yang2024gated, sec. 2",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _linear_chunked(scale: str):
    checks = _sym_checks(None)
    T = 100 if scale == "ci" else 1000
    x = _inputs(0, 2, T, 2, 16, 8)
    o_r, S_r = linear_attention_recurrent(x["q"], x["k"], x["v"], initial_state=x["h0"], dtype=F64)
    for C in (1, 16, 64):
        o, S = chunk_linear_attention(x["q"], x["k"], x["v"], initial_state=x["h0"], chunk_size=C)
        checks.append(
            rel_close(f"PyTorch chunked (C={C}) output vs recurrence, T={T}", o, o_r, rtol=R64, reason=R64_REASON)
        )
        checks.append(rel_close(f"PyTorch chunked (C={C}) final state", S, S_r, rtol=R64, reason=R64_REASON))
    o, S = _kernel_run(dispatch.linear_attention, x, "qkv", chunk_size=32)
    checks.append(
        rel_close("Triton output vs fp64 recurrence", o.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel")
    )
    checks.append(rel_close("Triton final state", S.cpu(), S_r, rtol=R32, reason=R32_REASON, kind="kernel"))
    return checks


@claim(
    "kernels.diag-scan-chunked-form",
    title="Chunked diagonal scan with cumulative log-decays equals the time-varying diagonal recurrence",
    statement=r"o_i = s\Big[(q_i\odot e^{b_i})^\top S_n + \sum_{j\le i}(q_i\odot e^{b_i-b_j})^\top k_j\,v_j\Big],\ "
    r"S_{n+1} = \mathrm{diag}(e^{\beta})S_n + \sum_j\mathrm{diag}(e^{\beta-b_j})k_jv_j^\top,\ b_i = \sum_{l\le i} g_l",
    source="yang2024gated, sec. 3 (chunkwise GLA); dao2024transformers, SSD chunked algorithm; DSF dossier §1.2, E6",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _diag_chunked(scale: str):
    checks = _sym_checks("scalar") + _sym_checks("key")
    T = 100 if scale == "ci" else 1000
    for gate in ("scalar", "key"):
        x = _inputs(1, 2, T, 2, 16, 8, gate)
        o_r, S_r = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=F64)
        for C, c in ((1, 1), (16, 4), (64, 16)):
            o, S = chunk_diag_scan(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], chunk_size=C, sub_chunk=c)
            checks.append(
                rel_close(f"{gate} g: PyTorch chunked (C={C}, c={c}) output", o, o_r, rtol=R64, reason=R64_REASON)
            )
            checks.append(
                rel_close(f"{gate} g: PyTorch chunked (C={C}, c={c}) final state", S, S_r, rtol=R64, reason=R64_REASON)
            )
        o, S = _kernel_run(dispatch.diag_scan, x, "qkvg", chunk_size=32)
        checks.append(rel_close(f"{gate} g: Triton output", o.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel"))
        checks.append(
            rel_close(f"{gate} g: Triton final state", S.cpu(), S_r, rtol=R32, reason=R32_REASON, kind="kernel")
        )
    return checks


@claim(
    "kernels.log-space-decays-stable",
    title="Every exponential in the chunked scan has a non-positive argument, so strong decays neither overflow nor lose accuracy",
    statement=r"g_l \le 0 \Rightarrow b_i - b_j = \sum_{l=j+1}^{i} g_l \le 0\ (j\le i),\ b_i \le 0,\ \beta - b_j \le 0;"
    r"\ \text{whereas } e^{-b_j} \text{ (factorised form) overflows fp32 once } -b_j > 88.7",
    source="reconstructed here; the need for log space: DSF dossier L6 ('keep |a t_L| <~ 30, or work in log space')",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric", "kernel"),
)
def _log_space(scale: str):
    g = sp.symbols("g_2:5", nonpositive=True)
    checks = [
        symbolic_true("b_4 - b_1 = g_2 + g_3 + g_4 <= 0 for g_l <= 0", sp.Le(g[0] + g[1] + g[2], 0)),
        symbolic_true("beta - b_2 = g_3 + g_4 <= 0", sp.Le(g[1] + g[2], 0)),
    ]
    T = 150 if scale == "ci" else 1500
    for gate in ("scalar", "key"):
        x = _inputs(2, 1, T, 2, 16, 8, gate, dtype=torch.float32)
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
        o_t, _ = _kernel_run(dispatch.diag_scan, x, "qkvg", chunk_size=64)
        checks.append(
            rel_close(f"{gate} g = -60: Triton output", o_t.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel")
        )
    return checks


@claim(
    "kernels.normalizer-is-a-value-column",
    title="Normalised linear attention is linear attention on the value augmented by a column of ones",
    statement=r"\frac{S_t^\top q_t}{z_t^\top q_t} = \frac{[\tilde S_t^\top q_t]_{1:V}}{[\tilde S_t^\top q_t]_{V+1}},"
    r"\quad \tilde S_t = \tilde S_{t-1} + k_t[v_t^\top, 1],\ \tilde S_0 = [S_0, z_0]",
    source="katharopoulos2020transformers, eq. (16) (normaliser); DSF dossier §2.1 (output-norm realisation)",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _normalizer(scale: str):
    direct, augmented = der.normalised_and_augmented(3, 2)
    checks = [symbolic("direct normalised output minus the augmented-column ratio, T=3, K=2", direct - augmented)]
    T = 80 if scale == "ci" else 800
    x = _inputs(5, 2, T, 2, 8, 6)
    q, k = F.elu(x["q"]) + 1, F.elu(x["k"]) + 1
    S0 = x["h0"].abs()
    z0 = torch.rand(2, 2, 8, generator=torch.Generator().manual_seed(6), dtype=F64)
    o_r, (S_r, z_r) = linear_attention_recurrent(q, k, x["v"], normalize=True, initial_state=(S0, z0), dtype=F64)
    o, (S, z) = dispatch.linear_attention(q, k, x["v"], normalize=True, initial_state=(S0, z0), backend="torch")
    checks += [
        rel_close("PyTorch chunked normalised output", o, o_r, rtol=R64, reason=R64_REASON),
        rel_close("PyTorch chunked final state S_T", S, S_r, rtol=R64, reason=R64_REASON),
        rel_close("PyTorch chunked final normaliser z_T", z, z_r, rtol=R64, reason=R64_REASON),
    ]
    dev = _device()
    o_t, _ = dispatch.linear_attention(
        *(t.to(device=dev, dtype=torch.float32) for t in (q, k, x["v"])),
        normalize=True,
        initial_state=(S0.to(device=dev, dtype=torch.float32), z0.to(device=dev, dtype=torch.float32)),
        backend="triton",
        chunk_size=32,
    )
    checks.append(rel_close("Triton normalised output", o_t.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel"))
    return checks
