"""Claims of the SSM family: S6, S6 as d-head attention, SSD as normalized attention, the SSD duality, the paper's SSD,
RetNet, GLA."""

from __future__ import annotations

from unittest import mock

import torch
import torch.nn.functional as F

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_least, claim, close, control, holds, rel_close

from .. import native_ssm as NS
from ..analysis import s6_masked_attention, ssd_masked_attention
from ..architectures_attention import separable_attention_dsf
from ..architectures_ssm import gla_dsf, mamba2_ssd_dsf, retnet_dsf, s6_dsf, ssd_paper_dsf
from ..sampling import rand, randn
from .sizes import SIZES
from .tolerances import REASON_DUALITY, REASON_IDENTITY, TOL_DUALITY, TOL_IDENTITY

_SRC = "sieber2024understanding"
_SOURCES = "see the book's Sources appendix"


def _s6_inputs(tier: str, seed: int):
    B, L, d, n = SIZES[tier].s6_shape
    g = torch_generator(seed)
    u = randn(g, B, L, d)
    delta_raw = randn(g, B, L, d)
    A = -torch.arange(1, n + 1, dtype=torch.float64).expand(d, n).clone()  # S4D-real init a_r = -r
    Bm, Cm, D = randn(g, B, L, n), randn(g, B, L, n), randn(g, d)
    bias = torch.log(torch.expm1(0.001 + 0.1 * rand(g, d)))  # softplus(bias) in [1e-3, 0.1]
    return u, delta_raw, A, Bm, Cm, D, bias


