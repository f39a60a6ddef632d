"""Notebook display of claim results (:func:`show`): deterministic text for nbval, HTML for the book."""

from __future__ import annotations

import re

from .cache import _cache_load
from .registry import get
from .results import ClaimResult
from .runner import run

_SHOWN: dict[tuple[str, str], ClaimResult] = {}


class ClaimDisplay:
    """Deterministic rendering of a claim result for notebooks (HTML in the book, text in nbval).

    Measured errors are *not* printed (they vary in the last bits across machines); the
    verdict, the tolerance and its reason are, so nbval compares what the claim asserts.
    """

    def __init__(self, result: ClaimResult):
        self.result = result

    def _lines(self) -> list[str]:
        r, c = self.result, self.result.claim
        mark = r.verdict.upper()
        lines = [f"[{mark}] {c.id}: {c.title}", f"  source: {c.source} ({c.status_of_source})"]
        if r.skipped:
            lines.append(f"  skipped: {r.skipped}")
        for ch in r.checks:
            tol = f", tolerance {ch.tolerance:.1e} ({ch.reason})" if ch.tolerance is not None else ""
            if ch.kind == "statistical":
                tol = f", {ch.reason}"
            lines.append(f"  {ch.kind} check '{ch.name}': {'ok' if ch.passed else 'FAILED'}{tol}")
        if r.exception:
            lines.append("  raised: " + r.exception.strip().splitlines()[0])
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        import html

        r, c = self.result, self.result.claim
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in self._lines()[2:])
        # Colours come from the book's stylesheet (book/_static/attnmath.css: CSS variables set for the
        # light and the dark theme); the var() fallbacks keep the box readable where it is not loaded.
        color = f"var(--attnmath-claim-{r.verdict}, {_FALLBACK[r.verdict]})"
        return (
            f'<div class="attnmath-claim attnmath-claim-{r.verdict}" '
            f'style="border-left:4px solid {color};padding:0.3em 0.8em;">'
            f'<strong class="attnmath-claim-verdict" style="color:{color}">{r.verdict.upper()}</strong> '
            f'<a class="attnmath-claim-id" href="{ledger_href(c.id)}" title="this claim in the claims ledger">'
            f"<code>{html.escape(c.id)}</code></a>: {html.escape(c.title)}<br/>"
            f"<small>source: {html.escape(c.source)} &middot; <em>{c.status_of_source}</em></small>"
            f"<ul>{items}</ul></div>"
        )


_FALLBACK = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700"}
LEDGER_PAGE = "../book/ledger.html"  # the ledger page, relative to a chapter page (notebooks/NN_name.html)


def ledger_anchor(claim_id: str) -> str:
    """The HTML id of a claim's entry on the ledger page: its label ``claim-<id>`` as Sphinx writes ids."""
    return "claim-" + re.sub(r"[^a-z0-9]+", "-", claim_id.lower()).strip("-")


def ledger_href(claim_id: str) -> str:
    """The link from a chapter page to the claim's ledger entry."""
    return f"{LEDGER_PAGE}#{ledger_anchor(claim_id)}"


def show(claim_id: str, tier: str = "ci") -> ClaimDisplay:
    """Run (once per process and tier) and display claim ``claim_id`` in a notebook.

    When ``ATTNMATH_CLAIM_CACHE`` names a folder (``make test`` sets it), a result that
    :func:`run` stored there for the same claim, tier and source fingerprint is shown
    instead of running the claim again: the verdict is the one computed from this exact
    source tree earlier in the same test run.
    """
    key = (claim_id, tier)
    if key not in _SHOWN:
        _SHOWN[key] = _cache_load(get(claim_id), tier) or run(claim_id, tier)
    return ClaimDisplay(_SHOWN[key])
