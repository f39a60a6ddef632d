"""The claims ledger: every statement the book makes, as an executable check.

A *claim* is a statement from a paper (or our reconstruction of one) together with a
function that checks it.  The function returns one or more :class:`Check` objects; the
runner turns them into a :class:`ClaimResult` (passed, measured error, tolerance,
seconds).  A check that raises is reported as a failed result carrying the exception; it
never aborts a run.

Registration happens at import time with the :func:`claim` decorator::

    @claim("softmax.rows-sum-to-one", title="Rows of A sum to one",
           statement=r"\\sum_j A_{ij} = 1", source="vaswani2017attention, eq. (1)",
           status_of_source="classical", kinds=("symbolic", "numeric"))
    def _rows_sum_to_one(scale):
        return [symbolic(...), close(...)]

The same registry feeds ``python -m attnmath verify``, the pytest parametrisation
(``tests/test_claims.py``) and the book's ledger page (DESIGN.md §3).
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import json
import math
import pkgutil
import re
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import MissingDependency

STATUSES = ("stated", "reconstructed", "classical")
KINDS = ("symbolic", "numeric", "statistical", "kernel")
SCALES = ("ci", "paper")
_ID_RE = re.compile(r"^[a-z][a-z0-9]*(\.[a-z0-9][a-z0-9_-]*)+$")
# Packages whose modules are imported to populate the registry (claims register at import).
CLAIM_PACKAGES = ("attnmath", "attnmath.kernels")
_SKIP_MODULES = {"attnmath.__main__"}


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One verified fact inside a claim.

    ``error`` and ``tolerance`` are in the same units; the check passes iff
    ``error <= tolerance`` (numeric, statistical, kernel) or the symbolic difference
    simplified to zero.  ``reason`` says where the tolerance comes from.
    """

    kind: str
    name: str
    passed: bool
    error: float | None = None
    tolerance: float | None = None
    reason: str = ""
    details: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Check.kind must be one of {KINDS}, got {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "passed": bool(self.passed),
            "error": _json_float(self.error),
            "tolerance": _json_float(self.tolerance),
            "reason": self.reason,
            "details": self.details,
        }


