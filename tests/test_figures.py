"""Figure standards of the stored notebooks (issue 16): every figure captioned, named, referenced and sharp.

- every code cell that outputs an image carries ``mystnb: figure: caption/name`` metadata (the book
  numbers it) and the chapter's text references that name with ``{numref}``;
- images are vector (SVG) or rasters of at least 150 dpi: a PNG output's ``pHYs`` resolution, and
  every raster embedded in an SVG (a heatmap) measured as its pixels over its drawn size;
- a cell that draws a heatmap (``imshow``/``pcolormesh``/``matshow``) also draws a colorbar;
- no visible test marker: nbval's ``# NBVAL_*`` comments are replaced by cell tags;
- the view map's labels lie inside their boxes.

The built book gets the same caption and resolution checks in ``tests/browser/test_book_figures.py``.
"""

from __future__ import annotations

import base64
import json
import pathlib
import re
import struct

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MIN_DPI = 150
IMAGE_KEYS = ("image/png", "image/svg+xml", "image/jpeg")
HEATMAP = re.compile(r"\.(imshow|pcolormesh|matshow)\(")


def png_dpi(data: bytes) -> float | None:
    """Horizontal resolution of a PNG from its ``pHYs`` chunk (None when the chunk is absent)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"pHYs":
            x, _, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return x * 0.0254 if unit == 1 else None
        if kind == b"IDAT":
            return None  # pHYs must come before the image data
        pos += 12 + length
    return None


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


def svg_raster_dpis(svg: str) -> list[float]:
    """Effective resolution of each raster embedded in a matplotlib SVG: pixels per drawn inch (1 pt = 1/72 in)."""
    dpis = []
    for attrs in re.findall(r"<image\b([^>]*)>", svg):
        m = re.search(r'base64,([^"]+)"', attrs)
        width = re.search(r'\swidth="([\d.]+)', attrs)
        if not m or not width:
            continue
        pixels, _ = png_size(base64.b64decode(m.group(1)))
        dpis.append(pixels / (float(width.group(1)) / 72.0))
    return dpis


def image_cells(nb_path: pathlib.Path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        images = [
            (key, out["data"][key])
            for out in cell.get("outputs", [])
            for key in IMAGE_KEYS
            if key in out.get("data", {})
        ]
        if images:
            yield i, cell, images


def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def test_there_are_notebooks_with_figures():
    counts = {p.stem: sum(1 for _ in image_cells(p)) for p in NOTEBOOKS}
    assert len(counts) >= 9 and sum(counts.values()) >= 50, counts


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_is_captioned_named_and_referenced(nb_path):
    text = nb_path.with_suffix(".md").read_text(encoding="utf-8")
    problems = []
    for i, cell, _ in image_cells(nb_path):
        fig = cell["metadata"].get("mystnb", {}).get("figure", {})
        caption, name = fig.get("caption", ""), fig.get("name", "")
        if len(caption.split()) < 8:
            problems.append(f"cell {i}: no caption that says what to see ({caption!r})")
        if not name:
            problems.append(f"cell {i}: no figure name (nothing to {{numref}})")
        elif f"{{numref}}`{name}`" not in text:
            problems.append(f"cell {i}: figure {name!r} is never referenced with {{numref}} in the text")
    assert not problems, problems


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_are_vector_or_high_resolution(nb_path):
    problems = []
    for i, _, images in image_cells(nb_path):
        for key, value in images:
            if key == "image/svg+xml":
                low = [round(d) for d in svg_raster_dpis(_joined(value)) if d < MIN_DPI - 1]
                if low:
                    problems.append(f"cell {i}: SVG embeds rasters at {low} dpi")
            else:
                dpi = png_dpi(base64.b64decode(_joined(value)))
                if dpi is None or dpi < MIN_DPI - 1:
                    problems.append(f"cell {i}: {key} at {dpi} dpi")
    assert not problems, problems


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_heatmaps_have_colorbars(nb_path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    missing = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and HEATMAP.search(_joined(cell["source"]))
        and "colorbar" not in _joined(cell["source"])
    ]
    assert not missing, f"cells {missing} draw a heatmap without a colorbar"


def test_no_visible_nbval_markers():
    """nbval honours the cell tag ``nbval-ignore-output``; a ``# NBVAL_...`` comment would show in the book."""
    shown = []
    for md in sorted((ROOT / "notebooks").glob("*.md")):
        shown += [
            f"{md.name}:{n}"
            for n, line in enumerate(md.read_text(encoding="utf-8").splitlines(), 1)
            if "# NBVAL_" in line
        ]
    assert not shown, shown


