"""The claim registry: :class:`Claim`, the :func:`claim` decorator, loading and selection.

Claims register at import time; :func:`load_all` imports every module of the packages in
``CLAIM_PACKAGES`` so that the registry is complete before a run.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .checks import KINDS
from .index import matches

if TYPE_CHECKING:
    from .results import ClaimResult


STATUSES = ("stated", "reconstructed", "classical")


_ID_RE = re.compile(r"^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9_-]*)+$")


# Packages whose modules are imported to populate the registry (claims register at import).
CLAIM_PACKAGES = ("attnmath",)


_SKIP_MODULES = {"attnmath.__main__"}


@dataclass(frozen=True)
class Control:
    """A negative control: a plausible wrong world in which the claim's own checks must fail.

    ``patch()`` returns a context manager that changes the world (replaces the function under test by
    a near-miss, violates a hypothesis, perturbs an input) and restores it on exit. The claim's
    function runs unchanged inside it; the control is *caught* when at least one check fails.
    """

    claim_id: str
    name: str
    patch: Callable[[], contextlib.AbstractContextManager[Any]]
    module: str = ""


@dataclass
class Claim:
    id: str
    title: str
    statement: str
    source: str
    status_of_source: str
    kinds: tuple[str, ...]
    func: Callable[..., Any]
    module: str = ""
    notes: str = ""

    def run(self, tier: str = "ci") -> ClaimResult:
        from .runner import run

        return run(self, tier=tier)

    def to_json(self) -> dict[str, Any]:
        """The claim's metadata: id, title, statement, source, status of the source, kinds."""
        return {
            "id": self.id,
            "title": self.title,
            "statement": self.statement,
            "source": self.source,
            "status_of_source": self.status_of_source,
            "kinds": list(self.kinds),
        }

    @property
    def controls(self) -> list[Control]:
        """The negative controls registered for this claim (see :func:`control`)."""
        return list(_CONTROLS.get(self.id, {}).values())


#: A location in a paper's primary text: ``eq. (22)``, ``Lemma 1``, ``Theorem 4``, ``Fig. 6``, ``§4.2``, ``sec. 3.2.1``,
#: ``Table 2``, ``Listing 1``, ``footnote 4``, ``App. D``, ``abstract``. A ``stated`` claim must name one.
_LOCATION_RE = re.compile(
    r"(\beqs?\.\s*\(?\d|\bequations?\s*\(?\d|\blemmas?\s+\d|\btheorems?\s+\d|\bcorollar(y|ies)\s+\d|\bfigs?\.\s*\d"
    r"|\bfigures?\s+\d|\btables?\s+\d|§\s*\d|\bsec(tion)?s?\.?\s+\d|\blistings?\s+\d|\bfootnotes?\s+\d"
    r"|\bapp(endix)?\.?\s+[A-Z]\b|\babstract\b|\bteaser figure\b)",
    re.IGNORECASE,
)

_REGISTRY: dict[str, Claim] = {}
_CONTROLS: dict[str, dict[str, Control]] = {}


_LOADED = False


def claim(
    id: str,
    *,
    title: str,
    statement: str,
    source: str,
    status_of_source: str,
    kinds: Sequence[str],
    notes: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``func(tier)`` as the check of claim ``id`` (``tier``: ``"ci"`` or ``"paper"``)."""
    if not isinstance(id, str) or not _ID_RE.match(id):
        raise ValueError(f"id must be dotted lower-case like 'chapter.short-name', got {id!r}")
    if status_of_source not in STATUSES:
        raise ValueError(f"status_of_source must be one of {STATUSES}, got {status_of_source!r}")
    kinds = tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
    for label, text in (("title", title), ("statement", statement), ("source", source)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{label} of claim {id!r} must be a non-empty string")
    if status_of_source == "stated" and not _LOCATION_RE.search(source):
        raise ValueError(
            f"claim {id!r} is labelled 'stated', so its source must name the paper's own location (an "
            f"equation, lemma, theorem, corollary, figure, table, section, listing, footnote, appendix or the "
            f"abstract), got {source!r}; label it 'reconstructed' if no primary text says it"
        )

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        module = getattr(func, "__module__", "")
        old = _REGISTRY.get(id)
        if old is not None and (old.module, old.func.__qualname__) != (module, func.__qualname__):
            raise ValueError(f"claim id {id!r} is already registered by {old.module}.{old.func.__qualname__}")
        _REGISTRY[id] = Claim(id, title, statement, source, status_of_source, kinds, func, module, notes)
        return func

    return deco


def control(claim_id: str, name: str) -> Callable[[Callable[[], Iterator[Any]]], Callable[[], Iterator[Any]]]:
    """Decorator registering a negative control ``name`` of claim ``claim_id``.

    The decorated function is written like a :func:`contextlib.contextmanager`: it patches the world,
    ``yield``s, and restores it (``unittest.mock.patch.object`` does both)::

        @control("stiffness.exact-gate", "Euler's gate a = 1 instead of phi1(-h mu)")
        def _euler_gate():
            with mock.patch.object(gates, "phi1", lambda z: torch.ones_like(z)):
                yield

    The name says what is wrong in that world (and, where the control runs at a reduced budget, says so).
    """
    if not isinstance(claim_id, str) or not _ID_RE.match(claim_id):
        raise ValueError(f"claim_id must be a claim id like 'chapter.short-name', got {claim_id!r}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name of a control of {claim_id!r} must be a non-empty string saying what is wrong")

    def deco(fn: Callable[[], Iterator[Any]]) -> Callable[[], Iterator[Any]]:
        entries = _CONTROLS.setdefault(claim_id, {})
        old = entries.get(name)
        module = getattr(fn, "__module__", "")
        if old is not None and old.module != module:
            raise ValueError(f"control {name!r} of claim {claim_id!r} is already registered by {old.module}")
        entries[name] = Control(claim_id, name, contextlib.contextmanager(fn), module)
        return fn

    return deco


def load_all() -> None:
    """Import every module of the claim packages so that their claims register."""
    global _LOADED
    if _LOADED:
        return
    for pkg_name in CLAIM_PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
            if info.name not in _SKIP_MODULES:
                importlib.import_module(info.name)
    _LOADED = True


def registry() -> dict[str, Claim]:
    """All registered claims, sorted by id (a control registered for an unknown claim is an error)."""
    load_all()
    orphans = sorted(set(_CONTROLS) - set(_REGISTRY))
    if orphans:
        raise ValueError(f"controls registered for claims that do not exist: {orphans}")
    return {k: _REGISTRY[k] for k in sorted(_REGISTRY)}


def get(claim_id: str) -> Claim:
    reg = registry()
    if claim_id not in reg:
        close_matches = [k for k in reg if claim_id.split(".")[0] in k][:5]
        raise KeyError(f"no claim {claim_id!r}; similar: {close_matches}")
    return reg[claim_id]


def select(pattern: str | None = None) -> list[Claim]:
    """Claims whose id contains ``pattern`` (or matches it as a glob when it has ``*?[``)."""
    return [c for c in registry().values() if matches(c.id, pattern)]
