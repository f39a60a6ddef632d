"""Claims of the Scan and Snap chapter (``scansnap.*`` ids; book: ``notebooks/40_scan_and_snap``).

The paper is bib key ``tian2023scan`` (book/references.bib); lemma, theorem, figure and equation
numbers are the paper's own. Thresholds marked "calibrated here" or "measured here" are ours (see the
book's Sources appendix). Topic modules:

- :mod:`~attnmath.scansnap.claims.long_sequences`  the long-sequence limit of the attention mixture (Lemma 2, Lemma 18)
- :mod:`~attnmath.scansnap.claims.gradients`       Lemma 1's closed-form gradients (autograd, sympy) and the conserved row sums
- :mod:`~attnmath.scansnap.claims.decoder`         the decoder's exact solution (Lemmas 5-7) and the speed control gamma (Lemmas 8-9)
- :mod:`~attnmath.scansnap.claims.attention_logits` the fates of distinct and common tokens (Theorems 2-3, Corollary 2)
- :mod:`~attnmath.scansnap.claims.snap`            the phase transition (Theorem 4, with the corrected constant of B_n)
- :mod:`~attnmath.scansnap.claims.learning_rates`  the learning rates set sparsity (Figs. 4 and 6, the WikiText substitute)
- :mod:`~attnmath.scansnap.claims.joma`            the follow-up JoMA's sparse-then-dense toy dynamics
- :mod:`~attnmath.scansnap.claims.sizes`           the run sizes of the ``ci`` and ``paper`` tiers
"""
