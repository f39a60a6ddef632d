"""Claim ``dsf.chunked-kernel-dispatch``: the DSF's chunked form routed to the Triton kernels agrees with its recurrence."""

from __future__ import annotations

import math
import os
from unittest import mock

import torch

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, control, holds, rel_close

from .. import scan
from ..core import DSF
from ..sampling import rand, randn

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


def _device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _f32(s: DSF) -> DSF:
    """The DSF in fp32 on the kernels' device (CUDA when present, else the CPU interpreter)."""
    dev = _device()
    return DSF(*(t.float().to(dev) for t in (s.lam, s.B, s.C, s.D)), structure=s.structure)  # type: ignore[union-attr]  # the claim's systems all carry a feed-through D


def _refusal(dsf: DSF, u: torch.Tensor, chunk_size: int, words: str) -> bool:
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
    from attnmath.kernels import _triton
    from attnmath.kernels.diag_scan import triton_chunk

    # What the environment asks for, read from the environment itself (not from the dispatch code): the
    # Triton route is the default for CUDA tensors, or for CPU tensors when the user set TRITON_INTERPRET=1.
    auto_expected = _triton.available() and (torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1")
    # (sequence length T, chunk_size) of every launch of the Triton entry point
    launches: list[tuple[int, int | None]] = []
    entry = triton_chunk.triton_chunk_diag_scan

    def spy(q, k, v, g, **kw):
        launches.append((q.shape[1], kw.get("chunk_size")))
        return entry(q, k, v, g, **kw)

    def run(dsf, u, h0=None, chunk_size=CHUNK_SIZE, backend="auto"):
        launches.clear()
        with mock.patch.object(triton_chunk, "triton_chunk_diag_scan", spy):
            y = dsf.chunked(u, chunk_size, h0, backend=backend)
        return y, list(launches)

    checks = []
    chunks = math.ceil(LENGTH / CHUNK_SIZE)
    for structure, seed in (("diagonal", 301), ("scalar", 302)):
        s64, u, h0 = _random_dsf(seed, structure)
        ref = s64.recurrent(u, h0)
        s32 = _f32(s64)
        dev = _device()
        y, seen = run(s32, u.float().to(dev), h0.float().to(dev), backend="triton")
        checks.append(
            rel_close(
                f"{structure} Λ: Triton chunked (fp32, interpreter on CPU; L={LENGTH}, "
                f"chunk_size={CHUNK_SIZE}: {chunks} chunks) vs float64 recurrence",
                y.double().cpu(),
                ref,
                rtol=TOL_FP32,
                reason=REASON_FP32,
                kind="kernel",
            )
        )
        checks.append(
            holds(
                f"{structure} Λ, backend='triton': the Triton entry point ran once on T = {LENGTH} in chunks of "
                f"{CHUNK_SIZE} ({chunks} chunks)",
                seen == [(LENGTH, CHUNK_SIZE)],
                kind="kernel",
                details=f"launches (T, chunk_size): {seen}",
            )
        )
        y_auto, seen = run(s32, u.float().to(dev), h0.float().to(dev))
        want = "the Triton kernel" if auto_expected else "the PyTorch form"
        checks.append(
            holds(
                f"{structure} Λ, fp32, backend='auto': {want} ran (CUDA or TRITON_INTERPRET=1 ⇒ Triton)",
                bool(seen) == auto_expected and all(c == CHUNK_SIZE for _, c in seen),
                kind="kernel",
                details=f"Triton launches observed: {seen}",
            )
        )
        checks.append(
            rel_close(
                f"{structure} Λ, backend='auto' (fp32) vs float64 recurrence",
                y_auto.double().cpu(),
                ref,
                rtol=TOL_FP32,
                reason=REASON_FP32,
                kind="kernel",
            )
        )
    s64, u, h0 = _random_dsf(303, "diagonal")
    _, seen = run(s64, u)
    checks.append(holds("float64 DSF, 'auto': no Triton launch (the PyTorch form ran)", seen == [], details=f"{seen}"))
    grow = DSF(s64.lam * 1.5, s64.B, s64.C, s64.D, structure="diagonal")
    try:
        _, seen = run(_f32(grow), u.float().to(_device()))
        grow_details = f"{seen}"
    except ValueError as exc:  # routed to the kernel anyway, which refuses a positive log-decay
        seen, grow_details = list(launches), f"'auto' routed to the kernel, which raised: {exc}"
    checks.append(
        holds(
            "Λ > 1 (e.g. normalized attention's eigenvalues), fp32, 'auto': no Triton launch",
            seen == [],
            details=grow_details,
        )
    )
    checks.append(
        holds(
            "forcing Triton with Λ > 1 raises a ValueError that says why",
            _refusal(_f32(grow), u.float().to(_device()), CHUNK_SIZE, "0 < lam <= 1"),
        )
    )
    checks.append(
        holds(
            "forcing Triton with chunk_size=8 raises a ValueError that says why (the chunk length is never dropped)",
            _refusal(_f32(s64), u.float().to(_device()), 8, "chunk_size a power of two >= 16"),
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


@control("dsf.chunked-kernel-dispatch", "DSF.chunked ignores the router under 'auto' (always the PyTorch form)")
def _auto_never_routes():
    from .. import core

    route = core._kernel_backend

    def torch_unless_forced(lam, x, backend, chunk_size):
        return "torch" if backend == "auto" else route(lam, x, backend, chunk_size)

    with mock.patch.object(core, "_kernel_backend", torch_unless_forced):
        yield
