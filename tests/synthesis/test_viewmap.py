"""The map of the four views (attnmath.synthesis.viewmap): every edge is backed by registered claims."""

from __future__ import annotations

import pathlib

import matplotlib
import pytest
import yaml

from attnmath import claims
from attnmath.synthesis import EDGES, VIEWS, claim_ids, draw_view_map

matplotlib.use("Agg")
ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_claim_on_the_map_is_registered_and_every_synthesis_claim_is_on_it():
    registered = set(claims.registry())
    on_map = set(claim_ids())
    assert on_map <= registered, f"unregistered claims on the map: {sorted(on_map - registered)}"
    synthesis = {c for c in registered if c.startswith("synthesis.")}
    assert synthesis <= on_map, f"synthesis claims missing from the map: {sorted(synthesis - on_map)}"
    assert len(synthesis) >= 8


def test_edges_join_known_views_and_views_point_to_chapters_in_the_book():
    keys = {v.key for v in VIEWS}
    assert len(keys) == len(VIEWS) == 4
    for e in EDGES:
        assert e.a in keys and e.b in keys and e.a != e.b
        assert e.claims and e.label.strip()
    toc = (ROOT / "book" / "_toc.yml").read_text()
    files = yaml.safe_load(toc)
    text = repr(files)
    for v in VIEWS:
        assert f"'{v.chapter}'" in text, v.chapter
        assert (ROOT / f"{v.chapter}.md").exists()


def test_draw_view_map_writes_a_figure(tmp_path):
    import matplotlib.pyplot as plt

    out = tmp_path / "map.png"
    fig = draw_view_map(out)
    try:
        assert out.stat().st_size > 10_000  # a rendered image, not an empty file
        texts = " ".join(t.get_text() for t in fig.axes[0].texts)
        for cid in claim_ids():
            assert cid in texts
        for v in VIEWS:
            assert v.title in texts
    finally:
        plt.close(fig)
    fig = draw_view_map(show_claims=False)
    try:
        assert "synthesis." not in " ".join(t.get_text() for t in fig.axes[0].texts)
    finally:
        plt.close(fig)
    with pytest.raises(TypeError, match="path"):
        draw_view_map(3)
    with pytest.raises(TypeError, match="show_claims"):
        draw_view_map(None, show_claims="yes")
