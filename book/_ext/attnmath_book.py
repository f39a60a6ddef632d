"""Sphinx extension: generated book pages from the claims registry.

Three placeholders are replaced at ``source-read`` time with generated MyST markdown:

- ```` ```{attnmath-ledger} ```` (``book/ledger.md``): every registered claim with its source
  (citations resolved against ``references.bib``), the status of that source, its kinds, its
  last verified result and the chapter that shows it; each claim gets the label
  ``claim-<id with dots as dashes>`` so chapters can ``{ref}`` it.
- ```` ```{attnmath-status} ```` (``book/status.md``): each notebook's execution time, read
  from ``metadata.attnmath`` of the stored ``.ipynb`` (``tools/execute_notebooks.py``).
- ```` ```{attnmath-sources} PAPER ```` (``book/sources/PAPER.md``, PAPER one of :data:`PAPERS`):
  the table from each claim that rests on that paper to the place in the paper it cites, built
  from the claims' ``source`` strings (a claim belongs to the paper by its chapter, i.e. its id
  prefix, or by the paper's bib key in its source).

At ``builder-inited`` the map of the four views is drawn by
:func:`attnmath.synthesis.draw_view_map` into ``book/_generated/view_map.svg`` (not tracked), which the
intro page includes: the figure always matches the code and the registered claims.

The results come from ``attnmath_ledger_json`` (written by ``make test`` or ``make verify``).
A missing file, a registered claim without a result or a result for an unknown claim is a
warning, so the strict build (``-W``) fails instead of publishing a stale ledger.
"""

from __future__ import annotations

import json
import os
import pathlib
import re

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)
ROOT = pathlib.Path(__file__).resolve().parents[2]
PAPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    # page slug -> (bib key of the paper, id prefixes of the chapter built on it)
    "dsf": ("sieber2024understanding", ("dsf",)),
    "pavlov": ("qiao2025pavlovian", ("memory",)),
    "scansnap": ("tian2023scan", ("scansnap",)),
    "stiffness": ("huang2023understanding", ("stiffness",)),
}
GENERATED_DOCS = ("book/ledger", "book/status", "book/paper", *(f"book/sources/{p}" for p in PAPERS))
#: The committed paper-scale ledger (``make paper``; :mod:`attnmath.ledger.merged`).
PAPER_LEDGER = ROOT / "book" / "ledger-paper.json"
_SHOW_RE = re.compile(r"""claims\.show\(\s*["']([a-z0-9_.\-]+)["']""")


def claim_label(claim_id: str) -> str:
    return "claim-" + claim_id.replace(".", "-")


def _bib_keys() -> set[str]:
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    return set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", text))


def _cite(source: str, keys: set[str]) -> str:
    if not keys:
        return source
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True)) + r")\b")
    return pattern.sub(lambda m: "{cite:p}`" + m.group(1) + "`", source)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|$])")


