"""Check that the pinned environment in ``constraints.txt`` resolves from the public package index alone.

    python tools/check_env.py [--versions 3.11,3.12,3.13] [--python 3.12=/path/to/python] [--allow-missing]

Why: this machine's pip configuration (``/etc/pip.conf``, ``PIP_FIND_LINKS``, ...) adds local wheel folders
and extra indexes, among them a CPU-only ``torch`` wheel. A local install therefore succeeds even when the
pins cannot be installed anywhere else: the public ``torch==2.13.0`` wheels require ``triton==3.7.1``, the
CUDA runtime (``cuda-toolkit==13.0.3``, ``nvidia-*``) and ``setuptools``, none of which the CPU wheel needs,
and ``constraints.txt`` was frozen on Python 3.11 only, so a pin without wheels for 3.12 or 3.13 goes
unnoticed. This tool asks the public index alone, once per supported Python version.

For each version it finds a real interpreter (``--python X.Y=PATH``, else ``pythonX.Y`` on PATH, else a pyenv
installation; each candidate is run to confirm its version) and runs that interpreter's own pip::

    python -m pip install --isolated --dry-run --ignore-installed
        --no-cache-dir --quiet --report REPORT -c constraints.txt "SNAPSHOT[every extra]"

``--isolated`` ignores pip's configuration files and ``PIP_*`` variables; the ``PIP_*`` variables (with
``PIP_CONFIG_FILE``) are also removed from the child's environment, so no ``--find-links`` or
``--extra-index-url`` can be in effect. ``--no-cache-dir`` makes every run ask the index afresh. The extras
are read from ``[project.optional-dependencies]`` in pyproject.toml, so a new extra is covered without
editing this file. SNAPSHOT is a copy of the working tree's files (``git ls-files -co --exclude-standard``)
in a temporary folder: pip builds the project's metadata in the source tree, and a copy per version keeps
that out of the checkout and lets the versions run in parallel. The requirement is a plain path
(non-editable), as in ``pip install .``.

pip's JSON installation report is then checked:

1. resolution succeeded (otherwise the tail of pip's output is printed);
2. every resolved distribution is downloaded over ``https://`` from pip's default index (with ``--isolated``
   pip knows no other), never a ``file://`` wheel from a local folder;
3. every resolved distribution named in constraints.txt has exactly the pinned version (``2.13.0+cpu`` is
   not ``2.13.0``);
4. a resolved distribution that constraints.txt does not pin is accepted only if it is *fixed*: some
   resolved package that is itself pinned (or fixed, or the project) requires it with an exact ``==``
   (or ``===``) whose version equals the resolved one; ``==V.*`` counts when V is the resolved version.
   This admits the ``nvidia-*``/``cuda-*`` packages of the public torch wheel (``torch`` requires
   ``nvidia-cudnn-cu13==9.20.0.48``; ``cuda-toolkit==13.0.3`` in turn requires ``nvidia-cublas==13.1.1.3.*``)
   and rejects anything that would float (``setuptools>=77.0.3``). Requirement markers are evaluated in
   the report's environment (the target interpreter's), with the extras selected for the requiring
   package: the report lists those of the project only, so the others are derived from the resolved
   requirements themselves (``torch`` asks for ``cuda-toolkit[cublas,...]``, which selects the
   ``cublas`` requirements of ``cuda-toolkit``).

Pins that the resolution did not use on a version are listed as information. One summary line per version
is printed at the end; the exit status is 0 only if every version passed (a version without an interpreter
fails unless ``--allow-missing``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

try:
    from packaging.markers import Marker
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version
except ImportError:  # an interpreter without `packaging`: pip vendors it
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.specifiers import SpecifierSet  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]
    from pip._vendor.packaging.version import InvalidVersion, Version  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
VERSIONS = ("3.11", "3.12", "3.13")
REMOTE = "https://"  # pip --isolated uses its default (public) index only; a local wheel would be file://
MIN_PIP = (22, 2)  # first pip with --report


# --------------------------------------------------------------------------------------------------------------
# Inputs: pyproject.toml and constraints.txt


def read_project(pyproject: Path) -> tuple[str, list[str]]:
    """The project's name and its extras (the keys of ``[project.optional-dependencies]``, sorted)."""
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    return project["name"], sorted(project.get("optional-dependencies", {}))


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503) name
    version: str
    marker: Marker | None
    line: int
    text: str


