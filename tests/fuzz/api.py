"""Enumerate the public API automatically (issue 17): a new public function is covered without editing this.

Public = every callable in a chapter package's ``__all__``, every public module-level function of the
fastforms chapter's modules (the package has no ``__all__``), every public method of ``dsf.DSF``, and
``attnmath.kernels.dispatch.__all__``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from typing import Any

CHAPTERS = ("softmax", "dsf", "memory", "scansnap", "stiffness", "synthesis")
FASTFORMS_MODULES = ("derivation", "instances", "plots", "timing")
METHOD_CLASSES = (("dsf", "DSF"),)


def public_callables() -> dict[str, Callable[..., Any]]:
    out: dict[str, Callable[..., Any]] = {}
    for chapter in CHAPTERS:
        mod = importlib.import_module(f"attnmath.{chapter}")
        for name in mod.__all__:
            obj = getattr(mod, name)
            if callable(obj) and not is_record(obj):
                out[f"{chapter}.{name}"] = obj
    ff = importlib.import_module("attnmath.fastforms")
    if hasattr(ff, "__all__"):
        for name in ff.__all__:
            if callable(getattr(ff, name)):
                out[f"fastforms.{name}"] = getattr(ff, name)
    for sub in FASTFORMS_MODULES:
        mod = importlib.import_module(f"attnmath.fastforms.{sub}")
        names = getattr(mod, "__all__", None) or [
            n for n, o in vars(mod).items() if inspect.isfunction(o) and o.__module__ == mod.__name__
        ]
        for name in names:
            if not name.startswith("_") and callable(getattr(mod, name)):
                out[f"fastforms.{sub}.{name}"] = getattr(mod, name)
    for chapter, cls_name in METHOD_CLASSES:
        cls = getattr(importlib.import_module(f"attnmath.{chapter}"), cls_name)
        for name, obj in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(obj):
                out[f"{chapter}.{cls_name}.{name}"] = obj
    dispatch = importlib.import_module("attnmath.kernels.dispatch")
    for name in dispatch.__all__:
        if callable(getattr(dispatch, name)):
            out[f"kernels.dispatch.{name}"] = getattr(dispatch, name)
    return out


def is_method(key: str) -> bool:
    return any(key.startswith(f"{ch}.{cls}.") for ch, cls in METHOD_CLASSES)


def is_record(obj: Any) -> bool:
    """A plain dataclass record: a result type with a generated ``__init__`` that checks nothing."""
    if not inspect.isclass(obj):
        return False
    if issubclass(obj, tuple) and hasattr(obj, "_fields"):
        return True  # a NamedTuple
    return dataclasses.is_dataclass(obj) and not hasattr(obj, "__post_init__")
