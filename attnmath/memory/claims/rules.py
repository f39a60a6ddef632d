"""Claims on learning rules: the delta (Rescorla–Wagner / DeltaNet) rule against the Hebbian write.

Book: ``notebooks/30_pavlovian_memory``, section "Learning rules: Hebbian against prediction error". All
classical; reading the abstract's "biologically plausible learning rules" as prediction-error rules is
our reconstruction (see the book's Sources appendix).
"""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import sympy as sp
import torch

from attnmath.base.numerics import F64_EPS, torch_generator
from attnmath.claims import at_least, at_most, claim, close, control, holds, rel_close, statistical, symbolic

from .. import capacity as C
from ..hebbian import hebbian_memory, least_squares_residual, olam_memory, relative_recall_error
from ..rules import (
    blocking_closed_form,
    blocking_design,
    delta_rule_cyclic,
    delta_rule_recurrent,
    extinction_closed_form,
    hebbian_conditioning,
    rescorla_wagner,
)
from .sizes import SIZES


@claim(
    "memory.delta-rule-exact",
    title="The delta (Rescorla–Wagner / DeltaNet) rule overwrites exactly and stores N <= d_k pairs exactly for 0 < beta < 2; it diverges beyond",
    statement=r"M_t=M_{t-1}+\beta(v_t-M_{t-1}k_t)k_t^\top:\ \beta=1,\lVert k_t\rVert=1\Rightarrow M_tk_t=v_t;\ "
    r"0<\beta<2/\lVert k\rVert^2,\ N\le d_k\Rightarrow M\to V^\top(K^\top)^+;\ \beta>2/\lVert k\rVert^2\Rightarrow\text{divergence}",
    source="widrow1960adaptive; rescorla1972theory; schlag2021linear",
    status_of_source="classical",
    kinds=("numeric", "statistical"),
)
def _delta_rule_stores_exactly(tier: str):
    g = torch_generator(0)
    T, dk, dv = 20, 32, 16
    k, v = C.random_keys(T, dk, generator=g), C.random_values(T, dv, generator=g)
    o, _ = delta_rule_recurrent(k, k, v, 1.0)  # o_t = M_t k_t right after the write
    checks = [
        close(
            "one-step overwrite M_t k_t = v_t (beta = 1, unit keys), 20 writes",
            o,
            v,
            atol=1e-14,
            reason="roundoff of |k|^2 = 1: 1e-14 (measured here: 3e-16)",
        )
    ]
    K, Vv = C.random_keys(16, dk, generator=g), C.random_values(16, dv, generator=g)
    _, M_loop = delta_rule_recurrent(K.repeat(3, 1), K.repeat(3, 1), Vv.repeat(3, 1), 0.5)
    checks.append(
        close(
            "sweep-map iteration == 3 literal cyclic sweeps",
            delta_rule_cyclic(K, Vv, 0.5, 3),
            M_loop,
            atol=64 * 48 * F64_EPS,
            reason="float64 roundoff, 64 eps per write x 48 writes",
        )
    )
    N, draws, sweeps, seed = 16, SIZES[tier].delta_draws, 2000, 0
    g = torch_generator(seed)
    K, Vv = C.random_keys(N, dk, batch=(draws,), generator=g), C.random_values(N, dv, batch=(draws,), generator=g)
    M = delta_rule_cyclic(K, Vv, 0.5, sweeps)
    checks.append(
        at_most(
            f"delta rule, N={N}, d_k={dk}, beta=0.5, {sweeps} sweeps: worst relative error over {draws} draws",
            float(relative_recall_error(M, K, Vv).max()),
            1e-10,
            reason="converged storage: <= 1e-10 (measured here: 1e-31)",
        )
    )
    checks.append(
        close(
            "delta rule limit == OLAM V^T (K^T)^+ (minimum-norm exact memory)",
            M,
            olam_memory(K, Vv),
            atol=1e-8,
            reason="converged to 1e-10 in relative error; pinv roundoff of cond(K) ~ 10",
        )
    )
    # the step range: one pair written t times has error (1-beta)^t |v| (exact), so the write converges
    # iff |1 - beta| < 1; several independent keys, literal writes: converged for beta in (0, 2), divergent at 2.2
    k1, v1 = C.random_keys(1, dk, generator=g), C.random_values(1, dv, generator=g)
    ts = torch.arange(1, 21, dtype=torch.float64)
    for b in (0.5, 1.5, 1.9, 2.2):
        o, _ = delta_rule_recurrent(k1.repeat(20, 1), k1.repeat(20, 1), v1.repeat(20, 1), b)
        checks.append(
            rel_close(
                f"one pair, beta={b:g}: error after t = 1..20 writes vs |1-beta|^t |v|",
                (o - v1).norm(dim=-1),
                abs(1 - b) ** ts * v1.norm(),
                rtol=1e-12,
                reason="closed form; float64 roundoff of 20 writes, each amplifying by <= 1.2: 1e-12",
            )
        )
    Ks, Vs = C.random_keys(8, dk, generator=g), C.random_values(8, dv, generator=g)
    sw, betas = 200, (0.25, 1.0, 1.5, 1.9, 2.2)
    Kr = Ks.repeat(sw, 1).expand(len(betas), -1, -1)  # the 5 write strengths run as one batch of literal writes
    Vr = Vs.repeat(sw, 1).expand(len(betas), -1, -1)
    bt = torch.tensor(betas, dtype=torch.float64)[:, None].expand(-1, Kr.shape[1]).contiguous()
    _, Mb = delta_rule_recurrent(Kr, Kr, Vr, bt)
    errs = relative_recall_error(Mb, Ks.expand(len(betas), -1, -1), Vs.expand(len(betas), -1, -1))
    for b, e in zip(betas, errs.tolist()):
        if b < 2:
            checks.append(
                at_most(
                    f"N=8 keys, d_k={dk}, beta={b:g}, {sw} sweeps of literal writes: relative error",
                    e,
                    1e-10,
                    reason="0 < beta < 2: every write contracts along its key, the sweep is a strict contraction "
                    "for independent keys; 1e-10 is 10 orders below the starting error 1 (M = 0)",
                )
            )
        else:
            checks.append(
                at_least(
                    f"N=8 keys, d_k={dk}, beta={b:g} > 2, {sw} sweeps of literal writes: relative error",
                    e,
                    1.0,
                    reason="beta > 2: each write amplifies the error along its key by beta - 1 > 1, so the error "
                    "grows past its starting value 1 (M = 0)",
                )
            )
    try:
        delta_rule_cyclic(Ks, Vs, 2.2, 1)
        refused = False
    except ValueError:
        refused = True
    checks.append(holds("the cyclic solver refuses beta = 2.2 > 2/|k|^2 (outside its convergence interval)", refused))
    r, se = C.ratio_of_means(
        (relative_recall_error(hebbian_memory(K, Vv), K, Vv) * (Vv**2).sum(dim=(1, 2))), (Vv**2).sum(dim=(1, 2))
    )
    checks.append(
        statistical(
            f"Hebbian relMSE on the same pairs vs (N-1)/d_k = {(N - 1) / dk:.4f}",
            r,
            (N - 1) / dk,
            se,
            n_trials=draws,
            seed=seed,
        )
    )
    return checks


