"""Claim ``dsf.chunked-kernel-dispatch``: the DSF's chunked form routed to the Triton kernels agrees with its recurrence."""

from __future__ import annotations

import math
from unittest import mock

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, control, holds, rel_close

from .. import scan
from ..core import DSF
from ..sampling import rand, randn
from ..scan import kernel_backend

LENGTH, STATE, CHUNK_SIZE = 45, 12, 16  # L > chunk_size: the Triton route runs ceil(45/16) = 3 chunks, the last partial
# fp32 kernel vs float64 recurrence: every output is a sum over <= L steps of N-term products with
# |lambda| <= 1, so the relative error is about (L + N) eps32 = 57 x 1.2e-7 ~ 7e-6; 1e-4 leaves a
# factor ~15 for the interpreter's fp32 tl.dot accumulation order.
TOL_FP32 = 1e-4
REASON_FP32 = "fp32 eps 1.2e-7 x growth (L + N) = 57, times ~15 for the tl.dot summation order"


def _random_dsf(seed: int, structure: str, L: int = LENGTH, N: int = STATE, d: int = 3, p: int = 2):
    g = torch_generator(seed)
    lam = 0.6 + 0.4 * rand(g, 2, L, N) if structure == "diagonal" else 0.6 + 0.4 * rand(g, 2, L)
    return (
        DSF(lam, randn(g, 2, L, N, d), randn(g, 2, L, p, N), randn(g, 2, L, p, d), structure=structure),
        randn(g, 2, L, d),
        randn(g, 2, N),
    )


def _f32(s: DSF) -> DSF:
    return DSF(s.lam.float(), s.B.float(), s.C.float(), s.D.float(), structure=s.structure)


def _refusal(dsf: DSF, u, chunk_size: int, words: str) -> bool:
    """Whether forcing Triton raises a ValueError whose message contains ``words``."""
    try:
        dsf.chunked(u, chunk_size, backend="triton")
    except ValueError as err:
        return words in str(err)
    return False


@claim(
    "dsf.chunked-kernel-dispatch",
    title="Routed through the one dispatch point, the Triton diagonal scan reproduces the DSF recurrence",
    statement=r"y_i = C_i h_i + D_i u_i,\ h_i=\Lambda_i h_{i-1}+B_iu_i:\ "
    r"\text{kernel}(\Lambda\in(0,1],\ \text{fp32}) = \text{recurrent (float64)} \pm O(L\,\varepsilon_{32})",
    source="sieber2024understanding eq. (11) (the DSF recurrence); the chunked Triton route is ours "
    "(see the book's Sources appendix)",
    status_of_source="reconstructed",
    kinds=("kernel", "numeric"),
)
def _triton_route_matches_recurrence(tier: str):
    from attnmath.kernels import dispatch

    checks = []
    chunks = math.ceil(LENGTH / CHUNK_SIZE)
    for structure, seed in (("diagonal", 301), ("scalar", 302)):
        s64, u, h0 = _random_dsf(seed, structure)
        ref = s64.recurrent(u, h0)
        s32 = _f32(s64)
        y = s32.chunked(u.float(), CHUNK_SIZE, h0.float(), backend="triton")
        checks.append(
            rel_close(
                f"{structure} Λ: Triton chunked (fp32, interpreter on CPU; L={LENGTH}, "
                f"chunk_size={CHUNK_SIZE}: {chunks} chunks) vs float64 recurrence",
                y.double(),
                ref,
                rtol=TOL_FP32,
                reason=REASON_FP32,
                kind="kernel",
            )
        )
        x32 = (s32.B @ u.float()[..., None])[..., 0]
        picked = kernel_backend(s32.lam, x32, "auto", CHUNK_SIZE)
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
    checks.append(
        holds(
            "forcing Triton with Λ > 1 raises a ValueError that says why",
            _refusal(_f32(grow), u.float(), CHUNK_SIZE, "0 < lam <= 1"),
        )
    )
    checks.append(
        holds(
            "forcing Triton with chunk_size=8 raises a ValueError that says why (the chunk length is never dropped)",
            _refusal(_f32(s64), u.float(), 8, "chunk_size a power of two >= 16"),
        )
    )
    return checks


@control(
    "dsf.chunked-kernel-dispatch", "the kernel route's suitability test ignores Λ > 1 (the 0 < λ ≤ 1 guard dropped)"
)
def _kernel_accepts_growing_lambda():
    unsuitable = scan._kernel_unsuitable

    def without_lambda_guard(lam, x, chunk_size):
        return unsuitable(lam.clamp(max=1.0), x, chunk_size)

    with mock.patch.object(scan, "_kernel_unsuitable", without_lambda_guard):
        yield