def _json_float(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu()
        if x.dtype.is_floating_point and x.dtype not in _NUMPY_FLOATS:
            x = x.double()
        return x.numpy()
    return np.asarray(x)


try:  # torch is a hard dependency, but keep this module importable on its own
    import torch

    _NUMPY_FLOATS = (torch.float64, torch.float32, torch.float16)
except ImportError:  # pragma: no cover - torch is in the base dependencies
    _NUMPY_FLOATS = ()


def _require_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("reason: every tolerance needs a stated reason (dtype roundoff x growth, 4 sigma, ...)")
    return reason


def symbolic(name: str, difference: Any, *, details: str = "") -> Check:
    """Pass iff ``sympy.simplify(difference) == 0`` (a matrix must simplify to all zeros)."""
    import sympy as sp

    simplified = sp.simplify(difference)
    if isinstance(simplified, sp.MatrixBase):
        ok = all(sp.simplify(e) == 0 for e in simplified)
    else:
        ok = simplified == 0
    return Check("symbolic", name, bool(ok), details=details or ("" if ok else f"residual: {simplified}"))


def symbolic_true(name: str, statement: Any, *, details: str = "") -> Check:
    """Pass iff a sympy relation/boolean evaluates to ``True`` (e.g. a sign under assumptions)."""
    import sympy as sp

    value = sp.simplify(statement)
    ok = value is sp.true or value is True
    return Check("symbolic", name, bool(ok), details=details or ("" if ok else f"evaluated to: {value}"))


def close(name: str, actual: Any, expected: Any, *, atol: float, reason: str, kind: str = "numeric") -> Check:
    """Max-abs agreement: pass iff ``max |actual - expected| <= atol``; NaN fails."""
    _require_reason(reason)
    a, e = _to_numpy(actual), _to_numpy(expected)
    if a.shape != e.shape:
        return Check(kind, name, False, details=f"shape mismatch {a.shape} vs {e.shape}", reason=reason)
    err = float(np.max(np.abs(a - e))) if a.size else 0.0
    ok = bool(np.isfinite(err) and err <= atol)
    return Check(kind, name, ok, err, float(atol), reason)


def rel_close(name: str, actual: Any, expected: Any, *, rtol: float, reason: str, kind: str = "numeric") -> Check:
    """Relative agreement in the max norm: ``max|a - e| / max|e| <= rtol``; NaN fails."""
    _require_reason(reason)
    a, e = _to_numpy(actual), _to_numpy(expected)
    if a.shape != e.shape:
        return Check(kind, name, False, details=f"shape mismatch {a.shape} vs {e.shape}", reason=reason)
    denom = float(np.max(np.abs(e))) if e.size else 0.0
    num = float(np.max(np.abs(a - e))) if a.size else 0.0
    err = num / denom if denom > 0 else num
    ok = bool(np.isfinite(err) and err <= rtol)
    return Check(kind, name, ok, err, float(rtol), reason)


def at_most(name: str, value: float, bound: float, *, reason: str, kind: str = "numeric") -> Check:
    """Pass iff ``value <= bound`` (an inequality the claim asserts)."""
    _require_reason(reason)
    value = float(value)
    ok = bool(np.isfinite(value) and value <= bound)
    return Check(kind, name, ok, value, float(bound), reason)


def at_least(name: str, value: float, bound: float, *, reason: str, kind: str = "numeric") -> Check:
    """Pass iff ``value >= bound``; reported as error = bound - value <= 0 margin in details."""
    _require_reason(reason)
    value = float(value)
    ok = bool(np.isfinite(value) and value >= bound)
    return Check(kind, name, ok, None, None, reason, details=f"value {value:.6g} >= bound {bound:.6g}")


def statistical(
    name: str,
    estimate: float,
    target: float,
    stderr: float,
    *,
    n_trials: int,
    seed: int,
    nsigma: float = 4.0,
) -> Check:
    """Monte-Carlo check: pass iff ``|estimate - target| <= nsigma * stderr``.

    The seed, trial count and band are recorded in ``details`` and ``reason`` (the ledger
    shows them), so every statistical claim states what it was run with.
    """
    if n_trials <= 0:
        raise ValueError(f"n_trials must be positive, got {n_trials}")
    err = abs(float(estimate) - float(target))
    tol = float(nsigma) * float(stderr)
    ok = bool(np.isfinite(err) and err <= tol)
    reason = f"{nsigma:g} sigma band of the Monte-Carlo mean ({n_trials} trials, seed {seed})"
    details = f"estimate {estimate:.6g}, target {target:.6g}, stderr {stderr:.3g}"
    return Check("statistical", name, ok, err, tol, reason, details)


def holds(name: str, condition: bool, *, kind: str = "numeric", details: str = "") -> Check:
    """A boolean fact (an ordering, a sign, an exact equality of integers)."""
    return Check(kind, name, bool(condition), details=details)


# --------------------------------------------------------------------------------------
# Claims and results
# --------------------------------------------------------------------------------------
@dataclass
class Claim:
    id: str
    title: str
    statement: str
    source: str
    status_of_source: str
    kinds: tuple[str, ...]
    func: Callable[..., Any]
    module: str = ""
    notes: str = ""

    def run(self, scale: str = "ci") -> ClaimResult:
        return run(self, scale=scale)


@dataclass
class ClaimResult:
    claim: Claim
    passed: bool
    checks: list[Check] = field(default_factory=list)
    error: float | None = None
    tolerance: float | None = None
    seconds: float = 0.0
    exception: str | None = None
    scale: str = "ci"
    skipped: str | None = None  # why the claim could not run here (e.g. "triton not installed"); then passed is False

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def verdict(self) -> str:
        """``"passed"``, ``"failed"`` or ``"skipped"``."""
        return "skipped" if self.skipped else ("passed" if self.passed else "failed")

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        return {
            "id": c.id,
            "title": c.title,
            "source": c.source,
            "status_of_source": c.status_of_source,
            "kinds": list(c.kinds),
            "passed": bool(self.passed),
            "skipped": self.skipped,
            "error": _json_float(self.error),
            "tolerance": _json_float(self.tolerance),
            "seconds": round(self.seconds, 3),
            "exception": self.exception,
            "scale": self.scale,
            "checks": [ch.to_json() for ch in self.checks],
        }

    def summary(self) -> str:
        if self.skipped:
            return f"SKIP {self.id}: {self.claim.title} (skipped: {self.skipped})"
        lines = [f"{'PASS' if self.passed else 'FAIL'} {self.id}: {self.claim.title}"]
        for ch in self.checks:
            num = ""
            if ch.error is not None and ch.tolerance is not None:
                num = (
                    f" error {ch.error:.3g} <= tol {ch.tolerance:.3g}"
                    if ch.passed
                    else (f" error {ch.error:.3g} > tol {ch.tolerance:.3g}")
                )
            lines.append(f"  [{ch.kind}] {ch.name}: {'ok' if ch.passed else 'FAILED'}{num} {ch.details}".rstrip())
        if self.exception:
            lines.append("  exception: " + self.exception.strip().splitlines()[-1])
        return "\n".join(lines)


_REGISTRY: dict[str, Claim] = {}
_LOADED = False


def claim(
    id: str,
    *,
    title: str,
    statement: str,
    source: str,
    status_of_source: str,
    kinds: Sequence[str],
    notes: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``func(scale)`` as the check of claim ``id``."""
    if not isinstance(id, str) or not _ID_RE.match(id):
        raise ValueError(f"id must be dotted lower-case like 'chapter.short-name', got {id!r}")
    if status_of_source not in STATUSES:
        raise ValueError(f"status_of_source must be one of {STATUSES}, got {status_of_source!r}")
    kinds = tuple(kinds)
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds!r}")
    for label, text in (("title", title), ("statement", statement), ("source", source)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{label} of claim {id!r} must be a non-empty string")

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        module = getattr(func, "__module__", "")
        old = _REGISTRY.get(id)
        if old is not None and (old.module, old.func.__qualname__) != (module, func.__qualname__):
            raise ValueError(f"claim id {id!r} is already registered by {old.module}.{old.func.__qualname__}")
        _REGISTRY[id] = Claim(id, title, statement, source, status_of_source, kinds, func, module, notes)
        return func

    return deco


def load_all() -> None:
    """Import every module of the claim packages so that their claims register."""
    global _LOADED
    if _LOADED:
        return
    for pkg_name in CLAIM_PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, pkg_name + "."):
            if info.name not in _SKIP_MODULES:
                importlib.import_module(info.name)
    _LOADED = True


def registry() -> dict[str, Claim]:
    """All registered claims, sorted by id."""
    load_all()
    return {k: _REGISTRY[k] for k in sorted(_REGISTRY)}


def get(claim_id: str) -> Claim:
    reg = registry()
    if claim_id not in reg:
        close_matches = [k for k in reg if claim_id.split(".")[0] in k][:5]
        raise KeyError(f"no claim {claim_id!r}; similar: {close_matches}")
    return reg[claim_id]


def select(pattern: str | None = None) -> list[Claim]:
    """Claims whose id contains ``pattern`` (or matches it as a glob when it has ``*?[``)."""
    claims = list(registry().values())
    if not pattern:
        return claims
    if any(ch in pattern for ch in "*?["):
        return [c for c in claims if fnmatch.fnmatchcase(c.id, pattern)]
    return [c for c in claims if pattern in c.id]


def _seed_everything(seed: int = 0) -> None:
    import torch  # a base dependency; imported here so that `import attnmath.claims` stays light

    np.random.seed(seed)  # noqa: NPY002 - reset the legacy global stream too, in case a check uses it
    torch.manual_seed(seed)


def run(claim_or_id: Claim | str, scale: str = "ci") -> ClaimResult:
    """Run one claim; exceptions become a failed result (never propagate)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    c = get(claim_or_id) if isinstance(claim_or_id, str) else claim_or_id
    _seed_everything(0)
    t0 = time.perf_counter()
    try:
        params = inspect.signature(c.func).parameters
        out = c.func(scale) if params else c.func()
        checks = [out] if isinstance(out, Check) else list(out)
        if not checks or not all(isinstance(ch, Check) for ch in checks):
            raise TypeError(f"claim {c.id} must return Check objects, got {out!r}")
        missing = set(c.kinds) - {ch.kind for ch in checks}
        extra = {ch.kind for ch in checks} - set(c.kinds)
        if missing or extra:
            raise ValueError(
                f"claim {c.id} declares kinds {c.kinds} but its checks have "
                f"{sorted({ch.kind for ch in checks})} (missing {sorted(missing)})"
            )
    except MissingDependency as exc:  # an optional package is absent here: skipped, not failed (never cached)
        return ClaimResult(
            c, False, [], None, None, time.perf_counter() - t0, None, scale, skipped=f"{exc.package} not installed"
        )
    except Exception as exc:  # a raising check is a failed claim, by design
        tb = traceback.format_exc(limit=6)
        result = ClaimResult(
            c, False, [], None, None, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}\n{tb}", scale
        )
        _cache_store(result)
        return result
    seconds = time.perf_counter() - t0
    worst = _worst(checks)
    result = ClaimResult(
        c,
        all(ch.passed for ch in checks),
        checks,
        worst.error if worst else None,
        worst.tolerance if worst else None,
        seconds,
        None,
        scale,
    )
    _cache_store(result)
    return result


def _worst(checks: Iterable[Check]) -> Check | None:
    """The check with the largest error/tolerance ratio (the one closest to failing)."""
    best, ratio = None, -math.inf
    for ch in checks:
        if ch.error is None or ch.tolerance is None:
            continue
        r = math.inf if ch.tolerance == 0 and ch.error > 0 else (ch.error / ch.tolerance if ch.tolerance else 0.0)
        if not math.isfinite(ch.error):
            r = math.inf
        if r > ratio:
            best, ratio = ch, r
    return best


def run_all(pattern: str | None = None, scale: str = "ci", progress: bool = False) -> list[ClaimResult]:
    claims = select(pattern)
    if progress:
        from tqdm import tqdm

        bar = tqdm(claims, desc="claims", unit="claim", dynamic_ncols=True)
        results = []
        for c in bar:
            bar.set_postfix_str(c.id, refresh=False)
            results.append(run(c, scale))
        return results
    return [run(c, scale) for c in claims]


def report_json(results: Sequence[ClaimResult]) -> dict[str, Any]:
    passed = sum(r.passed for r in results)
    skipped = sum(bool(r.skipped) for r in results)
    return {
        "claims": [r.to_json() for r in results],
        "passed": passed,
        "failed": len(results) - passed - skipped,
        "skipped": skipped,
    }


def dump_json(results: Sequence[ClaimResult], path: str) -> None:
    import os

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report_json(results), fh, indent=1, sort_keys=False)


def format_table(results: Sequence[ClaimResult]) -> str:
    """A fixed-width table: status, id, source status, kinds, error/tol, seconds."""
    rows = [("", "claim", "source", "kinds", "error", "tol", "s")]
    for r in results:
        rows.append(
            (
                {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}[r.verdict],
                r.id,
                r.claim.status_of_source,
                "+".join(k[:3] for k in r.claim.kinds),
                "-" if r.error is None else f"{r.error:.2e}",
                "-" if r.tolerance is None else f"{r.tolerance:.1e}",
                f"{r.seconds:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Notebook display
# --------------------------------------------------------------------------------------
_SHOWN: dict[tuple[str, str], ClaimResult] = {}


class ClaimDisplay:
    """Deterministic rendering of a claim result for notebooks (HTML in the book, text in nbval).

    Measured errors are *not* printed (they vary in the last bits across machines); the
    verdict, the tolerance and its reason are, so nbval compares what the claim asserts.
    """

    def __init__(self, result: ClaimResult):
        self.result = result

    def _lines(self) -> list[str]:
        r, c = self.result, self.result.claim
        mark = r.verdict.upper()
        lines = [f"[{mark}] {c.id}: {c.title}", f"  source: {c.source} ({c.status_of_source})"]
        if r.skipped:
            lines.append(f"  skipped: {r.skipped}")
        for ch in r.checks:
            tol = f", tolerance {ch.tolerance:.1e} ({ch.reason})" if ch.tolerance is not None else ""
            if ch.kind == "statistical":
                tol = f", {ch.reason}"
            lines.append(f"  {ch.kind} check '{ch.name}': {'ok' if ch.passed else 'FAILED'}{tol}")
        if r.exception:
            lines.append("  raised: " + r.exception.strip().splitlines()[0])
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        import html

        r, c = self.result, self.result.claim
        color = {"passed": "#1a7f37", "failed": "#cf222e", "skipped": "#9a6700"}[r.verdict]
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in self._lines()[2:])
        return (
            f'<div class="attnmath-claim" style="border-left:4px solid {color};padding:0.3em 0.8em;">'
            f'<strong style="color:{color}">{r.verdict.upper()}</strong> '
            f"<code>{html.escape(c.id)}</code>: {html.escape(c.title)}<br/>"
            f"<small>source: {html.escape(c.source)} &middot; <em>{c.status_of_source}</em></small>"
            f"<ul>{items}</ul></div>"
        )


def show(claim_id: str, scale: str = "ci") -> ClaimDisplay:
    """Run (once per process and scale) and display claim ``claim_id`` in a notebook.

    When ``ATTNMATH_CLAIM_CACHE`` names a folder (``make test`` sets it), a result that
    :func:`run` stored there for the same claim, scale and source fingerprint is shown
    instead of running the claim again: the verdict is the one computed from this exact
    source tree earlier in the same test run.
    """
    key = (claim_id, scale)
    if key not in _SHOWN:
        _SHOWN[key] = _cache_load(get(claim_id), scale) or run(claim_id, scale)
    return ClaimDisplay(_SHOWN[key])


# --------------------------------------------------------------------------------------
# Result cache (opt-in, for the notebooks of one test run)
# --------------------------------------------------------------------------------------
CACHE_ENV = "ATTNMATH_CLAIM_CACHE"
_FINGERPRINT: str | None = None


def source_fingerprint() -> str:
    """sha256 of every ``.py`` file of the claim packages, the torch version and TRITON_INTERPRET."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import hashlib
        import os
        import pathlib

        import torch

        digest = hashlib.sha256()
        for pkg_name in CLAIM_PACKAGES:
            root = pathlib.Path(importlib.import_module(pkg_name).__file__).parent
            for path in sorted(root.rglob("*.py")):
                digest.update(str(path.relative_to(root.parent)).encode())
                digest.update(path.read_bytes())
        digest.update(torch.__version__.encode())
        digest.update(os.environ.get("TRITON_INTERPRET", "").encode())
        _FINGERPRINT = digest.hexdigest()
    return _FINGERPRINT


def _cache_file(claim_id: str, scale: str):
    import os
    import pathlib

    folder = os.environ.get(CACHE_ENV)
    return pathlib.Path(folder) / f"{claim_id}@{scale}.json" if folder else None


def artifact_path(name: str):
    """Where a claim may store an expensive intermediate (a trained model) for the rest of one test run.

    ``ATTNMATH_CLAIM_CACHE/artifacts/<name>`` when that variable is set, else None (no caching). The
    caller stores :func:`source_fingerprint` with the artifact and ignores a file whose fingerprint
    differs, exactly as the result cache does.
    """
    import os
    import pathlib

    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain file name, got {name!r}")
    folder = os.environ.get(CACHE_ENV)
    return pathlib.Path(folder) / "artifacts" / name if folder else None


def _cache_store(result: ClaimResult) -> None:
    import os

    path = _cache_file(result.id, result.scale)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"fingerprint": source_fingerprint(), "result": result.to_json()}))
    os.replace(tmp, path)


def _cache_load(c: Claim, scale: str) -> ClaimResult | None:
    path = _cache_file(c.id, scale)
    if path is None or not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("fingerprint") != source_fingerprint():
        return None
    r = data["result"]
    fields = ("kind", "name", "passed", "error", "tolerance", "reason", "details")
    checks = [Check(**{k: ch[k] for k in fields}) for ch in r["checks"]]
    return ClaimResult(c, r["passed"], checks, r["error"], r["tolerance"], r["seconds"], r["exception"], scale)
