r"""Claim on the online softmax: a running maximum and sum over key blocks give exactly the softmax average.

Book: ``notebooks/20_kernels``, section "Softmax attention, streamed".
"""

from __future__ import annotations

import torch

from attnmath.claims import claim, rel_close, symbolic
from attnmath.kernels import dispatch
from attnmath.kernels.softmax_attention import blockwise_softmax_attention, softmax_attention_reference

from .. import derivation as der
from .inputs import F64, R32, R32_REASON, R64, R64_REASON, device, seeded_inputs
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
