"""Run sizes of the synthesis chapter: each entry is a ``(ci, paper)`` pair; claims read ``SIZES[tier]``."""

from __future__ import annotations

from attnmath.claims import Sizes

SIZES = Sizes(
    hebbian_batch=(2, 4),  # synthesis.write-is-hebbian: batch B of the DSF-state-vs-memory check
    hebbian_length=(24, 128),  # the same claim: sequence length L (every prefix is compared)
    hebbian_d_k=(5, 16),  # the same claim: key width d_k
    hebbian_d_v=(3, 8),  # the same claim: value width d_v
    forgetting_trials=(1000, 10000),  # synthesis.decay-is-forgetting: recall tasks of the SNR-by-age estimate
    three_states_trials=(400, 4000),  # synthesis.three-states-one-task: tasks per N and state
    crossover_trials=(200, 2000),  # synthesis.softmax-infinite-state-crossover: tasks of the linear-state relMSE
    capacity_trials=(8, 32),  # the same claim: tasks per bisection step of the softmax capacity
    curve_trials=(100, 400),  # notebook figure "one task, three DSF states": tasks per point
    s4d_states=(16, 64),  # synthesis.s4d-stiffness-euler-bound: n of S4D-real A = -diag(1..n)
    hold_length=(16, 64),  # synthesis.delta-is-hold-time: sequence length L
    hold_states=(4, 16),  # the same claim: state size n
    toy_seeds=((0, 1, 2), (0, 1, 2, 3, 4)),  # synthesis.selective-step-vs-stiffness: init seeds of the toy SSM
    dsf_batch=(4, 8),  # synthesis.scansnap-attention-is-dsf: sequences of the DSF-vs-model check
    dsf_length=(33, 129),  # the same claim: sequence length T (T - 1 contextual tokens)
    normaliser_sequences=(64, 256),  # synthesis.snap-freezes-normaliser: sampled sequences
    normaliser_length=(1001, 4001),  # the same claim: their length T
    lr_seeds=(tuple(range(1, 7)), tuple(range(1, 11))),  # synthesis.linear-attention-lr-ratio (and the notebook)
)