def _md_text(text: str) -> str:
    """Plain text for a MyST table cell: markdown, math and table syntax escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def notebooks() -> list[pathlib.Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def shown_in() -> dict[str, str]:
    """claim id -> docname of the first notebook that shows it."""
    where: dict[str, str] = {}
    for nb in notebooks():
        md = nb.with_suffix(".md")
        text = md.read_text(encoding="utf-8") if md.exists() else nb.read_text(encoding="utf-8")
        for cid in _SHOW_RE.findall(text):
            where.setdefault(cid, f"notebooks/{nb.stem}")
    return where


def _load_results(path: str) -> dict[str, dict] | None:
    if not os.path.exists(path):
        logger.warning(f"attnmath: no claim results at {path}; run `make verify` (or `make test`) first")
        return None
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return {c["id"]: c for c in data["claims"]}


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.1e}"


def _result_cell(res: dict | None) -> str:
    if res is None:
        return "not run"
    if res.get("skipped"):
        return f"skipped ({res['skipped']})"
    return "passed" if res["passed"] else "**FAILED**"


def ledger_markdown(app: Sphinx) -> str:
    from attnmath import claims

    registry = claims.registry()
    results = _load_results(app.config.attnmath_ledger_json) or {}
    for cid in registry:
        if results and cid not in results:
            logger.warning(f"attnmath: claim {cid} has no result in the ledger file; re-run `make verify`")
    for cid in results:
        if cid not in registry:
            logger.warning(f"attnmath: the ledger file has a result for unknown claim {cid}; re-run `make verify`")
    keys = _bib_keys()
    where = shown_in()
    n_pass = sum(1 for cid in registry if results.get(cid, {}).get("passed"))
    by_status = {s: sum(c.status_of_source == s for c in registry.values()) for s in claims.STATUSES}
    tier = next(iter(results.values()))["tier"] if results else "ci"
    lines = [
        f"**{len(registry)} claims; {n_pass} passed in the last run** ({tier} tier). "
        + ", ".join(f"{v} {k}" for k, v in by_status.items())
        + ".",
        "",
        "| claim | status of source | kinds | result | paper scale | shown in |",
        "|---|---|---|---|---|---|",
    ]
    paper = _paper_results()
    for cid, c in registry.items():
        chapter = f"{{doc}}`/{where[cid]}`" if cid in where else "–"
        lines.append(
            f"| {{ref}}`{cid} <{claim_label(cid)}>` | {c.status_of_source} | {', '.join(c.kinds)} "
            f"| {_result_cell(results.get(cid))} | {_paper_cell(paper, cid)} | {chapter} |"
        )
    lines.append("")
    current = None
    for cid, c in registry.items():
        chapter = cid.split(".")[0]
        if chapter != current:
            lines += [f"## `{chapter}` claims", ""]
            current = chapter
        res = results.get(cid)
        outcome = _result_cell(res)
        if res is not None:
            outcome += f" (error {_fmt(res['error'])}, tolerance {_fmt(res['tolerance'])}, {res['seconds']:.2f} s)"
        lines += [
            f"({claim_label(cid)})=",
            f"### `{cid}`",
            "",
            f"**{c.title}**",
            "",
            "$$",
            c.statement,
            "$$",
            "",
            f"- *source:* {_cite(c.source, keys)}",
            f"- *status of the source:* {c.status_of_source}",
            f"- *checks:* {', '.join(c.kinds)}",
            f"- *last result:* {outcome}",
        ]
        if res is not None and res.get("checks"):
            reasons = sorted({ch["reason"] for ch in res["checks"] if ch.get("reason")})
            if reasons:
                lines.append("- *tolerances:* " + "; ".join(reasons))
        lines += _controls_lines(c, res)
        if cid in where:
            lines.append(f"- *shown in:* {{doc}}`/{where[cid]}`")
        lines.append("")
    return "\n".join(lines)


def _controls_lines(c, res: dict | None) -> list[str]:
    """The claim's negative controls: each wrong world, and the check and error by which it was caught."""
    names = [ctl.name for ctl in c.controls]
    if not names:
        return ["- *negative controls:* none declared"]
    ran = {ctl["name"]: ctl for ctl in (res or {}).get("controls") or []}
    lines = ["- *negative controls* (wrong worlds in which the checks must fail):"]
    for name in names:
        ctl = ran.get(name)
        if ctl is None:
            how = "not run in the last verification"
        elif ctl["caught"]:
            how = f"caught by '{ctl['failing_check']}': {ctl['error']}"
        else:
            how = f"**NOT CAUGHT** ({ctl['error']})"
        lines.append(f"  - {_md_text(name)}: {_md_text(how)}")
    return lines


