"""The public API is typed: every parameter and every return of every public callable is annotated.

mypy (``make types``, the ``types`` stage of ``make test``) checks that the annotations are right; this test
checks that they are there, so that coverage cannot regress when a function is added or a parameter grows.
"Public" is what a script user reaches: each chapter package's ``__all__`` (the modules of a chapter without
one), :mod:`attnmath.claims`, the base layer's modules, :mod:`attnmath.kernels` and its dispatch and operator
modules; for a public class, its public methods, properties and ``__init__``.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import pkgutil
import re
import tomllib
import types
from collections.abc import Callable, Iterator

import pytest

import attnmath

CHAPTERS = ("softmax", "dsf", "fastforms", "memory", "scansnap", "stiffness", "synthesis")
KERNEL_MODULES = ("attnmath.kernels", "attnmath.kernels.dispatch")


def _own_public_names(module: types.ModuleType) -> list[str]:
    """Public names a module defines itself (a module without ``__all__``)."""
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]


def _submodules(package: str, *, skip: tuple[str, ...] = ()) -> list[types.ModuleType]:
    pkg = importlib.import_module(package)
    out = []
    for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{package}."):
        leaf = info.name.rpartition(".")[2]
        if leaf.startswith("_") or leaf in skip:
            continue
        out.append(importlib.import_module(info.name))
    return out


def _public_objects() -> Iterator[tuple[str, object]]:
    seen: set[int] = set()

    def emit(qualname: str, obj: object) -> Iterator[tuple[str, object]]:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        yield qualname, obj

    def from_module(module: types.ModuleType) -> Iterator[tuple[str, object]]:
        names = getattr(module, "__all__", None)
        for name in names if names is not None else _own_public_names(module):
            yield from emit(f"{module.__name__}.{name}", getattr(module, name))

    for chapter in CHAPTERS:
        package = importlib.import_module(f"attnmath.{chapter}")
        if hasattr(package, "__all__"):
            yield from from_module(package)
        else:
            for module in _submodules(package.__name__, skip=("claims",)):
                yield from from_module(module)
    yield from from_module(importlib.import_module("attnmath.claims"))
    for module in _submodules("attnmath.base"):
        yield from from_module(module)
    for name in KERNEL_MODULES:
        yield from from_module(importlib.import_module(name))
    for op in importlib.import_module("attnmath.kernels").OPERATORS:
        for module in _submodules(f"attnmath.kernels.{op}"):
            yield from from_module(module)


def _callables() -> list[tuple[str, Callable[..., object]]]:
    """Every public function, and every public method, property and ``__init__`` of every public class."""
    out: list[tuple[str, Callable[..., object]]] = []
    for qualname, obj in _public_objects():
        # Plain functions and classes; Triton kernels (lazy_jit objects) take tl.constexpr annotations and
        # are typed by Triton's launcher, not by us.
        if isinstance(obj, type):
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(member, property) and member.fget is not None:
                    out.append((f"{qualname}.{attr}", member.fget))
                elif isinstance(member, staticmethod | classmethod):
                    out.append((f"{qualname}.{attr}", member.__func__))
                elif inspect.isfunction(member) and not getattr(member, "__module__", "").startswith("dataclasses"):
                    out.append((f"{qualname}.{attr}", member))
        elif inspect.isfunction(obj):
            out.append((qualname, obj))
    return out


def _missing(fn: Callable[..., object]) -> list[str]:
    """The parameters (and ``return``) without an annotation; ``self`` and ``cls`` need none, nor does
    ``__init__`` a return (it returns None, and mypy reads it so once a parameter is annotated)."""
    sig = inspect.signature(fn)
    missing = [
        name
        for i, (name, p) in enumerate(sig.parameters.items())
        if p.annotation is inspect.Parameter.empty and not (i == 0 and name in ("self", "cls"))
    ]
    if sig.return_annotation is inspect.Signature.empty and fn.__name__ != "__init__":
        missing.append("return")
    return missing


CALLABLES = _callables()


def test_the_walk_finds_the_public_api():
    """A walk that found nothing would pass trivially: it reaches the chapters, the ledger and the kernels."""
    names = {name for name, _ in CALLABLES}
    assert len(CALLABLES) > 300, len(CALLABLES)
    for expected in (
        "attnmath.dsf.DSF.parallel",
        "attnmath.claims.run",
        "attnmath.kernels.dispatch.linear_attention",
        "attnmath.kernels.linear_attention.chunk.chunk_linear_attention",
        "attnmath.base.validation.tensor",
        "attnmath.memory.capacity_of_keys",
    ):
        assert expected in names, expected


def test_missing_detects_an_unannotated_parameter():
    def half(x: int, y) -> int:
        return x

    def whole(x: int) -> int:
        return x

    assert _missing(half) == ["y"]
    assert _missing(lambda x: x) == ["x", "return"]
    assert _missing(whole) == []


@pytest.mark.parametrize("name,fn", CALLABLES, ids=[name for name, _ in CALLABLES])
def test_public_callable_is_fully_annotated(name, fn):
    missing = _missing(fn)
    assert not missing, f"{name}: no annotation for {', '.join(missing)}"


def test_the_package_is_typed():
    """PEP 561: the installed package and its kernels carry py.typed, so a user's type checker reads the hints."""
    for package in (attnmath, importlib.import_module("attnmath.kernels")):
        assert (pathlib.Path(package.__file__).parent / "py.typed").is_file(), package.__name__


ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_make_test_type_checks_right_after_the_import_contracts():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:\n", 1)[1].split("\n\n", 1)[0]
    stages = re.findall(r"\$\(STAGE\) (\S+)", recipe)
    assert stages.index("types") == stages.index("imports") + 1, stages
    assert "$(STAGE) types $(BIN)/mypy" in recipe
    assert re.search(r"^types: deps-test\n\t\$\(BIN\)/mypy$", makefile, re.M), "make types runs mypy"


def test_mypy_configuration_checks_the_package_and_the_kernels():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    for option in ("disallow_untyped_defs", "disallow_incomplete_defs", "check_untyped_defs", "warn_unused_ignores"):
        assert cfg[option] is True, option
    assert cfg["files"] == ["attnmath", "tools/mypy_path/attnmath/kernels"]
    # the kernels are checked under the name they install as (setup.py's package_dir), through a symlink to kernels/
    shim = ROOT / cfg["mypy_path"] / "attnmath" / "kernels"
    assert shim.is_symlink() and shim.resolve() == (ROOT / "kernels").resolve()
    pins = (ROOT / "constraints.txt").read_text()
    for package in ("mypy", "scipy-stubs", "types-tqdm"):
        assert re.search(rf"^{package}==\S+$", pins, re.M), f"{package} is not pinned in constraints.txt"


def test_every_type_ignore_names_its_code_and_reason():
    """``# type: ignore`` only with an error code and a reason (a comment after it or on the line above)."""
    bad = []
    for path in [*ROOT.joinpath("attnmath").rglob("*.py"), *ROOT.joinpath("kernels").rglob("*.py")]:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "# type: ignore" not in line:
                continue
            m = re.search(r"# type: ignore\[[a-z-]+(, [a-z-]+)*\](.*)$", line)
            reason = m is not None and (m.group(2).strip().startswith("#") or lines[i - 1].strip().startswith("#"))
            if not reason:
                bad.append(f"{path.relative_to(ROOT)}:{i + 1}")
    assert not bad, f"type: ignore without an error code and a reason: {bad}"
