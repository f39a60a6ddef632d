r"""Synthesis claims on Scan and Snap seen through the DSF (training-dynamics view × DSF view).

The connections are this book's reconstruction (see the book's Sources appendix), not statements of the papers.
Book: ``notebooks/90_synthesis``, section "Scan and snap seen through the DSF".
"""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import sympy as sp
import torch
from scipy.stats import ttest_1samp, ttest_rel

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import claim, close, control, holds, pvalue_rejected, statistical, symbolic
from attnmath.dsf.analysis import softmax_hankel_rank
from attnmath.scansnap import dB_dlog_t, entropy_distinct, init_yz, sample_batch, syn_small, yz_forward
from attnmath.scansnap.experiments import ZERO_INIT_ENTROPY, fig4_run, syn_medium_cached

from .. import experiments as _experiments
from .. import scansnap_dsf as _ssd
from ..experiments import flow_run, flow_t0, variant_run
from ..scansnap_dsf import (
    efold_changes,
    feature_entropy_distinct,
    flow_attention,
    onehot_attention_dsf,
    onehot_normaliser,
    population_normaliser,
)
from .sizes import SIZES

F64 = torch.float64
SRC_DSF = "sieber2024understanding, eqs. (13)-(15) (separable attention in the DSF)"
OURS = "connection reconstructed in this book; see the book's Sources appendix"