def test_nbval_honours_the_ignore_tag():
    from nbval.plugin import find_metadata_tags

    assert dict(find_metadata_tags({"tags": ["nbval-ignore-output"]})) == {"check": False}


def test_helpers_detect_low_resolution(tmp_path):
    """Negative controls: an 80-dpi PNG and an SVG with a 72-dpi heatmap are flagged, 150 dpi passes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(np.arange(16.0).reshape(4, 4))
    for dpi in (80, 150):
        fig.savefig(tmp_path / "f.png", dpi=dpi)
        assert round(png_dpi((tmp_path / "f.png").read_bytes())) == dpi
        fig.savefig(tmp_path / "f.svg", dpi=dpi)
        (measured,) = svg_raster_dpis((tmp_path / "f.svg").read_text())
        assert abs(measured - dpi) < 2, (dpi, measured)
    plt.close(fig)


def test_view_map_labels_fit_their_boxes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from attnmath.synthesis.viewmap import draw_view_map, labels_outside_boxes

    fig = draw_view_map()
    assert labels_outside_boxes(fig) == []
    # negative control: a box narrowed to a third no longer holds its labels
    box = next(p for p in fig.axes[0].patches if (p.get_gid() or "").startswith("view-box-"))
    box.set_x(box.get_x() + box.get_width() / 3)
    box.set_width(box.get_width() / 3)
    assert labels_outside_boxes(fig), "a narrowed box should be reported"
    plt.close(fig)


def test_chapter_plotting_functions():
    """The library plotting functions of chapters 10 and 20: their data are right and heatmaps carry colorbars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from attnmath.dsf import plots as dsf_plots
    from attnmath.dsf.sampling import random_dsf
    from attnmath.fastforms import plots as kplots

    # the factorised form overflows after 1024 halvings in float64, the chunked scan does not
    lam, x = torch.full((1100,), 0.5, dtype=torch.float64), torch.ones(1100, 2, dtype=torch.float64)
    naive = dsf_plots.factorised_scan(lam, x)
    assert torch.isfinite(naive[:1000]).all() and not torch.isfinite(naive[-1]).all()
    assert torch.allclose(naive[:50], 2 * (1 - 0.5 ** torch.arange(1, 51, dtype=torch.float64))[:, None])
    # masked weights: the loop's sum over j <= i of (q_i * exp(G_i - G_j)) . k_j
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(6, 3, generator=gen), torch.randn(6, 3, generator=gen)
    g = -torch.rand(6, 3, generator=gen)
    w = kplots.chunk_weights(q, k, g)
    G = g.double().cumsum(0)
    assert torch.allclose(w[4, 2], (q[4].double() * torch.exp(G[4] - G[2]) * k[2].double()).sum())
    assert (w.triu(1) == 0).all()
    figures = {
        "transfer": dsf_plots.plot_transfer_matrices({"a": random_dsf("diagonal", L=4, N=2, d=2, seed=0)}),
        "log-space": dsf_plots.plot_log_space_scan(lam[:200], x[:200], chunk_size=16),
        "chunks": kplots.plot_chunk_structure(q, k, g, chunk_size=2),
        "exponents": kplots.plot_log_space_exponents(torch.full((8,), -60.0)),
        "errors": kplots.plot_relative_errors({"a": 1e-7}, 5e-4),
    }
    for name, fig in figures.items():
        heatmaps = [ax for ax in fig.axes if ax.images]
        colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
        assert not heatmaps or colorbars, f"{name}: heatmap without a colorbar"
        plt.close(fig)
    with pytest.raises(ValueError):
        kplots.plot_relative_errors({}, 5e-4)
