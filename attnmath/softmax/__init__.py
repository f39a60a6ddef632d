"""Chapter 00, softmax attention three ways: the definition, a Nadaraya–Watson smoother, a mixing matrix.

The operators are in :mod:`~attnmath.softmax.attention` (re-exported here); the chapter's claims
``softmax.*`` are in :mod:`attnmath.softmax.claims`. Notebook: ``notebooks/00_softmax_attention``.
"""

from .attention import attention_weights, hard_attention, nadaraya_watson, scores, softmax_attention

__all__ = ["attention_weights", "hard_attention", "nadaraya_watson", "scores", "softmax_attention"]
