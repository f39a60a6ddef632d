r"""Synthesis claims on the memory a DSF state holds (DSF view × associative-memory view), and the delta rule as an
Euler step (associative-memory view × stiffness view).

The connections are this book's reconstruction (see the book's Sources appendix), not statements of the papers.
Book: ``notebooks/90_synthesis``, section "The memory a DSF state holds".
"""

from __future__ import annotations

import math
from typing import Any
from unittest import mock

import numpy as np
import sympy as sp
import torch

from attnmath import dsf as _dsf
from attnmath import memory as _memory
from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.base.runtime import single_thread
from attnmath.claims import at_least, at_most, claim, close, control, holds, statistical, symbolic
from attnmath.dsf import deltanet_dsf, retnet_dsf
from attnmath.memory import (
    capacity_theory,
    decay_snr_theory,
    decayed_memory,
    decayed_recurrent,
    delta_rule_recurrent,
    hebbian_memory,
    hebbian_parallel,
    hebbian_recurrent,
    hopfield_error_bound,
    random_keys,
    random_values,
    ratio_of_means,
    relmse_theory,
    softmax_recall,
)
from attnmath.stiffness import euler_max_step, real_stability_boundary, stability_function_sympy

from ..experiments import softmax_capacities
from ..memory_states import (
    decayed_relmse_theory,
    dsf_recall,
    effective_load,
    memory_dsf,
    softmax_relmse,
    state_as_memory,
    state_recall_relmse,
)
from .sizes import SIZES

F64 = torch.float64
SRC_DSF = "sieber2024understanding, eq. (11) (the DSF)"
SRC_MEM = "qiao2025pavlovian, abstract"
OURS = "connection reconstructed in this book; see the book's Sources appendix"


def _randn(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=F64)


