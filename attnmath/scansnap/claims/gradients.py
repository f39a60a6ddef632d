r"""Claims of the Scan and Snap chapter: Lemma 1's closed-form gradients and the row sums they conserve.

Lemma 1 of ``tian2023scan`` is checked against autograd (and against the official code's
orientation of the two weight matrices), re-derived with sympy, and its conservation remark is
checked under SGD with momentum and mini-batches.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import sympy as sp
import torch

from attnmath.base.numerics import torch_generator
from attnmath.claims import at_most, claim, close, control, symbolic

from .. import dynamics
from ..data import sample_batch, syn_small
from ..dynamics import sgd_train
from ..model import init_yz, lemma1_gradients, official_orientation_loss, yz_forward, yz_loss
from .sizes import SIZES

SRC = "tian2023scan"


@claim(
    "scansnap.s02-lemma1-autograd",
    title="Lemma 1's closed-form gradients equal autograd (and the official K1 = Y^T, K2 = Z orientation)",
    statement=r"\dot Y = \eta_Y f(\mathbf x_{T+1}-\alpha)^\top,\quad \dot z_m = \eta_Z X^\top\mathrm{diag}(b_T)X\frac{P^\perp_{X^\top b_T}}{\|X^\top b_T\|}Y(\mathbf x_{T+1}-\alpha)",
    source=f"{SRC}, Lemma 1",
    status_of_source="stated",
    kinds=("numeric",),
)
def _lemma1_equals_autograd(tier: str):
    data = syn_small()
    seeds = SIZES[tier].autograd_seeds
    worst_y = worst_z = worst_off = 0.0
    for s in seeds:
        g = torch_generator(s)
        Y = 0.3 * torch.randn(data.M, data.M, generator=g, dtype=torch.float64)
        Z = 0.3 * torch.randn(data.M, data.M, generator=g, dtype=torch.float64)
        b = sample_batch(data, 1, 16, g)
        Yr, Zr = Y.clone().requires_grad_(True), Z.clone().requires_grad_(True)
        gY, gZ = torch.autograd.grad(-yz_loss(Yr, Zr, b), (Yr, Zr))  # gradient of J = -loss
        dY, dZ = lemma1_gradients(Y, Z, b)
        worst_y = max(worst_y, float((gY - dY).abs().max()))
        worst_z = max(worst_z, float((gZ - dZ).abs().max()))
        K1, K2 = Y.T.clone().requires_grad_(True), Z.clone().requires_grad_(True)
        tokens = torch.cat([b.x, b.query[:, None]], dim=1)
        g1, g2 = torch.autograd.grad(-official_orientation_loss(K1, K2, tokens, b.next_token), (K1, K2))
        worst_off = max(worst_off, float((g1 - dY.T).abs().max()), float((g2 - dZ).abs().max()))
    reason = "float64: ~1e3 u_64 x |entries| <= 1e-12 (measured here: 4e-17)"
    return [
        at_most(f"max |dY closed form - autograd| over {len(seeds)} seeds, M=34, T=16", worst_y, 1e-12, reason=reason),
        at_most("max |dZ closed form - autograd|", worst_z, 1e-12, reason=reason),
        at_most("official orientation: K1.grad = -dY^T, K2.grad = -dZ", worst_off, 1e-12, reason=reason),
    ]


def _lemma1_without_projection(Y, Z, batch, *, return_loss=False):
    """Lemma 1 with the projection P_perp_v dropped from dz_m (a near-miss of :func:`lemma1_gradients`)."""
    out = yz_forward(Y, Z, batch)
    B = out.v.shape[0]
    err = -out.alpha
    err[torch.arange(B), batch.next_token] += 1.0
    dY = out.f.T @ err / B
    rows = out.v * (err @ Y.T) / out.v.norm(dim=1, keepdim=True)  # diag(v) Y (e_n - alpha) / ||v||: no P_perp
    dZ = torch.zeros_like(Z).index_add(0, batch.query, rows) / B
    if return_loss:
        return dY, dZ, torch.nn.functional.cross_entropy(out.logits, batch.next_token)
    return dY, dZ


@control("scansnap.s02-lemma1-autograd", "dz_m without the projection P_perp_v (diag(v) Y (e_n - alpha) / ||v||)")
def _autograd_vs_gradient_without_projection():
    with mock.patch(f"{__name__}.lemma1_gradients", _lemma1_without_projection):
        yield


@claim(
    "scansnap.s02-lemma1-symbolic",
    title="Lemma 1 by sympy: the differentials, the projection identity and the conservation of row sums",
    statement=r"\frac{\partial J}{\partial z_m} = \mathrm{diag}(v)\frac{P^\perp_v}{\|v\|}Y(e_n-\alpha),\ P^\perp_v v = 0,\ \dot Y\mathbf 1 = \dot Z\mathbf 1 = 0",
    source=f"{SRC}, Lemma 1 and its conservation remark (the derivation re-done in sympy)",
    status_of_source="stated",
    kinds=("symbolic",),
)
def _lemma1_by_sympy():
    z = sp.symbols("z0 z1", real=True)
    Y = sp.Matrix(2, 2, sp.symbols("y00 y01 y10 y11", real=True))
    X = sp.Matrix([[1, 0], [0, 1], [0, 1]])  # contextual tokens (0, 1, 1), M = 2, label n = 0
    a = X * sp.Matrix(z)
    b = sp.Matrix([sp.exp(ai) for ai in a]) / sum(sp.exp(ai) for ai in a)
    v = X.T * b
    nv = sp.sqrt((v.T * v)[0])
    f = v / nv
    logits = Y.T * f
    J = logits[0] - sp.log(sum(sp.exp(li) for li in logits))
    alpha = sp.Matrix([sp.exp(li) for li in logits]) / sum(sp.exp(li) for li in logits)
    err = sp.Matrix([1, 0]) - alpha
    P = sp.eye(2) - v * v.T / (v.T * v)[0]
    dY = f * err.T
    dz = sp.diag(*v) * P * Y * err / nv
    gradY = sp.Matrix(2, 2, lambda i, j: sp.diff(J, Y[i, j]))
    gradz = sp.Matrix([sp.diff(J, zi) for zi in z])
    a3 = sp.symbols("a1:4", real=True)
    sm = sp.Matrix([sp.exp(ai) for ai in a3]) / sum(sp.exp(ai) for ai in a3)
    jac = sm.jacobian(sp.Matrix(a3))
    w = sp.Matrix(sp.symbols("w1:4", positive=True))
    Pw = sp.eye(3) - w * w.T / (w.T * w)[0]
    return [
        symbolic("dJ/dY = f (e_n - alpha)^T (M=2, tokens 0,1,1)", gradY - dY),
        symbolic("dJ/dz_m = diag(v) P_perp Y (e_n - alpha) / ||v||", gradz - dz),
        symbolic("d softmax(a) = (diag(b) - b b^T) da", jac - (sp.diag(*sm) - sm * sm.T)),
        symbolic("P_perp_v v = 0 (so P_perp X^T b b^T = 0)", Pw * w),
        symbolic("(e_n - alpha)^T 1 = 0, hence dY 1 = 0", sum(err)),
        symbolic(
            "X^T diag(b) X 1 = X^T b = v, so P_perp_v X^T diag(b) X 1 = 0, hence dZ 1 = 0",
            P * (X.T * sp.diag(*b) * X * sp.ones(2, 1)),
        ),
    ]


@control("scansnap.s02-lemma1-symbolic", "mixture normalised by its squared norm, f = v/||v||^2 instead of v/||v||")
def _mixture_over_squared_norm():
    with mock.patch.object(sp, "sqrt", lambda x: x):  # nv = sp.sqrt(v^T v) becomes v^T v
        yield


@claim(
    "scansnap.s03-invariants",
    title="Zero init starts at loss ln M; SGD with momentum keeps every row sum of Y and Z",
    statement=r"J(0,0) = -\ln M;\quad \dot Y\mathbf 1 = \dot Z\mathbf 1 = 0 \text{ for any linear combination of gradients}",
    source=f"{SRC}, Lemma 1 (conservation of row sums)",
    status_of_source="stated",
    kinds=("numeric",),
)
def _zero_init_loss_and_conserved_row_sums(tier: str):
    S = SIZES[tier]
    data = syn_small()
    zero = torch.zeros(data.M, data.M, dtype=torch.float64)
    b = sample_batch(data, 64, 128, torch_generator(0))
    checks = [
        close(
            "loss at Y = Z = 0 vs ln 34",
            yz_loss(zero, zero, b),
            torch.tensor(np.log(data.M)),
            atol=1e-12,
            reason="float64 logsumexp of 34 equal terms: a few u_64",
        )
    ]
    for init in ("zero", "uniform"):
        Y0, Z0 = init_yz(data.M, init, torch_generator(3))
        run = sgd_train(
            data, eta_Y=10.0, eta_Z=1.0, steps=100, batch=S.invariant_batch, T=S.invariant_T, init=init, seed=3
        )
        for name, P0, P1 in (("Y", Y0, run.Y), ("Z", Z0, run.Z)):
            checks.append(
                close(
                    f"row sums of {name} after 100 SGD+momentum steps ({init} init)",
                    P1.sum(1),
                    P0.sum(1),
                    atol=1e-10,
                    reason="float64 roundoff of 100 momentum updates (measured here: 4e-14)",
                )
            )
    return checks


@control(
    "scansnap.s03-invariants", "SGD on dz_m without the projection P_perp_v (the row sums of Z are no longer conserved)"
)
def _sgd_without_projection():
    with mock.patch.object(dynamics, "lemma1_gradients", _lemma1_without_projection):
        yield
