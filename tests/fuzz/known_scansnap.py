"""Justified fuzz exceptions of one room (see tests/fuzz/classification.py): a corruption that is valid there.

Each entry is ``(callable glob, argument glob, corruption, reason)``.
"""

from __future__ import annotations

_CLOSED_T = (
    "scansnap.[BGdgh]*"  # h_closed, gamma_speed, dlog_gamma_dlog_t, Gamma_closed, B_snap*, dB_dlog_t (not h_ode)
)
_ODE = ("scansnap.h_ode", "scansnap.snap_ode", "scansnap.reduced_distinct_flow")
_RATE_Z = ("Gamma_closed", "B_snap", "B_snap_printed", "B_snap_branches", "dB_dlog_t", "snap_ode")
_TRAIN = ("population_flow", "sgd_train", "standard_train")

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    *[
        (_CLOSED_T, "t", c, "the closed forms act elementwise in t: a scalar time or an array of any shape is valid")
        for c in ("rank_down", "rank_up", "size")
    ],
    (_CLOSED_T, "t", "empty", "elementwise in t: no times, an empty result (gamma_speed's unit test asserts it)"),
    (_CLOSED_T, "t", "int", "integer times are real times (the decoder claim evaluates h at np.arange(81))"),
    *[(k, "t_eval", "int", "integer output times are real times (a grid such as np.arange(n))") for k in _ODE],
    *[(k, "t_eval", "size", "the output grid of the ODE solve is free: any sorted grid of times >= 0") for k in _ODE],
    *[
        (f"scansnap.{k}", "eta_Z", "zero", "eta_Z = 0 freezes the attention logits: Gamma = B = 0 exactly (eta_Z >= 0)")
        for k in _RATE_Z
    ],
    *[
        (f"scansnap.{k}", "eta_[YZ]", "zero", "a zero learning rate freezes that parameter group: a valid ablation")
        for k in _TRAIN
    ],
    ("scansnap.sgd_train", "momentum", "zero", "momentum 0 is plain SGD, the lower end of [0, 1)"),
    ("scansnap.sgd_train", "record", "empty", "record=() is the default: keep no snapshot of Z"),
    ("scansnap.h_star", "steps", "zero", "0 steps returns the initial decoder state h*(0) = 0 alone"),
    ("scansnap.population_flow", "steps", "zero", "0 steps records the initial state (Y(0), Z(0)) and its loss alone"),
    ("scansnap.standard_train", "eval_seed", "zero", "0 is a valid seed of the evaluation batch"),
    ("scansnap.syn_medium", "num_common", "zero", "a layout without common tokens (distinct tokens only) is valid"),
    ("scansnap.syn_medium", "common_weight", "zero", "weight 0 drops the common tokens from every support"),
    ("scansnap.zeta", "n", "zero", "n = 0 is a valid class index in [0, M)"),
    ("scansnap.relative_gain", "lp", "zero", "lp = 0 is a valid token index of the last axis"),
    ("scansnap.relative_gain", "f", "int", "integer weights (e.g. token counts) are real numbers"),
    *[
        ("scansnap.relative_gain", "f", c, "f's leading axes are free: one attention vector or a batch of them")
        for c in ("rank_down", "rank_up")
    ],
    ("scansnap.chi", "z*", "int", "integer logits are real numbers"),
    ("scansnap.chi", "z0", "rank_down", "z0 broadcasts to z: a scalar initial logit (the notebook passes 0.0)"),
    *[
        ("scansnap.chi", "z", c, "chi is elementwise: any shape of z that z0 broadcasts to")
        for c in ("rank_up", "size")
    ],
    ("scansnap.attention_ratio_decay", "r0", "zero", "r0 = 0 (equal frequencies): the attention ratio stays 1"),
    ("scansnap.reduced_distinct_flow", "common_rate", "zero", "kappa = 0: the common logits stay 0, a valid limit"),
    ("scansnap.reduced_distinct_flow", "p_common", "empty", "no common token: the distinct tokens' ODE alone"),
    *[
        ("scansnap.official_orientation_loss", "labels", c, "labels may be an integer array-like (torch.as_tensor)")
        for c in ("list", "numpy")
    ],
    ("scansnap.official_orientation_loss", "tokens", "size", "the sequence length T >= 2 of tokens [B, T] is free"),
]