def status_markdown(app: Sphinx) -> str:
    from attnmath import claims

    where = shown_in()
    lines = [
        "| chapter | execution time (s) | executed on | CPU cores | claims shown |",
        "|---|---|---|---|---|",
    ]
    for nb in notebooks():
        meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {}).get("attnmath", {})
        doc = f"notebooks/{nb.stem}"
        n_claims = sum(1 for d in where.values() if d == doc)
        secs = meta.get("execution_seconds")
        if secs is None:
            logger.warning(f"attnmath: {nb.name} has no execution time; run tools/execute_notebooks.py on it")
        lines.append(
            f"| {{doc}}`/{doc}` | {'–' if secs is None else f'{secs:.1f}'} | {meta.get('executed_on', '–')} "
            f"| {meta.get('cpu_count', '–')} | {n_claims} |"
        )
    results = _load_results(app.config.attnmath_ledger_json)
    if results:
        total = sum(r["seconds"] for r in results.values())
        lines += [
            "",
            f"The last verification ran {len(results)} claims in {total:.1f} s of check time "
            f"({sum(r['passed'] for r in results.values())} passed).",
        ]
    registered = len(claims.registry())
    lines += ["", f"{registered} claims are registered; {len(where)} are shown in a chapter."]
    return "\n".join(lines)


def sources_markdown(paper: str) -> str:
    """The claims that rest on ``paper`` and the place in the paper each one cites."""
    from attnmath import claims

    if paper not in PAPERS:
        logger.warning(f"attnmath: unknown paper {paper!r} in attnmath-sources; known: {', '.join(PAPERS)}")
        return ""
    key, prefixes = PAPERS[paper]
    keys = _bib_keys()
    own, cited = [], []
    for cid, c in claims.registry().items():
        if cid.split(".")[0] in prefixes:
            own.append(c)
        elif re.search(r"\b" + re.escape(key) + r"\b", c.source):
            cited.append(c)

    def table(rows: list) -> list[str]:
        lines = [
            "| claim | what is checked | status of the source | source, with the place in it |",
            "|---|---|---|---|",
        ]
        for c in rows:
            lines.append(
                f"| {{ref}}`{c.id} <{claim_label(c.id)}>` | {_md_text(c.title)} | {c.status_of_source} "
                f"| {_cite(_md_text(c.source), keys)} |"
            )
        return [*lines, ""]

    by_status = {s: sum(c.status_of_source == s for c in own) for s in claims.STATUSES}
    lines = [
        f"The chapter built on {{cite:t}}`{key}` registers **{len(own)} claims** ("
        + ", ".join(f"{v} {k}" for k, v in by_status.items() if v)
        + "). Each row links to the claim's entry in the {ref}`ledger <ledger>`, which has its statement, "
        "its checks and its last result.",
        "",
        *table(own),
    ]
    if cited:
        lines += [
            f"{len(cited)} claims of other chapters also rest on {{cite:t}}`{key}`:",
            "",
            *table(cited),
        ]
    return "\n".join(lines)


def _paper_ledger() -> dict | None:
    from attnmath.ledger import merged

    return merged.load(PAPER_LEDGER)


def _paper_results() -> dict[str, dict]:
    ledger = _paper_ledger()
    return {} if ledger is None else {c["id"]: c for c in ledger["claims"]}


def _paper_cell(paper: dict[str, dict], cid: str) -> str:
    res = paper.get(cid)
    if res is None:
        return "not run at paper scale"
    return f"{_result_cell(res)} ({{ref}}`run {res['run']} <paper-runs>`)"


