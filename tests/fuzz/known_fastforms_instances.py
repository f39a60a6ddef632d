"""Justified fuzz exceptions of one room (see tests/fuzz/classification.py): a corruption that is valid there.

Each entry is ``(callable glob, argument glob, corruption, reason)``.
"""

from __future__ import annotations

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    (
        "fastforms.instances.ssd_*",
        "x",
        "size",
        "the head dimension P of x [B, T, H, P] is free: no other argument has a P axis (y and h_T take x's P)",
    ),
]
