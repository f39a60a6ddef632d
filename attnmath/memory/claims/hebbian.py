"""Claims on the Hebbian memory itself: fast weights, signal and crosstalk, exact capacity :math:`d_k`.

Book: ``notebooks/30_pavlovian_memory``, sections "The mapping" and "Signal and crosstalk". The mapping
and the Hebbian reading are stated in the abstract of qiao2025pavlovian; the algebra is classical
(see the book's Sources appendix).
"""

from __future__ import annotations

from unittest import mock

import sympy as sp
import torch

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_least, at_most, claim, close, control, holds, statistical, symbolic

from .. import capacity as C
from .. import hebbian as Hb
from ..hebbian import (
    hebbian_memory,
    hebbian_parallel,
    hebbian_recurrent,
    least_squares_residual,
    retrieve,
    signal_crosstalk,
)
from .sizes import SIZES

F64 = torch.float64


@claim(
    "memory.hebbian-fast-weights",
    title="Linear attention is a Hebbian fast-weight memory (keys = CS, values = US, queries = test stimuli)",
    statement=r"\mathrm{tril}(QK^\top)V = (M_tq_t)_t,\quad M_t=M_{t-1}+v_tk_t^\top,\ M_0=0",
    source="qiao2025pavlovian, abstract (queries = test stimuli, keys = CS, values = US; "
    "attention builds a Hebbian associative memory)",
    status_of_source="stated",
    kinds=("symbolic", "numeric"),
)
def _linear_attention_is_hebbian_fast_weights(tier: str):
    # symbolic: o_2 of the recurrence equals the masked product for T = 2, d = 2
    k1, k2, q2, v1, v2 = (sp.Matrix(sp.symbols(f"{n}1:3", real=True)) for n in ("k", "kk", "q", "v", "vv"))
    M2 = v1 * k1.T + v2 * k2.T
    checks = [
        symbolic("M_2 q_2 - [v_1 (k_1.q_2) + v_2 (k_2.q_2)], T=2, d=2", M2 * q2 - (v1 * k1.dot(q2) + v2 * k2.dot(q2)))
    ]
    B, H, T, dk, dv = SIZES[tier].fast_weights_shape
    atol = max(1e-12, 16 * T * dk * F64_EPS)
    for seed in (0, 1, 2):
        g = torch_generator(seed)
        q, k = (torch.randn(B, H, T, dk, generator=g, dtype=F64) for _ in range(2))
        v = torch.randn(B, H, T, dv, generator=g, dtype=F64)
        o_rec, M = hebbian_recurrent(q, k, v)
        reason = f"float64 roundoff x T: max(1e-12, 16 T d_k eps) (measured here: 7e-15); seed {seed}"
        checks.append(
            close(
                f"tril(QK^T)V vs recurrence, [B,H,T,d_k,d_v]=[{B},{H},{T},{dk},{dv}], seed {seed}",
                hebbian_parallel(q, k, v),
                o_rec,
                atol=atol,
                reason=reason,
            )
        )
        checks.append(
            close(f"final fast weights M_T vs V^T K, seed {seed}", M, hebbian_memory(k, v), atol=atol, reason=reason)
        )
    return checks


@control("memory.hebbian-fast-weights", "parallel form without the causal mask (Q K^T V: every step reads the future)")
def _parallel_form_without_causal_mask():
    def unmasked(q, k, v, *, causal=True):
        return Hb.hebbian_parallel(q, k, v, causal=False)

    with mock.patch(f"{__name__}.hebbian_parallel", unmasked):
        yield


