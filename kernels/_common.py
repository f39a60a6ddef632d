"""Shared input checks and layout helpers for the kernels (layout ``[B, T, H, D]``, as in fla).

``q, k``: ``[B, T, H, K]``; ``v``: ``[B, T, H, V]``; states: ``[B, H, K, V]``.  Inputs may be
fp16, bf16, fp32 or fp64; every form computes in fp32 (fp64 for fp64 inputs) and returns outputs
in the input dtype and states in the compute dtype.  Finiteness: :func:`check_qkv` rejects a NaN or
Inf in ``q``, ``k`` or ``v``, :func:`check_state` in an initial state and ``check_g`` in the
log-decays ``g`` (one reduction per tensor, a device sync on a GPU): a NaN there would give NaN
outputs, and ``g=-inf`` (a reset) gives NaN in the chunked forms' :math:`b_i-b_j`.  The chunked
PyTorch forms run the same checks one group of steps at a time (:func:`check_finite`), just before the
group is used: one read of the inputs from memory instead of two.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from attnmath.base import validation as V

#: More heads than this, with fewer steps than heads, is read as a transposed ``[B, H, T, K]`` input (no published
#: model has more than 128 heads per layer; sequences are usually longer than 256 steps).  A transposed input
#: with T <= 256 steps is not detectable from shapes and is computed as given.
MAX_HEADS = 256


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp64 stays fp64; fp16/bf16/fp32 are computed in fp32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_qkv(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, finite: bool = True
) -> tuple[int, int, int, int, int]:
    """Validate ``q, k: [B, T, H, K]`` and ``v: [B, T, H, V]`` (same dtype and device, finite); return ``B, T, H, K, V``.

    A ``[B, H, T, K]`` tensor is refused where its shape gives it away (more than :data:`MAX_HEADS` "heads" and
    fewer steps than heads).

    The finiteness check is one reduction per tensor (a device sync on a GPU); it keeps a NaN
    input from turning into a silent NaN output.  ``finite=False`` leaves it to the caller, which must then
    run :func:`check_finite` on every part of the inputs before it uses that part (the chunked PyTorch forms do
    so one group of steps at a time, while the group is in cache).
    """
    V.tensor(q, "q", ndim=4, finite=finite)
    V.tensor(k, "k", ndim=4, finite=finite)
    V.tensor(v, "v", ndim=4, finite=finite)
    for name, x in (("k", k), ("v", v)):
        V.same_dtype("q", q, name, x)
        V.same_device("q", q, name, x)
    if k.shape != q.shape:
        raise ValueError(f"k must have the shape of q [B, T, H, K] = {list(q.shape)}, got {list(k.shape)}")
    if v.shape[:3] != q.shape[:3]:
        raise ValueError(f"v must have shape [B, T, H, V] with B, T, H of q {list(q.shape[:3])}, got {list(v.shape)}")
    B, T, H, K = q.shape
    if H > MAX_HEADS and H > T:
        raise ValueError(
            f"q has shape {list(q.shape)}, read as [B, T, H, K] = {T} steps of {H} heads: more than {MAX_HEADS} "
            f"heads and fewer steps than heads looks like the [B, H, T, K] layout; the kernels take [B, T, H, K] "
            f"(pass q.transpose(1, 2), and the same for k and v)"
        )
    return B, T, H, K, v.shape[-1]


def checks_by_group(x: object) -> bool:
    """Whether the chunked PyTorch forms check the input values one group at a time (:func:`check_finite`): on a
    CPU, where the group is then read from memory once; on a GPU each check is a device sync, so the whole
    inputs are checked once, up front, by :func:`check_qkv` (which also names a non-tensor input: ``False``)."""
    return isinstance(x, torch.Tensor) and x.device.type == "cpu"


def scaled_chunks(x: torch.Tensor, C: int, dtype: torch.dtype, scale: float) -> torch.Tensor:
    """``s * to_chunks(x)`` as a fresh contiguous ``[B, H, N, C, *D]`` tensor in ``dtype``, in one pass.

    Never in place on ``to_chunks(x).contiguous()``: with one head and whole chunks that is a view of ``x``
    itself, and scaling it would change the caller's tensor (an upstream gradient, read again by a second
    ``autograd.grad`` or a hook)."""
    src = to_chunks(x.to(dtype), C)
    return torch.mul(src, scale, out=torch.empty(src.shape, dtype=dtype, device=x.device))


def check_finite(**tensors: torch.Tensor) -> None:
    """The finiteness and magnitude checks of :func:`check_qkv` (and, with ``g``, of ``check_g``: ``g <= 0``) on
    parts of the inputs, named as the inputs: ``check_finite(q=q[:, sl], k=k[:, sl], v=v[:, sl])``."""
    for name, x in tensors.items():
        V.tensor(x, name, high=0.0 if name == "g" else None)


def check_positive_denominator(den: torch.Tensor, name: str = "q_t^T z_t") -> None:
    """Raise ``ValueError`` when the normaliser of normalised linear attention is not positive somewhere."""
    bad = ~(den > 0)
    if bool(bad.any()):
        idx = [int(i) for i in bad.nonzero()[0].tolist()]
        raise ValueError(
            f"normalize=True needs a positive denominator {name} at every step (positive feature maps such as "
            f"elu(x) + 1 or exp make it so), got {float(den[tuple(idx)]):.3g} at index [b, t, h] = {idx[:3]} "
            f"(min {float(den.min()):.3g}); map q and k through a positive feature map first"
        )


def check_state(h: torch.Tensor | None, name: str, shape: tuple[int, ...], ref: torch.Tensor) -> torch.Tensor | None:
    """``None`` or a floating tensor of exactly ``shape`` on ``ref``'s device."""
    if h is None:
        return None
    V.tensor(h, name, shape=shape)
    V.same_device("q", ref, name, h)
    return h


