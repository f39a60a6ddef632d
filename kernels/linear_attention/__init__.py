"""Causal linear attention: reference loop, quadratic form, chunked PyTorch and Triton forms."""

from .chunk import ChunkLinearAttentionFunction, chunk_linear_attention
from .reference import linear_attention_quadratic, linear_attention_recurrent
from .triton_chunk import TritonChunkLinearAttentionFunction, triton_chunk_linear_attention

__all__ = [
    "ChunkLinearAttentionFunction",
    "TritonChunkLinearAttentionFunction",
    "chunk_linear_attention",
    "linear_attention_quadratic",
    "linear_attention_recurrent",
    "triton_chunk_linear_attention",
]
