"""The API reference in the built book (issue 16): its inventory, and its math typeset in a real browser.

Runs after the book is built (marker ``browser``). ``objects.inv`` must list at least 150 Python
objects (what intersphinx and the book's search see); an API page, opened in headless Chromium
(Debian's package, as in ``test_book_in_browser.py``), must show MathJax-typeset docstring math
inside its entries, each chapter entry its "In the book" links, and fetch nothing from another host.
"""

from __future__ import annotations

import functools
import http.server
import pathlib
import re
import threading

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = ROOT / "book" / "_build" / "html"
API_PAGE = "book/api/memory.html"
MIN_PY_OBJECTS = 150


def python_objects(inventory: pathlib.Path) -> dict[str, set[str]]:
    """The ``py:*`` entries of a Sphinx inventory: role -> names."""
    from sphinx.util.inventory import InventoryFile

    with inventory.open("rb") as fh:
        inv = InventoryFile.load(fh, "", lambda base, uri: uri)
    data = getattr(inv, "data", inv)  # `load` gives the role -> entries dict (an object holding it in some versions)
    return {role: set(items) for role, items in data.items() if role.startswith("py:")}


def test_objects_inv_lists_the_api():
    counts = {role: len(names) for role, names in python_objects(SITE / "objects.inv").items()}
    total = sum(counts.values())
    assert total >= MIN_PY_OBJECTS, f"objects.inv lists {total} Python objects: {counts}"
    assert counts.get("py:function", 0) >= 100, counts
    assert counts.get("py:class", 0) >= 20, counts


def test_objects_inv_names_the_public_entry_points():
    names = set().union(*python_objects(SITE / "objects.inv").values())
    for name in (
        "attnmath.dsf.DSF",
        "attnmath.memory.capacity_of_keys",
        "attnmath.kernels.linear_attention",
        "attnmath.kernels.dispatch.diag_scan",
        "attnmath.claims.run",
        "attnmath.softmax.softmax_attention",
        "attnmath.stiffness.stability_function",
    ):
        assert name in names, f"{name} is not in objects.inv"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site; ``page.html?no-mathjax`` is the page with its MathJax script removed."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if query != "no-mathjax":
            return super().do_GET()
        html = (SITE / path.lstrip("/")).read_text(encoding="utf-8")
        stripped, n = re.subn(r'<script[^>]*src="[^"]*mathjax[^"]*"[^>]*></script>', "", html, flags=re.I)
        body = stripped.encode("utf-8") if n else b"the page loads no MathJax script"
        self.send_response(200 if n else 500)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


PACKAGES = (
    "attnmath.softmax",
    "attnmath.dsf",
    "attnmath.memory",
    "attnmath.scansnap",
    "attnmath.stiffness",
    "attnmath.synthesis",
    "attnmath.fastforms.derivation",
    "attnmath.fastforms.instances",
    "attnmath.fastforms.timing",
    "attnmath.claims",
    "attnmath.kernels",
    "attnmath.kernels.dispatch",
)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_an_entry(package):
    """Every name of a package's ``__all__`` (but its subpackages) is documented under that package."""
    import importlib
    import types

    module = importlib.import_module(package)
    documented = set().union(*python_objects(SITE / "objects.inv").values())
    public = [
        n
        for n in module.__all__
        if not (isinstance(getattr(module, n), types.ModuleType) and not callable(getattr(module, n)))
    ]
    missing = [n for n in public if f"{package}.{n}" not in documented]
    assert public and missing == [], f"{package}: no API entry for {missing}"


@pytest.fixture(scope="module")
def site():
    assert (SITE / "index.html").exists(), f"build the book first (make book); {SITE}/index.html is missing"
    handler = functools.partial(_Handler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    import os

    os.environ["SE_OFFLINE"] = "true"  # selenium must not try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium = "/usr/bin/chromium"
    assert pathlib.Path(chromium).exists(), "install Debian's chromium (the .ci/run script does)"
    opts = Options()
    opts.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-dev-shm-usage",
        "--window-size=1200,1600",
        f"--user-data-dir={tmp_path_factory.mktemp('chrome-profile')}",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


INSPECT_API_JS = """
const entries = Array.from(document.querySelectorAll('dl.py.function, dl.py.class'));
const raw = /\\\\\\(|\\\\\\[|\\\\frac|\\\\sum|\\\\mathbb|\\\\varepsilon/;
return {
  entries: entries.length,
  with_math: entries.filter(e => e.querySelector('dd mjx-container')).length,
  math: document.querySelectorAll('dl.py mjx-container').length,
  raw_tex: entries.filter(e => { const c = e.querySelector('dd').cloneNode(true);
    c.querySelectorAll('pre, code, mjx-container, script').forEach(x => x.remove());
    return raw.test(c.innerText); }).map(e => e.querySelector('dt').id),
  ledger_links: document.querySelectorAll('dl.py dd a[href*="ledger.html#claim-"]').length,
  chapter_links: document.querySelectorAll('dl.py dd a[href*="notebooks/"]').length,
  external: performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin)),
};
"""


def typeset(driver, url: str) -> str:
    driver.get(url)
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (!window.MathJax || !window.MathJax.startup) { setTimeout(() => done('no-mathjax'), 1500); return; }"
        "MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));"
    )


def test_api_page_renders_docstring_math(site, browser):
    assert typeset(browser, site + API_PAGE) == "typeset"
    report = browser.execute_script(INSPECT_API_JS)
    assert report["entries"] >= 40, report
    assert report["with_math"] >= 20, f"only {report['with_math']} of {report['entries']} entries typeset math"
    assert report["math"] >= 50, report
    assert report["raw_tex"] == [], f"entries with raw TeX in their text: {report['raw_tex'][:5]}"
    assert report["ledger_links"] >= 20, "the entries do not link the claims that use them to the ledger"
    assert report["chapter_links"] >= report["entries"] // 2, "the entries do not name their chapter"
    assert report["external"] == [], report["external"]


def test_api_entry_links_reach_the_ledger(site, browser):
    typeset(browser, site + API_PAGE)
    href = browser.execute_script("return document.querySelector('dl.py dd a[href*=\"ledger.html#claim-\"]').href;")
    browser.get(href)
    anchor = href.split("#", 1)[1]
    assert browser.execute_script("return document.getElementById(arguments[0]) !== null;", anchor), href


def test_negative_control_untypeset_page_is_flagged(site, browser):
    """The same page served without its MathJax script: the inspection must see raw TeX and no typeset math."""
    assert typeset(browser, site + API_PAGE + "?no-mathjax") == "no-mathjax"
    report = browser.execute_script(INSPECT_API_JS)
    assert report["math"] == 0
    assert report["raw_tex"], "raw TeX should be visible in the entries when no renderer runs"
