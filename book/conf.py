"""Sphinx configuration of the attnmath book (Jupyter Book's Sphinx engine, used directly).

Build from the repository root (``make book``)::

    sphinx-build -W --keep-going -n -c book -b html . book/_build/html

The source directory is the repository root and the configuration directory is ``book/``,
so ``notebooks/`` is rendered in place. Outputs are the stored, nbval-checked ones
(``nb_execution_mode = "off"``); MathJax is served from the built site itself
(``sphinx-mathjax-offline``), so the book reads with no network.
"""

import os
import pathlib
import sys

BOOK = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BOOK / "_ext"))

project = "attnmath: attention, checked"
author = "The attnmath authors"
copyright = "2026, the attnmath authors"

extensions = [
    "myst_nb",  # MyST markdown + .ipynb (registers myst_parser itself)
    "sphinx_external_toc",  # book/_toc.yml in Jupyter Book's format
    "sphinx_proof",  # prf:theorem / prf:lemma / prf:definition / prf:proof
    "sphinxcontrib.bibtex",  # {cite}, {bibliography}
    "sphinx_book_theme",
    "sphinx-mathjax-offline",  # copies MathJax 3 into the site and points mathjax_path at it
    "sphinx_copybutton",  # a copy button on every code cell (prompts and outputs are not copied)
    "attnmath_book",  # generated pages: the claims ledger, the status page, the Sources tables
    "sphinx.ext.autodoc",  # the API reference (book/api/): docstrings are reST, their math is :math:
    "sphinx.ext.autosummary",
    "attnmath_api",  # API pages from each package's __all__; "In the book" (chapter, claims) on every entry
]

external_toc_path = "book/_toc.yml"  # relative to the source dir (repo root)
external_toc_exclude_missing = True
exclude_patterns = [
    "_build",
    "book/_build",
    ".venv",
    "**/.ipynb_checkpoints",
    ".jupyter_cache",
    ".pytest_cache",  # tool caches in the repository root (their README.md is not a page)
    ".ruff_cache",
    ".hypothesis",
    "notebooks/*.md",  # jupytext twins of the .ipynb files
    "README.md",
    "tests",
    "tools",
    "kernels",
    "attnmath",
    "benchmarks",
    ".github",
    ".ci",
]

myst_enable_extensions = ["amsmath", "dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

nb_execution_mode = os.environ.get("ATTNMATH_NB_EXECUTION", "off")  # "off": render stored outputs
nb_execution_cache_path = "book/_build/.jupyter_cache"
nb_execution_timeout = 600
nb_execution_raise_on_error = False  # failures become warnings: -W fails, --keep-going lists all
nb_merge_streams = True

numfig = True
math_numfig = True
math_eqref_format = "({number})"

bibtex_bibfiles = ["references.bib"]  # relative to the conf dir (book/)
bibtex_reference_style = "author_year"

# API reference (book/api/, book/_ext/attnmath_api.py). The docstrings are reStructuredText (no
# Google/NumPy sections, so no napoleon); their :math: and .. math:: render with the book's offline MathJax.
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True  # `chunk_size=CHUNK_SIZE`, not the value the name had at import
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_inherit_docstrings = False  # an undocumented override must not repeat torch's docstring
autosummary_generate = False  # summary tables only: every entry is on its package's page
add_module_names = False
toc_object_entries_show_parents = "hide"
python_maximum_signature_line_length = 100
# No intersphinx (the book builds offline): types of other packages are not cross-referenced, and the
# nitpicky build (-n) must not ask for them.
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|np|numpy|sp|sympy|scipy|matplotlib|mpl|plt|triton|tl|pandas)(\..*)?"),
    (r"py:.*", r"(Tensor|ndarray|Figure|Axes|Generator|Module|Parameter|dtype|device|Expr|Symbol|Matrix)"),
    # the standard library
    (r"py:.*", r"(collections|contextlib|dataclasses|enum|functools|os|pathlib|types|typing)\..*"),
]

html_theme = "sphinx_book_theme"
html_title = project
# The one setting for the repository: the repository, source and issues buttons of every page
# derive from it (empty: no repository buttons; the download button works without it).
REPOSITORY_URL = os.environ.get("ATTNMATH_REPOSITORY_URL", "")
REPOSITORY_BRANCH = os.environ.get("ATTNMATH_REPOSITORY_BRANCH", "main")

html_theme_options = {
    "use_download_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "repository_url": REPOSITORY_URL,
    "repository_branch": REPOSITORY_BRANCH,
    "path_to_docs": "",  # the source directory is the repository root
    "use_repository_button": bool(REPOSITORY_URL),
    "use_source_button": bool(REPOSITORY_URL),
    "use_issues_button": bool(REPOSITORY_URL),
}
html_static_path = ["_static"]  # relative to the configuration directory (book/)
html_css_files = ["attnmath.css"]  # claim boxes in both themes, figure captions


def _package_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("attnmath")
    except importlib.metadata.PackageNotFoundError:  # a source tree without an install
        return "unknown"


version = release = _package_version()
# The footer's "Last updated" line, with the package version the pages were built from.
html_last_updated_fmt = f"%Y-%m-%d, attnmath {release}"

# Copy buttons: strip IPython and shell prompts; copy only the input of a notebook cell.
copybutton_prompt_text = r">>> |\.\.\. |\$ |In \[\d*\]: | {2,5}\.\.\.: "
copybutton_prompt_is_regexp = True
copybutton_exclude = ".linenos, .gp, .go"
copybutton_selector = (
    "div.cell_input div.highlight pre, div.highlight-python div.highlight pre, div.highlight-bash div.highlight pre"
)

# Generated pages (book/_ext/attnmath_book.py): the ledger reads the claim results that
# `make test` (pytest) or `make verify` wrote; a missing or stale file fails the build.
attnmath_ledger_json = str(BOOK / "_build" / "ledger.json")
