r"""Claims of the kernels chapter, part 2: the gate gradient, the online softmax, the DSF instances.

Shared helpers and tolerances live in :mod:`attnmath.fastforms.claims.forms` (part 1: chunked forms, log space, normaliser).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attnmath.claims import claim, rel_close, symbolic
from attnmath.kernels import dispatch
from attnmath.kernels.diag_scan import adapters
from attnmath.kernels.diag_scan.reference import diag_scan_recurrent
from attnmath.kernels.diag_scan.triton_chunk import gate_gradient
from attnmath.kernels.softmax_attention.chunk import blockwise_softmax_attention
from attnmath.kernels.softmax_attention.reference import softmax_attention_reference

from .. import derivation as der
from .forms import F64, R32, R32_REASON, R64, R64_REASON, _device, _inputs


@claim(
    "kernels.gate-gradient-identity",
    title="The gradient of the log-decay is a reverse cumulative sum of q*dq - k*dk plus a final-state term",
    statement=r"\frac{\partial L}{\partial g_t} = \sum_{u\ge t}\big(q_u\odot\tfrac{\partial L}{\partial q_u} - k_u\odot\tfrac{\partial L}{\partial k_u}\big)"
    r" + \big(S_T\odot\tfrac{\partial L}{\partial S_T}\big)\mathbf 1",
    source="derived in this chapter (used by the Triton backward, kernels/diag_scan/triton_chunk.py)",
    status_of_source="reconstructed",
    kinds=("symbolic", "numeric", "kernel"),
)
def _gate_gradient(scale: str):
    lhs, rhs = der.gate_gradient_sides(3)
    checks = [symbolic("dL/dg_t minus the identity, T=3, K=V=1, generic linear loss", lhs - rhs)]
    T = 60 if scale == "ci" else 600
    for gate in ("scalar", "key"):
        x = {n: t.requires_grad_() for n, t in _inputs(3, 2, T, 2, 8, 4, gate).items()}
        o, S = diag_scan_recurrent(x["q"], x["k"], x["v"], x["g"], initial_state=x["h0"], dtype=F64)
        gen = torch.Generator().manual_seed(4)
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
        dev = _device()
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


@claim(
    "kernels.online-softmax",
    title="The online softmax (running max and sum over key blocks) gives exactly the softmax average, for any shifts",
    statement=r"\ell' = e^{m-m'}\ell + \sum_{j\in J}e^{x_j-m'},\ a' = e^{m-m'}a + \sum_{j\in J}e^{x_j-m'}v_j"
    r"\ \Rightarrow\ \frac{a}{\ell} = \frac{\sum_j e^{x_j}v_j}{\sum_j e^{x_j}}",
    source="milakov2018online, Alg. 3; dao2022flashattention, Alg. 1",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _online_softmax(scale: str):
    names = ("normaliser update", "accumulator update", "ratio equals the softmax average")
    checks = [
        symbolic(f"{n} (2 old + 2 new logits, symbolic shifts m, m')", d)
        for n, d in zip(names, der.online_softmax_sides())
    ]
    T = 100 if scale == "ci" else 1000
    x = _inputs(7, 2, T, 2, 16, 8)
    for causal in (True, False):
        ref = softmax_attention_reference(x["q"], x["k"], x["v"], causal=causal, dtype=F64)
        o, _ = blockwise_softmax_attention(x["q"], x["k"], x["v"], causal=causal, block_size=16)
        checks.append(rel_close(f"blockwise PyTorch (causal={causal})", o, ref, rtol=R64, reason=R64_REASON))
        dev = _device()
        o_t = dispatch.softmax_attention(
            *(x[n].to(device=dev, dtype=torch.float32) for n in "qkv"), causal=causal, backend="triton", block_size=32
        )
        checks.append(
            rel_close(
                f"Triton flash forward (causal={causal})", o_t.cpu(), ref, rtol=R32, reason=R32_REASON, kind="kernel"
            )
        )
    return checks


@claim(
    "kernels.dsf-instances",
    title="S6, Mamba-2/SSD, RetNet and GLA are diagonal scans S_t = diag(exp g_t) S_{t-1} + k_t v_t^T with the mapped (q, k, v, g)",
    statement=r"\text{S6: } g_t = \Delta^{(c)}_t a^{(c)},\ k_t = b_t,\ v_t = \Delta^{(c)}_tu^{(c)}_t,\ q_t = c_t;\ "
    r"\text{SSD: } g_t = \Delta^{(h)}_ta^{(h)};\ \text{RetNet: } g_t = \log\gamma_h;\ \text{GLA: } g_t = \log\alpha_t",
    source="sieber2024understanding, DSF dossier §2.2 (S6), §2.3 (SSD), §2.5 (RetNet, GLA); checks E3, E6",
    status_of_source="reconstructed",
    kinds=("numeric", "kernel"),
)
def _dsf_instances(scale: str):
    T = 60 if scale == "ci" else 600
    g = torch.Generator().manual_seed(8)
    Bs, d, n, H, P = 2, 5, 16, 3, 8
    u, delta = (
        torch.randn(Bs, T, d, generator=g, dtype=F64),
        F.softplus(torch.randn(Bs, T, d, generator=g, dtype=F64) - 1),
    )
    A = -torch.arange(1, n + 1, dtype=F64).repeat(d, 1)
    Bm, Cm = torch.randn(Bs, T, n, generator=g, dtype=F64), torch.randn(Bs, T, n, generator=g, dtype=F64)
    D = torch.randn(d, generator=g, dtype=F64)
    x, dts = torch.randn(Bs, T, H, P, generator=g, dtype=F64), F.softplus(torch.randn(Bs, T, H, generator=g, dtype=F64))
    Ah, Dh = -torch.rand(H, generator=g, dtype=F64) - 0.1, torch.randn(H, generator=g, dtype=F64)
    q, k, v = (torch.randn(Bs, T, H, 16, generator=g, dtype=F64) for _ in range(3))
    gam = adapters.default_retnet_gammas(H)
    gk = F.logsigmoid(torch.randn(Bs, T, H, 16, generator=g, dtype=F64))
    refs = {
        "S6 (selective_scan_ref semantics)": adapters.s6_reference(u, delta, A, Bm, Cm, D)[0],
        "Mamba-2/SSD recurrence": adapters.ssd_reference(x, dts, Ah, Bm, Cm, Dh)[0],
        "RetNet parallel form": adapters.retnet_reference(q, k, v, gam),
        "GLA recurrence": diag_scan_recurrent(q, k, v, gk, dtype=F64)[0],
    }
    checks = []
    dev = _device()
    for backend, dt, kind, tol, reason in (
        ("torch", F64, "numeric", R64, R64_REASON),
        ("triton", torch.float32, "kernel", R32, R32_REASON),
    ):
        dev_b = "cpu" if backend == "torch" else dev

        def c(*ts, dt=dt, dev_b=dev_b):
            return [t.to(device=dev_b, dtype=dt) for t in ts]

        outs = {
            "S6 (selective_scan_ref semantics)": adapters.s6_scan(
                *c(u, delta, A, Bm, Cm, D), backend=backend, chunk_size=16
            )[0],
            "Mamba-2/SSD recurrence": adapters.ssd_scan(*c(x, dts, Ah, Bm, Cm, Dh), backend=backend, chunk_size=16)[0],
            "RetNet parallel form": adapters.retnet_scan(*c(q, k, v, gam), backend=backend, chunk_size=16)[0],
            "GLA recurrence": adapters.gla_scan(*c(q, k, v, gk), backend=backend, chunk_size=16)[0],
        }
        for name, ref in refs.items():
            checks.append(
                rel_close(f"{backend} diag scan vs {name}", outs[name].cpu(), ref, rtol=tol, reason=reason, kind=kind)
            )
    return checks
