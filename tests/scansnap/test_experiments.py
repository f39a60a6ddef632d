"""attnmath.scansnap.experiments: the cached runs of Figs. 4 and 6, the stored Fig. 6 table and its sweep."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from attnmath.scansnap import data as D
from attnmath.scansnap import experiments as E
from attnmath.scansnap import model as MO
from attnmath.scansnap.experiments import FIG6_RATIOS, FIG6_STORED, fig6_stored, fig6_sweep
from tests._helpers import msg


def test_fig6_table_and_sweep_plumbing():
    assert len(FIG6_STORED) == 9 and all(len(row) == len(FIG6_RATIOS) for row in FIG6_STORED.values())
    assert fig6_stored(1, 3.0, 10) == (1.825, 0.331)
    assert fig6_stored(5, 1.0, 2) is None  # the 5/10 panel was not transcribed
    out = fig6_sweep([1], [1.0], [2], seeds=[1, 2], progress=False)
    assert out[(1, 1.0, 2)].shape == (2,) and bool(np.all(out[(1, 1.0, 2)] < 2.151))
    with pytest.raises(ValueError, match="eta_Zs"):
        fig6_sweep([1], [-1.0], [2], seeds=[1], progress=False)


def test_fig4_eval_loss_is_the_documented_fresh_batch():
    run = E.fig4_run(2, 10.0)
    batch = D.sample_batch(D.syn_small(), 128, 128, torch.Generator().manual_seed(10_002))
    assert E.fig4_eval_loss(2, 10.0) == float(MO.yz_loss(run.Y, run.Z, batch))


def test_fig6_sweep_validation_and_progress(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(E, "fig6_entropy", lambda p, e, r, s: calls.append((p, e, r, s)) or float(p + s))
    out = E.fig6_sweep([1, 2], [0.5], [2], seeds=[3, 4])
    assert list(out) == [(1, 0.5, 2), (2, 0.5, 2)] and out[(2, 0.5, 2)].tolist() == [5.0, 6.0]
    assert calls == [(1, 0.5, 2, 3), (1, 0.5, 2, 4), (2, 0.5, 2, 3), (2, 0.5, 2, 4)]
    err = capsys.readouterr().err  # progress is on by default
    assert "Fig. 6 runs" in err and "4/4" in err
    E.fig6_sweep([1], [0.5], [2], seeds=[3], progress=False)
    assert capsys.readouterr().err == ""
    assert msg(ValueError, E.fig6_sweep, [0], [0.5], [2], seeds=[1]) == "panels must be >= 1, got 0"
    assert msg(ValueError, E.fig6_sweep, [1], [0.0], [2], seeds=[1]) == "eta_Zs must be > 0, got 0.0"
    assert msg(ValueError, E.fig6_sweep, [1], [0.5], [0], seeds=[1]) == "ratios must be > 0, got 0.0"


def test_fig6_sweep_progress_bar_is_labelled(monkeypatch, capsys):
    monkeypatch.setattr(E, "fig6_entropy", lambda p, e, r, s: 1.0)
    E.fig6_sweep([1], [0.5], [2], seeds=[3, 4])
    err = capsys.readouterr().err
    assert re.search(r"(^|\r)Fig\. 6 runs: +100%.*2/2", err), err


def test_fig6_stored_cells_lists_the_36_transcribed_cells():
    cells = E.fig6_stored_cells()
    assert len(cells) == 36 and len(set(cells)) == 36
    assert all(fig6_stored(*c) is not None for c in cells)
    assert (5, 1.0, 2) not in cells and cells[0] == (1, 0.5, 1) and cells[-1] == (10, 3.0, 10)


def test_fig6_compare_applies_max_band_and_two_se_of_the_difference():
    # (1, 0.5, 1) stored 1.971: a tight cell 0.03 off is within the band; one 0.06 off misses it
    tight = np.array([2.001, 2.001, 2.001, 2.001])
    far = np.array([2.031, 2.031, 2.031, 2.031])
    # (1, 3.0, 10) stored 1.825: a noisy cell 0.1 off, se = 0.1 / sqrt(4) = 0.05, 2 sqrt(2) se = 0.141
    noisy = 1.725 + np.array([-0.1, 0.1, -0.1, 0.1]) * np.sqrt(3 / 4)
    rows = E.fig6_compare({(1, 0.5, 1): tight, (1, 3.0, 10): noisy, (5, 1.0, 2): tight})
    assert [(r.num_last, r.eta_Z, r.ratio) for r in rows] == [(1, 0.5, 1), (1, 3.0, 10)]  # 5/10 not stored
    a, b = rows
    assert a.diff == pytest.approx(0.03) and a.se == 0 and a.tolerance == 0.05 and a.within_band and a.passed
    assert b.diff == pytest.approx(-0.1) and b.se == pytest.approx(0.05)
    assert b.tolerance == pytest.approx(2 * np.sqrt(2) * 0.05) and not b.within_band and b.explained and b.passed
    (c,) = E.fig6_compare({(1, 0.5, 1): far})
    assert not c.within_band and not c.explained and not c.passed  # 0.06 > max(0.05, 0)
    (d,) = E.fig6_compare({(1, 0.5, 1): tight}, {(1, 0.5): ((2.101, 0.0),) * 4})  # a patched table is read
    assert d.diff == pytest.approx(-0.1) and not d.passed
    assert "sweep must be a mapping" in msg(TypeError, E.fig6_compare, [tight])
    assert "1-D array of >= 2 seeds" in msg(ValueError, E.fig6_compare, {(1, 0.5, 1): np.array([2.0])})
    assert "(num_last, eta_Z, ratio) triples" in msg(ValueError, E.fig6_compare, {(1, 0.5): tight})
