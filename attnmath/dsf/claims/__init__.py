"""Claims of the DSF chapter (``dsf.*`` ids, ``notebooks/10_dsf_framework`` .. ``13_dsf_extensions``), by topic:

- :mod:`~attnmath.dsf.claims.framework`: the DSF object itself (convolutional form, the chunked scan,
  the Hankel rank bound, warped time);
- :mod:`~attnmath.dsf.claims.dispatch`: the chunked form routed to the Triton kernels;
- :mod:`~attnmath.dsf.claims.attention`: the attention family (linear, softmax truncations, normalized
  attention, recurrent normalisation and its eigenvalues, Flowformer);
- :mod:`~attnmath.dsf.claims.ssm`: the SSM family (S6, SSD and its duality, the paper's SSD, RetNet, GLA);
- :mod:`~attnmath.dsf.claims.gates`: gates and steps (reversed sigmoid, qLSTM, Mamba's Theorem 1, ZOH vs
  Euler, stiffness, RG-LRU);
- :mod:`~attnmath.dsf.claims.extensions`: DSF instances beyond the paper (DeltaNet, Titans, mLSTM);
- :mod:`~attnmath.dsf.claims.lemmas`: the paper's Lemmas 1 and 2, S6 versus separable attention (L6(a),
  the per-state normalisers), the channel Hankel rank of S6, the block form of Φ;
- :mod:`~attnmath.dsf.claims.mqar`: the MQAR orderings, in direction only;
- :mod:`~attnmath.dsf.claims.sizes`: the run sizes of both tiers;
- :mod:`~attnmath.dsf.claims.tolerances`: the float64 identity tolerances the claims share.

The chapter's claim ``dsf.hebbian-capacity`` needs the associative-memory chapter too, so it lives in
:mod:`attnmath.synthesis.claims.dsf_memory` (same id, shown in ``notebooks/13_dsf_extensions``).
"""
