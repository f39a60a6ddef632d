r"""Claim on the gradient of the log-decay: a reverse cumulative sum of ``q*dq - k*dk`` plus a final-state term.

Book: ``notebooks/20_kernels``, section "Gradients, and the gradient of the decay".
"""

from __future__ import annotations

from unittest import mock

import torch

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, control, rel_close, symbolic
from attnmath.kernels import diag_scan as _diag_scan
from attnmath.kernels import dispatch
from attnmath.kernels.diag_scan import diag_scan_recurrent, gate_gradient

from .. import derivation as der
from .inputs import F64, R32, R32_REASON, device, seeded_inputs
from .sizes import SIZES


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
        ident = gate_gradient(x["q"].detach(), x["k"].detach(), dq, dk, S.detach(), dS, gate == "scalar")
        checks.append(
            rel_close(
                f"{gate} g: identity vs autograd (float64)",
                ident.double(),
                dg,
                rtol=1e-5,
                reason="the identity is evaluated in fp32 (gate_gradient): u32 x T terms of the reverse cumsum",
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