def parse_constraints(text: str) -> list[Pin]:
    """Every requirement line of a constraints file; each must be an exact ``name==version`` pin."""
    pins = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*", "", raw).strip()  # pip's comment syntax
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as e:
            raise ValueError(f"constraints line {lineno}: cannot parse {line!r}: {e}") from None
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or specs[0].version.endswith(".*"):
            raise ValueError(f"constraints line {lineno}: {line!r} is not an exact name==version pin")
        pins.append(Pin(canonicalize_name(req.name), specs[0].version, req.marker, lineno, line))
    return pins


def applicable_pins(pins: Iterable[Pin], env: Mapping[str, str]) -> dict[str, Pin]:
    """The pins whose marker holds in ``env`` (a PEP 508 marker environment), by canonical name."""
    out: dict[str, Pin] = {}
    for pin in pins:
        if pin.marker is not None and not pin.marker.evaluate(dict(env)):
            continue
        if pin.name in out:
            raise ValueError(f"constraints lines {out[pin.name].line} and {pin.line} both pin {pin.name} here")
        out[pin.name] = pin
    return out


# --------------------------------------------------------------------------------------------------------------
# The report


def same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def is_exact(spec: SpecifierSet, version: str) -> bool:
    """Whether ``spec`` fixes ``version``: an ``==``/``===`` clause naming it (``==V.*`` with V == version)."""
    for s in spec:
        if s.operator == "===" and s.version == version:
            return True
        if s.operator == "==" and same_version(s.version.removesuffix(".*"), version):
            return True
    return False


@dataclass
class Dist:
    name: str  # as the distribution spells it
    version: str
    url: str
    requires: list[Requirement]
    requested_extras: list[str]  # what the report says was asked for on the command line (the project)


@dataclass
class FixedBy:
    requirer: str  # canonical name of the package with the exact requirement
    requirement: str
    root: str  # the pinned package (or the project) at the start of the chain


@dataclass
class Analysis:
    python: str
    resolved: int = 0  # distributions resolved, the project itself not counted
    pinned: list[str] = field(default_factory=list)
    fixed: dict[str, FixedBy] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    unpinned: dict[str, str] = field(default_factory=dict)  # name -> "version (who requires it how)"
    foreign: list[str] = field(default_factory=list)
    unused_pins: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # canonical -> "Name version"

    @property
    def ok(self) -> bool:
        return not (self.mismatches or self.unpinned or self.foreign)


def _dists(report: Mapping) -> dict[str, Dist]:
    out = {}
    for item in report.get("install", []):
        meta = item["metadata"]
        requires = []
        for text in meta.get("requires_dist") or []:
            try:
                requires.append(Requirement(text))
            except InvalidRequirement:
                continue
        extras = list(item.get("requested_extras") or []) if item.get("requested") else []
        url = (item.get("download_info") or {}).get("url", "")
        out[canonicalize_name(meta["name"])] = Dist(meta["name"], meta["version"], url, requires, extras)
    return out


def _applies(req: Requirement, env: Mapping[str, str], extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in ("", *extras))


def selected_extras(dists: Mapping[str, Dist], env: Mapping[str, str]) -> dict[str, set[str]]:
    """The extras in effect for each resolved package: the requested ones, plus every extra that an applicable
    requirement of a resolved package asks for (repeated until nothing changes, as a requirement behind an
    extra can select further extras)."""
    active = {name: {canonicalize_name(e) for e in d.requested_extras} for name, d in dists.items()}
    changed = True
    while changed:
        changed = False
        for name, dist in dists.items():
            for req in dist.requires:
                target = canonicalize_name(req.name)
                new = {canonicalize_name(e) for e in req.extras} - active.get(target, set())
                if target in active and new and _applies(req, env, active[name]):
                    active[target] |= new
                    changed = True
    return active


