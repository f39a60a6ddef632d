r"""Claim on the gradient of the log-decay: a reverse cumulative sum of ``q*dq - k*dk`` plus a final-state term.

Book: ``notebooks/20_kernels``, section "Gradients, and the gradient of the decay".
"""

from __future__ import annotations

from unittest import mock

import torch

from attnmath.base.numerics import torch_generator, unit_roundoff
from attnmath.base.report import sig
from attnmath.claims import claim, control, holds, rel_close, symbolic
from attnmath.kernels import diag_scan as _diag_scan
from attnmath.kernels import dispatch
from attnmath.kernels.diag_scan import diag_scan_recurrent, gate_gradient

from .. import derivation as der
from .inputs import F64, R32, R32_REASON, device, seeded_inputs
from .sizes import SIZES

U64, U32 = unit_roundoff(torch.float64), unit_roundoff(torch.float32)


@claim(
    "kernels.gate-gradient-identity",
    title="The gradient of the log-decay is a reverse cumulative sum of q*dq - k*dk plus a final-state term",
    statement=r"\frac{\partial L}{\partial g_t} = \sum_{u\ge t}\big(q_u\odot\tfrac{\partial L}{\partial q_u} - k_u\odot\tfrac{\partial L}{\partial k_u}\big)"
    r" + \big(S_T\odot\tfrac{\partial L}{\partial S_T}\big)\mathbf 1",
    source="derived in this chapter (used by the Triton backward, kernels/diag_scan/triton_chunk.py)",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric", "kernel"),
)
def _gate_gradient_identity(tier: str):
    lhs, rhs = der.gate_gradient_sides(3)
    checks = [symbolic("dL/dg_t minus the identity, T=3, K=V=1, generic linear loss", lhs - rhs)]
    T = SIZES[tier].gate_gradient_length
    for gate in ("scalar", "key"):
        x = {n: t.requires_grad_() for n, t in seeded_inputs(3, 2, T, 2, 8, 4, gate).items()}
        o, S = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=F64)
        gen = torch_generator(4)
        do, dS = torch.randn(o.shape, generator=gen, dtype=F64), torch.randn(S.shape, generator=gen, dtype=F64)
        dq, dk, dg = torch.autograd.grad((o * do).sum() + (S * dS).sum(), (x["q"], x["k"], x["g"]))
        q, k, S = x["q"].detach(), x["k"].detach(), S.detach()
        # condition number of the reverse cumulative sum: the mass of its terms relative to max|dg|
        mass = ((q * dq).abs() + (k * dk).abs()).flip(1).cumsum(1).flip(1) + (S * dS).abs().sum(-1)[:, None]
        cond = float((mass.sum(-1) if gate == "scalar" else mass).max() / dg.abs().max())
        n = T + x["q"].shape[-1] + 2  # additions of the reverse cumsum (+ the K-sum for scalar g), two products
        ident = gate_gradient(q, k, dq, dk, S, dS, gate == "scalar")
        checks.append(holds(f"{gate} g: float64 inputs give a float64 identity", ident.dtype == F64))
        checks.append(
            rel_close(
                f"{gate} g: identity vs autograd (float64)",
                ident,
                dg,
                rtol=2 * n * U64 * cond,
                reason=f"2 γ_n u64 cond: n = T + K + 2 = {n} roundings on each side (identity, autograd), "
                f"cond = max Σ|terms| / max|dg| = {sig(cond, 2)}",
            )
        )
        f32 = [t.float() for t in (q, k, dq, dk, S, dS)]
        ident32 = gate_gradient(*f32, gate == "scalar")  # type: ignore[call-arg, arg-type]  # six tensors from a list: mypy cannot count them
        checks.append(
            rel_close(
                f"{gate} g: identity on fp32 inputs vs autograd (float64)",
                ident32,
                dg,
                rtol=2 * n * U32 * cond,
                reason=f"2 γ_n u32 cond (inputs rounded to fp32, sum in fp32), n = {n}, cond = {sig(cond, 2)}",
            )
        )
        dev = device()
        xk = {n: t.detach().to(device=dev, dtype=torch.float32).requires_grad_() for n, t in x.items()}
        o_t, S_t = dispatch.diag_scan(
            xk["q"], xk["k"], xk["v"], xk["g"], initial_state=xk["h0"], backend="triton", chunk_size=32
        )
        (dg_t,) = torch.autograd.grad((o_t * do.to(o_t)).sum() + (S_t * dS.to(S_t)).sum(), (xk["g"],))
        checks.append(
            rel_close(
                f"{gate} g: Triton backward dg vs autograd through the fp64 recurrence",
                dg_t.cpu(),
                dg,
                rtol=R32,
                reason=R32_REASON,
                kind="kernel",
            )
        )
    return checks


@control("kernels.gate-gradient-identity", "identity without the final-state term (S_T ⊙ dS_T)1")
def _final_state_term_dropped():
    def without_final_state(q, k, dq, dk, ht, dht, scalar):
        return _diag_scan.gate_gradient(q, k, dq, dk, ht, None, scalar)

    with mock.patch(f"{__name__}.gate_gradient", without_final_state):
        yield


@control(
    "kernels.gate-gradient-identity",
    "identity always summed in fp32 (float64 inputs silently downcast): right formula, fp32 accuracy",
)
def _identity_in_fp32():
    def in_fp32(q, k, dq, dk, ht, dht, scalar):
        args = (None if t is None else t.float() for t in (q, k, dq, dk, ht, dht))
        return _diag_scan.gate_gradient(*args, scalar)  # type: ignore[call-arg, arg-type]  # six tensors (dht may be None) from a generator

    with mock.patch(f"{__name__}.gate_gradient", in_fp32):
        yield


@control(
    "kernels.gate-gradient-identity",
    "reverse cumulative sum missing its last term (the sum runs over u > t instead of u >= t)",
)
def _reverse_cumsum_off_by_one():
    def exclusive(q, k, dq, dk, ht, dht, scalar):
        dg = _diag_scan.gate_gradient(q, k, dq, dk, ht, dht, scalar)
        own = (q * dq - k * dk).to(dg.dtype)
        return dg - (own.sum(-1) if scalar else own)

    with mock.patch(f"{__name__}.gate_gradient", exclusive):
        yield