def paper_markdown(app: Sphinx) -> str:
    """The paper-scale ledger: its runs (date, commit, machine, workers, wall time) and every claim's ci and
    paper-scale results side by side; claims never run at paper scale are marked so."""
    from attnmath import claims

    ledger = _paper_ledger()
    registry = claims.registry()
    ci = _load_results(app.config.attnmath_ledger_json) or {}
    if ledger is None:
        return "No paper-scale run has been committed yet: every claim is *not run at paper scale*."
    paper = {c["id"]: c for c in ledger["claims"]}
    unknown = sorted(set(paper) - set(registry))
    for cid in unknown:
        logger.warning(f"attnmath: the paper-scale ledger has a result for unknown claim {cid}; rerun it")
    n_run = sum(1 for cid in registry if cid in paper)
    n_pass = sum(1 for cid in registry if paper.get(cid, {}).get("passed"))
    lines = [
        f"**{n_run} of {len(registry)} claims have run at paper scale; {n_pass} passed.** "
        f"{len(registry) - n_run} are *not run at paper scale* yet.",
        "",
        "(paper-runs)=",
        "## Runs",
        "",
        "| run | date (UTC) | commit | machine | workers | wall time | claims | passed | failed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in ledger["runs"]:
        env = run["environment"]
        where = env.get("run", {})
        machine = _md_text(
            f"{env.get('platform', '?')}, {env.get('cpu_count', '?')} CPUs, {env.get('device', '?')}, torch {env.get('torch', '?')}"
        )
        cluster = where.get("cluster") or "this process"
        wall = where.get("wall_seconds")
        lines.append(
            f"| {run['run']} | {env.get('timestamp', '?')[:16].replace('T', ' ')} | `{str(env.get('git_commit', '?'))[:10]}` "
            f"| {machine} | {where.get('workers', 0)} ({_md_text(cluster)}) "
            f"| {'–' if wall is None else f'{wall / 60:.1f} min'} | {len(run['claims'])} | {run['passed']} | {run['failed']} |"
        )
    lines += [
        "",
        "## Claims at both scales",
        "",
        "| claim | ci tier | paper scale | paper-scale check time |",
        "|---|---|---|---|",
    ]
    for cid in registry:
        res = paper.get(cid)
        secs = "–" if res is None else f"{res['seconds']:.0f} s"
        lines.append(
            f"| {{ref}}`{cid} <{claim_label(cid)}>` | {_result_cell(ci.get(cid))} | {_paper_cell(paper, cid)} | {secs} |"
        )
    failed = [
        paper[cid] for cid in registry if cid in paper and not paper[cid]["passed"] and not paper[cid].get("skipped")
    ]
    if failed:
        lines += ["", "## Failed at paper scale", ""]
        for res in failed:
            worst = [ch for ch in res.get("checks", []) if not ch["passed"]]
            why = (
                worst[0]["name"] + (f": {worst[0]['details']}" if worst[0].get("details") else "")
                if worst
                else ((res.get("exception") or "failed").splitlines()[0])
            )
            lines.append(f"- {{ref}}`{res['id']} <{claim_label(res['id'])}>` (run {res['run']}): {_md_text(why)}")
    return "\n".join(lines)


_PLACEHOLDER = re.compile(
    r"```\{(attnmath-ledger|attnmath-status|attnmath-sources|attnmath-paper)\}[ \t]*([\w-]*)[ \t]*\n```"
)


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname not in GENERATED_DOCS:
        return

    def repl(m: re.Match) -> str:
        if m.group(1) == "attnmath-ledger":
            return ledger_markdown(app)
        if m.group(1) == "attnmath-status":
            return status_markdown(app)
        if m.group(1) == "attnmath-paper":
            return paper_markdown(app)
        return sources_markdown(m.group(2))

    source[0] = _PLACEHOLDER.sub(repl, source[0])


def always_outdated(app, env, added, changed, removed):
    return [d for d in GENERATED_DOCS if d in env.found_docs]


VIEW_MAP = ROOT / "book" / "_generated" / "view_map.svg"  # vector: sharp at every page width


def draw_view_map(app: Sphinx) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from attnmath.synthesis import draw_view_map as draw

    VIEW_MAP.parent.mkdir(parents=True, exist_ok=True)
    plt.close(draw(VIEW_MAP))


def setup(app: Sphinx) -> dict:
    import torch

    if not torch.cuda.is_available():  # the registry imports the kernels; without CUDA, Triton interprets
        os.environ.setdefault("TRITON_INTERPRET", "1")
    app.add_config_value("attnmath_ledger_json", "book/_build/ledger.json", "env")
    app.connect("builder-inited", draw_view_map)
    app.connect("source-read", on_source_read)
    app.connect("env-get-outdated", always_outdated)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
