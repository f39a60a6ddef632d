"""attnmath.ledger.display: the deterministic notebook rendering and its per-process cache."""

from __future__ import annotations

from attnmath import claims
from attnmath.claims import close, holds, statistical
from attnmath.ledger import cache as ledger_cache
from attnmath.ledger import display as ledger_display

REASON = "test tolerance"
R = "test reason"


def test_show_is_deterministic_and_hides_measured_errors(temp_claims):
    temp_claims("testonly.show", lambda: close("tiny", 1.0, 1.0 + 3.7e-13, atol=1e-12, reason="because"))
    disp = claims.show("testonly.show")
    text = repr(disp)
    assert text.startswith("[PASSED] testonly.show") and "tolerance 1.0e-12 (because)" in text
    assert "3.7" not in text  # measured digits vary across machines; only verdict + tolerance are shown
    assert "PASSED" in disp._repr_html_() and "testonly.show" in disp._repr_html_()
    assert claims.show("testonly.show").result is disp.result  # cached per process and tier


def test_show_reuses_a_cached_result_only_for_the_same_source(temp_claims, tmp_path, monkeypatch):
    calls = []

    def counted(tier):
        calls.append(tier)
        return close("c", 1.0, 1.0, atol=1e-9, reason=REASON)

    temp_claims("testonly.cached", counted)
    monkeypatch.setenv(claims.CACHE_ENV, str(tmp_path))
    first = claims.run("testonly.cached")
    assert calls == ["ci"] and (tmp_path / "testonly.cached@ci.json").exists()
    ledger_display._SHOWN.clear()
    shown = claims.show("testonly.cached")
    assert calls == ["ci"], "show() must reuse the stored result"
    assert repr(shown) == repr(claims.ClaimDisplay(first))
    # A different source fingerprint invalidates the stored result.
    monkeypatch.setattr(ledger_cache, "_FINGERPRINT", "another source tree")
    ledger_display._SHOWN.clear()
    claims.show("testonly.cached")
    assert calls == ["ci", "ci"]
    ledger_display._SHOWN.clear()


def test_display_lines_and_html(reg):
    def _checks():
        return [
            close("c", 1.0, 1.0, atol=1e-12, reason="fp64"),
            holds("h", False),
            statistical("m", 1.0, 1.0, 0.1, n_trials=5, seed=2),
        ]

    c = reg("testmut.disp", _checks, kinds=("numeric", "statistical"))
    disp = claims.show(c.id)
    assert repr(disp).split("\n") == [
        "[FAILED] testmut.disp: title of testmut.disp",
        "  source: src, eq. 1 (reconstructed)",
        "  numeric check 'c': ok, tolerance 1.0e-12 (fp64)",
        "  numeric check 'h': FAILED",
        "  statistical check 'm': ok, 4 sigma band of the Monte-Carlo mean (5 trials, seed 2)",
    ]
    html = disp._repr_html_()
    red = "var(--attnmath-claim-failed, #cf222e)"  # the theme's colour, the fixed one outside the book
    assert html.startswith(f'<div class="attnmath-claim attnmath-claim-failed" style="border-left:4px solid {red};')
    assert f'<strong class="attnmath-claim-verdict" style="color:{red}">FAILED</strong> ' in html
    # the id links to the claim's entry on the ledger page (the anchor Sphinx writes for its label)
    assert '<a class="attnmath-claim-id" href="../book/ledger.html#claim-testmut-disp"' in html
    assert "><code>testmut.disp</code></a>: title of testmut.disp" in html
    assert "<ul><li>numeric check &#x27;c&#x27;: ok, tolerance 1.0e-12 (fp64)</li><li>numeric check" in html
    assert html.count("<li>") == 3

    ok = claims.show(reg("testmut.disp-ok", lambda: holds("h", True)).id)
    assert (
        repr(ok)
        == "[PASSED] testmut.disp-ok: title of testmut.disp-ok\n  source: src, eq. 1 (reconstructed)\n  numeric check 'h': ok"
    )
    html = ok._repr_html_()
    green = "var(--attnmath-claim-passed, #1a7f37)"
    assert f"solid {green};" in html and f'style="color:{green}">PASSED</strong>' in html
    assert 'href="../book/ledger.html#claim-testmut-disp-ok"' in html

    raised = claims.show(reg("testmut.disp-raise", lambda: [][1]).id)
    assert repr(raised).split("\n")[-1] == "  raised: IndexError: list index out of range"


def test_show_caches_per_claim_and_tier(reg):
    calls = []
    c = reg("testmut.cache", lambda tier: (calls.append(tier), holds("x", True))[1])
    first = claims.show(c.id)
    assert claims.show(c.id).result is first.result and calls == ["ci"]
    paper = claims.show(c.id, tier="paper")
    assert paper.result.tier == "paper" and paper.result.passed and calls == ["ci", "paper"]
    other = claims.show(reg("testmut.cache-2", lambda: holds("y", False)).id)
    assert other.result.id == "testmut.cache-2" and not other.result.passed
