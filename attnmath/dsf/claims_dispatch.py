"""Claim ``dsf.chunked-kernel-dispatch``: the DSF's chunked form routed to the Triton kernels agrees with its recurrence."""

from __future__ import annotations

import torch

from ..claims import claim, holds, rel_close
from ._util import rand, randn, rng
from .core import DSF
from .scan import kernel_backend

F32_EPS = float(torch.finfo(torch.float32).eps)  # 1.2e-7
# fp32 kernel vs float64 recurrence: every output is a sum over <= L steps of N-term products with
# |lambda| <= 1, so the relative error is about (L + N) eps32 ~ 70 x 1.2e-7 ~ 1e-5; 1e-4 leaves a
# factor 10 for the interpreter's fp32 tl.dot accumulation order.
TOL_FP32 = 1e-4
REASON_FP32 = "fp32 unit roundoff 1.2e-7 x growth (L + N) ~ 70, times 10 for the tl.dot summation order"


def _random_dsf(seed: int, structure: str, L: int = 45, N: int = 12, d: int = 3, p: int = 2):
    g = rng(seed)
    lam = 0.6 + 0.4 * rand(g, 2, L, N) if structure == "diagonal" else 0.6 + 0.4 * rand(g, 2, L)
    return (
        DSF(lam, randn(g, 2, L, N, d), randn(g, 2, L, p, N), randn(g, 2, L, p, d), structure=structure),
        randn(g, 2, L, d),
        randn(g, 2, N),
    )


def _f32(s: DSF) -> DSF:
    return DSF(s.lam.float(), s.B.float(), s.C.float(), s.D.float(), structure=s.structure)


@claim(
    "dsf.chunked-kernel-dispatch",
    title="Routed through the one dispatch point, the Triton diagonal scan reproduces the DSF recurrence",
    statement=r"y_i = C_i h_i + D_i u_i,\ h_i=\Lambda_i h_{i-1}+B_iu_i:\ "
    r"\text{kernel}(\Lambda\in(0,1],\ \text{fp32}) = \text{recurrent (float64)} \pm O(L\,\varepsilon_{32})",
    source="sieber2024understanding, dossier §1.1 and §6 (fast forms of the DSF recurrence); DESIGN.md §5",
    status_of_source="reconstructed",
    kinds=("kernel", "numeric"),
)
def _dispatch(scale: str):
    from attnmath.kernels import dispatch

    checks = []
    for structure, seed in (("diagonal", 301), ("scalar", 302)):
        s64, u, h0 = _random_dsf(seed, structure)
        ref = s64.recurrent(u, h0)
        s32 = _f32(s64)
        y = s32.chunked(u.float(), 16, h0.float(), backend="triton")
        checks.append(
            rel_close(
                f"{structure} Λ: Triton chunked (fp32, interpreter on CPU) vs float64 recurrence",
                y.double(),
                ref,
                rtol=TOL_FP32,
                reason=REASON_FP32,
                kind="kernel",
            )
        )
        x32 = (s32.B @ u.float()[..., None])[..., 0]
        picked = kernel_backend(s32.lam, x32, "auto")
        checks.append(
            holds(
                f"{structure} Λ, fp32: 'auto' follows attnmath.kernels.dispatch.backend",
                picked == dispatch.backend(x32.device, x32.dtype),
                kind="kernel",
                details=f"picked {picked}",
            )
        )
    s64, u, h0 = _random_dsf(303, "diagonal")
    x64 = (s64.B @ u[..., None])[..., 0]
    checks.append(holds("float64 DSF: 'auto' keeps the PyTorch form", kernel_backend(s64.lam, x64, "auto") == "torch"))
    grow = DSF(s64.lam * 1.5, s64.B, s64.C, s64.D, structure="diagonal")
    checks.append(
        holds(
            "Λ > 1 (e.g. normalized attention's eigenvalues): 'auto' keeps the PyTorch form",
            kernel_backend(grow.lam.float(), x64.float(), "auto") == "torch",
        )
    )
    try:
        _f32(grow).chunked(u.float(), 16, backend="triton")
        refused = False
    except ValueError as err:
        refused = "0 < lam <= 1" in str(err)
    checks.append(holds("forcing Triton with Λ > 1 raises a ValueError that says why", refused))
    return checks
