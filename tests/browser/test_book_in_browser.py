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
