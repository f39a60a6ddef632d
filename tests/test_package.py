"""``import attnmath``: cheap, and every chapter reachable as an attribute on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import attnmath

_SCRIPT = """
import sys, attnmath
before = sorted(m for m in sys.modules if m.startswith("attnmath.") or m in ("torch", "sympy", "scipy"))
mod = attnmath.dsf
after = "attnmath.dsf" in sys.modules
print(before, mod.__name__, after, callable(attnmath.dsf.DSF))
"""


def test_import_attnmath_imports_no_chapter_and_no_torch():
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["[]", "attnmath.dsf", "True", "True"]


@pytest.mark.parametrize("name", attnmath.SUBPACKAGES)
def test_every_subpackage_is_an_attribute(name):
    module = getattr(attnmath, name)
    assert module.__name__ == f"attnmath.{name}"
    assert name in dir(attnmath)


def test_an_unknown_attribute_names_itself():
    with pytest.raises(AttributeError, match="module 'attnmath' has no attribute 'dfs'"):
        attnmath.dfs  # noqa: B018
