r"""Claim on the online softmax: a running maximum and sum over key blocks give exactly the softmax average.

Book: ``notebooks/20_kernels``, section "Softmax attention, streamed".
"""

from __future__ import annotations

from unittest import mock

import sympy as sp
import torch

from attnmath.claims import claim, control, rel_close, symbolic
from attnmath.kernels import dispatch
from attnmath.kernels import softmax_attention as _sa
from attnmath.kernels.softmax_attention import blockwise_softmax_attention, softmax_attention_reference

from .. import derivation as der
from .inputs import EXACT_REASON, EXACT_RTOL, F64, R32, R32_REASON, R64, R64_REASON, concrete, device, seeded_inputs
from .sizes import SIZES


@claim(
    "kernels.online-softmax",
    title="The online softmax (running max and sum over key blocks) gives exactly the softmax average, for any shifts",
    statement=r"\ell' = e^{m-m'}\ell + \sum_{j\in J}e^{x_j-m'},\ a' = e^{m-m'}a + \sum_{j\in J}e^{x_j-m'}v_j"
    r"\ \Rightarrow\ \frac{a}{\ell} = \frac{\sum_j e^{x_j}v_j}{\sum_j e^{x_j}}",
    source="milakov2018online, Alg. 3; dao2022flashattention, Alg. 1",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _online_softmax_is_exact(tier: str):
    names = ("normaliser update", "accumulator update", "ratio equals the softmax average")
    checks = [
        symbolic(f"{n} (2 old + 2 new logits, symbolic shifts m, m')", d)
        for n, d in zip(names, der.online_softmax_sides())
    ]
    seq = der.sequence(5, 2, 1, initial_state=False)
    vals, x5 = concrete(seq, 24)
    vals.pop("h0")
    for causal in (True, False):
        o5, _ = blockwise_softmax_attention(x5["q"], x5["k"], x5["v"], causal=causal, block_size=2)
        want = der.softmax_attention(seq, causal=causal, scale=1 / sp.sqrt(2))
        checks.append(
            rel_close(
                f"blockwise_softmax_attention (3 key blocks of 2, causal={causal}) vs the softmax average with "
                "x_ij = q_i·k_j / sqrt(K) evaluated at 30 digits, T=5, K=2",
                o5[0, :, 0],
                der.evaluate(want, seq, vals),
                rtol=EXACT_RTOL,
                reason=EXACT_REASON,
                kind="symbolic",
            )
        )
    T = SIZES[tier].online_softmax_length
    x = seeded_inputs(7, 2, T, 2, 16, 8)
    for causal in (True, False):
        ref = softmax_attention_reference(x["q"], x["k"], x["v"], causal=causal, dtype=F64)
        o, _ = blockwise_softmax_attention(x["q"], x["k"], x["v"], causal=causal, block_size=16)
        checks.append(rel_close(f"blockwise PyTorch (causal={causal})", o, ref, rtol=R64, reason=R64_REASON))
        dev = device()
        o_t = dispatch.softmax_attention(
            *(x[n].to(device=dev, dtype=torch.float32) for n in "qkv"), causal=causal, backend="triton", block_size=32
        )
        checks.append(
            rel_close(
                f"Triton flash forward (causal={causal})", o_t.cpu(), ref, rtol=R32, reason=R32_REASON, kind="kernel"
            )
        )
    return checks


@control(
    "kernels.online-softmax",
    "online softmax that never rescales the old sum and accumulator by e^(m - m') when the maximum grows",
)
def _no_rescaling():
    def blockwise_unrescaled(q, k, v, *, scale=None, causal=True, block_size=16):
        qf, kf, vf = (x.transpose(1, 2) for x in (q, k, v))  # [B, H, T, D]
        B, H, T, _ = qf.shape
        s = q.shape[-1] ** -0.5 if scale is None else scale
        m = torch.full((B, H, T, 1), float("-inf"), dtype=q.dtype)
        ell = torch.zeros(B, H, T, 1, dtype=q.dtype)
        acc = torch.zeros(B, H, T, v.shape[-1], dtype=q.dtype)
        rows = torch.arange(T)[:, None]
        for start in range(0, T, block_size):
            cols = torch.arange(start, min(start + block_size, T))[None, :]
            x = s * (qf @ kf[:, :, start : start + block_size].transpose(-1, -2))
            if causal:
                x = x.masked_fill(cols > rows, float("-inf"))
            m = torch.maximum(m, x.amax(-1, keepdim=True))
            p = (x - torch.where(torch.isinf(m), torch.zeros_like(m), m)).exp()
            ell = ell + p.sum(-1, keepdim=True)  # the old terms keep their old shift
            acc = acc + p @ vf[:, :, start : start + block_size]
        return (acc / ell).transpose(1, 2), (m + ell.log())[..., 0].transpose(1, 2)

    with mock.patch(f"{__name__}.blockwise_softmax_attention", blockwise_unrescaled):
        yield


@control(
    "kernels.online-softmax",
    "every backend (reference, blockwise, Triton) forgets the logit scale: x_ij = q_i·k_j instead of q_i·k_j / sqrt(K)",
)
def _unscaled_logits_everywhere():
    def unscaled(fn):
        def run(*args, scale=None, **kw):
            return fn(*args, scale=1.0, **kw)

        return run

    with (
        mock.patch(f"{__name__}.softmax_attention_reference", unscaled(_sa.softmax_attention_reference)),
        mock.patch(f"{__name__}.blockwise_softmax_attention", unscaled(_sa.blockwise_softmax_attention)),
        mock.patch.object(dispatch, "softmax_attention", unscaled(dispatch.softmax_attention)),
    ):
        yield
