r"""Claims of the kernels chapter (``kernels.*``, ``notebooks/20_kernels``), by topic:

- :mod:`~attnmath.fastforms.claims.chunked_forms`: chunked linear attention and the chunked diagonal scan
  equal their recurrences;
- :mod:`~attnmath.fastforms.claims.log_space`: every exponent of the chunked scan is non-positive, so
  strong decays stay finite and exact;
- :mod:`~attnmath.fastforms.claims.normaliser`: the normaliser of linear attention is one more value column;
- :mod:`~attnmath.fastforms.claims.gate_gradient`: the gradient of the log-decay identity;
- :mod:`~attnmath.fastforms.claims.online_softmax`: the online softmax gives the softmax average exactly;
- :mod:`~attnmath.fastforms.claims.dsf_instances`: S6, Mamba-2/SSD, RetNet and GLA as one diagonal scan;
- :mod:`~attnmath.fastforms.claims.inputs`: seeded inputs, the Triton run and the tolerances they share;
- :mod:`~attnmath.fastforms.claims.sizes`: the run sizes of both tiers.
"""
