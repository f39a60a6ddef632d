"""Run sizes of the kernels chapter's claims (and its timing cell): each entry is a ``(ci, paper)`` pair; ``SIZES[tier]``."""

from __future__ import annotations

from attnmath.claims import Sizes

SIZES = Sizes(
    chunked_length=(100, 1000),  # sequence length T of the chunked-form claims (linear attention, diagonal scan)
    log_space_length=(150, 1500),  # T of the strong-decay (g = -60) check: more than two 64-step chunks
    normaliser_length=(80, 800),  # T of the normalised linear attention check
    gate_gradient_length=(60, 600),  # T of the gate-gradient identity against autograd
    online_softmax_length=(100, 1000),  # T of the blockwise and flash softmax checks
    instances_length=(60, 600),  # T of the S6, SSD, RetNet and GLA mappings
    timing_lengths=((256, 512, 1024, 2048), tuple(2**p for p in range(8, 15))),  # T of the notebook's CPU timing
)
