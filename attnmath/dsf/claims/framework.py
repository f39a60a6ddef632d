"""Claims about the DSF object itself: the convolutional form, the chunked scan, the Hankel rank bound, warped time."""

from __future__ import annotations

import math
from unittest import mock

import torch

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_most, claim, close, control, holds, rel_close, symbolic

from .. import scan
from .. import symbolic as S
from ..analysis import hankel_ranks, softmax_hankel_rank
from ..core import DSF, STRUCTURES
from ..sampling import rand, randn, random_dsf
from .sizes import SIZES
from .tolerances import REASON_IDENTITY, TOL_IDENTITY

_SRC = "sieber2024understanding"
_SOURCES = "see the book's Sources appendix"


@claim(
    "dsf.convolutional-form",
    title="The DSF recurrence equals y = Φu with Φ_ij = C_i Λ_i⋯Λ_{j+1} B_j (any structure)",
    statement=r"h_i=\Lambda_ih_{i-1}+B_iu_i,\ y_i=C_ih_i+D_iu_i\ \Longleftrightarrow\ y=\Phi u,\ "
    r"\Phi_{ij}=C_i\Lambda_i\cdots\Lambda_{j+1}B_j\ (j<i),\ \Phi_{ii}=C_iB_i+D_i",
    source=f"{_SRC} eqs. (11)-(12) (the DSF and its convolution kernel Φ); the proof for every structure "
    f"is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _loop_equals_convolution(tier: str):
    checks = [
        symbolic("loop minus Φu at L=3, dense 2x2 Λ_i, d=1 (sympy expand)", S.convolutional_form_difference(3, 2))
    ]
    L = SIZES[tier].convolutional_form_length
    for seed, structure in enumerate(STRUCTURES):
        dsf = random_dsf(structure, L=L, N=4, d=3, p=2, batch=(2,), seed=seed)
        u = randn(torch_generator(100 + seed), 2, L, 3)
        y = dsf.recurrent(u)
        checks.append(
            rel_close(
                f"{structure}: parallel Φu vs loop", dsf.parallel(u), y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY
            )
        )
        y_mat = (dsf.matrix() @ u.reshape(2, -1, 1)).reshape(2, L, 2)
        checks.append(
            rel_close(f"{structure}: matrix() @ vec(u) vs loop", y_mat, y, rtol=TOL_IDENTITY, reason=REASON_IDENTITY)
        )
    return checks


@control("dsf.convolutional-form", "Φ without the feedthrough D_i on its diagonal blocks (parallel form drops D_i u_i)")
def _phi_without_feedthrough():
    parallel = DSF.parallel

    def without_d(self, u):
        y = parallel(self, u)
        return y if self.D is None else y - (self.D @ u[..., None])[..., 0]

    with mock.patch.object(DSF, "parallel", without_d):
        yield


@claim(
    "dsf.chunked-equals-recurrent",
    title="The O(L) chunked scan equals the loop for scalar and diagonal Λ, without exp of large positive numbers",
    statement=r"h_i=\sum_{j=0}^{i}\Lambda_{i:j}x_j\ \text{per chunk},\ \Lambda_{i:j}=\exp\Big(\sum_{l=j+1}^{i}\log|\lambda_l|\Big)\,\mathrm{sign}",
    source=f"{_SRC} eq. (11); dao2024transformers (segsum); the log-space chunked form and its tolerances "
    f"are ours, measured here ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _chunked_scan_equals_loop(tier: str):
    L = SIZES[tier].chunked_length
    checks = []
    cases = [
        ("scalar", (0.2, 0.99)),
        ("diagonal", (0.2, 0.99)),
        ("diagonal", (-0.99, 0.99)),  # negative transitions (sign parity)
        ("scalar", (0.5, 1.5)),  # Λ > 1, as in recurrent normalisation
    ]
    for seed, (structure, lam_range) in enumerate(cases):
        dsf = random_dsf(structure, L=L, N=5, d=3, batch=(2,), lam_range=lam_range, seed=seed)
        u = randn(torch_generator(200 + seed), 2, L, 3)
        y = dsf.recurrent(u)
        for chunk_size in (1, 7, 16, L + 3):
            checks.append(
                rel_close(
                    f"{structure} λ∈{lam_range}, chunk={chunk_size}",
                    dsf.chunked(u, chunk_size),
                    y,
                    rtol=TOL_IDENTITY,
                    reason=REASON_IDENTITY,
                )
            )
    # resets: exact zeros of Λ (log 0 = -inf must give exact zeros, not NaN)
    base = random_dsf("diagonal", L=L, N=4, d=2, seed=9)
    lam = base.lam.clone()
    lam[L // 3, :] = 0.0
    dsf = DSF(lam, base.B, base.C, base.D, structure="diagonal")
    u = randn(torch_generator(300), L, 2)
    checks.append(
        rel_close(
            "exact zeros (resets), chunk=8",
            dsf.chunked(u, 8),
            dsf.recurrent(u),
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        )
    )
    # strong decay: cumulative log-decay far below -745 (exp underflow) and its negative far above +709 (overflow)
    g = torch_generator(301)
    loglam = -2.0 - 6.0 * rand(g, 256, 3)
    strong = DSF(torch.exp(loglam), randn(g, 256, 3, 2), randn(g, 256, 1, 3), structure="diagonal")
    u = randn(g, 256, 2)
    y_rec = strong.recurrent(u)
    y_chk = strong.chunked(u, 32)
    checks.append(
        rel_close(
            "strong decay (cumulative log-decay ~ -1300), chunk=32",
            y_chk,
            y_rec,
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        )
    )
    b = loglam.cumsum(0)
    naive = torch.exp(b) * torch.cumsum(torch.exp(-b) * (strong.B @ u[..., None])[..., 0], 0)
    checks.append(
        holds(
            "the factorised form e^{b_i} Σ_j e^{-b_j} x_j overflows here (so it is never used)",
            not bool(torch.isfinite(naive).all()),
            details=f"min cumulative log-decay {b.min().item():.0f}",
        )
    )
    return checks


@control("dsf.chunked-equals-recurrent", "the log-space scan forgets the sign of negative transitions (uses |λ|)")
def _scan_without_sign_parity():
    def no_negatives(lam):
        return torch.log(lam.abs()), None

    with mock.patch.object(scan, "_log_abs_and_negatives", no_negatives):
        yield


@claim(
    "dsf.hankel-rank-bound",
    title="Every Hankel block of a DSF with state N has rank ≤ N; softmax score blocks exceed any fixed N",
    statement=r"\operatorname{rank}\Phi[i>t,\,j\le t]\le N;\quad \operatorname{rank}\big[e^{q_i^\top k_j/\sqrt m}/\eta_i\big]_{i>t,\,j\le t}>N\ \text{once}\ L/2>N",
    source=f"{_SRC} Lemma 1 (§3.2.1: softmax attention's state is infinite-dimensional); the Hankel rank "
    f"bound is reconstructed ({_SOURCES}); dao2024transformers (semiseparable rank)",
    status_of_source="reconstructed",
    kinds=("numeric",),
)
def _hankel_rank_at_most_state_size(tier: str):
    size = SIZES[tier]
    L = size.hankel_length
    checks = []
    for seed, structure in enumerate(STRUCTURES):
        N = 3
        dsf = random_dsf(structure, L=L, N=N, d=2, p=2, seed=20 + seed)
        ranks = hankel_ranks(dsf, rtol=1e-10)
        checks.append(
            at_most(
                f"{structure}: max Hankel rank (N={N}, d=p=2, rtol 1e-10)",
                max(ranks),
                N,
                reason="rank of a product through h_t in R^N",
            )
        )
        checks.append(
            holds(
                f"{structure}: the bound N is attained for a middle t", ranks[L // 2 - 1] == N, details=f"ranks {ranks}"
            )
        )
    Lsm, m, N = size.hankel_softmax
    g = torch_generator(30)
    q, k = randn(g, Lsm, m), randn(g, Lsm, m)
    r = softmax_hankel_rank(q, k, Lsm // 2, rtol=1e-10)
    checks.append(
        holds(
            f"softmax score block at t=L/2, L={Lsm}, m={m}: rank {r} > N={N} (rtol 1e-10)", r > N, details=f"rank {r}"
        )
    )
    return checks


@control("dsf.hankel-rank-bound", "the random DSFs have state N + 1 while the bound is asserted for N")
def _state_one_larger():
    make = random_dsf

    def larger(structure, *, N, **kw):
        return make(structure, N=N + 1, **kw)

    with mock.patch(f"{__name__}.random_dsf", larger):
        yield


@claim(
    "dsf.warped-time",
    title="For a scalar A, S6-type transitions are an LTI kernel in the warped time t_i = Σ Δ_l",
    statement=r"\prod_{l=j+1}^{i}e^{a\Delta_l}=e^{a(t_i-t_j)},\qquad t_i=\sum_{l\le i}\Delta_l",
    source=f"{_SRC} eq. (19) (S6 in the DSF); reading Δ as an input-dependent step is reconstructed ({_SOURCES})",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _warped_time_kernel(tier: str):
    L = SIZES[tier].warped_length
    g = torch_generator(40)
    a = -0.7
    delta = 0.01 + rand(g, L)
    t = delta.cumsum(0)
    dsf = DSF(torch.exp(a * delta), randn(g, L, 2, 1), randn(g, L, 1, 2), structure="scalar")
    kernel = torch.exp(a * (t[:, None] - t[None, :]).clamp(min=0)) * torch.ones(L, L, dtype=torch.float64).tril()
    return [
        symbolic("prod exp(a Δ_l) - exp(a (t_i - t_j)), L=3, all j<i", S.warped_time_difference(3)),
        close(
            f"Λ_(i:j) from the DSF vs e^(a(t_i-t_j)), L={L}",
            dsf.transition_products(),
            kernel,
            atol=64 * F64_EPS,
            reason="float64 exp of a sum of <= L terms of size <= 1: 64 eps",
        ),
        holds(
            "warped time grows strictly (Δ > 0)",
            bool((delta > 0).all()),
            details=f"t_L = {t[-1].item():.3f}, a t_L = {a * t[-1].item():.3f}",
        ),
        holds("the kernel is finite and ≤ 1", bool((kernel <= 1).all()) and math.isfinite(float(kernel.sum()))),
    ]


@control("dsf.warped-time", "transition products that include Λ_j (Λ_i⋯Λ_j instead of Λ_i⋯Λ_(j+1))")
def _products_include_lambda_j():
    products = DSF.transition_products

    def off_by_one(self):
        return products(self) * self.lam[..., None, :]

    with mock.patch.object(DSF, "transition_products", off_by_one):
        yield
