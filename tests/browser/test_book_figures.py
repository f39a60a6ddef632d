"""The built book's figures and furniture, read from its HTML (runs after ``make book``, marker ``browser``).

- every image of a chapter's cell output sits in a numbered ``<figure>`` with a caption ("Fig. N");
- every raster image the pages use is at least 150 dpi (PNG ``pHYs``), SVG rasters likewise;
- the landing page's view map is vector (SVG);
- claim boxes link to an anchor that exists on the ledger page;
- no ``NBVAL`` marker is visible; copy buttons, the theorem index link and the "last updated"
  line with the package version are in place.
"""

from __future__ import annotations

import html.parser
import pathlib
import re

import pytest

from tests.test_figures import MIN_DPI, png_dpi, svg_raster_dpis

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = ROOT / "book" / "_build" / "html"

CHAPTERS = sorted((SITE / "notebooks").glob("*.html"))


class _Images(html.parser.HTMLParser):
    """Each ``<img>`` with the stack of enclosing elements, and the figure captions."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.images: list[tuple[str, list[tuple[str, str]]]] = []
        self.figures: list[str] = []  # text of each figcaption
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append((a.get("src", ""), list(self.stack)))
            return
        if tag in ("br", "hr", "meta", "link", "input", "source"):
            return
        self.stack.append((tag, a.get("class", "") or ""))
        if tag == "figcaption":
            self._caption = []

    def handle_endtag(self, tag):
        if tag == "figcaption" and self._caption is not None:
            self.figures.append(" ".join("".join(self._caption).split()))
            self._caption = None
        for j in range(len(self.stack) - 1, -1, -1):
            if self.stack[j][0] == tag:
                del self.stack[j:]
                break

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)


def parse(page: pathlib.Path) -> _Images:
    p = _Images()
    p.feed(page.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module", autouse=True)
def built():
    assert (SITE / "index.html").exists(), f"build the book first (make book); {SITE}/index.html is missing"


def test_every_cell_output_image_is_a_numbered_captioned_figure():
    problems, count = [], 0
    for page in CHAPTERS:
        p = parse(page)
        for src, stack in p.images:
            if "_images" not in src:
                continue
            count += 1
            if not any(tag == "figure" for tag, _ in stack):
                problems.append(f"{page.name}: {src} is not in a <figure> (no caption, no number)")
        unnumbered = [c for c in p.figures if not re.match(r"Fig\. \d+", c)]
        problems += [f"{page.name}: caption without a number: {c[:60]!r}" for c in unnumbered]
    assert count >= 50, f"only {count} figures in the chapters"
    assert not problems, problems[:10]


def test_every_image_is_vector_or_at_least_150_dpi():
    """Every image a page shows (not stale files of earlier builds left in _images)."""
    used = set()
    for page in SITE.rglob("*.html"):
        for src, _ in parse(page).images:
            if not src.startswith(("http:", "https:", "data:")):
                used.add((page.parent / src.split("#")[0]).resolve())
    images = sorted(p for p in used if p.suffix.lower() in (".png", ".svg") and "_static" not in p.parts)
    assert len(images) >= 50, f"only {len(images)} images in the built book"
    low = []
    for img in images:
        if img.suffix.lower() == ".png":
            dpi = png_dpi(img.read_bytes())
            if dpi is None or dpi < MIN_DPI - 1:
                low.append(f"{img.name}: {dpi} dpi")
        else:
            low += [f"{img.name}: raster at {d:.0f} dpi" for d in svg_raster_dpis(img.read_text()) if d < MIN_DPI - 1]
    assert not low, low[:10]


def test_view_map_is_vector():
    p = parse(SITE / "book" / "intro.html")
    maps = [src for src, _ in p.images if "view_map" in src]
    assert maps and all(src.endswith(".svg") for src in maps), maps


def test_claim_boxes_link_to_ledger_entries():
    ledger_ids = set(re.findall(r'id="([^"]+)"', (SITE / "book" / "ledger.html").read_text(encoding="utf-8")))
    links = []
    for page in CHAPTERS:
        links += re.findall(
            r'class="attnmath-claim-id" href="\.\./book/ledger\.html#([^"]+)"', page.read_text(encoding="utf-8")
        )
    boxes = sum(page.read_text(encoding="utf-8").count('<div class="attnmath-claim ') for page in CHAPTERS)
    assert len(links) == boxes >= 100, f"{len(links)} of {boxes} claim boxes link to the ledger"
    dangling = sorted(set(links) - ledger_ids)
    assert not dangling, dangling


def test_no_visible_test_markers():
    shown = [page.name for page in CHAPTERS if "NBVAL" in page.read_text(encoding="utf-8")]
    assert not shown, shown


def test_furniture_copy_buttons_theorem_index_last_updated():
    import attnmath

    intro = (SITE / "book" / "intro.html").read_text(encoding="utf-8")
    assert 'href="../prf-prf.html' in intro, "the landing page must link the theorem index"
    chapter = (SITE / "notebooks" / "10_dsf_framework.html").read_text(encoding="utf-8")
    assert "copybutton.js" in chapter
    assert re.search(r"Last updated on[^<]*attnmath " + re.escape(attnmath.__version__), chapter), (
        "no last-updated line with the version"
    )
