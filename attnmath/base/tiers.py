r"""Run tiers: how large a claim's run is, ``"ci"`` (minutes on 2 CPU cores) or ``"paper"``.

The word is *tier* everywhere (the CLI keeps ``--scale`` as an alias): ``scale`` already names the
attention scale. Each chapter keeps its sizes in one :class:`Sizes` table (``<chapter>/claims/sizes.py``)
that its claims read, instead of deciding inline::

    SIZES = Sizes(
        sequences=(200, 1000),     # (ci, paper)
        seeds=(range(5), range(50)),
    )
    n = SIZES["ci"].sequences      # 200
"""

from __future__ import annotations

from types import MappingProxyType, SimpleNamespace
from typing import Any

TIERS = ("ci", "paper")


def check_tier(tier: Any, name: str = "tier") -> str:
    """``tier`` if it is one of :data:`TIERS`, else a ``ValueError`` naming the argument."""
    if not isinstance(tier, str) or tier not in TIERS:
        raise ValueError(f"{name} must be one of {TIERS}, got {tier!r}")
    return tier


class Sizes:
    """A chapter's table of run sizes: each entry is a ``(ci, paper)`` pair; ``SIZES[tier].entry``."""

    def __init__(self, **entries: tuple[Any, Any]):
        for key, pair in entries.items():
            if not isinstance(pair, tuple) or len(pair) != len(TIERS):
                raise ValueError(f"size {key!r} must be a ({', '.join(TIERS)}) pair, got {pair!r}")
        self._entries = MappingProxyType(dict(entries))
        self._tiers = {t: SimpleNamespace(**{k: v[i] for k, v in entries.items()}) for i, t in enumerate(TIERS)}

    def __getitem__(self, tier: str) -> SimpleNamespace:
        return self._tiers[check_tier(tier)]

    @property
    def entries(self) -> MappingProxyType:
        """``{name: (ci, paper)}``, read-only (for documentation tables)."""
        return self._entries

    def __repr__(self) -> str:
        return f"Sizes({', '.join(f'{k}={v!r}' for k, v in self._entries.items())})"
