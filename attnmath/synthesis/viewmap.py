r"""A one-screen map of the book's four views and the synthesis claims that connect them.

:data:`VIEWS` holds the four views (with the chapter that develops each), :data:`EDGES` the connections,
each labelled with the ``synthesis.*`` claim that backs it; :func:`draw_view_map` draws them with
matplotlib. The data structure is the single source: the synthesis chapter and the book's intro page
draw the same figure, and ``tests/synthesis/test_viewmap.py`` checks that every claim named here is
registered. Book: ``notebooks/90_synthesis``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EDGES", "VIEWS", "Edge", "View", "claim_ids", "draw_view_map", "labels_outside_boxes"]


@dataclass(frozen=True)
class View:
    """One formal view: a key, a title, the question it answers, the chapter (docname) and its position."""

    key: str
    title: str
    question: str
    chapter: str
    xy: tuple[float, float]


@dataclass(frozen=True)
class Edge:
    """A connection between two views: what it says, the claims that back it, its bend and label position."""

    a: str
    b: str
    label: str
    claims: tuple[str, ...]
    rad: float = 0.0
    label_xy: tuple[float, float] = (0.0, 0.0)


VIEWS: tuple[View, ...] = (
    View("dsf", "Dynamical system (DSF)", "what state, what transition?", "notebooks/10_dsf_framework", (0.0, 1.0)),
    View(
        "memory",
        "Associative memory",
        "what is stored, how fast is it forgotten?",
        "notebooks/30_pavlovian_memory",
        (-1.2, 0.0),
    ),
    View("stiffness", "Stiffness and step size", "how big a step?", "notebooks/50_stiffness", (1.2, 0.0)),
    View("scansnap", "Scan and snap", "how is attention learned?", "notebooks/40_scan_and_snap", (0.0, -1.0)),
)

EDGES: tuple[Edge, ...] = (
    Edge(
        "dsf",
        "memory",
        "$B_iu_i$ is a Hebbian write, $\\Lambda_i$ is forgetting;\ncapacity of linear, decayed, delta-rule states;\n"
        "softmax = infinite state, exponential capacity",
        (
            "synthesis.write-is-hebbian",
            "synthesis.decay-is-forgetting",
            "synthesis.three-states-one-task",
            "synthesis.softmax-infinite-state-crossover",
        ),
        0.0,
        (-1.0, 0.66),
    ),
    Edge(
        "dsf",
        "stiffness",
        "$\\Delta_i$ is how long token $i$ is held; ZOH is L-stable,\nEuler needs $\\Delta < 2/\\rho(A)$; learned $\\Delta_i$ grows with stiffness",
        (
            "synthesis.s4d-stiffness-euler-bound",
            "synthesis.delta-is-hold-time",
            "synthesis.selective-step-vs-stiffness",
        ),
        0.0,
        (1.0, 0.66),
    ),
    Edge(
        "dsf",
        "scansnap",
        "one-hot attention is a finite DSF;\nthe snap freezes its normaliser $\\eta$",
        ("synthesis.scansnap-attention-is-dsf", "synthesis.snap-freezes-normaliser"),
        0.0,
        (0.0, 0.42),
    ),
    Edge(
        "memory",
        "stiffness",
        "the delta rule is an Euler step: $\\beta < 2/\\|k\\|^2$",
        ("synthesis.delta-rule-is-euler-step",),
        0.35,
        (0.62, -0.42),
    ),
    Edge(
        "scansnap",
        "memory",
        "linear-attention variant follows\nthe learning-rate ratio, less strongly",
        ("synthesis.linear-attention-lr-ratio",),
        0.0,
        (-0.95, -0.62),
    ),
)


def claim_ids() -> tuple[str, ...]:
    """Every claim id the map refers to, in edge order, without repeats."""
    out: list[str] = []
    for e in EDGES:
        out += [c for c in e.claims if c not in out]
    return tuple(out)


def draw_view_map(path: str | os.PathLike[str] | None = None, *, show_claims: bool = True) -> Figure:
    r"""Draw the four views as boxes and their connections as labelled edges; save to ``path`` if given.

    Each edge carries its text and (``show_claims``) the ids of the claims that back it, at the position
    :data:`EDGES` gives. Returns the matplotlib ``Figure`` (the caller closes it).
    The file type follows the suffix of ``path`` (``.png`` at 200 dpi, ``.svg`` without a timestamp, ``.pdf``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or os.PathLike (or None), got {type(path).__name__}")
    if not isinstance(show_claims, bool):
        raise TypeError(f"show_claims must be a bool, got {type(show_claims).__name__}")
    pos = {v.key: v.xy for v in VIEWS}
    fig, ax = plt.subplots(figsize=(11, 7.6))
    ax.set_xlim(-1.95, 1.95)
    ax.set_ylim(-1.3, 1.3)
    ax.axis("off")
    for e in EDGES:
        ax.add_patch(
            FancyArrowPatch(
                pos[e.a],
                pos[e.b],
                connectionstyle=f"arc3,rad={e.rad}",
                arrowstyle="<->",
                mutation_scale=12,
                lw=1.4,
                color="0.4",
                shrinkA=30,
                shrinkB=30,
                zorder=1,
            )
        )
        text = e.label + ("\n" + "\n".join(e.claims) if show_claims else "")
        ax.text(
            *e.label_xy,
            text,
            ha="center",
            va="center",
            fontsize=7.5,
            linespacing=1.25,
            zorder=3,
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.75", "lw": 0.6},
        )
    # Each box is sized from its measured text (title and question), so no label runs out of its box
    # whatever the fonts; the figure is vector (SVG in the book) and scales as a whole with the page.
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas has one; the base class does not
    to_data = ax.transData.inverted()
    for i, v in enumerate(VIEWS):
        x, y = v.xy
        texts = (
            ax.text(x, y + 0.04, v.title, ha="center", va="center", fontsize=11, weight="bold", zorder=3),
            ax.text(x, y - 0.06, v.question, ha="center", va="center", fontsize=8.5, style="italic", zorder=3),
        )
        corners = [to_data.transform(t.get_window_extent(renderer).get_points()) for t in texts]
        half_width = max(max(abs(c[0, 0] - x), abs(c[1, 0] - x)) for c in corners) + 0.05
        half_width = max(half_width, 0.42)
        box = FancyBboxPatch(
            (x - half_width, y - 0.13),
            2 * half_width,
            0.26,
            boxstyle="round,pad=0.02",
            fc=f"C{i}",
            alpha=0.25,
            ec=f"C{i}",
            lw=1.5,
            zorder=2,
            gid=f"view-box-{v.key}",
        )
        ax.add_patch(box)
    left = min(p.get_x() for p in ax.patches if isinstance(p, FancyBboxPatch)) - 0.05
    right = max(p.get_x() + p.get_width() for p in ax.patches if isinstance(p, FancyBboxPatch)) + 0.05
    ax.set_xlim(min(-1.95, left), max(1.95, right))
    ax.set_title("Four views of attention and the synthesis claims that connect them", fontsize=12)
    if path is not None:
        svg = os.fspath(path).lower().endswith(".svg")
        with plt.rc_context({"svg.hashsalt": "attnmath"} if svg else {}):  # reproducible SVG ids
            # vector for .svg (no timestamp), 200 dpi for a raster
            fig.savefig(path, bbox_inches="tight", dpi=200, metadata={"Date": None} if svg else None)
    return fig


def labels_outside_boxes(fig: Figure) -> list[str]:
    """The texts of a :func:`draw_view_map` figure that are not inside their view's box (empty when all fit).

    Measured with the figure's own renderer, in display coordinates: each view's title and question
    must lie inside the box drawn for that view.
    """
    from matplotlib.patches import FancyBboxPatch

    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # the Agg canvas has one; the base class does not
    boxes = {p.get_gid(): p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)}
    outside = []
    for v in VIEWS:
        box = boxes[f"view-box-{v.key}"]
        for t in ax.texts:
            if t.get_text() in (v.title, v.question):
                ext = t.get_window_extent(renderer)
                if ext.x0 < box.x0 or ext.x1 > box.x1 or ext.y0 < box.y0 or ext.y1 > box.y1:
                    outside.append(t.get_text())
    return outside