# The kernels form s * q^T k in fp32: with s <= sqrt(fp32 max) (2**64) the logits stay finite for every |q^T k| up to
# the same bound, while s = 1e308 overflows (to Inf, then NaN) on any input.
SCALE_MAX = 2.0**64


def resolve_scale(scale: float | None, K: int) -> float:
    """``None`` means ``K ** -0.5`` (fla's default); otherwise a positive real at most :data:`SCALE_MAX`."""
    return K**-0.5 if scale is None else V.real(scale, "scale", positive=True, high=SCALE_MAX, max_abs=None)


GROUP_TOKENS = 512  # the chunked PyTorch forms stream over groups of whole chunks of about this many steps


def group_len(chunk_size: int) -> int:
    """Steps per group of whole chunks (about :data:`GROUP_TOKENS`): the working set of a group stays in cache."""
    return max(chunk_size, (GROUP_TOKENS // chunk_size) * chunk_size)


def to_chunks(x: torch.Tensor, C: int) -> torch.Tensor:
    """``[B, T, H, *D]`` → ``[B, H, N, C, *D]`` with ``N = ceil(T / C)``, zero-padded in time."""
    B, T, H = x.shape[:3]
    N = math.ceil(T / C)
    rest = x.shape[3:]
    if N * C != T:  # F.pad copies even when it pads nothing
        x = F.pad(x, (0, 0) * len(rest) + (0, 0, 0, N * C - T))
    x = x.reshape(B, N, C, H, *rest)
    return x.permute(0, 3, 1, 2, *range(4, 4 + len(rest)))


def from_chunks(x: torch.Tensor, T: int) -> torch.Tensor:
    """Inverse of :func:`to_chunks`: ``[B, H, N, C, *D]`` → ``[B, T, H, *D]``."""
    B, H, N, C = x.shape[:4]
    rest = x.shape[4:]
    x = x.permute(0, 2, 3, 1, *range(4, 4 + len(rest))).reshape(B, N * C, H, *rest)
    return x[:, :T]


def write_chunks(out: torch.Tensor, x: torch.Tensor) -> None:
    """``out[B, G, H, V] = from_chunks(x [B, H, N, C, V])`` in one copy (no intermediate, no cat)."""
    B, H, N, C, V = x.shape
    G = out.shape[1]
    if G == N * C:
        out.view(B, N, C, H, V).copy_(x.permute(0, 2, 3, 1, 4))
    else:  # the last, partial chunk of the sequence
        out.copy_(from_chunks(x, G))


def causal_(x: torch.Tensor) -> torch.Tensor:
    """The causal mask ``j <= i`` on the scores ``x [..., C, C]``, in place: ``tril_``, about ten times faster on a
    CPU than a ``masked_fill_`` with a broadcast boolean mask (the chunked PyTorch forms' one masking point)."""
    return x.tril_()


def causal_mask(C: int, device: torch.device | str | None, *, strict: bool = False) -> torch.Tensor:
    """Boolean ``[C, C]`` mask of pairs ``j <= i`` (``j < i`` when ``strict``)."""
    return torch.ones(C, C, dtype=torch.bool, device=device).tril(-1 if strict else 0)
