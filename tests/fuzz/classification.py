"""Known exceptions of the fuzz harness: a corruption that is actually valid for that argument.

Each entry is ``(callable glob, argument glob, corruption, reason)``; a call matching one that returns
a result counts as ``valid``, not ``silent``.  Keep the reason: it is the justification issue 17 asks for.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    ("*", "seed", "zero", "0 is a valid seed"),
    ("*", "generator", "none", "None means a fresh default generator"),
    ("*", "progress", "*", "a display flag: any truthy value is accepted"),
    ("scansnap.syn_small", "*", "*", "takes no arguments"),
    ("*", "ratio", "negative", "a ratio of rates: sign conventions are the caller's"),
    ("stiffness.error_optimal_step", "lam", "negative", "lam < 0 is the stable half-line, the example's own case"),
    ("stiffness.error_optimal_step", "x", "negative", "x is a time, any real value"),
    ("stiffness.error_optimal_step", "x", "zero", "x is a time, any real value"),
    ("dsf.phi1", "z", "negative", "phi1 is entire"),
    ("stiffness.phi1", "z", "negative", "phi1 is entire"),
    ("scansnap.relative_gain", "l", "zero", "index 0 is a valid layer"),
    ("*", "initial", "none", "None: start from zero"),
    ("softmax.*", "q", "rows", "the number of queries is free"),
    ("softmax.*", "x_query", "rows", "the number of queries is free"),
    ("softmax.scores", "k", "rows", "no v: the number of keys is free"),
    ("softmax.attention_weights", "k", "rows", "no v: the number of keys is free"),
    ("*", "v", "size", "the value width d_v is free"),
    ("*", "values", "size", "the value width d_v is free"),
    ("*", "y_data", "size", "the value width is free"),
]


ROOMS = (
    "dsf",
    "fastforms_instances",
    "fastforms_other",
    "scansnap",
    "stiffness",
    "memory",
    "synthesis_softmax_kernels",
)


def _rooms() -> list[tuple[str, str, str, str]]:
    import importlib

    out: list[tuple[str, str, str, str]] = []
    for room in ROOMS:
        out += importlib.import_module(f"{__package__}.known_{room}").KNOWN_VALID
    return out


KNOWN_VALID += _rooms()


def known_valid(key: str, arg: str, corruption: str) -> str | None:
    """The reason when ``corruption`` of ``arg`` is valid for ``key``, else None."""
    for k, a, c, reason in KNOWN_VALID:
        if fnmatchcase(key, k) and fnmatchcase(arg, a) and fnmatchcase(corruption, c):
            return reason
    return None
