"""Real-browser check of the built book: headless Chromium (Debian's package) via selenium.

Runs after the book is built (``make test`` builds it first; marker ``browser``). Asserts
that MathJax typeset the math (``mjx-container`` elements, no raw TeX left in the text),
that the chapter's figures loaded, and that the page fetched nothing from another host.
A negative control strips the MathJax script from a copy of the page and checks that the
same inspection then reports the failure, so the test cannot pass without a math renderer.
"""

from __future__ import annotations

import functools
import http.server
import pathlib
import re
import shutil
import threading

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = ROOT / "book" / "_build" / "html"
CHAPTER = "notebooks/00_softmax_attention.html"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\frac|\\sum|\\mathbb")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    assert (SITE / "index.html").exists(), f"build the book first (make book); {SITE}/index.html is missing"
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(SITE, root / "html")
    broken = root / "html" / "notebooks" / "00_no_mathjax.html"
    page = (root / "html" / CHAPTER).read_text(encoding="utf-8")
    stripped, n = re.subn(r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*></script>', "", page, flags=re.I)
    assert n >= 1, "the chapter page does not load MathJax at all"
    broken.write_text(stripped, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root / "html"))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    import os

    os.environ["SE_OFFLINE"] = "true"  # selenium must not try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    assert pathlib.Path(CHROMIUM).exists(), "install Debian's chromium (the .ci/run script does)"
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,1600",
        f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def inspect_page(driver, url: str) -> dict:
    """Load ``url``, wait for MathJax (if any) and report what the reader would see."""
    driver.get(url)
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (!window.MathJax || !window.MathJax.startup) { setTimeout(() => done('no-mathjax'), 1500); return; }"
        "MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));"
    )
    mjx = driver.execute_script("return document.querySelectorAll('mjx-container').length;")
    text = driver.execute_script(
        "const root = document.querySelector('main, article, body').cloneNode(true);"
        "root.querySelectorAll('pre, code, .cell_input, .highlight, mjx-container, script').forEach(e => e.remove());"
        "return root.innerText;"
    )
    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('img')).filter(i => i.src.includes('_images'))"
        ".map(i => [i.src, i.complete && i.naturalWidth > 0]);"
    )
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    base = url.split("/", 3)[:3]
    origin = "/".join(base)
    return {
        "status": status,
        "mjx": mjx,
        "raw_tex": RAW_TEX.findall(text),
        "stray_dollars": text.count("$"),
        "images": images,
        "external": [r for r in resources if not r.startswith(origin)],
    }


def test_chapter_math_typeset_and_figures_loaded(site, browser):
    report = inspect_page(browser, site + CHAPTER)
    assert report["status"] == "typeset", report["status"]
    assert report["mjx"] >= 10, f"only {report['mjx']} typeset formulas on the chapter page"
    assert report["raw_tex"] == [], f"raw TeX left in the page text: {report['raw_tex'][:5]}"
    assert len(report["images"]) >= 2, f"expected the chapter's figures, found {report['images']}"
    assert all(ok for _, ok in report["images"]), f"figures that did not load: {report['images']}"
    assert report["external"] == [], f"requests to other hosts: {report['external']}"


CHAPTERS = sorted(p.relative_to(SITE).as_posix() for p in (SITE / "notebooks").glob("*.html"))


def test_every_chapter_page_was_built():
    assert len(CHAPTERS) >= 9, CHAPTERS


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_chapter_typesets_all_its_math(site, browser, page):
    """Prose outside code must hold no raw TeX and no unmatched dollar signs (a mis-paired `$` breaks a formula)."""
    report = inspect_page(browser, site + page)
    assert report["status"] == "typeset", report["status"]
    assert report["mjx"] >= 1
    assert report["raw_tex"] == [], f"raw TeX in the prose of {page}: {report['raw_tex'][:5]}"
    assert report["stray_dollars"] == 0, f"{report['stray_dollars']} stray $ in the prose of {page}"
    assert report["external"] == []


def test_ledger_and_intro_render_offline(site, browser):
    for page in ("book/intro.html", "book/ledger.html"):
        report = inspect_page(browser, site + page)
        assert report["status"] == "typeset", (page, report["status"])
        assert report["mjx"] >= 1, page
        assert report["raw_tex"] == [], (page, report["raw_tex"][:5])
        assert report["external"] == [], (page, report["external"])


def test_negative_control_without_mathjax_is_detected(site, browser):
    """The same inspection on the chapter with its MathJax script removed must flag it."""
    report = inspect_page(browser, site + "notebooks/00_no_mathjax.html")
    assert report["status"] == "no-mathjax"
    assert report["mjx"] == 0
    assert report["raw_tex"], "raw TeX should be visible when no renderer runs"


# --- Book furniture (issue 16): dark mode, claim-box contrast, view map widths, copy buttons -------------