@control("memory.delta-rule-exact", "keys of norm 1.1 instead of unit keys (the beta = 1 write overshoots)")
def _keys_not_unit():
    def long_keys(*args, **kwargs):
        return 1.1 * random_keys(*args, **kwargs)

    random_keys = C.random_keys
    with mock.patch.object(C, "random_keys", long_keys):
        yield


@claim(
    "memory.delta-rule-least-squares",
    title="Past d_k the delta rule approaches the least-squares memory as beta -> 0, and beats Hebbian",
    statement=r"N>d_k:\ \mathrm{LS}\le\mathrm{err}_\delta(\beta)<\mathrm{err}_{\rm Hebb},\ \mathrm{err}_\delta(\beta)\downarrow\mathrm{LS}\text{ as }\beta\downarrow0",
    source="widrow1960adaptive; schlag2021linear",
    status_of_source="classical",
    kinds=("numeric",),
)
def _delta_rule_approaches_least_squares(tier: str):
    N, dk, dv, seed = 48, 32, 16, 1
    draws, betas = 10, SIZES[tier].delta_betas
    g = torch_generator(seed)
    K, Vv = C.random_keys(N, dk, batch=(draws,), generator=g), C.random_values(N, dv, batch=(draws,), generator=g)
    energy = (Vv**2).sum(dim=(1, 2))
    ls = least_squares_residual(K, Vv) / energy
    heb = relative_recall_error(hebbian_memory(K, Vv), K, Vv)
    errs = [relative_recall_error(delta_rule_cyclic(K, Vv, b, round(400 / b)), K, Vv) for b in betas]
    tag = f"N={N}, d_k={dk}, {draws} draws, seed {seed}, 400/beta sweeps"
    checks = []
    for b, e in zip(betas, errs):
        checks.append(
            holds(
                f"beta={b:g}: delta error < Hebbian error in every draw ({tag})",
                bool((e < heb).all()),
                details=f"mean delta {float(e.mean()):.5f}, Hebbian {float(heb.mean()):.4f}",
            )
        )
        checks.append(
            holds(
                f"beta={b:g}: delta error >= LS residual in every draw (to 1e-12)",
                bool((e >= ls - 1e-12).all()),
                details=f"mean LS {float(ls.mean()):.5f}",
            )
        )
    means = [float(e.mean()) for e in errs]
    checks.append(
        holds(
            "mean delta error decreases as beta decreases",
            all(a > b for a, b in itertools.pairwise(means)),
            details=", ".join(f"{m:.5f}" for m in means) + f" -> LS {float(ls.mean()):.5f}",
        )
    )
    return checks


@control(
    "memory.delta-rule-exact", "write strength clamped to beta <= 1 (as a sigmoid gate would): converges for beta > 2"
)
def _beta_clamped_to_one():
    def clamped(q, k, v, beta, **kwargs):
        return recurrent(q, k, v, beta.clamp(max=1.0) if torch.is_tensor(beta) else min(float(beta), 1.0), **kwargs)

    recurrent = delta_rule_recurrent
    with mock.patch(f"{__name__}.delta_rule_recurrent", clamped):
        yield


