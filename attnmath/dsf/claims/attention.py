"""Claims of the attention family: linear attention, recurrent normalisation, Taylor truncations of softmax,
normalized attention, the recurrent-norm eigenvalues, Flowformer."""

from __future__ import annotations

import itertools
import math
from unittest import mock

import torch

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_least, at_most, claim, close, control, holds, rel_close, symbolic

from .. import native_attention as NA
from .. import symbolic as S
from ..analysis import (
    normalized_output_range_bound,
    softmax_log_normalizers,
    taylor_ratio_bound,
    taylor_remainder_bound,
)
from ..architectures_attention import (
    flowformer_causal_dsf,
    linear_attention_dsf,
    normalized_attention_dsf,
    recurrent_norm_eigenvalues,
    softmax_taylor_dsf,
)
from ..core import DSF
from ..features import elu_plus_one, taylor_feature_dim, taylor_features
from ..sampling import randn
from .sizes import SIZES
from .tolerances import REASON_IDENTITY, TOL_IDENTITY

_SRC = "sieber2024understanding"
_SOURCES = "see the book's Sources appendix"


def _three_forms(name, dsf, u, y_ref, chunk_size=5):
    return [
        rel_close(f"{name}: loop vs native", dsf.recurrent(u), y_ref, rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
        rel_close(f"{name}: Φu vs native", dsf.parallel(u), y_ref, rtol=TOL_IDENTITY, reason=REASON_IDENTITY),
        rel_close(
            f"{name}: chunked({chunk_size}) vs native",
            dsf.chunked(u, chunk_size),
            y_ref,
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
    ]


def _weights(g, d, m, dv):
    return randn(g, m, d) / math.sqrt(d), randn(g, m, d) / math.sqrt(d), randn(g, dv, d) / math.sqrt(d)


@claim(
    "dsf.linear-attention-three-ways",
    title="DSF == native: linear attention (Katharopoulos, elu+1) equals its output-norm and recurrent-norm DSFs",
    statement=r"\frac{\sum_{j\le i}\phi(q_i)^\top\phi(k_j)v_j}{\sum_{j\le i}\phi(q_i)^\top\phi(k_j)}=\text{DSF}_{\Lambda=I,\,C_i\propto\eta_i^{-1}}(u)_i=\text{DSF}_{\Lambda_i=\eta_{i-1}/\eta_i,\,B_i\propto\eta_i^{-1}}(u)_i",
    source=f"{_SRC} eqs. (15)-(16) (attention in the DSF, linear attention); katharopoulos2020transformers; "
    f"that both realizations give the same outputs is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _linear_attention_three_ways(tier: str):
    B, L, d, m, dv = SIZES[tier].linear_attention_shape
    g = torch_generator(50)
    u = randn(g, B, L, d)
    WQ, WK, WV = _weights(g, d, m, dv)
    y = NA.katharopoulos_attention(u @ WQ.T, u @ WK.T, u @ WV.T)
    checks = []
    for real in ("output", "recurrent"):
        dsf = linear_attention_dsf(u, WQ, WK, WV, realization=real)
        checks += _three_forms(f"{real}-norm", dsf, u, y)
        checks.append(holds(f"{real}-norm state size N = m d_v = {m * dv}", dsf.N == m * dv))
    return checks


@control("dsf.linear-attention-three-ways", "native linear attention without the causal mask (every key j ≤ L)")
def _native_without_causal_mask():
    def noncausal(q, k, v):
        fq, fk = elu_plus_one(q), elu_plus_one(k)
        a = fq @ fk.transpose(-1, -2)
        return (a @ v) / a.sum(-1, keepdim=True)

    with mock.patch.object(NA, "katharopoulos_attention", noncausal):
        yield


@claim(
    "dsf.recurrent-norm-telescoping",
    title="Output and recurrent normalisation give the same Φ (telescoping Λ_i = η_{i-1}/η_i)",
    statement=r"\Lambda_i\cdots\Lambda_{j+1}\frac{\psi_j}{\eta_j}=\frac{\eta_j}{\eta_i}\frac{\psi_j}{\eta_j}=\frac{\psi_j}{\eta_i},\quad"
    r"\Phi_{ij}=\frac{\phi(q_i)^\top\psi(k_j)}{\eta_i}W_V\ \text{in both realizations}",
    source=f"{_SRC} eq. (15) and App. B (recurrent normalisation, the telescoping product); eigenvalues as in "
    f"the authors' follow-up code (eval_eig.py); the output-norm comparison is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _realizations_share_phi(tier: str):
    L, d, m, dv = SIZES[tier].telescoping_shape
    g = torch_generator(51)
    u = 0.5 * randn(g, L, d)
    WQ, WK, WV = _weights(g, d, m, dv)
    out = softmax_taylor_dsf(u, WQ, WK, WV, 2, realization="output")
    rec = softmax_taylor_dsf(u, WQ, WK, WV, 2, realization="recurrent")
    fq, fk = taylor_features(u @ WQ.T, 2), taylor_features(u @ WK.T, 2)
    eta = (fq * fk.cumsum(0)).sum(-1)
    ratio = (eta[None, :] / eta[:, None]) * torch.ones(L, L, dtype=torch.float64).tril()
    lin = linear_attention_dsf(u, WQ, WK, WV)
    return [
        symbolic("Λ_3 Λ_2 B_1 - ψ/η_3 with Λ_i = η_{i-1}/η_i, B_1 = ψ/η_1", S.telescoping_difference()),
        rel_close(
            "Φ blocks: output-norm vs recurrent-norm (Taylor P=2 features)",
            rec.blocks(),
            out.blocks(),
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        rel_close(
            "Λ_(i:j) of the recurrent realization vs η_j/η_i",
            rec.transition_products(),
            ratio,
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        holds(
            "linear attention: some Λ_i = η_{i-1}/η_i exceeds 1 (η depends on q_i, so no contraction)",
            bool((lin.lam > 1).any()),
            details=f"max Λ_i {lin.lam.max().item():.3f}",
        ),
    ]


@control("dsf.recurrent-norm-telescoping", "recurrent Λ_i inverted: η_i/η_(i-1) instead of η_(i-1)/η_i")
def _inverted_telescoping_ratio():
    build = softmax_taylor_dsf

    def inverted(*args, realization="recurrent", **kw):
        dsf = build(*args, realization=realization, **kw)
        if realization != "recurrent":
            return dsf
        return DSF(1.0 / dsf.lam, dsf.B, dsf.C, dsf.D, structure=dsf.structure)

    with mock.patch(f"{__name__}.softmax_taylor_dsf", inverted):
        yield


@claim(
    "dsf.taylor-features",
    title="Finite Taylor features approximate softmax with explicit, sharp error bounds",
    statement=r"\phi_P(q)^\top\phi_P(k)=T_P(s),\ \frac{R^{P+1}e^{-R}}{(P+1)!}\le\max|e^s-T_P(s)|\le\frac{R^{P+1}e^R}{(P+1)!},\ "
    r"\lVert\tilde y_i-y_i\rVert\le\frac{\delta}{1-\delta}\,\mathrm{range}(v),\ \delta=\frac{R^{P+1}e^{R}}{(P+1)!}<\tfrac12",
    source=f"{_SRC} Lemma 1 (§3.2.1) and App. C (Taylor series with monomial features, eq. (24)); the error "
    f"bounds are reconstructed from the classical Lagrange remainder ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _taylor_truncation_bounds(tier: str):
    checks = [
        symbolic("φ_3(q)ᵀφ_3(k) - T_3(qᵀk/√2), m=2, and T_3 vs series(exp)", S.taylor_feature_difference(2, 3)),
        symbolic(
            "coefficients of φ_3(q)ᵀφ_3(k) minus the multinomial coefficients m^(-p/2)/∏a_r! of T_3(qᵀk/√m), m=2",
            S.taylor_feature_coefficients(2, 3),
        ),
        symbolic("∫_0^s (s-t)^3/3! e^t dt - (e^s - T_3(s)) (Lagrange remainder)", S.taylor_remainder_difference(3)),
        symbolic(
            "ỹ - y - Σ_j α_j(ε_j-ε̄)(v_j-c)/(1+ε̄), L=3 (the centred perturbation identity)",
            S.normalized_weight_identity(3),
        ),
    ]
    L, m, dv = SIZES[tier].taylor_shape
    g = torch_generator(52)
    q, k, v = 0.5 * randn(g, L, m), 0.5 * randn(g, L, m), randn(g, L, dv)
    s = q @ k.T / math.sqrt(m)
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    R = float(s[causal].abs().max())  # the largest |score| the causal outputs use
    v_range = float((v.max(0).values - v.min(0).values).max())  # the trivial output bound (convex combinations)
    checks.append(holds("feature dim n_P = Σ m^p (P=3)", taylor_features(q, 3).shape[-1] == taylor_feature_dim(m, 3)))
    exact = NA.softmax_attention_causal(q, k, v)
    errs, informative = [], []
    for P in (1, 2, 3, 4, 6):
        TP = sum(s**p / math.factorial(p) for p in range(P + 1))
        feat = taylor_features(q, P) @ taylor_features(k, P).T
        checks.append(rel_close(f"P={P}: φ_P(q)ᵀφ_P(k) vs T_P(s)", feat, TP, rtol=TOL_IDENTITY, reason=REASON_IDENTITY))
        remainder = float((torch.exp(s) - TP)[causal].abs().max())
        bound = taylor_remainder_bound(R, P)
        checks.append(
            at_most(
                f"P={P}: max |e^s - T_P(s)| vs Lagrange bound R^(P+1)e^R/(P+1)! (R={R:.2f})",
                remainder,
                bound,
                reason="Lagrange remainder s^(P+1)e^ξ/(P+1)!, ξ between 0 and s, e^ξ ≤ e^R",
            )
        )
        checks.append(
            at_most(
                f"P={P}: Lagrange bound vs e^(2R) x measured max remainder (the bound is sharp up to e^(2R))",
                bound,
                math.exp(2 * R) * remainder,
                reason="at the score with |s| = R the remainder is at least R^(P+1)e^(-R)/(P+1)! (e^ξ ≥ e^(-R)), "
                "so a correct bound exceeds the measured maximum by at most e^(2R)",
            )
        )
        delta = taylor_ratio_bound(R, P)
        y = NA.taylor_attention_causal(q, k, v, P)
        err = float((y - exact).abs().max())
        errs.append(err)
        if delta < 0.5:  # only then is δ/(1-δ)·range below the trivial bound range(v)
            informative.append(P)
            checks.append(
                at_most(
                    f"P={P}: max |y_P - y_softmax| vs δ/(1-δ) range(v) = "
                    f"{normalized_output_range_bound(delta, v_range):.2g} (trivial bound {v_range:.2g})",
                    err,
                    normalized_output_range_bound(delta, v_range),
                    reason="centred normalized-output bound with δ = R^(P+1)e^R/(P+1)! < 1/2 (below the trivial bound)",
                )
            )
    checks.append(
        holds(
            "the output bound is below the trivial bound range(v) for P = 6 (δ < 1/2)",
            6 in informative,
            details=f"informative for P in {informative}",
        )
    )
    checks.append(
        holds(
            "output error decreases with P = 1, 2, 3, 4, 6",
            all(a > b for a, b in itertools.pairwise(errs)),
            details=", ".join(f"{e:.1e}" for e in errs),
        )
    )
    return checks


@control("dsf.taylor-features", "the Lagrange remainder bound without its factor e^R (R^(P+1)/(P+1)! only)")
def _remainder_bound_without_exp():
    with mock.patch(f"{__name__}.taylor_remainder_bound", lambda R, P: R ** (P + 1) / math.factorial(P + 1)):
        yield


@control("dsf.taylor-features", "a loose remainder bound: R^(P+1)e^R/P! (P! where (P+1)! belongs)")
def _remainder_bound_too_loose():
    with mock.patch(f"{__name__}.taylor_remainder_bound", lambda R, P: R ** (P + 1) * math.exp(R) / math.factorial(P)):
        yield


@claim(
    "dsf.native.softmax-taylor",
    title="DSF == native: order-P truncations of softmax attention (finite state n_P) equal Taylor-kernel attention",
    statement=r"\text{DSF}[\phi_P]_i=\sum_{j\le i}\frac{T_P(q_i^\top k_j/\sqrt m)}{\sum_{l\le i}T_P(q_i^\top k_l/\sqrt m)}W_Vu_j,\quad N=n_Pd_v",
    source=f"{_SRC} Lemma 1 (§3.2.1, eq. (18): softmax attention has N = ∞; its finite truncations are "
    f"reconstructed, {_SOURCES}); vaswani2017attention",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _softmax_truncations_equal_native(tier: str):
    B, L, d, m, dv = SIZES[tier].softmax_taylor_shape
    g = torch_generator(53)
    u = randn(g, B, L, d)
    WQ, WK, WV = _weights(g, d, m, dv)
    q, k, v = u @ WQ.T, u @ WK.T, u @ WV.T
    checks = []
    for P in (2, 4):
        y = NA.taylor_attention_causal(q, k, v, P)
        for real in ("output", "recurrent"):
            dsf = softmax_taylor_dsf(u, WQ, WK, WV, P, realization=real)
            checks += _three_forms(f"P={P}, {real}-norm", dsf, u, y, chunk_size=6)
        checks.append(
            holds(
                f"P={P}: state size N = n_P d_v = {taylor_feature_dim(m, P) * dv}",
                dsf.N == taylor_feature_dim(m, P) * dv,
            )
        )
    return checks


@control("dsf.native.softmax-taylor", "native Taylor attention without the 1/√m score scale")
def _native_taylor_unscaled():
    native = NA.taylor_attention_causal

    def unscaled(q, k, v, order, scale=None):
        return native(q, k, v, order, scale=1.0)

    with mock.patch.object(NA, "taylor_attention_causal", unscaled):
        yield


def _normaliser_weight(g, d):
    """The normaliser weight w_η of the eq. (22) claim (a seam for the control "w_η = 0")."""
    return 0.5 * randn(g, d)


# Strict non-contraction: Λ_i = e^{w_ηᵀ(u_{i-1}-u_i)} with w_η ~ 0.5 N(0, I_d) has log Λ_i of standard deviation
# about 0.5 √(2d) ≈ 1.6 (ci, d = 5), so the largest of 2 x 23 eigenvalues is e^{2..4}; a margin 1e-3 above 1
# is far above float64 roundoff (the exp of a difference, ~1e-15) and fails for a constant normaliser (Λ_i = 1).
_NONCONTRACTION_MARGIN = 1e-3


@claim(
    "dsf.normalized-attention-eq22",
    title="DSF == native: normalized attention (the paper's eq. 22) in both realizations; its Λ_i is not a contraction",
    statement=r"y_i=\frac{1}{\eta(u_i)}\sum_{j\le i}(q_i^\top k_j)v_j\ \text{equals both DSFs};\ \Lambda_i=e^{w_\eta^\top(u_{i-1}-u_i)}\ (i\ge2)\ \text{and}\ \Lambda_i>1\ \text{occurs}",
    source=f"{_SRC} eq. (22) (normalized attention, η(u_i) = e^(W_η u_i), in the DSF) and eq. (15) (Λ_i = "
    f"η_(i-1)/η_i); the native form follows the official SelfNormAttention; the equality of the three forms and "
    f"the eigenvalue formula are our formalisation ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _normalized_attention_equals_native(tier: str):
    B, L, d, m, dv = SIZES[tier].normalized_shape
    g = torch_generator(54)
    u = randn(g, B, L, d)
    WQ, WK, WV = _weights(g, d, m, dv)
    bQ, bK, w, b0 = randn(g, m), randn(g, m), _normaliser_weight(g, d), 0.2
    y = NA.normalized_attention(u, WQ, bQ, WK, bK, WV, w, b0)
    checks = []
    for real in ("output", "recurrent"):
        checks += _three_forms(
            f"{real}-norm", normalized_attention_dsf(u, WQ, bQ, WK, bK, WV, w, b0, realization=real), u, y
        )
    lam = normalized_attention_dsf(u, WQ, bQ, WK, bK, WV, w, b0).lam
    expect = torch.exp((u[..., :-1, :] - u[..., 1:, :]) @ w)
    checks.append(
        close(
            "Λ_i vs exp(w_ηᵀ(u_{i-1}-u_i)), i ≥ 2",
            lam[..., 1:],
            expect,
            atol=64 * F64_EPS * float(expect.max()),
            reason="float64 exp of a difference: 64 eps relative",
        )
    )
    checks.append(
        at_least(
            "max_{i≥2} Λ_i (eq. 22 does not contract: some Λ_i > 1 strictly)",
            float(lam[..., 1:].max()),
            1.0 + _NONCONTRACTION_MARGIN,
            reason="the recurrent-norm eigenvalue e^{w_ηᵀ(u_{i-1}-u_i)} is unbounded; Λ_1 = e^0 = 1 is left out "
            "and the margin 1e-3 (far above roundoff) rejects a constant normaliser",
        )
    )
    return checks


@control("dsf.normalized-attention-eq22", "native normaliser η(u) = e^(-w_ηᵀu + b) (sign of w_η flipped)")
def _native_normaliser_sign_flipped():
    native = NA.normalized_attention

    def flipped(u, W_Q, b_Q, W_K, b_K, W_V, w_eta, b_eta):
        return native(u, W_Q, b_Q, W_K, b_K, W_V, -w_eta, b_eta)

    with mock.patch.object(NA, "normalized_attention", flipped):
        yield


@control("dsf.normalized-attention-eq22", "w_η = 0 (constant normaliser)")
def _constant_normaliser():
    with mock.patch(f"{__name__}._normaliser_weight", lambda g, d: 0.0 * randn(g, d)):
        yield


@claim(
    "dsf.recurrent-norm-eigenvalues",
    title="The DSF eigenvalues η_{i-1}/η_i match the follow-up's nu[:-1]/nu[1:] recipe, overflow-free in log space",
    statement=r"\Lambda_i=\frac{\eta_{i-1}}{\eta_i}=\exp(\log\eta_{i-1}-\log\eta_i),\quad\eta_i=\textstyle\sum_{j\le i}\phi(q_i)^\top\psi(k_j)",
    source=f"{_SRC} eq. (15) and §6 (attention needs normalization for stability); the nu[:-1]/nu[1:] recipe "
    "of the authors' follow-up code (eval_eig.py)",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _recurrent_norm_eigenvalues(tier: str):
    L, d, m, dv = SIZES[tier].eigenvalues_shape
    g = torch_generator(55)
    u = randn(g, L, d)
    WQ, WK, WV = _weights(g, d, m, dv)
    fq, fk = elu_plus_one(u @ WQ.T), elu_plus_one(u @ WK.T)
    nu = ((fq @ fk.T) * torch.ones(L, L, dtype=torch.float64).tril()).sum(-1)  # row sums of the masked scores
    lam = linear_attention_dsf(u, WQ, WK, WV).eigenvalues()[1:, 0]
    q, k = randn(g, L, m), randn(g, L, m)
    nu_sm = (torch.exp(q @ k.T / math.sqrt(m)) * torch.ones(L, L, dtype=torch.float64).tril()).sum(-1)
    lse = softmax_log_normalizers(q, k)
    big = 1000.0  # logits ~ 1e3: exp overflows float64
    logits = big * q @ k.T
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    nu_big = (torch.exp(logits) * causal).sum(-1)
    lse_big = softmax_log_normalizers(q, k, scale=big)
    mx = logits.masked_fill(~causal, float("-inf")).amax(-1)  # max-shift recipe: ν̃_i = Σ_j e^{s_ij - m_i} ∈ [1, i]
    nu_shift = torch.exp((logits - mx[:, None]).masked_fill(~causal, float("-inf"))).sum(-1)
    log_lam_shift = (mx[:-1] - mx[1:]) + torch.log(nu_shift[:-1]) - torch.log(nu_shift[1:])
    return [
        rel_close(
            "linear attention: DSF eigenvalues vs nu[:-1]/nu[1:]",
            lam,
            nu[:-1] / nu[1:],
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        rel_close(
            "softmax: exp(lse_{i-1} - lse_i) vs naive ratio of row sums",
            recurrent_norm_eigenvalues(lse),
            nu_sm[:-1] / nu_sm[1:],
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        holds(
            "softmax, logits x1000: the naive ratio is not finite",
            not bool(torch.isfinite(nu_big[:-1] / nu_big[1:]).all()),
        ),
        holds(
            "softmax, logits x1000: log Λ_i = lse_{i-1} - lse_i is finite",
            bool(torch.isfinite(lse_big[:-1] - lse_big[1:]).all()),
        ),
        rel_close(
            "max-shift recipe log Λ_i vs lse_{i-1} - lse_i (logits x1000)",
            log_lam_shift,
            lse_big[:-1] - lse_big[1:],
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        ),
        holds(
            "softmax and linear attention: some Λ_i > 1",
            bool((lam > 1).any()) and bool((recurrent_norm_eigenvalues(lse) > 1).any()),
        ),
    ]


@control("dsf.recurrent-norm-eigenvalues", "eigenvalues from the inverted log ratio exp(lse_i - lse_(i-1))")
def _eigenvalues_inverted():
    with mock.patch(f"{__name__}.recurrent_norm_eigenvalues", lambda lse: torch.exp(lse[..., 1:] - lse[..., :-1])):
        yield


@claim(
    "dsf.native.flowformer",
    title="DSF == native: causal Flowformer is linear attention with scalar gain c_i and normaliser I_i/α_i (Λ = I)",
    statement=r"\Lambda_i=I,\ B_i=c_i(I\otimes\sigma(k_i)),\ C_i=\frac{\alpha_i}{I_i}(I\otimes\sigma(q_i)^\top)",
    source=f"wu2022flowformer (official Flow_Attention_Causal); the DSF mapping is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _flowformer_equals_native(tier: str):
    B, H, L, m, dv = SIZES[tier].flowformer_shape
    g = torch_generator(56)
    q, k, v = randn(g, B, H, L, m), randn(g, B, H, L, m), randn(g, B, H, L, dv)
    dsf = flowformer_causal_dsf(q, k, v)
    y = NA.flowformer_causal(q, k, v)
    return [*_three_forms("Flowformer", dsf, v, y), holds("Λ_i = I for every i", bool((dsf.lam == 1).all()))]


@control("dsf.native.flowformer", "native Flowformer with queries and keys swapped (sources for sinks)")
def _native_flowformer_q_k_swapped():
    native = NA.flowformer_causal

    def swapped(q_raw, k_raw, v, eps=1e-6):
        return native(k_raw, q_raw, v, eps)

    with mock.patch.object(NA, "flowformer_causal", swapped):
        yield
