r"""The one dispatch point: ``linear_attention``, ``diag_scan``, ``softmax_attention`` and ``backend``.

Backend rule (:func:`backend`): Triton when the tensors are on a CUDA device, or when they are on the
CPU and the user set ``TRITON_INTERPRET=1`` (Triton's CPU interpreter); the chunked PyTorch forms
otherwise (including fp64 inputs, which the fp32 Triton kernels do not take).  ``backend="torch"``
or ``backend="triton"`` forces a choice; forcing Triton on a CPU machine switches the interpreter on
(see :mod:`attnmath.kernels._triton`), without changing what ``backend()`` reports afterwards.

``import attnmath.kernels`` never imports triton: kernels are compiled (or interpreted) on first launch.
"""

from __future__ import annotations

from typing import Literal, overload

import torch

from attnmath.base import validation as V
from attnmath.base.chunks import CHUNK_SIZE

from . import _triton
from ._common import check_positive_denominator, check_qkv
from .diag_scan.chunk import chunk_diag_scan
from .linear_attention.chunk import chunk_linear_attention
from .linear_attention.reference import _split_state
from .softmax_attention.chunk import blockwise_softmax_attention

__all__ = ["BACKENDS", "backend", "diag_scan", "linear_attention", "softmax_attention"]

BACKENDS = ("auto", "torch", "triton")


def backend(device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> str:
    """``"triton"`` or ``"torch"``: what ``backend="auto"`` picks for tensors on ``device`` (default: CUDA if present).

    ``dtype`` (``None`` or a floating dtype: the kernels take no other) and ``device`` are checked: a bad one
    raises ``TypeError``/``ValueError`` naming it.
    """
    device = V.device(device, "device")
    dtype = None if dtype is None else V.float_dtype(dtype, "dtype")
    if dtype == torch.float64 or not _triton.available():
        return "torch"
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "cuda":
        return "triton"
    return "triton" if (_triton.interpreter_requested() and not torch.cuda.is_available()) else "torch"


def _pick(name: str, q: torch.Tensor) -> str:
    """The backend for ``q``; ``q`` is checked for type and rank first (its values later, by the chosen form)."""
    V.tensor(q, "q", ndim=4, finite=False)
    V.choice(name, "backend", BACKENDS)
    if name == "auto":
        return backend(q.device, q.dtype)
    if name == "triton" and q.device.type == "cpu" and torch.cuda.is_available():
        raise ValueError("backend='triton' with CPU tensors on a CUDA machine: move the tensors to the GPU")
    return name


@overload
def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    normalize: Literal[False] = False,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = CHUNK_SIZE,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]: ...
@overload
def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    normalize: Literal[True],
    initial_state: tuple[torch.Tensor, torch.Tensor] | None = None,
    chunk_size: int = CHUNK_SIZE,
    backend: str = "auto",
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]: ...
@overload
def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    normalize: bool,
    initial_state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
    chunk_size: int = CHUNK_SIZE,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]: ...