@claim(
    "synthesis.scansnap-attention-is-dsf",
    title="With one-hot tokens the scan-and-snap attention is exactly a finite separable-attention DSF: "
    "φ = exp(Zᵀx_T), ψ = one-hot, state size M²",
    statement=r"b_t=\frac{\phi(\mathbf x_T)^\top\psi(\mathbf x_t)}{\eta_T},\ \phi(\mathbf x_T)=\exp(Z^\top\mathbf x_T)\in\mathbb R^M,\ "
    r"\psi(\mathbf x_t)=\mathbf x_t,\ W_V=I_M,\ \eta_T=\phi^\top\textstyle\sum_t\psi(\mathbf x_t);\ "
    r"\mathrm{rank}\,\Phi[i\ge t,j<t]\le M",
    source=f"tian2023scan, §3.1 (the (Y, Z) model); {SRC_DSF}; {OURS}",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _onehot_attention_is_a_finite_dsf(tier: str):
    M = 3
    Z = sp.Matrix(M, M, sp.symbols(f"z1:{M * M + 1}", real=True))
    e = [sp.eye(M)[:, i] for i in range(M)]
    phi = [Z[m, :].applyfunc(sp.exp) for m in range(M)]  # exp(Zᵀ e_m)ᵀ, a row
    x = (0, 2, 0)  # contextual tokens; query m = 1
    eta = sum((phi[1] * e[t])[0] for t in x)
    checks = [
        symbolic(
            "exp(e_mᵀ Z e_l) - φ(e_m)ᵀ ψ(e_l) for all m, l (M = 3)",
            sp.Matrix(M, M, lambda m, l: sp.exp((e[m].T * Z * e[l])[0]) - (phi[m] * e[l])[0]),
        ),
        symbolic(
            "b_1 - softmax weight of token x_1 = 0 in x = (0, 2, 0), query 1",
            (phi[1] * e[x[0]])[0] / eta - sp.exp(Z[1, 0]) / (2 * sp.exp(Z[1, 0]) + sp.exp(Z[1, 2])),
        ),
    ]
    data = syn_small()
    g = torch_generator(5)
    B, T = SIZES[tier].dsf_batch, SIZES[tier].dsf_length
    Y, Z0 = init_yz(data.M, "uniform", g)
    Zt = 4.0 * Z0  # logits of order one
    batch = sample_batch(data, B, T, g)
    u = torch.nn.functional.one_hot(batch.x, data.M).to(F64)
    ref = yz_forward(Y, Zt, batch, normalize=False)
    tol = T * 8 * F64_EPS
    reason = f"float64 roundoff of a {T - 1}-term normalised sum: {T} x 8 eps"
    for real in ("output", "recurrent"):
        dsf = onehot_attention_dsf(Zt, batch.x, batch.query, realization=real)
        checks.append(
            close(
                f"{real}-normalised DSF: last output vs v = Xᵀ b_T of scansnap.yz_forward",
                dsf.recurrent(u)[:, -1],
                ref.v,
                atol=tol,
                reason=reason,
            )
        )
    dsf = onehot_attention_dsf(Zt, batch.x, batch.query, realization="output")
    # Φ_{L j} = C_L Λ_{L:j} B_j with Λ = I (output normalisation) = (φᵀψ_j / η_L) I_M: read its (0, 0) entry
    blocks = torch.einsum("bpn,bjnd->bjpd", dsf.C[:, -1], dsf.B)[..., 0, 0]
    lam = onehot_attention_dsf(Zt, batch.x, batch.query, realization="recurrent").eigenvalues()
    checks += [
        close(
            "DSF blocks Φ_{T j} = b_j I: attention weights vs scansnap.yz_forward's b",
            blocks,
            ref.b,
            atol=tol,
            reason=reason,
        ),
        close(
            "η_T vs the softmax denominator Σ_t exp(z_{m x_t})",
            torch.log(onehot_normaliser(Zt, batch.x, batch.query)[:, -1]),
            torch.logsumexp(Zt[batch.query[:, None], batch.x], -1),
            atol=tol,
            reason=reason,
        ),
        holds(
            "recurrent realisation: Λ_i = η_{i-1}/η_i in (0, 1] (the normaliser forgets)",
            bool((lam > 0).all()) and bool((lam <= 1).all()),
            details=f"min {float(lam.min()):.3f}",
        ),
        holds(f"finite state: N = M² = {data.M**2} (M = {data.M} tokens)", dsf.N == data.M**2),
    ]
    L, Mv = 4 * data.M, data.M
    xs = torch.randint(0, Mv, (L,), generator=g)
    r_onehot = softmax_hankel_rank(Zt[xs], torch.nn.functional.one_hot(xs, Mv).to(F64), L // 2, scale=1.0)
    q, k = torch.randn(L, Mv, generator=g, dtype=F64), torch.randn(L, Mv, generator=g, dtype=F64)
    r_cont = softmax_hankel_rank(q, k, L // 2)
    distinct = int(torch.unique(xs[: L // 2]).numel())
    checks += [
        holds(
            f"one-hot softmax score Hankel block at t = L/2 (L = {L}): rank <= #distinct keys <= M",
            r_onehot <= distinct <= Mv,
            details=f"rank {r_onehot}, distinct {distinct}, M {Mv}",
        ),
        holds(
            f"same block for continuous Gaussian q, k of width M: rank {r_cont} > M (dsf.hankel-rank-bound)",
            r_cont > Mv,
            details=f"rank {r_cont}",
        ),
    ]
    return checks


@control("synthesis.scansnap-attention-is-dsf", "query feature map φ = exp(Z x_T) with Z transposed (a column of Z)")
def _feature_map_transposed():
    def transposed(Z, x, query, kind="exp", *, realization="recurrent"):
        return _ssd.onehot_attention_dsf(Z.T, x, query, kind, realization=realization)

    with mock.patch(f"{__name__}.onehot_attention_dsf", transposed):
        yield


FLOW_ETA_Z = (1.0, 0.3, 0.1, 0.03)
EFOLDS = tuple(range(-2, 6))


def _flow_profile(eta_Z: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-e-fold change of c and of log eta-bar over [t0 e^k, t0 e^(k+1)], k in EFOLDS."""
    data = syn_medium_cached(1)
    flow = flow_run(eta_Z)
    t = np.arange(flow.zq.shape[0], dtype=np.float64)
    c = flow_attention(flow, data).numpy()
    log_eta = torch.log(population_normaliser(flow.zq[:, 0, :], data)).numpy()[..., None]  # [S+1, K, 1]
    t0 = flow_t0()
    return efold_changes(t, c, t0, EFOLDS), efold_changes(t, log_eta, t0, EFOLDS)


@claim(
    "synthesis.snap-freezes-normaliser",
    title="After the snap the DSF's attention weights c and normaliser η freeze: change per unit time falls after t0; "
    "change per e-fold peaks at or after t0, later for smaller η_Z/η_Y (as Theorem 4's closed form), then decays",
    statement=r"\bar\eta_n=\lim\tfrac{\eta_{T-1}}{T-1}=\textstyle\sum_l\mathbb P(l\mid n)e^{z_{ml}};\ "
    r"\Delta_k c:=\lVert c(t_0e^{k+1})-c(t_0e^k)\rVert_1\ \text{peaks at}\ k^\star\ge0,\ \text{decreasing for}\ k>k^\star,\ "
    r"k^\star\uparrow\ \text{as}\ \eta_Z/\eta_Y\downarrow",
    source=f"tian2023scan, Theorem 4 and Lemma 2; {SRC_DSF}; {OURS}",
    status_of_source="reconstructed",
    kinds=("numeric", "statistical"),
)
def _snap_freezes_weights_and_normaliser(tier: str):
    data = syn_medium_cached(1)
    t0 = flow_t0()
    checks = []
    peaks = []
    for ez in FLOW_ETA_Z:
        dc, dl = _flow_profile(ez)
        k_star = EFOLDS[int(np.argmax(dc))]
        peaks.append(k_star)
        if ez == FLOW_ETA_Z[-1]:
            continue  # its peak lies at the end of the run: only its position is used below
        after = dc[EFOLDS.index(k_star) :]
        after_l = dl[EFOLDS.index(EFOLDS[int(np.argmax(dl))]) :]
        per_time = dc[EFOLDS.index(0) :] / (t0 * np.exp(np.arange(0, EFOLDS[-1] + 1)) * (math.e - 1))
        checks += [
            holds(
                f"η_Z/η_Y = {ez}: the largest change of c per e-fold comes at or after t0 (k* = {k_star} >= 0)",
                k_star >= 0,
                details=" ".join(f"{x:.4f}" for x in dc),
            ),
            holds(
                f"η_Z/η_Y = {ez}: change of c per e-fold strictly decreasing after its peak (k = {k_star}..5)",
                bool(np.all(np.diff(after) < 0)),
            ),
            holds(
                f"η_Z/η_Y = {ez}: change of log η per e-fold strictly decreasing after its peak",
                bool(np.all(np.diff(after_l) < 0)),
                details=" ".join(f"{x:.4f}" for x in dl),
            ),
            holds(
                f"η_Z/η_Y = {ez}: change of c per unit time strictly decreasing over the e-folds after t0",
                bool(np.all(np.diff(per_time) < 0)),
                details=" ".join(f"{x:.2e}" for x in per_time),
            ),
            holds(
                f"η_Z/η_Y = {ez}: change of c per e-fold strictly increasing before its peak (from k = -2: the scan)",
                bool(np.all(np.diff(dc[: EFOLDS.index(k_star) + 1]) > 0)),
            ),
        ]
    checks.append(
        holds(
            f"peak e-fold k* moves later as η_Z/η_Y decreases over {FLOW_ETA_Z}",
            bool(np.all(np.diff(peaks) >= 0)) and peaks[-1] > peaks[0],
            details=f"k* = {peaks}",
        )
    )
    M, K = data.M, data.K
    tt = np.geomspace(0.1, t0 * np.exp(8), 4000)
    for C0 in (0.1, 1.0, 10.0):
        arg = [float(tt[np.argmax(dB_dlog_t(tt, M, K, 1.0, ez, C0))]) for ez in FLOW_ETA_Z]
        checks.append(
            holds(
                f"closed form (Theorem 4, C0 = {C0}): the peak of dB/d ln t moves later as η_Z decreases",
                bool(np.all(np.diff(arg) > 0)),
                details=" ".join(f"{a / t0:.2f} t0" for a in arg),
            )
        )
    # statistical: the population normaliser is the long-sequence limit of the DSF normaliser
    flow = flow_run(0.1)
    seqs, T = SIZES[tier].normaliser_sequences, SIZES[tier].normaliser_length
    seed = 21
    g = torch_generator(seed)
    batch = sample_batch(data, seqs, T, g)
    w = torch.exp(flow.Z[batch.query[:, None], batch.x])  # per-token feature values exp(z_{m x_t})
    eta = onehot_normaliser(flow.Z, batch.x, batch.query)[:, -1] / (T - 1)
    pop = population_normaliser(flow.zq[-1, 0, :], data)
    for n in range(data.K):
        sel = batch.cls == n
        est = float(eta[sel].mean())
        se = float(w[sel].std() / math.sqrt(int(sel.sum()) * (T - 1)))
        checks.append(
            statistical(
                f"class {n}: DSF normaliser η_T/(T-1) of sampled sequences (T-1 = {T - 1}) vs η̄_n at the "
                "end of the flow",
                est,
                float(pop[n]),
                se,
                n_trials=int(sel.sum()) * (T - 1),
                seed=seed,
            )
        )
    return checks


@control(
    "synthesis.snap-freezes-normaliser",
    "population normaliser with uniform token frequencies instead of P(l | n)",
)
def _normaliser_ignores_class_frequencies():
    def uniform(zq, data, kind="exp"):
        f = _ssd.feature(zq.to(F64), kind).mean(-1, keepdim=True)  # [..., 1]
        return f.expand(*f.shape[:-1], data.K)

    with mock.patch(f"{__name__}.population_normaliser", uniform):
        yield


@claim(
    "synthesis.linear-attention-lr-ratio",
    title="Linear-attention variant (elu+1 instead of exp): attention is still denser at η_Y/η_Z = 10 than at 1, "
    "but the gap is smaller than softmax's and the variant is less sparse",
    statement=r"H_{\rm lin}(10)-H_{\rm lin}(1)>0\ \text{(every seed, class)};\ "
    r"H_{\rm lin}(10)-H_{\rm lin}(1)<H_{\rm soft}(10)-H_{\rm soft}(1);\ H_{\rm lin}(1)>H_{\rm soft}(1)",
    source=f"tian2023scan, Fig. 4 configuration; {SRC_DSF}; katharopoulos2020transformers (elu+1); {OURS}",
    status_of_source="reconstructed",
    kinds=("numeric", "statistical"),
)
def _linear_variant_follows_the_lr_ratio(tier: str):
    data = syn_small()
    seeds = SIZES[tier].lr_seeds
    lin = {
        r: np.stack([feature_entropy_distinct(variant_run("elu1", r, s).Z, data).numpy() for s in seeds])
        for r in (1, 10)
    }
    soft = {r: np.stack([entropy_distinct(fig4_run(s, r).Z, data).numpy() for s in seeds]) for r in (1, 10)}
    gap_l, gap_s = lin[10] - lin[1], soft[10] - soft[1]  # [seeds, classes]
    n, sd = len(seeds), f"{seeds[0]}-{seeds[-1]}"
    return [
        holds(
            f"H_lin(10) - H_lin(1) > 0 for every seed ({sd}) and class",
            bool((gap_l > 0).all()),
            details=f"min {gap_l.min():.3f}, mean {gap_l.mean():.3f}",
        ),
        pvalue_rejected(
            "mean gap H_lin(10) - H_lin(1) > 0 (per-seed class means)",
            float(ttest_1samp(gap_l.mean(1), 0.0, alternative="greater").pvalue),
            0.01,
            test="one-sided one-sample t-test",
            n=n,
            seed=sd,
        ),
        pvalue_rejected(
            "linear gap < softmax gap (paired by seed; softmax runs = scansnap.fig4_run)",
            float(ttest_rel(gap_l.mean(1), gap_s.mean(1), alternative="less").pvalue),
            0.01,
            test="one-sided paired t-test",
            n=n,
            seed=sd,
        ),
        pvalue_rejected(
            "H_lin(1) > H_soft(1): the variant is less sparse at ratio 1 (paired by seed)",
            float(ttest_rel(lin[1].mean(1), soft[1].mean(1), alternative="greater").pvalue),
            0.01,
            test="one-sided paired t-test",
            n=n,
            seed=sd,
        ),
        holds(
            f"mean H_lin at ratio 10 below the zero-init entropy {ZERO_INIT_ENTROPY} (training still sparsifies)",
            bool(lin[10].mean() < ZERO_INIT_ENTROPY),
            details=f"{lin[10].mean():.3f}",
        ),
    ]


@control(
    "synthesis.linear-attention-lr-ratio",
    "linear variant trained at η_Y/η_Z = 1 for both ratios (the learning-rate ratio ignored)",
)
def _ratio_ignored():
    def at_ratio_one(kind, ratio, seed):
        return _experiments.variant_run(kind, 1, seed)

    with mock.patch(f"{__name__}.variant_run", at_ratio_one):
        yield
