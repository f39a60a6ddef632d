r"""Claims of the softmax-attention chapter (``softmax.*``, ``notebooks/00_softmax_attention``), by topic:

- :mod:`~attnmath.softmax.claims.definition`: rows of the attention matrix are probability vectors; the
  :math:`1/\sqrt m` scale keeps the logit variance at one;
- :mod:`~attnmath.softmax.claims.kernel_smoother`: with equal-norm keys, attention is Nadaraya–Watson regression;
- :mod:`~attnmath.softmax.claims.mixing`: outputs are convex combinations of the values, self-attention is
  permutation-equivariant, and the zero-temperature limit is hard argmax retrieval;
- :mod:`~attnmath.softmax.claims.sizes`: the run sizes of both tiers.
"""