@claim(
    "synthesis.write-is-hebbian",
    title="The DSF write B_i u_i of unnormalised linear attention is the Hebbian outer product; the state is the memory",
    statement=r"B_iu_i=(I_{d_v}\otimes k_i)v_i=\mathrm{vec}(k_iv_i^\top),\quad h_i=\mathrm{vec}(M_i^\top),\ "
    r"M_i=\sum_{t\le i}v_tk_t^\top,\quad y_i=C_ih_i=M_iq_i",
    source=f"{SRC_DSF}; {SRC_MEM} (attention builds a transient Hebbian memory); schmidhuber1992learning (fast weights); "
    f"{OURS}",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _dsf_write_is_the_hebbian_write(tier: str):
    n, d = 3, 2
    psi = sp.Matrix(sp.symbols(f"psi1:{n + 1}"))
    phi = sp.Matrix(sp.symbols(f"phi1:{n + 1}"))
    v = sp.Matrix(sp.symbols(f"v1:{d + 1}"))
    S = sp.Matrix(n, d, sp.symbols(f"s1:{n * d + 1}"))
    checks = [
        symbolic(
            "(I_d ⊗ ψ) v - vec(ψ vᵀ) (column-major, n=3, d=2)",
            sp.kronecker_product(sp.eye(d), psi) * v - (psi * v.T).vec(),
        ),
        symbolic(
            "(I_d ⊗ φᵀ) vec(S) - Sᵀ φ: the read C_i h_i is M q",
            sp.kronecker_product(sp.eye(d), phi.T) * S.vec() - S.T * phi,
        ),
    ]
    size = SIZES[tier]
    B, L, dk, dv = size.hebbian_batch, size.hebbian_length, size.hebbian_d_k, size.hebbian_d_v
    g = torch_generator(0)
    q, k, v = _randn(g, B, L, dk), _randn(g, B, L, dk), _randn(g, B, L, dv)
    dsf = retnet_dsf(q, k, v, 1.0, scale=1.0)  # Λ = I: unnormalised linear attention
    y, H = dsf.recurrent(v, return_state=True)
    writes = state_as_memory((dsf.B @ v[..., None])[..., 0], dk, dv)
    prefix = torch.stack([hebbian_memory(k[:, : i + 1], v[:, : i + 1]) for i in range(L)], dim=1)
    o_rec, M_last = hebbian_recurrent(q, k, v)
    tol = L * 8 * F64_EPS * 10  # sums of <= L products of O(1) Gaussians (|x| < 5): L eps x 80
    reason = f"float64 roundoff of sums of <= {L} products of standard normals: {L} x 80 eps"
    checks += [
        close(
            "every write B_i v_i, read as a memory, vs v_i k_iᵀ",
            writes,
            v[..., :, None] * k[..., None, :],
            atol=0.0,
            reason="exact: the Kronecker factor multiplies by 1 and adds zeros",
        ),
        close(
            f"every DSF state h_i vs the Hebbian memory of the first i pairs (L={L})",
            state_as_memory(H, dk, dv),
            prefix,
            atol=tol,
            reason=reason,
        ),
        close(
            "final state vs memory.hebbian_recurrent's M_L",
            state_as_memory(H[:, -1], dk, dv),
            M_last,
            atol=tol,
            reason=reason,
        ),
        close(
            "DSF outputs y_i vs the fast-weight outputs M_i q_i",
            y,
            o_rec,
            atol=tol * dk,
            reason=reason + f" x d_k={dk}",
        ),
        close(
            "DSF outputs vs the parallel form tril(QKᵀ)V",
            y,
            hebbian_parallel(q, k, v),
            atol=tol * dk,
            reason=reason + f" x d_k={dk}",
        ),
    ]
    return checks


@control("synthesis.write-is-hebbian", "transition Λ = 0.99 I instead of I (the state forgets: not the Hebbian sum)")
def _forgetting_transition():
    def leaky(q, k, v, gamma, scale=None):
        return _dsf.retnet_dsf(q, k, v, 0.99 * gamma, scale=scale)

    with mock.patch(f"{__name__}.retnet_dsf", leaky):
        yield


@claim(
    "synthesis.decay-is-forgetting",
    title="The RetNet/Mamba-2 transition Λ = γI is the memory chapter's forgetting: an item of age s keeps γ^s, "
    "the effective load is 1/(1-γ²)",
    statement=r"\Lambda_i=\gamma I\Rightarrow h_T=\mathrm{vec}\big(\textstyle\sum_i\gamma^{T-1-i}k_iv_i^\top\big),\quad "
    r"\mathrm{SNR}_s=\frac{\gamma^{2s}d_k}{N_{\rm eff}-\gamma^{2s}},\ N_{\rm eff}=\frac{1-\gamma^{2T}}{1-\gamma^2}\to\frac1{1-\gamma^2}",
    source=f"{SRC_DSF}, Λ_i read as decay; {SRC_MEM}; the decayed memory's SNR is classical; {OURS}",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric", "statistical"),
)
@single_thread()
def _decay_transition_is_forgetting(tier: str):
    gm, Tsym = sp.symbols("gamma", positive=True), sp.symbols("T", integer=True, positive=True)
    a = sp.Symbol("a", integer=True, nonnegative=True)
    n_eff = sp.summation(gm ** (2 * a), (a, 0, Tsym - 1))
    x = sp.Symbol("x", positive=True)  # gamma = 1/(1+x) ranges over (0, 1)
    gx = 1 / (1 + x)
    checks = [
        symbolic(
            "(1-γ²) Σ_{a<T} γ^(2a) - (1-γ^(2T)): N_eff in closed form", n_eff * (1 - gm**2) - (1 - gm ** (2 * Tsym))
        ),
        symbolic(
            "lim_{T→∞} (1-γ^(2T))/(1-γ²) - 1/(1-γ²) for every γ = 1/(1+x) in (0, 1)",
            sp.limit((1 - gx ** (2 * Tsym)) / (1 - gx**2), Tsym, sp.oo) - 1 / (1 - gx**2),
        ),
    ]
    g = torch_generator(1)
    B, L, dk, dv, gamma = 2, 30, 6, 3, 0.9
    q, k, v = _randn(g, B, L, dk), _randn(g, B, L, dk), _randn(g, B, L, dv)
    y, H = retnet_dsf(q, k, v, gamma, scale=1.0).recurrent(v, return_state=True)
    o_dec, M_dec = decayed_recurrent(q, k, v, gamma)
    prefix = torch.stack([decayed_memory(k[:, : i + 1], v[:, : i + 1], gamma) for i in range(L)], dim=1)
    tol = L * 80 * F64_EPS
    reason = f"float64 roundoff of <= {L} scaled products of standard normals: {L} x 80 eps"
    kk, vv = random_keys(L, dk, batch=(B,), generator=g), random_values(L, dv, batch=(B,), generator=g)
    _, H2 = memory_dsf(kk, vv, "mamba2", gamma=gamma, dt=0.25).recurrent(vv[..., None, :, :], return_state=True)
    _, H1 = memory_dsf(kk, vv, "retnet", gamma=gamma).recurrent(vv, return_state=True)
    checks += [
        close(
            "RetNet DSF states vs the decayed memory Σ γ^(i-t) v_t k_tᵀ of every prefix",
            state_as_memory(H, dk, dv),
            prefix,
            atol=tol,
            reason=reason,
        ),
        close(
            "final state vs memory.decayed_recurrent's M_T",
            state_as_memory(H[:, -1], dk, dv),
            M_dec,
            atol=tol,
            reason=reason,
        ),
        close("outputs vs memory.decayed_recurrent's outputs", y, o_dec, atol=tol * dk, reason=reason + f" x d_k={dk}"),
        close(
            "Mamba-2 (scalar a = ln γ/Δ, Δ = 1/4): state = Δ × RetNet state",
            H2[:, 0] / 0.25,
            H1,
            atol=tol,
            reason=reason + "; exp(Δ a) = γ to 1 ulp",
        ),
    ]
    for T, s in ((50, 0), (50, 7), (200, 0)):
        checks.append(
            close(
                f"1/SNR_s (memory.decay_snr_theory) = (N_eff - γ^2s)/(γ^2s d_k), γ=0.9, T={T}, s={s}",
                1.0 / decay_snr_theory(gamma, 32, T, s),
                (effective_load(gamma, T) - gamma ** (2 * s)) / (gamma ** (2 * s) * 32),
                atol=1e-13,
                reason="float64 geometric sums of <= 200 terms",
            )
        )
    # statistical: recall from the DSF's final state on one associative-recall task
    T, dk, dv = 50, 32, 4
    trials, seed = SIZES[tier].forgetting_trials, 3
    gk = torch_generator(seed)
    K = random_keys(T, dk, batch=(trials,), generator=gk)
    Vv = random_values(T, dv, batch=(trials,), generator=gk)
    rec = dsf_recall(K, Vv, "retnet", gamma=gamma, chunk=250)
    for s in (0, 5, 20):
        j = T - 1 - s
        signal = gamma**s * Vv[:, j]  # ||k_j|| = 1
        snr, se = ratio_of_means((signal**2).sum(-1), ((rec[:, j] - signal) ** 2).sum(-1))
        checks.append(
            statistical(
                f"SNR of the item of age s={s} read from the DSF state (γ=0.9, T={T}, d_k={dk})",
                snr,
                decay_snr_theory(gamma, dk, T, s),
                se,
                n_trials=trials,
                seed=seed,
            )
        )
    noise, energy = ((rec[:, -1] - Vv[:, -1]) ** 2).sum(-1), (Vv[:, -1] ** 2).sum(-1)
    r, se = ratio_of_means(noise, energy)
    checks.append(
        statistical(
            f"effective load 1 + d_k relMSE(age 0) vs N_eff = {effective_load(gamma, T):.4f}",
            1 + dk * r,
            effective_load(gamma, T),
            dk * se,
            n_trials=trials,
            seed=seed,
        )
    )
    return checks


@control("synthesis.decay-is-forgetting", "RetNet transition γ² I instead of γ I (items forget twice as fast)")
def _decay_squared():
    def squared(q, k, v, gamma, scale=None):
        return _dsf.retnet_dsf(q, k, v, gamma**2, scale=scale)

    with mock.patch(f"{__name__}.retnet_dsf", squared):
        yield


@control("synthesis.decay-is-forgetting", "SNR law without the item's own term: γ^2s d_k / N_eff")
def _snr_without_self_term():
    def snr(gamma, d_k, T, s):
        return gamma ** (2 * s) * d_k / effective_load(gamma, T)

    with mock.patch(f"{__name__}.decay_snr_theory", snr):
        yield


THREE_TASK: dict[str, Any] = {"d_k": 32, "d_v": 4, "ns": (8, 16, 32), "gamma": 0.9, "seed": 0}


@claim(
    "synthesis.three-states-one-task",
    title="One associative-recall task, three DSF states: linear (N-1)/d_k, decayed as the decay formula, "
    "delta rule exact on the last write and below Hebbian",
    statement=r"\mathrm{relMSE}_{\Lambda=I}=\tfrac{N-1}{d_k},\ \ \mathrm{relMSE}_{\Lambda=\gamma I}=\tfrac1N\sum_s\big[(1-\gamma^s)^2+"
    r"\gamma^{2s}/\mathrm{SNR}_s\big],\ \ \Lambda_i=I-k_ik_i^\top:\ M_Nk_N=v_N,\ \mathrm{relMSE}_\delta<\mathrm{relMSE}_{I}\ (N\le d_k)",
    source=f"{SRC_DSF}; {SRC_MEM} (capacity O(d_k)); schlag2021linear (delta rule); the relMSE laws are classical; "
    f"{OURS}",
    status_of_source="reconstructed",
    kinds=("numeric", "statistical"),
)
@single_thread()
def _three_states_on_one_recall_task(tier: str):
    p = THREE_TASK
    dk, dv, gamma, seed = p["d_k"], p["d_v"], p["gamma"], p["seed"]
    trials = SIZES[tier].three_states_trials
    checks = []
    for n in p["ns"]:
        lin, se_l = state_recall_relmse("linear", n, dk, dv, trials=trials, seed=seed)
        dec, se_d = state_recall_relmse("retnet", n, dk, dv, trials=trials, seed=seed, gamma=gamma)
        dlt, se_t = state_recall_relmse("deltanet", n, dk, dv, trials=trials, seed=seed, beta=1.0)
        checks += [
            statistical(
                f"N={n}: linear-attention state (Λ = I) vs (N-1)/d_k",
                lin,
                relmse_theory(n, dk),
                se_l,
                n_trials=trials,
                seed=seed,
            ),
            statistical(
                f"N={n}: RetNet state (Λ = 0.9 I) vs the decay formula",
                dec,
                decayed_relmse_theory(gamma, dk, n),
                se_d,
                n_trials=trials,
                seed=seed,
            ),
            at_least(
                f"N={n} <= d_k: (Hebbian - delta rule) relMSE in units of the combined SE",
                (lin - dlt) / math.hypot(se_l, se_t),
                4.0,
                kind="statistical",
                reason=f"4 sigma of the combined delta-method SE ({trials} trials, seed {seed}; same pairs for both)",
            ),
        ]
    g = torch_generator(seed)
    K, Vv = random_keys(32, dk, batch=(50,), generator=g), random_values(32, dv, batch=(50,), generator=g)
    rec = dsf_recall(K, Vv, "deltanet", beta=1.0)
    _, M_ref = delta_rule_recurrent(K, K, Vv, 1.0)
    checks += [
        close(
            "delta rule (β=1, unit keys): last write recalled exactly from the DSF state, 50 tasks of N = d_k = 32",
            rec[:, -1],
            Vv[:, -1],
            atol=1e-13,
            reason="float64 roundoff of |k|² = 1 and of 32 dplr updates",
        ),
        close(
            "DeltaNet DSF recall vs memory.delta_rule_recurrent's memory",
            rec,
            K @ M_ref.transpose(-1, -2),
            atol=1e-13,
            reason="float64 roundoff of 32 rank-d_v updates",
        ),
    ]
    return checks


@control("synthesis.three-states-one-task", "crosstalk counted over all N items: relMSE N/d_k instead of (N-1)/d_k")
def _crosstalk_off_by_one():
    with mock.patch(f"{__name__}.relmse_theory", lambda n, d_k, kind="unit": n / d_k):
        yield


CROSS: dict[str, Any] = {"d_k": 16, "eps": 0.5, "d_ks": (4, 6, 8, 10), "seed": 0}


@claim(
    "synthesis.softmax-infinite-state-crossover",
    title="Softmax (the infinite-state DSF, one Hopfield step) keeps recall below ε far past the finite state's "
    "crossover N ≈ 1 + ε² d_k; its capacity grows exponentially in d_k",
    statement=r"\mathrm{relMSE}_{\rm lin}(N)=\tfrac{N-1}{d_k}\ \text{crosses}\ \varepsilon^2\ \text{at}\ N=1+\varepsilon^2d_k;\ "
    r"\mathrm{relMSE}_{\rm softmax}(N)\le\varepsilon^2\ \text{for}\ N\gg1+\varepsilon^2d_k;\ \ln N^\star_{\rm softmax}\propto d_k\ (\beta=d_k)",
    source=f"ramsauer2021hopfield (one update); sieber2024understanding, Lemma 1 (§3.2.1: softmax attention has an "
    f"infinite-dimensional feature map); {SRC_MEM}; {OURS}",
    status_of_source="reconstructed",
    kinds=("numeric", "statistical"),
)
@single_thread()
def _softmax_recall_beyond_the_linear_crossover(tier: str):
    dk, eps, seed = CROSS["d_k"], CROSS["eps"], CROSS["seed"]
    trials = SIZES[tier].crossover_trials
    n_lin = capacity_theory(dk, eps)  # 1 + eps^2 d_k = 5
    checks = []
    for n in (3, 5, 9):
        r, se = state_recall_relmse("linear", n, dk, 8, trials=trials, seed=seed)
        checks.append(
            statistical(
                f"linear state, N={n} (crossover at 1 + ε² d_k = {n_lin:g}): relMSE vs (N-1)/d_k",
                r,
                relmse_theory(n, dk),
                se,
                n_trials=trials,
                seed=seed,
            )
        )
    far = 20 * int(n_lin)
    soft, _ = softmax_relmse(dk, [far], float(dk), trials=8, seed=seed)
    checks.append(
        at_most(
            f"softmax (β = d_k = {dk}) relMSE at N = {far} = 20 x the linear crossover",
            float(soft[0]),
            eps**2 / 100,
            reason="two orders of magnitude below the fidelity ε² (measured 1.2e-4, 8 trials, seed 0)",
        )
    )
    g = torch_generator(seed)
    K, Vv = random_keys(far, dk, generator=g), random_values(far, 8, generator=g)
    err = (softmax_recall(K, Vv, K, float(dk)) - Vv).norm(dim=-1)
    checks.append(
        holds(
            f"per-item error <= memory.hopfield_error_bound on the same N={far} pairs",
            bool((err <= hopfield_error_bound(K, Vv, float(dk)) * (1 + 1e-9) + 1e-15).all()),
            details=f"worst error {float(err.max()):.2e}",
        )
    )
    caps = softmax_capacities(CROSS["d_ks"], eps, SIZES[tier].capacity_trials, seed)
    d_ks = np.array(CROSS["d_ks"], dtype=float)
    slope = float(np.polyfit(d_ks, np.log(caps), 1)[0])
    lin_caps = np.array([capacity_theory(int(d), eps) for d in d_ks])
    checks += [
        at_least(
            f"softmax capacity N*(d_k) at d_k = {CROSS['d_ks']}: least-squares slope of ln N* per unit d_k",
            slope,
            0.5,
            reason="exponential growth; measured 0.69 (8 trials, seed 0); the linear N* = 1 + d_k/4 has slope "
            "d(ln N*)/d d_k <= 0.25/2 = 0.125 here",
        ),
        holds(
            "softmax N* grows by a factor >= 3 per +2 in d_k",
            bool(np.all(caps[1:] / caps[:-1] >= 3.0)),
            details=" ".join(str(int(c)) for c in caps),
        ),
        holds(
            "softmax N* exceeds the linear N* = 1 + ε² d_k by a growing factor",
            bool(np.all(np.diff(caps / lin_caps) > 0)),
            details=" ".join(f"{c:.1f}" for c in caps / lin_caps),
        ),
    ]
    return checks


@control("synthesis.softmax-infinite-state-crossover", "softmax read at inverse temperature β = 1 instead of β = d_k")
def _softmax_at_unit_temperature():
    def cold(keys, values, queries, beta):
        return _memory.softmax_recall(keys, values, queries, 1.0)

    with mock.patch(f"{__name__}.softmax_recall", cold):
        yield


@claim(
    "synthesis.delta-rule-is-euler-step",
    title="The delta rule is one explicit Euler step of size β on the recall loss: DeltaNet's Λ has eigenvalue "
    "R_Euler(-β‖k‖²), stable iff β < 2/‖k‖²; β = 1/‖k‖² is the exact overwrite",
    statement=r"M^+=M-\beta\nabla_M\tfrac12\lVert Mk-v\rVert^2,\quad (I-\beta kk^\top)k=R_{\rm Euler}(-\beta\lVert k\rVert^2)\,k,"
    r"\quad |1-\beta\lVert k\rVert^2|<1\iff\beta<2/\lVert k\rVert^2",
    source=f"widrow1960adaptive; schlag2021linear; {SRC_MEM}; huang2023understanding (residual blocks as Euler steps); "
    f"Euler's stability interval is classical; {OURS}",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric"),
)
def _delta_rule_is_an_euler_step(tier: str):
    beta = sp.Symbol("beta", positive=True)
    k = sp.Matrix(sp.symbols("k1:3", real=True))
    v = sp.Matrix(sp.symbols("v1:3", real=True))
    M = sp.Matrix(2, 2, sp.symbols("m1:5", real=True))
    loss = ((M * k - v).T * (M * k - v))[0] / 2
    grad = sp.Matrix(2, 2, lambda i, j: sp.diff(loss, M[i, j]))
    z = sp.Symbol("z")
    R = stability_function_sympy("euler", z)
    kk = (k.T * k)[0]
    perp = sp.Matrix([-k[1], k[0]])
    checks = [
        symbolic("-∇_M ½‖Mk - v‖² - (v - Mk)kᵀ (the delta rule's increment / β)", -grad - (v - M * k) * k.T),
        symbolic("(I - β k kᵀ) k - R_Euler(-β‖k‖²) k", (sp.eye(2) - beta * k * k.T) * k - R.subs(z, -beta * kk) * k),
        symbolic(
            "(I - β k kᵀ) k⊥ - R_Euler(0) k⊥ (no change orthogonal to k)",
            (sp.eye(2) - beta * k * k.T) * perp - R.subs(z, 0) * perp,
        ),
    ]
    g = torch_generator(7)
    L, dk, dv = 6, 5, 2
    kx, vx = _randn(g, L, dk), _randn(g, L, dv)
    betas = 0.3 + 1.5 * torch.rand(L, generator=g, dtype=F64)
    eig = deltanet_dsf(kx, kx, vx, betas, scale=1.0).eigenvalues()  # [L, dk dv], complex
    nk2 = (kx**2).sum(-1)
    want = torch.cat([(1 - betas * nk2)[:, None].expand(L, dv), torch.ones(L, (dk - 1) * dv, dtype=F64)], dim=1)
    checks += [
        close(
            "DeltaNet DSF: sorted eigenvalues of Λ_i vs {1 - β_i‖k_i‖² (×d_v), 1 (×(d_k-1)d_v)}",
            torch.sort(eig.real, dim=-1).values,
            torch.sort(want, dim=-1).values,
            atol=1e-12,
            reason="LAPACK eigvals of a 10x10 dplr matrix: ~100 eps x condition",
        ),
        at_most(
            "max |imaginary part| of those eigenvalues",
            float(eig.imag.abs().max()),
            1e-12,
            reason="the dplr matrix is symmetric (I - β k kᵀ per value channel): real spectrum up to LAPACK roundoff",
        ),
        close(
            "stiffness chapter: real_stability_boundary('euler') gives β_max = 2/‖k‖² = euler_max_step(-‖k‖²)",
            -real_stability_boundary("euler") / nk2.numpy(),
            euler_max_step(-nk2.numpy()).real,
            atol=1e-12,
            reason="brentq xtol 1e-15 on the boundary -2, divided by ‖k‖² ~ 5",
        ),
    ]
    k1 = kx[0:1]
    b_max = 2.0 / float(nk2[0])
    reps = 200
    for factor, converge in ((0.9, True), (1.1, False)):
        kr, vr = k1.expand(reps, dk), vx[0:1].expand(reps, dv)
        _, Mr = delta_rule_recurrent(kr, kr, vr, factor * b_max)
        resid = float((Mr @ k1[0] - vx[0]).norm())
        if converge:
            checks.append(
                at_most(
                    f"{reps} writes of one pair at β = {factor} x 2/‖k‖²: |M k - v|",
                    resid,
                    1e-8,
                    reason=f"contraction |1 - β‖k‖²| = {abs(1 - 2 * factor):.1f} per write: "
                    f"{abs(1 - 2 * factor):.1f}^{reps} < 1e-8",
                )
            )
        else:
            checks.append(
                at_least(
                    f"{reps} writes at β = {factor} x 2/‖k‖²: |M k - v| (Euler-unstable)",
                    resid,
                    1e6,
                    reason=f"|1 - β‖k‖²| = {abs(1 - 2 * factor):.1f} > 1: growth 1.2^{reps} ~ 7e15",
                )
            )
    _, M1 = delta_rule_recurrent(k1, k1, vx[0:1], 1.0 / float(nk2[0]))
    checks.append(
        close(
            "β = 1/‖k‖² (eigenvalue R = 0, the exact step): one write recalls v exactly",
            M1 @ k1[0],
            vx[0],
            atol=1e-14,
            reason="float64 roundoff of one rank-one update",
        )
    )
    return checks


@control("synthesis.delta-rule-is-euler-step", "delta rule that writes with step β/2 (half the Euler step)")
def _half_step_delta_rule():
    def half(q, k, v, beta, **kw):
        return _memory.delta_rule_recurrent(q, k, v, beta / 2, **kw)

    with mock.patch(f"{__name__}.delta_rule_recurrent", half):
        yield