def analyse_report(report: Mapping, pins: Iterable[Pin], project: str) -> Analysis:
    """Check a ``pip install --report`` document against the pins (see the module docstring, 2-4)."""
    env = report.get("environment", {})
    dists = _dists(report)
    project = canonicalize_name(project)
    here = applicable_pins(pins, env)
    active = selected_extras(dists, env)
    result = Analysis(python=env.get("python_full_version", "?"))
    result.names = {name: f"{d.name} {d.version}" for name, d in dists.items()}
    others = sorted(name for name in dists if name != project)
    result.resolved = len(others)

    for name in others:
        dist = dists[name]
        if not dist.url.startswith(REMOTE):
            result.foreign.append(f"{dist.name} {dist.version} from {dist.url or '(no url)'}")
        if name in here:
            result.pinned.append(name)
            if not same_version(dist.version, here[name].version):
                result.mismatches.append(
                    f"{dist.name} resolved to {dist.version}, constraints.txt line {here[name].line} pins {here[name].text}"
                )
    result.unused_pins = sorted(pin.text for name, pin in here.items() if name not in dists)

    # Fixed point: a package is anchored if it is pinned, the project, or fixed by an anchored package.
    anchored = {*result.pinned, project} & dists.keys()
    unpinned = [name for name in others if name not in here]
    changed = True
    while changed:
        changed = False
        for name in unpinned:
            if name in result.fixed:
                continue
            for requirer in sorted(anchored):
                req = next(
                    (
                        r
                        for r in dists[requirer].requires
                        if canonicalize_name(r.name) == name
                        and _applies(r, env, active[requirer])
                        and is_exact(r.specifier, dists[name].version)
                    ),
                    None,
                )
                if req is not None:
                    root = result.fixed[requirer].root if requirer in result.fixed else requirer
                    result.fixed[name] = FixedBy(requirer, f"{req.name}{req.specifier}", root)
                    anchored.add(name)
                    changed = True
                    break

    for name in unpinned:
        if name in result.fixed:
            continue
        how = [
            f"{dists[requirer].name}: {r.specifier or 'any version'}"
            for requirer in sorted(dists)
            for r in dists[requirer].requires
            if canonicalize_name(r.name) == name and _applies(r, env, active[requirer])
        ]
        result.unpinned[name] = f"{dists[name].version} ({'; '.join(dict.fromkeys(how)) or 'requirer unknown'})"
    return result


def summary_line(version: str, analysis: Analysis, seconds: float) -> str:
    """``python 3.12: OK, N packages resolved from the public index (M pinned, K fixed by torch's ...), X s``."""
    roots = sorted({fix.root for fix in analysis.fixed.values()})
    names = [analysis.names.get(root, root).split(" ")[0] for root in roots]
    by = "exact requirements" if not names else f"{names[0]}'s exact requirements"
    if len(names) > 1:
        by = "exact requirements of " + ", ".join(names)
    counts = f"{len(analysis.pinned)} pinned, {len(analysis.fixed)} fixed by {by}"
    if analysis.ok:
        return f"python {version}: OK, {analysis.resolved} packages resolved from the public index ({counts}), {seconds:.0f} s"
    problems = [
        f"{len(analysis.mismatches)} not at the pinned version" if analysis.mismatches else "",
        f"{len(analysis.unpinned)} unpinned" if analysis.unpinned else "",
        f"{len(analysis.foreign)} not from the public index" if analysis.foreign else "",
    ]
    problems = ", ".join(p for p in problems if p)
    return f"python {version}: FAILED, {analysis.resolved} packages resolved ({counts}; {problems}), {seconds:.0f} s"