@control(
    "memory.delta-rule-least-squares",
    "memory written by the Hebbian rule (no prediction error) instead of the delta rule",
)
def _hebbian_write_instead_of_delta():
    def hebbian_write(keys, values, beta, sweeps, **kwargs):
        return hebbian_memory(keys, values)

    with mock.patch(f"{__name__}.delta_rule_cyclic", hebbian_write):
        yield


@claim(
    "memory.blocking-extinction",
    title="Rescorla–Wagner blocks and extinguishes; the Hebbian (linear-attention) rule does neither",
    statement=r"V_B=\tfrac\lambda2(1-\alpha)^{n_1}\big(1-(1-2\alpha)^{n_2}\big)\xrightarrow{n_1\to\infty}0;\ V_B^{\rm Hebb}=n_2\alpha\lambda;\ V_n=V_0(1-\alpha)^n",
    source="rescorla1972theory; kamin1969predictability",
    status_of_source="classical",
    kinds=("symbolic", "numeric"),
)
def _rescorla_wagner_blocks_and_extinguishes(tier: str):
    a, lam = sp.symbols("alpha lambda", positive=True)
    n, m = sp.symbols("n m", integer=True, nonnegative=True)
    n1, n2 = sp.symbols("n1 n2", integer=True, positive=True)
    S = sp.Function("S")  # S = V_A + V_B during phase 2: S' = S + 2 alpha (lambda - S)
    S_n = sp.rsolve(S(n + 1) - S(n) - 2 * a * (lam - S(n)), S(n), {S(0): lam * (1 - (1 - a) ** n1)})
    VB = sp.summation(a * (lam - S_n.subs(n, m)), (m, 0, n2 - 1))
    closed = lam / 2 * (1 - a) ** n1 * (1 - (1 - 2 * a) ** n2)
    Vx = sp.Function("V")
    ext = sp.rsolve(Vx(n + 1) - Vx(n) + a * Vx(n), Vx(n), {Vx(0): sp.Symbol("V0")})
    checks = [
        symbolic("sum of phase-2 increments of V_B minus the closed form", VB - closed),
        symbolic(
            "lim_{n1 -> oo} V_B at alpha=1/10, n2=50", sp.limit(closed.subs({a: sp.Rational(1, 10), n2: 50}), n1, sp.oo)
        ),
        symbolic(
            "extinction recursion V_{n+1} = V_n - alpha V_n solves to V0 (1-alpha)^n",
            ext - sp.Symbol("V0") * (1 - a) ** n,
        ),
    ]
    alpha, lam_, N1, N2 = 0.1, 1.0, 100, 50
    cs, us = blocking_design(N1, N2, lam_)
    rw, hb = rescorla_wagner(cs, us, alpha), hebbian_conditioning(cs, us, alpha)
    _, vb = blocking_closed_form(alpha, lam_, N1, N2)
    checks += [
        close(
            "R–W V_B vs closed form (alpha=0.1, n1=100, n2=50)",
            rw[-1, 1],
            vb,
            atol=1e-12,
            reason="float64 roundoff of 150 updates",
        ),
        at_most("R–W V_B (blocked)", rw[-1, 1], 1e-3, reason="blocked: V_B < 1e-3"),
        close(
            "Hebbian V_B = n2 alpha lambda = 5 (no blocking)",
            hb[-1, 1],
            N2 * alpha * lam_,
            atol=1e-12,
            reason="float64 roundoff of 50 additions",
        ),
    ]
    ext_cs = np.ones((60, 1))
    rw_ext = rescorla_wagner(ext_cs, np.zeros(60), alpha, initial=1.0)[:, 0]
    checks.append(
        close(
            "R–W extinction curve vs (1-alpha)^n, 60 trials",
            rw_ext,
            extinction_closed_form(1.0, alpha, 60),
            atol=1e-12,
            reason="float64 roundoff of 60 multiplications",
        )
    )
    hb_ext = hebbian_conditioning(ext_cs, np.zeros(60), alpha, initial=1.0)[:, 0]
    checks.append(
        holds("Hebbian strength is unchanged by 60 CS-alone trials (no extinction)", bool(np.all(hb_ext == 1.0)))
    )
    return checks


@control(
    "memory.blocking-extinction",
    "each CS learns from its own error lambda - V_i, not the shared lambda - sum_j V_j (no cue competition)",
)
def _rescorla_wagner_without_competition():
    def own_error(cs, us, alpha, *, beta=1.0, initial=None):
        x, lam = np.asarray(cs, dtype=np.float64), np.asarray(us, dtype=np.float64)
        a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (x.shape[1],))
        Vs = np.zeros((x.shape[0] + 1, x.shape[1]))
        if initial is not None:
            Vs[0] = initial
        for t in range(x.shape[0]):
            Vs[t + 1] = Vs[t] + a * beta * (lam[t] - Vs[t]) * x[t]
        return Vs

    with mock.patch(f"{__name__}.rescorla_wagner", own_error):
        yield
