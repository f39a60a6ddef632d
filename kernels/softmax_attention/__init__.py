"""Causal softmax attention: materialised reference, blockwise online softmax (PyTorch) and a Triton flash forward."""

from .chunk import blockwise_softmax_attention
from .reference import softmax_attention_reference
from .triton_flash import TritonFlashAttentionFunction, triton_flash_attention

__all__ = [
    "TritonFlashAttentionFunction",
    "blockwise_softmax_attention",
    "softmax_attention_reference",
    "triton_flash_attention",
]
