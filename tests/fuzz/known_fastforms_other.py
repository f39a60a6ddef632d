"""Justified fuzz exceptions of one room (see tests/fuzz/classification.py): a corruption that is valid there.

Each entry is ``(callable glob, argument glob, corruption, reason)``.
"""

from __future__ import annotations

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    (
        "fastforms.plots.plot_log_space_exponents",
        "g",
        "size",
        "g is one chunk of log-decays: the chunk length C is free",
    ),
    (
        "fastforms.timing.time_call",
        "budget_s",
        "zero",
        "a zero time budget is valid: time_call always runs fn at least once",
    ),
    (
        "fastforms.derivation.online_softmax_sides",
        "n_old",
        "zero",
        "no old scores is the first block of a row (ell = acc = 0); the identities still hold",
    ),
    (
        "fastforms.derivation.online_softmax_sides",
        "n_new",
        "zero",
        "an update with no new scores leaves ell and acc unchanged; the identities still hold",
    ),
    (
        "fastforms.derivation.softmax_attention",
        "scale",
        "fraction",
        "any real scale > 0 of the scores is valid (1.5 here)",
    ),
]