CONTRAST_JS = """
const sel = arguments[0];
function rgb(c) { return (c.match(/[\\d.]+/g) || ['255', '255', '255']).map(Number); }
function lum(c) {
  const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function background(el) {
  for (; el; el = el.parentElement) {
    const c = getComputedStyle(el).backgroundColor, v = rgb(c);
    if (v.length < 4 || v[3] > 0) return c;
  }
  return 'rgb(255, 255, 255)';
}
const el = document.querySelector(sel);
if (!el) return null;
const fg = getComputedStyle(el).color, bg = background(el);
const a = lum(fg), b = lum(bg);
return {fg: fg, bg: bg, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
        theme: document.documentElement.dataset.theme};
"""
CLAIM_ID = "div.attnmath-claim a.attnmath-claim-id code"
WIDTHS = (1200, 800, 480)  # every page width these tests use, down to a phone


def set_theme(driver, theme: str) -> None:
    """Switch pydata-sphinx-theme's mode the way its toggle does (data-theme on <html>, kept in localStorage)."""
    driver.execute_script(
        "localStorage.setItem('mode', arguments[0]); localStorage.setItem('theme', arguments[0]);"
        "document.documentElement.dataset.mode = arguments[0]; document.documentElement.dataset.theme = arguments[0];",
        theme,
    )


def mean_brightness(png: bytes) -> float:
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("L")
    return sum(img.getdata()) / (img.width * img.height)


def test_claim_boxes_readable_in_light_and_dark_mode(site, browser, tmp_path_factory):
    """Screenshot a chapter in both themes; the claim id must keep a WCAG contrast ratio >= 4.5 in each."""
    shots = tmp_path_factory.mktemp("screenshots")
    browser.set_window_size(1200, 1600)
    inspect_page(browser, site + "notebooks/10_dsf_framework.html")
    brightness = {}
    for theme in ("light", "dark"):
        set_theme(browser, theme)
        browser.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'});", CLAIM_ID)
        result = browser.execute_script(CONTRAST_JS, CLAIM_ID)
        assert result is not None, "no claim box on the chapter page"
        assert result["theme"] == theme
        assert result["ratio"] >= 4.5, (
            f"{theme} mode: claim id {result['fg']} on {result['bg']}, contrast {result['ratio']:.2f}"
        )
        png = browser.get_screenshot_as_png()
        (shots / f"claim-box-{theme}.png").write_bytes(png)
        brightness[theme] = mean_brightness(png)
    assert brightness["dark"] < brightness["light"] - 40, f"the dark theme did not apply: {brightness}"
    # negative control: the same measurement flags an id drawn in its background colour
    browser.execute_script(
        "const s = document.createElement('style');"
        "s.textContent = arguments[0] + '{color: var(--attnmath-claim-background) !important}';"
        "document.head.appendChild(s);",
        CLAIM_ID,
    )
    assert browser.execute_script(CONTRAST_JS, CLAIM_ID)["ratio"] < 1.5
    set_theme(browser, "light")


def test_claim_box_link_opens_its_ledger_entry(site, browser):
    browser.set_window_size(1200, 1600)
    inspect_page(browser, site + "notebooks/20_kernels.html")
    href = browser.execute_script("return document.querySelector('a.attnmath-claim-id').href;")
    anchor = href.split("#", 1)[1]
    browser.get(href)
    assert browser.execute_script("return document.getElementById(arguments[0]) !== null;", anchor), href
    assert "ledger" in browser.current_url


@pytest.mark.parametrize("width", WIDTHS)
def test_view_map_fits_the_page_at_every_width(site, browser, width):
    """The landing page's view map (vector, labels sized to their boxes) scales within its column."""
    browser.set_window_size(width, 1600)
    inspect_page(browser, site + "book/intro.html")
    box = browser.execute_script(
        "const img = Array.from(document.images).find(i => i.src.includes('view_map'));"
        "if (!img) return null;"
        "const r = img.getBoundingClientRect(), p = img.closest('figure').getBoundingClientRect();"
        "return {loaded: img.complete && img.naturalWidth > 0, src: img.src, left: r.left, right: r.right,"
        " fig_left: p.left, fig_right: p.right, page: document.documentElement.clientWidth};"
    )
    assert box is not None, "no view map on the landing page"
    assert box["loaded"] and box["src"].endswith(".svg"), box
    assert box["left"] >= box["fig_left"] - 1 and box["right"] <= box["fig_right"] + 1, box
    assert 0 <= box["left"] and box["right"] <= box["page"] + 1, box
    browser.set_window_size(1200, 1600)


def test_copy_buttons_on_code_cells(site, browser):
    browser.set_window_size(1200, 1600)
    inspect_page(browser, site + "notebooks/10_dsf_framework.html")
    n_inputs = browser.execute_script("return document.querySelectorAll('div.cell_input div.highlight pre').length;")
    n_buttons = browser.execute_script("return document.querySelectorAll('div.cell_input button.copybtn').length;")
    assert n_inputs >= 10 and n_buttons == n_inputs, (n_inputs, n_buttons)
    assert browser.execute_script("return document.querySelectorAll('div.cell_output button.copybtn').length;") == 0
