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
