"""Claims about DSF instances beyond the paper: DeltaNet (dplr), Titans (block dplr), mLSTM.

The associative-memory claim ``dsf.hebbian-capacity`` needs the memory chapter, so it lives in
:mod:`attnmath.synthesis.claims.dsf_memory`.
"""

from __future__ import annotations

import math
from unittest import mock

import torch
import torch.nn.functional as F

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_least, claim, close, control, holds, rel_close

from .. import native_rnn as NR
from ..architectures_extensions import deltanet_dsf, titans_block_factors, titans_dsf
from ..architectures_rnn import mlstm_dsf
from ..sampling import rand, randn
from .sizes import SIZES
from .tolerances import REASON_IDENTITY, TOL_IDENTITY

_SRC = "sieber2024understanding"
_SOURCES = "see the book's Sources appendix"


def _unit(x):
    return x / x.norm(dim=-1, keepdim=True)


@claim(
    "dsf.native.deltanet",
    title="DSF == native: (gated) DeltaNet is a DSF with a diagonal-plus-low-rank Λ_i = α_i(I ⊗ (I - β_i k_i k_iᵀ))",
    statement=r"S_i=\alpha_i(I-\beta_ik_ik_i^\top)S_{i-1}+\beta_ik_iv_i^\top\ \Longleftrightarrow\ \Lambda_i=\mathrm{diag}(\alpha_i\mathbf 1)-\alpha_i\beta_i(I_V\otimes k_i)(I_V\otimes k_i)^\top",
    source=f"schlag2021linear; yang2025gated; outside the diagonal DSF of {_SRC}, the dplr form is "
    f"reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _deltanet_equals_native(tier: str):
    B, H, L, K, Vd = SIZES[tier].deltanet_shape
    g = torch_generator(80)
    q, k, v = randn(g, B, H, L, K), _unit(randn(g, B, H, L, K)), randn(g, B, H, L, Vd)
    beta, la = rand(g, B, H, L), F.logsigmoid(randn(g, B, H, L) + 3.0)
    checks = []
    for name, gate in (("DeltaNet", None), ("Gated DeltaNet", la)):
        dsf = deltanet_dsf(q, k, v, beta, gate)
        y = NR.delta_rule_recurrent(q, k, v, beta, gate)
        checks.append(
            rel_close(f"{name}: DSF loop vs native", dsf.recurrent(v), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY)
        )
        checks.append(
            rel_close(f"{name}: DSF Φv vs native", dsf.parallel(v), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY)
        )
    lam = dsf.dense_lam()
    off = (lam - torch.diag_embed(torch.diagonal(lam, dim1=-2, dim2=-1))).abs().max()
    alpha = la.exp()
    kk = k[..., :, None] * k[..., None, :]
    block = alpha[..., None, None] * (torch.eye(K, dtype=torch.float64) - beta[..., None, None] * kk)
    eyeV = torch.eye(Vd, dtype=torch.float64)
    expect = (eyeV[:, None, :, None] * block[..., None, :, None, :]).reshape(*block.shape[:-2], Vd * K, Vd * K)
    checks.append(
        close(
            "Λ_i vs α_i (I_V ⊗ (I - β_i k_i k_iᵀ))",
            lam,
            expect,
            atol=8 * F64_EPS,
            reason="float64 products of O(1) terms, 8 eps",
        )
    )
    ev = torch.linalg.eigvalsh(lam[0, 0, 0])
    a0, b0 = alpha[0, 0, 0], beta[0, 0, 0]
    ones = torch.ones(Vd * K, dtype=torch.float64)
    want = torch.sort(torch.cat([a0 * (1 - b0) * ones[:Vd], a0 * ones[Vd:]])).values
    checks.append(
        close(
            "spectrum of Λ_1: α(1-β) (V times) and α",
            ev,
            want,
            atol=16 * F64_EPS,
            reason="symmetric eigensolver roundoff, 16 eps",
        )
    )
    checks.append(
        at_least(
            "Λ_i is not diagonal: max off-diagonal entry",
            float(off),
            1e-3,
            reason="a generic unit key gives O(β/K) off-diagonal entries",
        )
    )
    return checks


@control("dsf.native.deltanet", "keys not normalised to unit length (the spectrum α(1-β), α needs |k_i| = 1)")
def _non_unit_keys():
    with mock.patch(f"{__name__}._unit", lambda x: 1.5 * x / x.norm(dim=-1, keepdim=True)):
        yield


@claim(
    "dsf.native.titans",
    title="DSF == native: Titans' linear memory with momentum is an LTV system with block-dplr transition (state 2KV)",
    statement=r"W_t=T_tW_{t-1}+2\theta_t[k_t;k_t]v_t^\top,\ T_t=\begin{bmatrix}(1-\alpha_t)I-2\theta_tk_tk_t^\top&\eta_tI\\-2\theta_tk_tk_t^\top&\eta_tI\end{bmatrix}=P_t+a_tb_t^\top",
    source=f"behrouz2024titans (linear memory update); the block-dplr DSF form is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _titans_equals_native(tier: str):
    B, L, K, Vd = SIZES[tier].titans_shape
    g = torch_generator(81)
    q, k, v = randn(g, B, L, K), _unit(randn(g, B, L, K)), randn(g, B, L, Vd)
    theta, alpha, eta = 0.2 * rand(g, B, L), 0.1 * rand(g, B, L), 0.8 * rand(g, B, L)
    dsf = titans_dsf(q, k, v, theta, alpha, eta)
    y = NR.titans_linear_memory(q, k, v, theta, alpha, eta)
    P, a, b = titans_block_factors(k, theta, alpha, eta)
    kk = k[..., :, None] * k[..., None, :]
    eye = torch.eye(K, dtype=torch.float64)
    T = torch.cat(
        [
            torch.cat(
                [(1 - alpha)[..., None, None] * eye - 2 * theta[..., None, None] * kk, eta[..., None, None] * eye], -1
            ),
            torch.cat([-2 * theta[..., None, None] * kk, eta[..., None, None] * eye], -1),
        ],
        -2,
    )
    lam = dsf.dense_lam()
    off = (lam - torch.diag_embed(torch.diagonal(lam, dim1=-2, dim2=-1))).abs().max()
    zero = torch.zeros_like(eta)
    y0 = NR.titans_linear_memory(q, k, v, theta, alpha, zero)
    gdn_reparam = NR.delta_rule_recurrent(
        q, k, v * (1 - alpha)[..., None], 2 * theta / (1 - alpha), torch.log(1 - alpha), scale=1.0
    )
    gdn_direct = NR.delta_rule_recurrent(q, k, v, 2 * theta, torch.log(1 - alpha), scale=1.0)
    # Keys off the unit sphere (norms in [0.5, 1.5]): the block-dplr form holds for any keys; only the
    # contraction of the memory block (1-α)I - 2θkkᵀ, not checked here, needs 2θ|k|² ≤ 2 - α.
    k_free = k * (0.5 + rand(g, B, L))[..., None]
    dsf_free = titans_dsf(q, k_free, v, theta, alpha, eta)
    y_free = NR.titans_linear_memory(q, k_free, v, theta, alpha, eta)
    norms = k_free.norm(dim=-1)
    return [
        rel_close("DSF loop vs Titans recurrence", dsf.recurrent(v), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
        rel_close(
            f"keys not unit norm (|k| in [{float(norms.min()):.2f}, {float(norms.max()):.2f}]): DSF loop vs Titans "
            "recurrence",
            dsf_free.recurrent(v),
            y_free,
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        rel_close("DSF Φv vs Titans recurrence", dsf.parallel(v), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
        close(
            "T_t vs P_t + a_t b_tᵀ (block dplr factors)",
            P + a[..., :, None] * b[..., None, :],
            T,
            atol=4 * F64_EPS,
            reason="float64 products, 4 eps",
        ),
        at_least(
            "Λ_t is not diagonal: max off-diagonal entry",
            float(off),
            1e-2,
            reason="the η_t I block couples memory and momentum",
        ),
        holds("state size N = 2 K V", dsf.N == 2 * K * Vd),
        rel_close(
            "η = 0: Titans vs Gated DeltaNet with gate 1-α, β' = 2θ/(1-α), v' = (1-α)v",
            y0,
            gdn_reparam,
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        at_least(
            "η = 0: Titans vs Gated DeltaNet with β = 2θ taken literally (they differ)",
            float((y0 - gdn_direct).abs().max()),
            1e-4,
            reason="the literal match needs the gradient at the undecayed memory; a gap far above roundoff",
        ),
    ]


@control("dsf.native.titans", "native Titans memory without momentum (η_t = 0 inside the recurrence)")
def _native_without_momentum():
    native = NR.titans_linear_memory

    def no_momentum(q, k, v, theta, alpha, eta, **kw):
        return native(q, k, v, theta, alpha, torch.zeros_like(eta), **kw)

    with mock.patch.object(NR, "titans_linear_memory", no_momentum):
        yield


@control("dsf.native.titans", "native Titans memory normalises each key to unit length (the DSF keeps the raw key)")
def _native_normalises_keys():
    native = NR.titans_linear_memory

    def unit_keys(q, k, v, theta, alpha, eta, **kw):
        return native(q, _unit(k), v, theta, alpha, eta, **kw)

    with mock.patch.object(NR, "titans_linear_memory", unit_keys):
        yield


@claim(
    "dsf.native.mlstm",
    title="DSF == native: the mLSTM (xLSTM) is a scalar DSF whose normaliser max(|n_iᵀq_i|, 1) sits in C_i",
    statement=r"C_i=f_iC_{i-1}+i_iv_ik_i^\top,\ h_i=o_i\odot\frac{C_iq_i}{\max(|n_i^\top q_i|,1)}\ \Longleftrightarrow\ \Lambda_i=f_iI,\ B_i=i_i(I\otimes k_i),\ C_i=\frac{\mathrm{diag}(o_i)(I\otimes q_i^\top)}{\max(|n_i^\top q_i|,1)}",
    source=f"beck2024xlstm (mLSTM); the DSF form is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _mlstm_equals_native(tier: str):
    B, H, L, K, Vd = SIZES[tier].mlstm_shape
    g = torch_generator(82)
    q, k, v = randn(g, B, H, L, K), randn(g, B, H, L, K) / math.sqrt(K), randn(g, B, H, L, Vd)
    ip, fp, op = randn(g, B, H, L) - 1.0, randn(g, B, H, L) + 2.0, randn(g, B, H, L, Vd)
    dsf = mlstm_dsf(q, k, v, ip, fp, op)
    y = NR.mlstm_recurrent(q, k, v, ip, fp, op)
    return [
        rel_close("mLSTM DSF loop vs native", dsf.recurrent(v), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
        rel_close("mLSTM DSF chunked(8) vs native", dsf.chunked(v, 8), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
    ]


@control("dsf.native.mlstm", "native mLSTM without the normaliser max(|n_iᵀq_i|, 1) (its lower bound 1 dropped)")
def _native_mlstm_unclamped():
    def unclamped(q, k, v, i_pre, f_pre, o_pre):
        ig, fg, og = torch.exp(i_pre), torch.sigmoid(f_pre), torch.sigmoid(o_pre)
        Cm = torch.zeros(*q.shape[:-2], v.shape[-1], q.shape[-1], dtype=q.dtype)
        n, hs = torch.zeros_like(q[..., 0, :]), []
        for t in range(q.shape[-2]):
            Cm = fg[..., t, None, None] * Cm + ig[..., t, None, None] * v[..., t, :, None] * k[..., t, None, :]
            n = fg[..., t, None] * n + ig[..., t, None] * k[..., t, :]
            denom = (n * q[..., t, :]).sum(-1).abs()
            hs.append(og[..., t, :] * (Cm @ q[..., t, :, None])[..., 0] / denom[..., None])
        return torch.stack(hs, dim=-2)

    with mock.patch.object(NR, "mlstm_recurrent", unclamped):
        yield
