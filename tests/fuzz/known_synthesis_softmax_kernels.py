"""Justified fuzz exceptions of one room (see tests/fuzz/classification.py): a corruption that is valid there.

Each entry is ``(callable glob, argument glob, corruption, reason)``.
"""

from __future__ import annotations

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    # free sizes: the shapes the corruption produces are documented, valid inputs
    ("synthesis.memory_dsf", "keys", "size", "the key width d_k is free: keys [..., N, d_k] of any width store pairs"),
    ("synthesis.dsf_recall", "keys", "size", "the key width d_k is free: keys [T, N, d_k] of any width store pairs"),
    ("synthesis.feature", "z", "rank_*", "an elementwise map (exp or elu + 1): z may have any shape"),
    ("synthesis.feature", "z", "rows", "an elementwise map (exp or elu + 1): z may have any shape"),
    ("synthesis.feature", "z", "size", "an elementwise map (exp or elu + 1): z may have any shape"),
    ("synthesis.population_normaliser", "zq", "rank_*", "zq is [..., M]: its leading (batch) dims are free"),
    ("synthesis.population_normaliser", "zq", "rows", "zq is [..., M]: its leading (batch) dims are free"),
    ("synthesis.state_as_memory", "h", "rank_up", "h is [..., d_k d_v]: a leading batch dim is documented"),
    ("synthesis.onehot_*", "x", "size", "the context length L of x [B, L] is free"),
    ("synthesis.relaxation_task", "lam", "rows", "lam is [B, L]: the batch size B is free"),
    ("synthesis.relaxation_task", "lam", "size", "lam is [B, L]: the sequence length L is free"),
    ("synthesis.s4d_transition_dsf", "a", "size", "a is [n]: the state size n is free"),
    ("synthesis.s4d_transition_dsf", "delta", "size", "delta is [L]: the sequence length L is free"),
    # integer arrays are real numbers (read as float64); the rounded example values stay in range
    ("synthesis.held_input_ode_states", "*", "int", "integer decay rates, gains, inputs and hold times are reals"),
    ("synthesis.efold_changes", "t", "int", "integer times are times (the notebook passes np.arange)"),
    ("synthesis.efold_changes", "values", "int", "an integer-valued trajectory is a trajectory"),
    ("synthesis.efold_changes", "ks", "negative", "k < 0 is an e-fold before t_ref (the claim uses k = -2, -1)"),
    # zero is a legitimate value of these parameters
    ("synthesis.memory_dsf", "beta", "zero", "beta = 0 is a DeltaNet write strength of zero: nothing is written"),
    ("synthesis.feature_sgd_train", "eta_*", "zero", "a zero learning rate freezes that parameter group (an ablation)"),
    ("synthesis.feature_sgd_train", "momentum", "zero", "momentum 0 is plain SGD"),
    ("synthesis.flow_run", "eta_Z", "zero", "eta_Z = 0 freezes Z: the Y-only population flow is a valid flow"),
    ("synthesis.flow_run", "efolds", "zero", "efolds = 0 runs the flow up to the snap time t0 itself"),
]