@claim(
    "memory.signal-crosstalk",
    title="Every recall splits exactly into signal and crosstalk",
    statement=r"Mk_j=\lVert k_j\rVert^2v_j+\sum_{i\ne j}(k_i^\top k_j)\,v_i",
    source="kohonen1972correlation; see the book's Sources appendix",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _recall_splits_into_signal_and_crosstalk(tier: str):
    ks = [sp.Matrix(sp.symbols(f"k{i}_1:3", real=True)) for i in range(3)]
    vs = [sp.Matrix(sp.symbols(f"v{i}_1:3", real=True)) for i in range(3)]
    M = sum((v * k.T for k, v in zip(ks, vs)), sp.zeros(2, 2))
    checks = []
    for j in range(3):
        rhs = ks[j].dot(ks[j]) * vs[j] + sum((ks[i].dot(ks[j]) * vs[i] for i in range(3) if i != j), sp.zeros(2, 1))
        checks.append(
            symbolic(f"expand(M k_{j} - signal - crosstalk), N=3 generic vectors", (M * ks[j] - rhs).expand())
        )
    S = SIZES[tier]
    N, dk, dv = S.crosstalk_split_shape
    g = torch_generator(0)
    K, Vv = torch.randn(N, dk, generator=g, dtype=F64), torch.randn(N, dv, generator=g, dtype=F64)
    sig, cross = signal_crosstalk(K, Vv)
    atol = S.crosstalk_split_atol
    reason = "float64 roundoff of sums of N d_k products of O(1) terms"
    checks.append(
        close(
            f"signal + crosstalk vs M K^T, N={N}, d_k={dk}",
            sig + cross,
            retrieve(hebbian_memory(K, Vv), K),
            atol=atol,
            reason=reason,
        )
    )
    checks.append(close("signal = ||k_j||^2 v_j", sig, (K**2).sum(1, keepdim=True) * Vv, atol=atol, reason=reason))
    return checks


@control("memory.signal-crosstalk", "signal without the squared key norm (v_j in place of ||k_j||^2 v_j)")
def _signal_without_key_norm():
    def split_without_norm(keys, values):
        _, cross = Hb.signal_crosstalk(keys, values)
        return values, cross

    with mock.patch(f"{__name__}.signal_crosstalk", split_without_norm):
        yield


@claim(
    "memory.exact-capacity-dk",
    title="Any linear head stores at most d_k arbitrary pairs exactly; Hebbian reaches it only for orthogonal keys",
    statement=r"\exists A:\ Ak_i=v_i\ \forall i \iff \text{keys independent}\ (N\le d_k);\quad"
    r"\frac{\mathbb E\min_A\lVert AK^\top-V^\top\rVert_F^2}{\mathbb E\lVert V\rVert_F^2}=\frac{N-d_k}{N}\ (N>d_k)",
    source="kohonen1972correlation; kohonen1989self (OLAM); anderson1972simple; nakano1972associatron",
    status_of_source="classical",
    kinds=("numeric", "statistical"),
)
def _linear_head_stores_at_most_dk_pairs(tier: str):
    dk, dv = 32, 48
    g = torch_generator(0)
    Q = torch.linalg.qr(torch.randn(dk, dk, generator=g, dtype=F64)).Q.T  # rows orthonormal
    checks = []
    for N in (1, dk // 2, dk):
        Vv = torch.randn(N, dv, generator=g, dtype=F64)
        checks.append(
            close(
                f"Hebbian recall with N={N} orthonormal keys",
                retrieve(hebbian_memory(Q[:N], Vv), Q[:N]),
                Vv,
                atol=1e-12,
                reason="float64 roundoff of QR-orthonormal keys",
            )
        )
    for N in (8, dk, dk + 8):
        K, Vv = torch.randn(N, dk, generator=g, dtype=F64), torch.randn(N, dv, generator=g, dtype=F64)
        res = float(least_squares_residual(K, Vv))
        if N <= dk:
            checks.append(
                at_most(
                    f"least-squares residual, N={N} <= d_k",
                    res,
                    1e-10,
                    reason="float64 pinv of a well-conditioned key matrix: <= 1e-10",
                )
            )
        else:
            checks.append(
                at_least(
                    f"least-squares residual / ||V||^2, N={N} > d_k",
                    res / float((Vv**2).sum()),
                    1e-3,
                    reason="past d_k a residual remains almost surely: >= 1e-3 ||V||_F^2",
                )
            )
        rank = int(torch.linalg.matrix_rank(hebbian_memory(K, Vv)))
        checks.append(
            holds(
                f"rank M = min(N, d_k) = {min(N, dk)} at N={N} (d_v={dv})", rank == min(N, dk), details=f"rank {rank}"
            )
        )
    trials, seed, N = SIZES[tier].least_squares_trials, 3, 48
    g = torch_generator(seed)
    K, Vv = torch.randn(trials, N, dk, generator=g, dtype=F64), torch.randn(trials, N, dv, generator=g, dtype=F64)
    r, se = C.ratio_of_means(least_squares_residual(K, Vv), (Vv**2).sum(dim=(1, 2)))
    checks.append(
        statistical(
            f"E residual / E||V||^2 vs (N-d_k)/N at N={N}, d_k={dk}", r, (N - dk) / N, se, n_trials=trials, seed=seed
        )
    )
    return checks


@control("memory.exact-capacity-dk", "Hebbian memory averaged over the N pairs (V^T K / N) instead of summed")
def _hebbian_memory_averaged():
    def averaged(keys, values):
        return Hb.hebbian_memory(keys, values) / keys.shape[-2]

    with mock.patch(f"{__name__}.hebbian_memory", averaged):
        yield


@control("memory.exact-capacity-dk", "least-squares residual of the Hebbian memory V^T K instead of the OLAM")
def _least_squares_of_the_hebbian_memory():
    def hebbian_residual(keys, values):
        return ((Hb.retrieve(Hb.hebbian_memory(keys, values), keys) - values) ** 2).sum(dim=(-2, -1))

    with mock.patch(f"{__name__}.least_squares_residual", hebbian_residual):
        yield
