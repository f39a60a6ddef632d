r"""Claim on the DSF instances: S6, Mamba-2/SSD, RetNet and GLA are one diagonal scan with mapped inputs.

Book: ``notebooks/20_kernels``, section "One kernel, four architectures".  The mappings and the models'
own recurrences are :mod:`attnmath.fastforms.instances`.
"""

from __future__ import annotations

from unittest import mock

import torch
import torch.nn.functional as F

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, control, rel_close
from attnmath.kernels import dispatch
from attnmath.kernels.diag_scan import diag_scan_recurrent

from .. import instances
from .inputs import F64, R32, R32_REASON, R64, R64_REASON, device
from .sizes import SIZES


@claim(
    "kernels.dsf-instances",
    title="S6, Mamba-2/SSD, RetNet and GLA are diagonal scans S_t = diag(exp g_t) S_{t-1} + k_t v_t^T with the mapped (q, k, v, g)",
    statement=r"\text{S6: } g_t = \Delta^{(c)}_t a^{(c)},\ k_t = b_t,\ v_t = \Delta^{(c)}_tu^{(c)}_t,\ q_t = c_t;\ "
    r"\text{SSD: } g_t = \Delta^{(h)}_ta^{(h)};\ \text{RetNet: } g_t = \log\gamma_h;\ \text{GLA: } g_t = \log\alpha_t",
    source="sieber2024understanding, eq. (19) (S6 in the DSF) and §4.2; gu2023mamba (selective_scan_ref), "
    "dao2024transformers (SSD), sun2023retentive (retention), yang2024gated (GLA); the mappings onto one "
    "diagonal scan are reconstructed here (see the book's Sources appendix)",
    status_of_source="reconstructed",
    kinds=("numeric", "kernel"),
)
def _dsf_instances_are_diagonal_scans(tier: str):
    T = SIZES[tier].instances_length
    g = torch_generator(8)
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
    gam = instances.default_retnet_gammas(H)
    gk = F.logsigmoid(torch.randn(Bs, T, H, 16, generator=g, dtype=F64))
    refs = {
        "S6 (selective_scan_ref semantics)": instances.s6_reference(u, delta, A, Bm, Cm, D)[0],
        "Mamba-2/SSD recurrence": instances.ssd_reference(x, dts, Ah, Bm, Cm, Dh)[0],
        "RetNet parallel form": instances.retnet_reference(q, k, v, gam),
        "GLA recurrence": diag_scan_recurrent(q, k, v, gk, dtype=F64)[0],
    }
    checks = []
    dev = device()
    for backend, dt, kind, tol, reason in (
        ("torch", F64, "numeric", R64, R64_REASON),
        ("triton", torch.float32, "kernel", R32, R32_REASON),
    ):
        dev_b = "cpu" if backend == "torch" else dev

        def c(*ts, dt=dt, dev_b=dev_b):
            return [t.to(device=dev_b, dtype=dt) for t in ts]

        outs = {
            "S6 (selective_scan_ref semantics)": instances.s6_scan(
                *c(u, delta, A, Bm, Cm, D), backend=backend, chunk_size=16
            )[0],
            "Mamba-2/SSD recurrence": instances.ssd_scan(*c(x, dts, Ah, Bm, Cm, Dh), backend=backend, chunk_size=16)[0],
            "RetNet parallel form": instances.retnet_scan(*c(q, k, v, gam), backend=backend, chunk_size=16)[0],
            "GLA recurrence": instances.gla_scan(*c(q, k, v, gk), backend=backend, chunk_size=16)[0],
        }
        for name, ref in refs.items():
            checks.append(
                rel_close(f"{backend} diag scan vs {name}", outs[name].cpu(), ref, rtol=tol, reason=reason, kind=kind)
            )
    return checks


@control("kernels.dsf-instances", "S6 mapped without the step in the input (v_t = u_t instead of Δ_t u_t)")
def _s6_input_without_step():
    def s6_scan_v_is_u(u, delta, A, B, C, D=None, *, initial_state=None, chunk_size=None, backend="auto"):
        Bsz, T, d = u.shape
        n = A.shape[1]
        q, k = C[:, :, None, :].expand(Bsz, T, d, n), B[:, :, None, :].expand(Bsz, T, d, n)
        h0 = None if initial_state is None else initial_state[..., None]
        o, S = dispatch.diag_scan(
            q,
            k,
            u[..., None],
            delta[..., None] * A,
            scale=1.0,
            initial_state=h0,
            chunk_size=chunk_size,
            backend=backend,
        )
        y = o[..., 0] if D is None else o[..., 0] + D * u
        return y, S[..., 0]

    with mock.patch.object(instances, "s6_scan", s6_scan_v_is_u):
        yield
