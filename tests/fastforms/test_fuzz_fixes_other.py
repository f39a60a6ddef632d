"""Issue 17: the plots, timing helpers and sympy derivation of the kernels chapter reject bad inputs by name."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import sympy as sp
import torch

from attnmath.fastforms import derivation as der
from attnmath.fastforms import plots, timing

matplotlib.use("Agg")


def _qkg(T: int = 6, K: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(T, K, generator=gen, dtype=torch.float64), torch.randn(T, K, generator=gen, dtype=torch.float64)
    return q, k, -torch.rand(T, K, generator=gen, dtype=torch.float64)


Q, K_, G = _qkg()
SEQ = der.sequence(2, 1, 1, gate="scalar")
TABLE = {"chunked": {1: 1.0, 2: 2.0}, "recurrent": {1: 3.0, 2: 6.0}}

BAD = [
    # plots.chunk_weights / plot_chunk_structure: types, shapes against each other, values, meta
    ("q", lambda: plots.chunk_weights(Q.tolist(), K_, G)),
    ("q", lambda: plots.chunk_weights(Q.to(torch.complex128), K_, G)),
    ("q", lambda: plots.chunk_weights(Q.to("meta"), K_, G)),
    ("k", lambda: plots.chunk_weights(Q, K_[1:], G)),
    ("k", lambda: plots.chunk_weights(Q, K_[:, :2], G)),
    ("k", lambda: plots.chunk_weights(Q, torch.full_like(K_, math.nan), G)),
    ("g", lambda: plots.chunk_weights(Q, K_, G[:5])),
    ("g", lambda: plots.chunk_weights(Q, K_, G[:, :2])),
    ("g", lambda: plots.chunk_weights(Q, K_, -G)),  # a log-decay > 0 grows
    ("g", lambda: plots.chunk_weights(Q, K_, G > 0)),
    ("chunk_size", lambda: plots.plot_chunk_structure(Q, K_, G, 0)),
    ("chunk_size", lambda: plots.plot_chunk_structure(Q, K_, G, 2.5)),
    # plots.plot_log_space_exponents
    ("g", lambda: plots.plot_log_space_exponents(torch.full((0,), -1.0))),
    ("g", lambda: plots.plot_log_space_exponents(torch.full((2, 4), -1.0))),
    ("g", lambda: plots.plot_log_space_exponents(torch.tensor([-1.0, math.inf]))),
    ("g", lambda: plots.plot_log_space_exponents(torch.full((4,), -1.0, device="meta"))),
    ("dtype", lambda: plots.plot_log_space_exponents(torch.full((4,), -1.0), dtype=torch.int64)),
    ("dtype", lambda: plots.plot_log_space_exponents(torch.full((4,), -1.0), dtype="float32")),
    # plots.plot_relative_errors
    ("errors", lambda: plots.plot_relative_errors(None, 5e-4)),
    ("errors", lambda: plots.plot_relative_errors({}, 5e-4)),
    ("errors", lambda: plots.plot_relative_errors({"a": math.nan}, 5e-4)),
    ("errors", lambda: plots.plot_relative_errors({"a": "x"}, 5e-4)),
    ("bound", lambda: plots.plot_relative_errors({"a": 1e-7}, 0.0)),
    ("bound", lambda: plots.plot_relative_errors({"a": 1e-7}, math.inf)),
    ("bound", lambda: plots.plot_relative_errors({"a": 1e-7}, 1e308)),
    ("floor", lambda: plots.plot_relative_errors({"a": 1e-7}, 5e-4, floor=0.0)),
    ("floor", lambda: plots.plot_relative_errors({"a": 1e-7}, 5e-4, floor=1e-3)),
    # timing
    ("fn", lambda: timing.time_call(None)),
    ("repeats", lambda: timing.time_call(lambda: None, repeats=0)),
    ("repeats", lambda: timing.time_call(lambda: None, repeats=2.5)),
    ("budget_s", lambda: timing.time_call(lambda: None, budget_s=-1.0)),
    ("budget_s", lambda: timing.time_call(lambda: None, budget_s=math.nan)),
    ("Ts", lambda: timing.scaling_exponent([], [1.0])),
    ("Ts", lambda: timing.scaling_exponent([-1, 32], [1.0, 2.0])),
    ("Ts", lambda: timing.scaling_exponent([16], [1.0])),
    ("seconds", lambda: timing.scaling_exponent([16, 32], [math.nan, 2.0])),
    ("seconds", lambda: timing.scaling_exponent([16, 32], [-1.0, 2.0])),
    ("seconds", lambda: timing.scaling_exponent([16, 32], [1.0, 2.0, 4.0])),
    ("with_fla", lambda: timing.forms("linear_attention", with_fla="yes")),
    ("op", lambda: timing.forms(3)),
    ("op", lambda: timing.scaling_table("softmax", [16])),
    ("Ts", lambda: timing.scaling_table("linear_attention", [])),
    ("Ts", lambda: timing.scaling_table("linear_attention", [-1])),
    ("B", lambda: timing.scaling_table("linear_attention", [16], B=0)),
    ("H", lambda: timing.scaling_table("linear_attention", [16], H=True)),
    ("D", lambda: timing.scaling_table("linear_attention", [16], D=2.5)),
    ("rounds", lambda: timing.scaling_table("linear_attention", [16], rounds=0)),
    ("threads", lambda: timing.scaling_table("linear_attention", [16], threads=0)),
    ("with_fla", lambda: timing.scaling_table("linear_attention", [16], with_fla=None)),
    ("table", lambda: timing.ratios(None)),
    ("table", lambda: timing.ratios({})),
    ("table", lambda: timing.exponents({"chunked": {16: -1.0, 32: 2.0}})),
    ("base", lambda: timing.ratios(TABLE, base="bogus")),
    ("base", lambda: timing.ratios(TABLE, base=None)),
    # derivation
    ("T", lambda: der.sequence(0, 1, 1)),
    ("K", lambda: der.sequence(2, -1, 1)),
    ("V", lambda: der.sequence(2, 1, "1")),
    ("gate", lambda: der.sequence(2, 1, 1, gate="bogus")),
    ("initial_state", lambda: der.sequence(2, 1, 1, initial_state=None)),
    ("seq", lambda: der.recurrent({})),
    ("seq", lambda: der.recurrent(None)),
    ("seq", lambda: der.recurrent({**SEQ, "k": sp.zeros(3, 1)})),
    ("C", lambda: der.chunked(SEQ, 0)),
    ("C", lambda: der.chunked(SEQ, -1)),
    ("carry", lambda: der.chunked(SEQ, 1, carry="no")),
    ("T", lambda: der.normalised_and_augmented(0, 1)),
    ("K", lambda: der.normalised_and_augmented(2, True)),
    ("T", lambda: der.gate_gradient_sides(0)),
    ("n_old", lambda: der.online_softmax_sides(-1, 1)),
    ("n_new", lambda: der.online_softmax_sides(1, 1.5)),
    ("n_new", lambda: der.online_softmax_sides(0, 0)),
    ("causal", lambda: der.softmax_attention(SEQ, causal=None)),
    ("scale", lambda: der.softmax_attention(SEQ, scale=0)),
    ("scale", lambda: der.softmax_attention(SEQ, scale="1")),
    ("scale", lambda: der.softmax_attention(SEQ, scale=-sp.sqrt(2))),
    ("seq", lambda: der.softmax_attention({})),
    ("expr", lambda: der.evaluate(None, SEQ, {})),
    ("expr", lambda: der.evaluate(3, SEQ, {})),
    ("digits", lambda: der.evaluate(SEQ["q"], SEQ, {"q": [[1.0], [2.0]]}, digits=0)),
    ("values", lambda: der.evaluate(SEQ["q"], SEQ, {"q": [[math.nan], [2.0]]})),
    ("values", lambda: der.evaluate(SEQ["q"], SEQ, {"q": [["x"], ["y"]]})),
]


@pytest.mark.parametrize(("name", "call"), BAD, ids=[f"{i}-{n}" for i, (n, _) in enumerate(BAD)])
def test_a_bad_input_is_rejected_by_name(name, call):
    with pytest.raises((ValueError, TypeError), match=rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])"):
        call()


def test_requires_grad_inputs_plot_the_same_figures():
    import matplotlib.pyplot as plt

    grad = [x.detach().clone().requires_grad_(True) for x in (Q, K_, G)]
    fig = plots.plot_chunk_structure(*grad, chunk_size=2)
    ref = plots.plot_chunk_structure(Q, K_, G, chunk_size=2)
    assert np.array_equal(fig.axes[0].images[0].get_array(), ref.axes[0].images[0].get_array(), equal_nan=True)
    g = torch.full((8,), -6.0)
    fig2 = plots.plot_log_space_exponents(g.clone().requires_grad_(True))
    ref2 = plots.plot_log_space_exponents(g)
    assert np.array_equal(fig2.axes[1].images[0].get_array(), ref2.axes[1].images[0].get_array(), equal_nan=True)
    plt.close("all")


def test_valid_edge_inputs_still_work():
    assert timing.time_call(lambda: None, repeats=3, budget_s=0.0) >= 0  # one run
    assert len(der.online_softmax_sides(0, 2)) == 3 and len(der.online_softmax_sides(2, 0)) == 3
    assert all(sp.simplify(d) == 0 for d in der.online_softmax_sides(0, 1))
    s = sp.Symbol("s", positive=True)
    assert der.softmax_attention(SEQ, scale=s).shape == (2, 1)
    assert der.softmax_attention(SEQ, scale=1 / sp.sqrt(2)).shape == (2, 1)
    G4 = der.sequence(3, 2, 1, gate="key")["g"][:2, :]  # a partial seq, as the log-space claim passes it
    assert der.evaluate(G4[0, 0] + G4[1, 0], {"g": G4}, {"g": -np.ones((2, 2))}).tolist() == [[-2.0]]
    w = plots.chunk_weights(Q.float(), K_, G[:, 0])  # mixed dtypes and a per-step gate: computed in float64
    assert w.dtype == torch.float64 and w.shape == (6, 6)