def details(analysis: Analysis) -> list[str]:
    """The lines printed under a version's header: information and failures."""
    lines = []
    if analysis.fixed:
        fixed = ", ".join(
            f"{analysis.names[n]} ({analysis.names[f.requirer].split()[0]})" for n, f in analysis.fixed.items()
        )
        lines.append(f"  info: not in constraints.txt, fixed by an exact requirement: {fixed}")
    if analysis.unused_pins:
        lines.append(f"  info: pins not used by this resolution: {', '.join(analysis.unused_pins)}")
    lines += [f"  FAIL: {m}" for m in analysis.mismatches]
    lines += [f"  FAIL: not from the public index: {f}" for f in analysis.foreign]
    lines += [
        f"  FAIL: {analysis.names[n].split()[0]} {how} is not pinned: add {analysis.names[n].replace(' ', '==')} to constraints.txt"
        for n, how in analysis.unpinned.items()
    ]
    return lines


# --------------------------------------------------------------------------------------------------------------
# Interpreters and pip runs

PROBE = (
    "import json, sys\n"
    "from importlib.metadata import version, PackageNotFoundError\n"
    "try: pip = version('pip')\n"
    "except PackageNotFoundError: pip = None\n"
    "print(json.dumps({'version': '%d.%d' % sys.version_info[:2], 'executable': sys.executable, 'pip': pip}))\n"
)


def clean_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the variables pip reads its options from (``PIP_*``, including ``PIP_CONFIG_FILE``)."""
    return {k: v for k, v in environ.items() if not k.upper().startswith("PIP_")}


def pip_version_ok(version: str) -> bool:
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts) >= MIN_PIP


@dataclass
class Interpreter:
    path: str
    pip: str


def candidates(version: str, override: str | None) -> list[str]:
    if override:
        return [override]
    found = [shutil.which(f"python{version}")]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    # pyenv's shim on PATH refuses versions that are installed but not selected; use the installation itself.
    installs = glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}"))
    found += sorted(installs, key=lambda p: [int(x) if x.isdigit() else -1 for x in Path(p).parts[-3].split(".")])[::-1]
    return [p for p in found if p]


def find_interpreter(version: str, override: str | None = None) -> tuple[Interpreter | None, str]:
    """The first candidate that runs, reports ``version`` and has a pip with --report; else (None, why)."""
    tried = []
    for path in candidates(version, override):
        try:
            out = subprocess.run(
                [path, "-c", PROBE], capture_output=True, text=True, timeout=60, env=clean_env(os.environ)
            )
        except OSError as e:
            tried.append(f"{path}: {e.strerror}")
            continue
        if out.returncode != 0:
            tried.append(f"{path}: {(out.stderr.strip().splitlines() or ['exit ' + str(out.returncode)])[0]}")
            continue
        info = json.loads(out.stdout)
        if info["version"] != version:
            tried.append(f"{path}: is python {info['version']}")
        elif info["pip"] is None:
            tried.append(f"{path}: has no pip (python{version} -m ensurepip)")
        elif not pip_version_ok(info["pip"]):
            tried.append(f"{path}: pip {info['pip']} is too old for --report (needs pip >= 22.2)")
        else:
            return Interpreter(path, info["pip"]), ""
    return None, "; ".join(tried) or f"no python{version} on PATH and no pyenv installation of {version}"


def snapshot(repo: Path, dest: Path) -> Path:
    """Copy the working tree's files (tracked and untracked, not ignored) to ``dest``."""
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "-co", "--exclude-standard"], capture_output=True, check=True
    )
    for rel in sorted(set(out.stdout.decode().split("\0")) - {""}):
        src = repo / rel
        if src.is_file():  # a tracked file deleted in the working tree is skipped
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def pip_command(python: str, report: Path, constraints: Path, project_dir: Path, extras: list[str]) -> list[str]:
    requirement = f"{project_dir}[{','.join(extras)}]" if extras else str(project_dir)
    return [
        python, "-m", "pip", "install",
        "--isolated", "--disable-pip-version-check", "--no-input",
        "--dry-run", "--ignore-installed", "--no-cache-dir", "--quiet", "--report", str(report),
        "-c", str(constraints), requirement,
    ]  # fmt: skip