@claim(
    "dsf.native.s6",
    title="DSF == native: S6 (Mamba selective scan) with the implemented Euler input and with exact ZOH",
    statement=r"\Lambda_i=\mathrm{diag}_k(e^{\Delta^{(k)}_ia^{(k)}}),\ B_i=\mathrm{diag}(\Delta_i)\otimes b_i\ (\text{Euler})\ \text{or}\ \varphi_1(\Delta A)\Delta b\ (\text{ZOH}),\ C_i=I\otimes c_i^\top",
    source=f"{_SRC} eq. (19) (S6 in the DSF); gu2023mamba (selective_scan_ref, eq. 4)",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _s6_equals_native(tier: str):
    u, dr, A, Bm, Cm, D, bias = _s6_inputs(tier, 60)
    checks = []
    for disc, native in (("euler", NS.selective_scan_ref), ("zoh", NS.selective_scan_zoh)):
        y = native(u, dr, A, Bm, Cm, D, delta_bias=bias, delta_softplus=True)
        dsf = s6_dsf(u, dr, A, Bm, Cm, D, bias, True, discretization=disc)
        checks.append(
            rel_close(f"{disc}: DSF loop vs native", dsf.recurrent(u), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY)
        )
        checks.append(
            rel_close(
                f"{disc}: DSF chunked(8) vs native", dsf.chunked(u, 8), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY
            )
        )
    checks.append(holds("state size N = n d", dsf.N == A.numel()))
    return checks


@control("dsf.native.s6", "the native 'ZOH' scan uses Mamba's Euler input gain Δb (Euler where ZOH is claimed)")
def _native_zoh_is_euler():
    with mock.patch.object(NS, "selective_scan_zoh", NS.selective_scan_ref):
        yield


@claim(
    "dsf.s6-is-d-head-attention",
    title="S6 never mixes channels: every Φ_ij is diagonal, and S6 is d-head masked linear attention",
    statement=r"y^{(k)}_i=\sum_{j\le i}c_i^\top\mathrm{diag}\big(e^{a^{(k)}(t^{(k)}_i-t^{(k)}_j)}\big)b_j\,\Delta^{(k)}_ju^{(k)}_j+D_ku^{(k)}_i",
    source=f"{_SRC} §4.2 (S6's b_i, c_i play keys and queries; its Λ_i has d parameters); the d-head masked "
    f"form is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _s6_is_d_head_attention(tier: str):
    u, dr, A, Bm, Cm, D, bias = _s6_inputs(tier, 61)
    dsf = s6_dsf(u, dr, A, Bm, Cm, D, bias, True)
    Phi = dsf.blocks()
    eye = torch.eye(u.shape[-1], dtype=torch.bool)
    off = Phi[..., ~eye].abs().max()
    delta = F.softplus(dr + bias)
    y = s6_masked_attention(u, delta, A, Bm, Cm, D)
    return [
        close(
            "max |off-diagonal entries of every Φ_ij|",
            off,
            torch.zeros(()),
            atol=0.0,
            reason="exact zeros: no term couples two channels",
        ),
        rel_close("masked d-head form vs DSF loop", y, dsf.recurrent(u), rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
    ]


@control("dsf.s6-is-d-head-attention", "the masked d-head form drops the skip term D u")
def _masked_form_without_skip():
    masked = s6_masked_attention

    def without_d(u, delta, A, B, C, D=None):
        return masked(u, delta, A, B, C, None)

    with mock.patch(f"{__name__}.s6_masked_attention", without_d):
        yield


def _ssd_setup(tier: str, seed: int, positive: bool = False):
    B, L, d, n = SIZES[tier].ssd_attention_shape
    g = torch_generator(seed)
    u = randn(g, B, L, d)
    a = -0.8
    delta = 0.05 + 0.5 * rand(g, B, L)  # shared step: keeps |a t_L| < 30
    Bm, Cm = randn(g, B, L, n), randn(g, B, L, n)
    if positive:
        Bm, Cm = F.softplus(Bm), F.softplus(Cm)
    return u, a, delta, Bm, Cm


@claim(
    "dsf.ssd-is-normalized-attention",
    title="SSD equals separable attention with a cumulative, query-independent normaliser η_i = e^{-a t_i}",
    statement=r"\text{SSD}=\sum_{j\le i}\frac{c_i^\top(\delta_je^{-at_j}b_j)}{e^{-at_i}}u_j,\quad\Lambda_i=\frac{\eta_{i-1}}{\eta_i}=e^{a\delta_i}\le1",
    source=f"{_SRC} §4.2 (attention's η cancels between Λ and B, S6's Δ does not; SSD reduces Λ_i to one "
    f"parameter); the identity is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _ssd_is_normalized_attention(tier: str):
    u, a, delta, Bm, Cm = _ssd_setup(tier, 62, positive=True)
    d = u.shape[-1]
    t = delta.cumsum(-1)
    ssd = s6_dsf(u, delta[..., None].expand_as(u), torch.full((d, Bm.shape[-1]), a, dtype=torch.float64), Bm, Cm)
    y = ssd.recurrent(u)
    psi = (delta * torch.exp(-a * t))[..., None] * Bm
    eta = torch.exp(-a * t)
    att = separable_attention_dsf(Cm, psi, torch.eye(d, dtype=torch.float64), eta, realization="recurrent")
    kath = separable_attention_dsf(Cm, psi, torch.eye(d, dtype=torch.float64), (Cm * psi.cumsum(-2)).sum(-1))
    return [
        holds(f"|a t_L| = {abs(a) * float(t.max()):.1f} < 30", abs(a) * float(t.max()) < 30),
        rel_close(
            "SSD vs normalized separable attention (recurrent norm)",
            att.recurrent(u),
            y,
            rtol=TOL_DUALITY,
            reason=REASON_DUALITY,
        ),
        rel_close(
            "Λ_i = η_{i-1}/η_i vs e^{a δ_i} (i ≥ 2)",
            att.lam[..., 1:],
            torch.exp(a * delta[..., 1:]),
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        holds("SSD's Λ_i ≤ 1 (cumulative normaliser)", bool((att.lam <= 1).all())),
        at_least(
            "counter-test: same φ, ψ with the Katharopoulos normaliser differ from SSD by",
            float((kath.recurrent(u) - y).abs().max()),
            1e-3,
            reason="counter-test: a gap far above the 1e-10 duality tolerance",
        ),
    ]


@control("dsf.ssd-is-normalized-attention", "normaliser η_i = e^(+a t_i) (sign of a flipped, so Λ_i = e^(-a δ_i) > 1)")
def _normaliser_sign_flipped():
    build = separable_attention_dsf

    def flipped(phi_q, psi_k, W_V, eta, *, realization="recurrent"):
        return build(phi_q, psi_k, W_V, 1.0 / eta, realization=realization)

    with mock.patch(f"{__name__}.separable_attention_dsf", flipped):
        yield


@claim(
    "dsf.ssd-duality",
    title="DSF == native: Mamba-2 SSD recurrence = 1-semiseparable masked attention = chunked ssd_minimal_discrete",
    statement=r"h_i=e^{\Delta_ia}h_{i-1}+\Delta_ib_ix_i^\top\ \Longleftrightarrow\ Y=(L\circ CB^\top)(\Delta\odot X),\ L_{ij}=e^{a\sum_{l=j+1}^i\Delta_l}",
    source=f"dao2024transformers (SSD duality; ssd_minimal_discrete is its Listing 1); {_SRC} §4.2 (SSD); the "
    f"DSF form of Mamba-2 and the ports are our formalisation ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _ssd_duality(tier: str):
    B, L, H, P, n = SIZES[tier].ssd_duality_shape
    g = torch_generator(63)
    x, dt_raw = randn(g, B, L, H, P), randn(g, B, L, H) - 1.0
    A, Bm, Cm, D = -(0.5 + rand(g, H)), randn(g, B, L, n), randn(g, B, L, n), randn(g, H)
    dt = F.softplus(dt_raw)
    y_rec = NS.mamba2_recurrent(x, dt_raw, A, Bm, Cm, D, dt_softplus=True)
    y0 = y_rec - D[:, None] * x
    dsf = mamba2_ssd_dsf(x, dt_raw, A, Bm, Cm, D, dt_softplus=True)
    xh = x.movedim(-2, -3)
    checks = [
        rel_close(
            "DSF loop vs Mamba-2 recurrence",
            dsf.recurrent(xh).movedim(-3, -2),
            y_rec,
            rtol=TOL_DUALITY,
            reason=REASON_DUALITY,
        ),
        rel_close(
            "DSF chunked(8) vs Mamba-2 recurrence",
            dsf.chunked(xh, 8).movedim(-3, -2),
            y_rec,
            rtol=TOL_DUALITY,
            reason=REASON_DUALITY,
        ),
        rel_close(
            "masked attention (L∘CBᵀ)(Δ⊙X) vs recurrence",
            ssd_masked_attention(x, dt, A, Bm, Cm),
            y0,
            rtol=TOL_DUALITY,
            reason=REASON_DUALITY,
        ),
    ]
    Bh, Ch = (t[:, :, None, :].expand(B, L, H, n) for t in (Bm, Cm))
    for block in (4, 8, 16):
        y_ssd, _ = NS.ssd_minimal_discrete(x * dt[..., None], A * dt, Bh, Ch, block)
        checks.append(
            rel_close(
                f"ssd_minimal_discrete(block={block}) vs recurrence", y_ssd, y0, rtol=TOL_DUALITY, reason=REASON_DUALITY
            )
        )
    return checks


@control("dsf.ssd-duality", "masked attention with queries and keys swapped (L∘BCᵀ instead of L∘CBᵀ)")
def _masked_attention_transposed():
    masked = ssd_masked_attention

    def swapped(x, dt, A, B, C):
        return masked(x, dt, A, C, B)

    with mock.patch(f"{__name__}.ssd_masked_attention", swapped):
        yield


@claim(
    "dsf.native.ssd-paper",
    title="DSF == native: the paper's SSD (scalar A, one scalar step per time step) and its reversed-sigmoid transition",
    statement=r"\Delta^{(k)}_i=\mathrm{softplus}(z^{(k)}_i),\ z^{(k)}_i=w^\top u_i+\beta_k,\ A=-e^{A_{\log}}\Rightarrow\Lambda_i=\sigma(-z_i)^{e^{A_{\log}}}",
    source=f"{_SRC} eq. (19) (S6 in the DSF), §4.2 (SSD: one parameter in Λ_i) and eq. (23) (the reversed "
    f"sigmoid); a port of the official zoology/mixers/mamba.py::S6_2 (scalar step repeated across channels); the "
    f"DSF form of this mixer is our formalisation ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _paper_ssd_equals_native(tier: str):
    B, L, d, n = SIZES[tier].ssd_paper_shape
    g = torch_generator(64)
    u, w, beta, Bm, Cm, D = (
        randn(g, B, L, d),
        randn(g, d),
        randn(g, d),
        randn(g, B, L, n),
        randn(g, B, L, n),
        randn(g, d),
    )
    checks = []
    for A_log in (0.0, 0.4):
        Al = torch.tensor(A_log, dtype=torch.float64)
        dsf = ssd_paper_dsf(u, w, beta, Al, Bm, Cm, D)
        y = NS.s6_2_ref(u, w, beta, Al, Bm, Cm, D)
        checks.append(
            rel_close(
                f"A_log={A_log}: DSF vs S6_2 scan", dsf.recurrent(u), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY
            )
        )
        z = (u @ w)[..., None] + beta  # S6_2: the scalar w^T u_i repeated over channels, plus the bias β_k
        rev = torch.sigmoid(-z) ** torch.exp(Al)
        checks.append(
            close(
                f"A_log={A_log}: Λ_i vs σ(-z_i)^(e^A_log) (reversed sigmoid), z_i = wᵀu_i + β",
                dsf.lam.reshape(B, L, d, n),
                rev[..., None].expand(B, L, d, n),
                atol=16 * F64_EPS,
                reason="float64 exp/log1p roundoff, 16 eps",
            )
        )
    return checks


@control("dsf.native.ssd-paper", "native S6_2 with A = -e^(-A_log) (sign of A_log flipped)")
def _native_a_log_flipped():
    native = NS.s6_2_ref

    def flipped(u, w_dt, dt_bias, A_log, B, C, D=None):
        return native(u, w_dt, dt_bias, -A_log, B, C, D)

    with mock.patch.object(NS, "s6_2_ref", flipped):
        yield


def _per_channel_factor(d):
    """A fixed per-channel step factor ω (the dt_proj weight that S6_2 never applies), for the controls."""
    return 0.5 + rand(torch_generator(640), d)


@control(
    "dsf.native.ssd-paper", "native port multiplies the step by a per-channel factor ω_k (Δ = softplus(ω_k wᵀu + β_k))"
)
def _native_per_channel_factor():
    def old_port(u, w_dt, dt_bias, A_log, B, C, D=None):
        d, n = u.shape[-1], B.shape[-1]
        dt = (u @ w_dt)[..., None] * _per_channel_factor(d)
        A = -torch.exp(torch.as_tensor(A_log, dtype=u.dtype) * torch.ones(d, n, dtype=u.dtype))
        return NS.selective_scan_ref(u, dt, A, B, C, D, delta_bias=dt_bias, delta_softplus=True)

    with mock.patch.object(NS, "s6_2_ref", old_port):
        yield


@control("dsf.native.ssd-paper", "DSF built with a per-channel step factor ω_k (the old port of the step)")
def _dsf_per_channel_factor():
    def old_dsf(u, w_dt, dt_bias, A_log, B, C, D=None):
        d, n = u.shape[-1], B.shape[-1]
        dt = (u @ w_dt)[..., None] * _per_channel_factor(d)
        A = -torch.exp(torch.as_tensor(A_log, dtype=u.dtype) * torch.ones(d, n, dtype=u.dtype))
        return s6_dsf(u, dt, A, B, C, D, delta_bias=dt_bias, delta_softplus=True)

    with mock.patch(f"{__name__}.ssd_paper_dsf", old_dsf):
        yield


@claim(
    "dsf.native.retnet",
    title="DSF == native: RetNet retention is a DSF with constant scalar Λ = γ_h per head",
    statement=r"O=(sQK^\top\odot D)V,\ D_{ij}=\gamma_h^{i-j}\ \Longleftrightarrow\ \Lambda_i=\gamma_hI,\ B_i=I\otimes k_i,\ C_i=s(I\otimes q_i^\top)",
    source=f"sun2023retentive (parallel retention); the DSF form is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _retnet_equals_native(tier: str):
    B, H, L, K, Vd = SIZES[tier].retnet_shape
    g = torch_generator(65)
    q, k, v = randn(g, B, H, L, K), randn(g, B, H, L, K), randn(g, B, H, L, Vd)
    gamma = 1 - 2.0 ** (-5.0 - torch.arange(H, dtype=torch.float64))
    dsf = retnet_dsf(q, k, v, gamma)
    y = NS.retention_parallel(q, k, v, gamma)
    return [
        rel_close("DSF loop vs parallel retention", dsf.recurrent(v), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
        rel_close(
            "DSF chunked(8) vs parallel retention", dsf.chunked(v, 8), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY
        ),
    ]


@control("dsf.native.retnet", "native retention with the decays γ_h assigned to the heads in reverse order")
def _native_decays_reversed():
    native = NS.retention_parallel

    def reversed_heads(q, k, v, gamma, scale=None):
        return native(q, k, v, gamma.flip(0), scale)

    with mock.patch.object(NS, "retention_parallel", reversed_heads):
        yield


@claim(
    "dsf.native.gla",
    title="DSF == native: gated linear attention (key-wise gate) and its scalar-gate special case",
    statement=r"S_i=\mathrm{diag}(\alpha_i)S_{i-1}+k_iv_i^\top,\ o_i=sS_i^\top q_i\ \Longleftrightarrow\ \Lambda_i=I_V\otimes\mathrm{diag}(\alpha_i)",
    source=f"yang2024gated (GLA); the DSF form is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _gla_equals_native(tier: str):
    B, H, L, K, Vd = SIZES[tier].gla_shape
    g = torch_generator(66)
    q, k, v = randn(g, B, H, L, K), randn(g, B, H, L, K), randn(g, B, H, L, Vd)
    lg = F.logsigmoid(randn(g, B, H, L, K) + 2.0)
    ls = F.logsigmoid(randn(g, B, H, L) + 2.0)
    checks = []
    for name, gate, full in (
        ("key-wise gate (GLA)", lg, lg),
        ("scalar gate (simple GLA)", ls, ls[..., None].expand(B, H, L, K)),
    ):
        dsf = gla_dsf(q, k, v, gate)
        y = NS.gla_recurrent(q, k, v, full)
        checks.append(
            rel_close(f"{name}: DSF loop vs native", dsf.recurrent(v), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY)
        )
        checks.append(
            rel_close(
                f"{name}: DSF chunked(8) vs native", dsf.chunked(v, 8), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY
            )
        )
    return checks


@control("dsf.native.gla", "native GLA with queries and keys swapped")
def _native_gla_q_k_swapped():
    native = NS.gla_recurrent

    def swapped(q, k, v, log_alpha, scale=None):
        return native(k, q, v, log_alpha, scale)

    with mock.patch.object(NS, "gla_recurrent", swapped):
        yield
