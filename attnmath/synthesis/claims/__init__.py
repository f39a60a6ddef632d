"""Claims that combine chapters: the synthesis chapter's own (``synthesis.*``, ``notebooks/90_synthesis``), by topic:

- :mod:`~attnmath.synthesis.claims.memory_states`: the memory a DSF state holds (Hebbian write, decay as
  forgetting, three states on one recall task, softmax as the infinite-state limit) and the delta rule as
  an Euler step;
- :mod:`~attnmath.synthesis.claims.steps`: selectivity as an adaptive step size (S4D-real and Euler's bound,
  Δ as a hold time, a trained step against stiffness);
- :mod:`~attnmath.synthesis.claims.scansnap_dsf`: scan and snap seen through the DSF (one-hot attention as a
  finite DSF, the snap freezes the normaliser, the linear-attention variant and the learning-rate ratio);
- :mod:`~attnmath.synthesis.claims.sizes`: the run sizes of both tiers.

Chapter claims that need a second chapter also live here, under their own ids and shown by their own
chapter's notebook:

- :mod:`~attnmath.synthesis.claims.dsf_memory`: ``dsf.hebbian-capacity`` (the DSF state as an associative
  memory; ``notebooks/13_dsf_extensions``).
"""