@dataclass
class Outcome:
    version: str
    seconds: float = 0.0
    header: str = ""
    lines: list[str] = field(default_factory=list)
    summary: str = ""
    ok: bool = False


def check_version(version: str, override: str | None, args: argparse.Namespace) -> Outcome:
    outcome = Outcome(version)
    interpreter, why = find_interpreter(version, override)
    if interpreter is None:
        outcome.ok = args.allow_missing
        word = "SKIPPED" if args.allow_missing else "FAILED"
        outcome.header = f"python {version}: no usable interpreter: {why}"
        outcome.summary = f"python {version}: {word}, no usable interpreter (pass --python {version}=PATH)"
        return outcome
    outcome.header = f"python {version}: {interpreter.path} (pip {interpreter.pip})"
    print(f"python {version}: resolving with {interpreter.path} (pip {interpreter.pip}) ...", flush=True)
    name, extras = read_project(args.repo / "pyproject.toml")
    pins = parse_constraints(args.constraints.read_text())
    with tempfile.TemporaryDirectory(prefix=f"check-env-{version}-") as tmp:
        tmp = Path(tmp)
        project_dir = snapshot(args.repo, tmp / "src")
        report_path = tmp / "report.json"
        cmd = pip_command(interpreter.path, report_path, args.constraints.resolve(), project_dir, extras)
        start = time.monotonic()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=clean_env(os.environ))
            rc, text = out.returncode, out.stdout + out.stderr
        except subprocess.TimeoutExpired as e:
            rc, text = -1, f"pip did not finish within {args.timeout} s\n{e.stderr or ''}"
        outcome.seconds = time.monotonic() - start
        if rc != 0 or not report_path.exists():
            tail = [line for line in str(text).splitlines() if line.strip()][-40:]
            outcome.lines = [f"  pip failed to resolve (exit {rc}); its output ends:"] + [f"    {t}" for t in tail]
            outcome.summary = f"python {version}: FAILED, pip could not resolve the pins, {outcome.seconds:.0f} s"
            return outcome
        report = json.loads(report_path.read_text())
    analysis = analyse_report(report, pins, name)
    outcome.lines = details(analysis)
    outcome.summary = summary_line(version, analysis, outcome.seconds)
    outcome.ok = analysis.ok
    return outcome


def parse_overrides(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        version, sep, path = value.partition("=")
        if not sep or not path:
            raise SystemExit(f"--python expects X.Y=PATH, got {value!r}")
        out[version.strip()] = path
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default=",".join(VERSIONS), help="comma-separated (default: %(default)s)")
    parser.add_argument("--python", action="append", default=[], metavar="X.Y=PATH", help="interpreter for X.Y")
    parser.add_argument("--allow-missing", action="store_true", help="skip, not fail, a version without interpreter")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    parser.add_argument("--constraints", type=Path, default=None, help="default: constraints.txt in the repository")
    parser.add_argument("--jobs", type=int, default=0, help="versions resolved at once (default: all)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per pip run (default: %(default)s)")
    args = parser.parse_args(argv)
    args.constraints = args.constraints or args.repo / "constraints.txt"
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    overrides = parse_overrides(args.python)
    parse_constraints(args.constraints.read_text())  # fail early on a malformed file

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs or len(versions)) as pool:
        outcomes = list(pool.map(lambda v: check_version(v, overrides.get(v), args), versions))
    print()
    for outcome in outcomes:
        print(outcome.header)
        for line in outcome.lines:
            print(line)
    print()
    for outcome in outcomes:
        print(outcome.summary)
    print(f"total {time.monotonic() - start:.0f} s")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
