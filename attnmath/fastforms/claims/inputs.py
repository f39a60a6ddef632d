r"""Seeded inputs, the Triton run and the tolerances shared by the kernels chapter's claim topics.

Kernel checks (kind ``kernel``) run the Triton kernel in fp32 (compiled on a GPU, through Triton's
interpreter on a CPU) against the float64 reference, with the fp32 max-norm bound of the one kernel
tolerance table :mod:`attnmath.base.tolerances` (:data:`R32`).  Numeric checks compare the PyTorch forms
run in float64 with the float64 step-by-step references (:data:`R64`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from attnmath.base.numerics import torch_generator, unit_roundoff
from attnmath.base.tolerances import tolerance

F64 = torch.float64

_FP32 = tolerance(torch.float32)
R32 = _FP32.max_abs  # rel_close is max|a - e| / max|e|: the table's max-abs bound in units of max|ref|
R32_REASON = (
    "fp32 max-abs bound of attnmath.base.tolerances (units of max|ref|); "
    "expected u32 sqrt(T K) <= 6e-8 x 130 = 8e-6 at T K <= 16000"
)
_FP64 = tolerance(torch.float64)
R64 = _FP64.max_abs
R64_REASON = _FP64.reason
EXACT_RTOL = 64 * unit_roundoff(torch.float64)  # library float64 forms at T <= 5 against sympy at 30 digits
EXACT_REASON = (
    "u64 x 64: a float64 form at T <= 5, K = 2 rounds each output at most ~30 times (products, exp, sums); "
    "the sympy reference is evaluated at 30 digits, so its own error is nil"
)


def device() -> str:
    """Where the Triton kernels run: the GPU when there is one, else the CPU (Triton's interpreter)."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def seeded_inputs(
    seed: int, B: int, T: int, H: int, K: int, V: int, gate: str | None = None, dtype: torch.dtype = F64
) -> dict:
    """``q, k [B, T, H, K]``, ``v [B, T, H, V]``, ``h0 [B, H, K, V]`` and the log-decay ``g`` (``None``,
    ``"scalar"`` ``[B, T, H]`` or ``"key"`` ``[B, T, H, K]``; ``logsigmoid(x + 2)``), drawn in float64."""
    g = torch_generator(seed)
    q, k = (torch.randn(B, T, H, K, generator=g, dtype=F64) for _ in range(2))
    v = torch.randn(B, T, H, V, generator=g, dtype=F64)
    h0 = torch.randn(B, H, K, V, generator=g, dtype=F64)
    shape = {None: None, "scalar": (B, T, H), "key": (B, T, H, K)}[gate]
    lg = None if shape is None else F.logsigmoid(torch.randn(*shape, generator=g, dtype=F64) + 2)
    return {n: (None if x is None else x.to(dtype)) for n, x in {"q": q, "k": k, "v": v, "h0": h0, "g": lg}.items()}


def triton_run(fn: Callable[..., Any], x: dict, names: str, **kw: Any) -> Any:
    """``fn(*x[names], initial_state=x["h0"], backend="triton", **kw)`` with the inputs in fp32 on :func:`device`."""
    dev = device()
    args = [x[n].to(device=dev, dtype=torch.float32) for n in names]
    h0 = x["h0"].to(device=dev, dtype=torch.float32)
    return fn(*args, initial_state=h0, backend="triton", **kw)


def concrete(seq: dict, seed: int) -> tuple[dict, dict]:
    r"""Seeded float64 values for the symbols of ``seq`` (:func:`attnmath.fastforms.derivation.sequence`) twice:
    as arrays with the symbols' shapes (for :func:`~attnmath.fastforms.derivation.evaluate`) and as the
    library's tensors (``q, k [1, T, 1, K]``, ``v [1, T, 1, V]``, ``h0 [1, 1, K, V]``, ``g [1, T, 1]`` for a
    scalar gate or ``[1, T, 1, K]``; ``g = logsigmoid(x + 2)``; no ``g`` when ``seq`` has no gate)."""
    T, K = seq["q"].shape
    x = seeded_inputs(seed, 1, T, 1, K, seq["v"].shape[1], "key")
    gates = {s for s in seq["g"] if s != 0}
    scalar = len(gates) == T and T < T * K
    lib = {"q": x["q"], "k": x["k"], "v": x["v"], "h0": x["h0"]}
    if gates:
        lib["g"] = x["g"][..., 0] if scalar else x["g"]
    vals = {n: t[0, :, 0].numpy() for n, t in lib.items() if n in "qkv"}
    vals["h0"] = lib["h0"][0, 0].numpy()
    if gates:
        vals["g"] = (lib["g"][0, :, 0, None].expand(T, K) if scalar else lib["g"][0, :, 0]).numpy()
    return vals, lib
