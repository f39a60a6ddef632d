r"""Claims of the Pavlovian-memory chapter (``memory.*``, ``notebooks/30_pavlovian_memory``), by topic:

- :mod:`~attnmath.memory.claims.hebbian`: linear attention is a Hebbian fast-weight memory; every recall
  splits into signal and crosstalk; a linear head stores at most :math:`d_k` pairs exactly;
- :mod:`~attnmath.memory.claims.capacity`: crosstalk moments, the average-case error law and the linear
  capacity, the coherence guarantee and the Welch bound, worst case against average case, the bit error of
  a sign read-out;
- :mod:`~attnmath.memory.claims.depth`: head redundancy, majority vote, errors across depth (the
  compounding and residual models);
- :mod:`~attnmath.memory.claims.rules`: the delta (Rescorla–Wagner / DeltaNet) rule, blocking and extinction;
- :mod:`~attnmath.memory.claims.decay`: the recency–capacity trade-off of a decaying memory;
- :mod:`~attnmath.memory.claims.hopfield`: the contrast with softmax attention as a modern Hopfield network;
- :mod:`~attnmath.memory.claims.sizes`: the run sizes of both tiers.

Only the abstracts of qiao2025pavlovian could be read: what is stated there is tagged *stated*, the
associative-memory theory it points to *classical*, and our formalisation of the rest *reconstructed*
(see the book's Sources appendix).
"""
