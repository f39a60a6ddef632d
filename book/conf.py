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
    "attnmath_book",  # generated pages: the claims ledger, the status page, the Sources tables
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

html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "use_download_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
html_last_updated_fmt = None

# Generated pages (book/_ext/attnmath_book.py): the ledger reads the claim results that
# `make test` (pytest) or `make verify` wrote; a missing or stale file fails the build.
attnmath_ledger_json = str(BOOK / "_build" / "ledger.json")