def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    normalize: bool = False,
    initial_state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
    chunk_size: int = CHUNK_SIZE,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    r"""Causal linear attention :math:`S_t = S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t` (optionally normalised).

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``; ``initial_state``: ``[B, H, K, V]`` or, with
    ``normalize=True``, a tuple ``(S0 [B, H, K, V], z0 [B, H, K])``.  With ``normalize`` the output is
    :math:`o_t = S_t^\top q_t / (q_t^\top z_t)`, :math:`z_t = z_{t-1} + k_t`, computed as linear
    attention on the value augmented by a column of ones (claim
    ``kernels.normalizer-is-a-value-column``).  The normaliser needs :math:`q_t^\top z_t > 0` at every step,
    which holds for positive feature maps (``elu(x) + 1``, ``exp``); a denominator ``<= 0`` raises
    ``ValueError`` (one reduction, a device sync on a GPU) instead of returning outputs of any size and
    sign.  Returns ``(o [B, T, H, V], final_state)``, the final
    state ``S_T`` (or ``(S_T, z_T)``) in fp32 (fp64 for fp64 inputs).  Differentiable in q, k, v and
    the initial state(s).  ``scale=None`` means ``K**-0.5``; ``chunk_size`` a power of two (>= 16 for
    Triton).  DSF: :math:`\Lambda_t = I`.
    """
    B, T, H, K, Vd = check_qkv(q, k, v, finite=False)  # shapes here; both backends check the values
    normalize = V.flag(normalize, "normalize")
    which = _pick(backend, q)
    S0, z0 = _split_state(initial_state, normalize, B, H, K, Vd, q)
    if normalize:
        ones = torch.ones(B, T, H, 1, dtype=v.dtype, device=v.device)
        v = torch.cat([v, ones], dim=-1)
        if S0 is not None or z0 is not None:
            S0 = torch.zeros(B, H, K, Vd, dtype=torch.float32, device=q.device) if S0 is None else S0
            z0 = torch.zeros(B, H, K, dtype=S0.dtype, device=q.device) if z0 is None else z0.to(S0.dtype)
            S0 = torch.cat([S0, z0[..., None]], dim=-1)
    if which == "triton":
        from .linear_attention.triton_chunk import triton_chunk_linear_attention

        o, S = triton_chunk_linear_attention(q, k, v, scale=scale, initial_state=S0, chunk_size=chunk_size)
    else:
        o, S = chunk_linear_attention(q, k, v, scale=scale, initial_state=S0, chunk_size=chunk_size)
    if not normalize:
        return o, S
    den = o[..., Vd:]
    check_positive_denominator(den)
    return o[..., :Vd] / den, (S[..., :Vd], S[..., Vd])


def diag_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Diagonal scan :math:`S_t = \mathrm{diag}(e^{g_t})S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t`.

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``, g (log-decay, ``<= 0``): ``[B, T, H, K]`` (per key,
    GLA/S6) or ``[B, T, H]`` (scalar, Mamba-2/RetNet); ``initial_state``: ``[B, H, K, V]``.  Chunked
    with log-space cumulative decays; ``chunk_size`` a power of two (>= 16 for Triton), ``None`` for
    :data:`~attnmath.base.chunks.CHUNK_SIZE` (the per-key Triton scan on a GPU takes 16: see
    :mod:`attnmath.kernels.diag_scan.triton_chunk`).  Returns ``(o [B, T, H, V], S_T [B, H, K, V])``;
    differentiable in q, k, v, g and the initial state.  DSF: :math:`\Lambda_t = I_V\otimes\mathrm{diag}(e^{g_t})`.
    """
    which = _pick(backend, q)
    if which == "triton":
        from .diag_scan.triton_chunk import triton_chunk_diag_scan

        return triton_chunk_diag_scan(q, k, v, g, scale=scale, initial_state=initial_state, chunk_size=chunk_size)
    C = CHUNK_SIZE if chunk_size is None else chunk_size
    return chunk_diag_scan(q, k, v, g, scale=scale, initial_state=initial_state, chunk_size=C)


def softmax_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    causal: bool = True,
    block_size: int = CHUNK_SIZE,
    backend: str = "auto",
) -> torch.Tensor:
    r"""Softmax attention :math:`o_i = \sum_{j\le i} e^{s\,q_i^\top k_j} v_j / \sum_{j\le i} e^{s\,q_i^\top k_j}` with an online softmax.

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``; ``causal=False`` sums over all ``j``.  Keys are
    visited block by block with a running max and sum (FlashAttention's forward), never
    materialising the ``T x T`` matrix.  Returns ``o [B, T, H, V]`` in q's dtype.  The Triton path's
    backward is computed in PyTorch from the saved log-sum-exp.  ``scale=None`` means ``K**-0.5``;
    ``block_size`` (keys per block; Triton: also queries) a power of two (>= 16 for Triton).
    """
    causal = V.flag(causal, "causal")
    which = _pick(backend, q)
    if which == "triton":
        from .softmax_attention.triton_flash import triton_flash_attention

        return triton_flash_attention(q, k, v, scale=scale, causal=causal, block_size=block_size)
    return blockwise_softmax_attention(q, k, v, scale=scale, causal=causal, block_size=block_size)[0]
