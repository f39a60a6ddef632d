"""Run sizes of the softmax chapter's claims: each entry is a ``(ci, paper)`` pair; claims read ``SIZES[tier]``."""

from __future__ import annotations

from attnmath.claims import Sizes

SIZES = Sizes(
    rows_length=(64, 512),  # sequence length L of the row-sum check (3 batches, width 16)
    permutation_length=(32, 256),  # sequence length L of the permutation-equivariance check
    permutation_width=(16, 64),  # model width d of that check (W_Q, W_K, W_V are d x d)
    variance_samples=(20000, 400000),  # Monte-Carlo pairs (q, k) of the unit-variance check
)
