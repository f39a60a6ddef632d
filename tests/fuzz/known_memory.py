"""Justified fuzz exceptions of one room (see tests/fuzz/classification.py): a corruption that is valid there.

Each entry is ``(callable glob, argument glob, corruption, reason)``.
"""

from __future__ import annotations

# keys [..., N, d_k] with nothing else of width d_k (no query, no memory): any d_k >= 1 is a valid key space
_FREE_DK = (
    "hebbian_memory",
    "decayed_memory",
    "signal_crosstalk",
    "olam_memory",
    "least_squares_residual",
    "delta_sweep_map",
    "delta_rule_cyclic",
    "coherence",
    "coherence_error_bound",
    "mean_square_overlap",
    "separation",
    "hopfield_error_bound",
    "relmse_of_keys",
    "capacity_of_keys",
    "head_average_error",
)

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    *((f"memory.{f}", "keys", "size", "the key width d_k is free: no other argument has that width") for f in _FREE_DK),
    # a key set alone: its count N (>= 2 here) and leading batch dims are free
    *(
        (f"memory.{f}", "keys", c, "a key set alone: any N >= 2 keys, with or without leading batch dims")
        for f in ("coherence", "mean_square_overlap", "separation")
        for c in ("rows", "rank_up")
    ),
    ("memory.capacity_of_keys", "keys", "rows", "without values the pool size P is free (values are drawn per key)"),
    ("memory.head_average_error", "keys", "rows", "keys [H, N, d_k]: any number of heads H >= 1"),
    ("memory.retrieve", "memory", "rows", "memory [d_v, d_k]: the value width d_v is free"),
    ("memory.retrieve", "queries", "rows", "the number of queries is free"),
    ("memory.softmax_recall", "queries", "rows", "the number of queries is free"),
    *(
        ("memory.ratio_of_means", a, c, "per-trial samples, flattened: integer counts and any shape holding them")
        for a in ("num", "den")
        for c in ("int", "rank_up")
    ),
    ("memory.decayed_memory", "gamma", "zero", "gamma = 0 keeps only the latest write, an edge of [0, 1]"),
    ("memory.decayed_recurrent", "gamma", "zero", "gamma = 0 keeps only the latest write, an edge of [0, 1]"),
    ("memory.delta_rule_recurrent", "beta", "zero", "beta = 0 is a zero write strength: M_t = M_0, allowed (>= 0)"),
    ("memory.delta_rule_cyclic", "sweeps", "zero", "0 sweeps returns the initial state M_0 (the empty iteration)"),
    ("memory.extinction_closed_form", "n", "zero", "n = 0 extinction trials: V = [V_0]"),
    ("memory.extinction_closed_form", "v0", "zero", "V_0 = 0: nothing to extinguish, V_m = 0 for all m"),
    ("memory.extinction_closed_form", "v0", "negative", "V_0 < 0 is a conditioned inhibitor; R-W is linear in V"),
    ("memory.blocking_design", "n1", "zero", "n1 = 0 phase-1 trials is the blocking experiment's control group"),
    ("memory.blocking_closed_form", "n1", "zero", "n1 = 0 phase-1 trials is the blocking experiment's control group"),
    ("memory.blocking_closed_form", "n2", "zero", "n2 = 0 compound trials: V_B = 0, V_A = lam(1-(1-a)^n1)"),
    *(
        (f"memory.{f}", "lam", c, "lam is any real US magnitude (0: no US); R-W is linear in lam, as for `us`")
        for f in ("blocking_design", "blocking_closed_form")
        for c in ("zero", "negative")
    ),
    *(
        (f"memory.{f}", "cs", c, "cs: integer intensities and any number of CS (n_cs = 0: nothing to learn) are valid")
        for f in ("rescorla_wagner", "hebbian_conditioning")
        for c in ("int", "size", "empty")
    ),
    *(
        (f"memory.{f}", "us", "int", "us: integer US magnitudes are real numbers")
        for f in ("rescorla_wagner", "hebbian_conditioning")
    ),
    ("memory.largest_true", "lo", "zero", "bisection over the integers: any integer lower bracket"),
    ("memory.largest_true", "lo", "negative", "bisection over the integers: any integer lower bracket"),
    ("memory.majority_failure", "p", "zero", "p = 0 is a probability: every head wrong, failure probability 1"),
    ("memory.decay_snr_theory", "age", "zero", "age 0 is the newest item of the stream"),
    ("memory.random_keys", "batch", "empty", "batch = () is the default: no batch dims"),
    ("memory.random_values", "batch", "empty", "batch = () is the default: no batch dims"),
]
