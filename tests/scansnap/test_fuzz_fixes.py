"""Issue 17 regressions of the scansnap room: every bad input is a ValueError/TypeError naming the argument.

Each row was a silent result, a NaN/Inf, or an unclear error (AttributeError, IndexError, a message
naming another argument) before the fix.  Valid variants (``requires_grad`` tensors, exact numbers)
must keep working and give the same values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from attnmath import scansnap as ss

F64 = torch.float64
T = np.array([0.5, 1.0, 2.0])
SNAP = (T, 1000, 10, 1.0, 0.5, 0.1)


def _data() -> ss.SequenceClasses:
    return ss.syn_medium(1, 2, num_common=2, num_unique_per_next=2)  # M = 9, K = 2


def _batch() -> ss.Batch:
    return ss.sample_batch(_data(), 4, 6, torch.Generator().manual_seed(0))


def _tokens(b: ss.Batch) -> torch.Tensor:
    return torch.cat([b.x, b.query[:, None]], 1)


def _W(seed: int = 0) -> torch.Tensor:
    return torch.randn(9, 9, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _swap(args: tuple[Any, ...], i: int, value: Any) -> tuple[Any, ...]:
    return (*args[:i], value, *args[i + 1 :])


def _v() -> torch.Tensor:
    return torch.rand(4, 9, generator=torch.Generator().manual_seed(2), dtype=F64)


BAD: list[tuple[str, Callable[[], Any], str]] = [
    # closed forms: counts, rates, times
    ("B_snap K bool", lambda: ss.B_snap(*_swap(SNAP, 2, True)), "K"),
    ("B_snap K string", lambda: ss.B_snap(*_swap(SNAP, 2, "10")), "K"),
    ("B_snap t complex", lambda: ss.B_snap(*_swap(SNAP, 0, T.astype(complex))), "t"),
    ("B_snap t string", lambda: ss.B_snap(*_swap(SNAP, 0, "x")), "t"),
    ("B_snap t huge", lambda: ss.B_snap(*_swap(SNAP, 0, np.array([1e308]))), "t"),
    ("Gamma_closed K negative", lambda: ss.Gamma_closed(T, 1000, -1, 1.0, 0.5), "K"),
    ("B_snap_branches C0 zero", lambda: ss.B_snap_branches(*_swap(SNAP, 5, 0.0)), "C0"),
    ("B_snap_branches M negative", lambda: ss.B_snap_branches(*_swap(SNAP, 1, -1)), "M"),
    ("B_snap_branches eta_Y nan", lambda: ss.B_snap_branches(*_swap(SNAP, 3, float("nan"))), "eta_Y"),
    ("B_snap_branches eta_Z negative", lambda: ss.B_snap_branches(*_swap(SNAP, 4, -1.5)), "eta_Z"),
    ("B_snap_branches K fraction", lambda: ss.B_snap_branches(*_swap(SNAP, 2, 10.5)), "K"),
    ("dB_dlog_t C0 none", lambda: ss.dB_dlog_t(*_swap(SNAP, 5, None)), "C0"),
    ("dB_dlog_t eta_Z string", lambda: ss.dB_dlog_t(*_swap(SNAP, 4, "0.5")), "eta_Z"),
    ("gamma_speed discrete string", lambda: ss.gamma_speed(T, 1000, 10, 1.0, discrete="yes"), "discrete"),
    ("h_ode t_eval empty", lambda: ss.h_ode(np.array([]), 20, 0.7), "t_eval"),
    ("h_ode t_eval string", lambda: ss.h_ode("x", 20, 0.7), "t_eval"),
    ("snap_ode eta_Z nan", lambda: ss.snap_ode(*_swap(SNAP, 4, float("nan"))), "eta_Z"),
    ("snap_ode eta_Z negative", lambda: ss.snap_ode(*_swap(SNAP, 4, -1.5)), "eta_Z"),
    ("relative_gain l too large", lambda: ss.relative_gain(np.ones((2, 2)), 5, 1), "l"),
    ("relative_gain lp negative", lambda: ss.relative_gain(np.ones((2, 2)), 0, -1), "lp"),
    ("relative_gain lp none", lambda: ss.relative_gain(np.ones((2, 2)), 0, None), "lp"),
    ("relative_gain f zero at lp", lambda: ss.relative_gain(np.array([[1.0, 0.0]]), 0, 1), "lp"),
    ("relative_gain f none", lambda: ss.relative_gain(None, 0, 1), "f"),
    ("relative_gain f too short", lambda: ss.relative_gain(np.ones((2, 1)), 0, 1), "f"),
    ("chi z nan", lambda: ss.chi(np.array([np.nan]), np.array([0.5])), "z"),
    ("chi z none", lambda: ss.chi(None, np.array([0.5])), "z"),
    ("chi z0 does not broadcast", lambda: ss.chi(np.array([1.0]), np.array([0.5, 0.5])), "z0"),
    ("chi overflows", lambda: ss.chi(np.array([400.0]), 0.0), "z"),
    ("ratio_decay r0 below -1", lambda: ss.attention_ratio_decay(-4.0, 1.0), "r0"),
    ("ratio_decay r0 none", lambda: ss.attention_ratio_decay(None, 1.0), "r0"),
    ("ratio_decay chi_l0 zero", lambda: ss.attention_ratio_decay(3.0, 0.0), "chi_l0"),
    ("ratio_decay chi_l0 inf", lambda: ss.attention_ratio_decay(3.0, float("inf")), "chi_l0"),
    ("ratio_decay 1 + r0 chi <= 0", lambda: ss.attention_ratio_decay(-0.5, 4.0), "chi_l0"),
    ("reduced_flow p_distinct nan", lambda: ss.reduced_distinct_flow([np.nan, 0.5], [0.5], T), "p_distinct"),
    ("reduced_flow p_common string", lambda: ss.reduced_distinct_flow([0.25, 0.75], "x", T), "p_common"),
    ("reduced_flow t_eval empty", lambda: ss.reduced_distinct_flow([0.25, 0.75], [0.5], []), "t_eval"),
    ("reduced_flow t_eval 2-D", lambda: ss.reduced_distinct_flow([0.25, 0.75], [0.5], T[None]), "t_eval"),
    ("reduced_flow t_eval none", lambda: ss.reduced_distinct_flow([0.25, 0.75], [0.5], None), "t_eval"),
    ("reduced_flow s not callable", lambda: ss.reduced_distinct_flow([0.25, 0.75], [0.5], T, s=3), "s"),
    # data
    ("sequence_classes atol negative", lambda: ss.sequence_classes([[1.0, 0.0]], [1], [0], atol=-1.0), "atol"),
    ("sequence_classes atol none", lambda: ss.sequence_classes([[1.0, 0.0]], [1], [0], atol=None), "atol"),
    ("sequence_classes probs none", lambda: ss.sequence_classes(None, [1], [0]), "probs"),
    ("sequence_classes query none", lambda: ss.sequence_classes([[1.0, 0.0]], None, [0]), "query"),
    ("sequence_classes next_token string", lambda: ss.sequence_classes([[1.0, 0.0]], [1], "x"), "next_token"),
    ("sample_batch data none", lambda: ss.sample_batch(None, 4, 6, torch.Generator()), "data"),
    ("population_attention Z meta", lambda: ss.population_attention(_W().to("meta"), _data()), "Z"),
    ("population_attention data string", lambda: ss.population_attention(_W(), "x"), "data"),
    ("distinct_attention data number", lambda: ss.distinct_attention(torch.ones(2, 9, dtype=F64), 3), "data"),
    ("entropy_distinct Z meta", lambda: ss.entropy_distinct(_W().to("meta"), _data()), "Z"),
    # model
    ("lemma1 return_loss string", lambda: ss.lemma1_gradients(_W(), _W(1), _batch(), return_loss="yes"), "return_loss"),
    ("lemma1 Z meta", lambda: ss.lemma1_gradients(_W(), _W(1).to("meta"), _batch()), "Z"),
    ("yz_forward normalize none", lambda: ss.yz_forward(_W(), _W(1), _batch(), normalize=None), "normalize"),
    ("init_yz int dtype", lambda: ss.init_yz(6, "zero", dtype=torch.int64), "dtype"),
    (
        "orientation K1 none",
        lambda: ss.official_orientation_loss(None, _W(1), _batch().x, _batch().next_token),
        "K1_weight",
    ),
    (
        "orientation tokens float",
        lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch()).double(), _batch().next_token),
        "tokens",
    ),
    (
        "orientation tokens negative",
        lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch()) - 1000, _batch().next_token),
        "tokens",
    ),
    (
        "orientation tokens one column",
        lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch())[:, :1], _batch().next_token),
        "tokens",
    ),
    (
        "orientation tokens list",
        lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch()).tolist(), _batch().next_token),
        "tokens",
    ),
    (
        "orientation tokens meta",
        lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch()).to("meta"), _batch().next_token),
        "tokens",
    ),
    (
        "orientation labels short",
        lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch()), _batch().next_token[:3]),
        "labels",
    ),
    (
        "orientation labels float",
        lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch()), _batch().next_token.double()),
        "labels",
    ),
    ("orientation labels none", lambda: ss.official_orientation_loss(_W(), _W(1), _tokens(_batch()), None), "labels"),
    # dynamics and the standard model
    ("population_flow data none", lambda: ss.population_flow(None, eta_Y=1.0, eta_Z=0.5, steps=2), "data"),
    ("sgd_train data string", lambda: ss.sgd_train("x", eta_Y=1.0, eta_Z=0.5, steps=2), "data"),
    ("sgd_train record string", lambda: ss.sgd_train(_data(), eta_Y=1.0, eta_Z=0.5, steps=2, record="x"), "record"),
    ("sgd_train record none", lambda: ss.sgd_train(_data(), eta_Y=1.0, eta_Z=0.5, steps=2, record=None), "record"),
    (
        "sgd_train record past steps",
        lambda: ss.sgd_train(_data(), eta_Y=1.0, eta_Z=0.5, steps=2, record=(5,)),
        "record",
    ),
    ("standard_train eval_at empty", lambda: _standard(eval_at=()), "eval_at"),
    ("standard_train eval_at negative", lambda: _standard(eval_at=(0, -1)), "eval_at"),
    ("standard_train eval_at string", lambda: _standard(eval_at="x"), "eval_at"),
    ("standard_train eval_batch zero", lambda: _standard(eval_batch=0), "eval_batch"),
    ("standard_train eval_batch fraction", lambda: _standard(eval_batch=1.5), "eval_batch"),
    ("standard_train eval_seed negative", lambda: _standard(eval_seed=-1), "eval_seed"),
    ("standard_train data none", lambda: ss.standard_train(None, eta_Y=0.25, eta_Z=8.0, seed=1), "data"),
    ("standard_forward p none", lambda: ss.standard_forward(None, _batch()), "p"),
    ("standard_forward batch number", lambda: ss.standard_forward(ss.init_standard(9, 4, seed=1), 3), "batch"),
    ("entropy v 1-D", lambda: ss.attention_entropy_distinct(_v()[0], _batch(), _data()), "v"),
    ("entropy v negative", lambda: ss.attention_entropy_distinct(-_v(), _batch(), _data()), "v"),
    ("entropy v int", lambda: ss.attention_entropy_distinct(_v().round().long(), _batch(), _data()), "v"),
    ("entropy v nan", lambda: ss.attention_entropy_distinct(_v() * float("nan"), _batch(), _data()), "v"),
    ("entropy v rows", lambda: ss.attention_entropy_distinct(_v()[:3], _batch(), _data()), "v"),
    ("entropy v meta", lambda: ss.attention_entropy_distinct(_v().to("meta"), _batch(), _data()), "v"),
    ("entropy batch none", lambda: ss.attention_entropy_distinct(_v(), None, _data()), "batch"),
    ("entropy data string", lambda: ss.attention_entropy_distinct(_v(), _batch(), "x"), "data"),
]


def _standard(**kwargs: Any) -> Any:
    base = dict(eta_Y=0.25, eta_Z=8.0, seed=1, steps=2, batch=4, T=6, d=4, eval_at=(0, 1))
    return ss.standard_train(_data(), **{**base, **kwargs})


@pytest.mark.parametrize(("call", "name"), [pytest.param(c, n, id=i) for i, c, n in BAD])
def test_bad_input_is_a_clear_error_naming_the_argument(call: Callable[[], Any], name: str) -> None:
    with pytest.raises((ValueError, TypeError), match=rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"):
        call()


def test_requires_grad_inputs_are_read_with_the_same_values() -> None:
    """numpy-based closed forms used to fail on a requires_grad tensor (np.asarray cannot read it)."""
    t = torch.tensor(T, requires_grad=True)
    assert np.array_equal(ss.h_closed(t, 20, 0.7), ss.h_closed(T, 20, 0.7))
    assert np.array_equal(ss.B_snap(t, *SNAP[1:]), ss.B_snap(*SNAP))
    z = torch.tensor([1.0], dtype=F64, requires_grad=True)
    assert np.array_equal(ss.chi(z, 0.5), ss.chi(np.array([1.0]), 0.5))
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64, requires_grad=True)
    assert np.array_equal(ss.relative_gain(f, 0, 1), ss.relative_gain(f.detach().numpy(), 0, 1))
    r0 = torch.tensor(3.0, dtype=F64, requires_grad=True)
    assert ss.attention_ratio_decay(r0, 1.0) == ss.attention_ratio_decay(3.0, 1.0)


def test_valid_inputs_keep_their_values_and_gradients() -> None:
    b = _batch()
    v = _v()
    assert ss.attention_entropy_distinct(v.clone().requires_grad_(True), b, _data()) == (
        ss.attention_entropy_distinct(v, b, _data())
    )
    K1, K2 = _W().requires_grad_(True), _W(1).requires_grad_(True)
    loss = ss.official_orientation_loss(K1, K2, _tokens(b), b.next_token)
    g1, g2 = torch.autograd.grad(loss, (K1, K2))  # still differentiable
    assert torch.isfinite(g1).all() and torch.isfinite(g2).all()
    assert ss.official_orientation_loss(K1, K2, _tokens(b), b.next_token.tolist()) == loss  # labels: array-like
    # chi_l0 = e^{2 dz} beyond the product bound is valid (claim scansnap.s08: 6e168); 1 + r0 chi may overflow to the limit 0
    assert ss.attention_ratio_decay(99.0, 6.2e168) == np.sqrt(100.0 / (1.0 + 99.0 * 6.2e168))
    assert ss.attention_ratio_decay(3.0, 1e308) == 0.0
    # empty and zero times are still valid for the elementwise closed forms
    assert ss.gamma_speed(np.array([]), 1000, 10, 1.0).shape == (0,)
    assert ss.B_snap_branches(np.array([0.0]), *SNAP[1:])[1][0] == np.inf
