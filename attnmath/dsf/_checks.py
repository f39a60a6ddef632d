"""Shape and range checks of the DSF constructors that :mod:`attnmath.base.validation` has no helper for.

Each raises ``TypeError``/``ValueError`` naming every argument involved (the checked one and the ones that
fix its expected shape), saying what was expected and what was given:

- :func:`min_ndim`: at least ``ndim`` dimensions (batched layouts such as ``[..., L, d]``);
- :func:`matching`: :func:`~attnmath.base.validation.tensor_like` (dtype and device of a reference), then an
  exact shape derived from other arguments, the message naming them;
- :func:`broadcasts_to`: a shape that broadcasts to another argument's;
- :func:`exponent`: a tensor or number whose exponential stays finite in a dtype;
- :func:`log_values`: finite values or :math:`-\\infty` (logs of zero), never NaN, :math:`+\\infty` or huge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..base import validation as V


def _fmt(shape: Sequence[int | None]) -> str:
    return "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"


min_ndim = V.min_ndim  # the shared helpers (attnmath.base.validation), under this module's names
max_exponent = V.max_exponent
exponent = V.exponent


def matching(
    x: object,
    name: str,
    ref: torch.Tensor,
    ref_name: str,
    shape: Sequence[int | None],
    *,
    what: str | None = None,
    finite: bool = True,
) -> torch.Tensor:
    """:func:`V.tensor_like` ``ref``, then ``x.shape == shape`` (``None``: any size).

    ``what`` says which arguments fix ``shape`` (default: ``ref_name`` and its shape); the message names them,
    so a mismatch is reported against whichever of the arguments was wrong.
    """
    t = V.tensor_like(x, name, ref, ref_name, finite=finite)
    want = tuple(shape)
    if t.dim() != len(want) or any(s is not None and s != ts for s, ts in zip(want, t.shape)):
        source = what if what is not None else f"{ref_name} (shape {list(ref.shape)})"
        raise ValueError(f"{name} must have shape {_fmt(want)} to match {source}, got {list(t.shape)}")
    return t


def broadcasts_to(x: torch.Tensor, name: str, target: Sequence[int], what: str) -> torch.Tensor:
    """``x`` broadcasts to ``target`` without growing it (``what`` names the argument ``target`` comes from)."""
    try:
        ok = torch.broadcast_shapes(tuple(x.shape), tuple(target)) == tuple(target)
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must broadcast to {what} = {list(target)}, got shape {list(x.shape)}")
    return x


def log_values(x: object, name: str) -> torch.Tensor:
    """A real floating tensor of finite values or ``-inf`` (log 0), magnitudes of the finite ones bounded."""
    t = V.tensor(x, name, finite=False)
    if t.device.type == "meta" or t.numel() == 0:
        return t
    if bool(torch.isnan(t).any()) or bool((t == math.inf).any()):
        raise ValueError(f"{name} must contain finite values or -inf (the log of 0), found NaN or +inf")
    finite = t.detach()[torch.isfinite(t.detach())]
    bound = V.max_abs_of(t.dtype)
    if finite.numel() and float(finite.abs().max()) > bound:
        raise ValueError(
            f"{name} must have magnitude <= {bound:.3g} (larger inputs overflow in a sum), got {float(finite.abs().max()):.3g}"
        )
    return t


def qkv(q: object, k: object, v: object, *, names: tuple[str, str, str] = ("q", "k", "v")) -> torch.Tensor:
    """Queries and keys ``[..., L, K]`` of one shape, values ``[..., L, V]``; one dtype and device. Returns ``q``."""
    nq, nk, nv = names
    qt = min_ndim(V.tensor(q, nq), nq, 2, "[..., L, K]")
    matching(k, nk, qt, nq, qt.shape)
    matching(v, nv, qt, nq, (*qt.shape[:-1], None))
    return qt
