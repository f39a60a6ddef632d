"""Bad-input catalogue across the public API (issue: inputs that cannot crash silently).

Every case must raise ``ValueError`` or ``TypeError`` *from our validation*, with a message that
names the offending argument: a crash deep inside torch/numpy, or a silent NaN, does not count.
Device mismatches are exercised with PyTorch's ``meta`` device, so they run without a GPU.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from attnmath.kernels import dispatch

from attnmath import claims, memory, scansnap, softmax, stiffness
from attnmath import dsf as D
from attnmath.base import validation as V

F64 = torch.float64


def r(*shape, seed=0, dtype=F64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def lam(*shape):
    return 0.5 + 0.4 * torch.rand(*shape, generator=torch.Generator().manual_seed(1), dtype=F64)


def dsf_diag(L=6, N=4, d=2, p=3):
    return D.DSF(lam(L, N), r(L, N, d), r(L, p, N), structure="diagonal")


def meta(*shape):
    return torch.empty(*shape, device="meta", dtype=F64)


NAN = float("nan")
INF = float("inf")

CASES = [
    # ---- wrong ranks and mismatched shapes -------------------------------------------------
    ("softmax q rank 1", lambda: softmax.softmax_attention(r(3), r(3), r(3)), ValueError, r"\bq\b"),
    ("softmax k/q width", lambda: softmax.softmax_attention(r(2, 3), r(2, 4), r(2, 1)), ValueError, r"\bk\b"),
    ("softmax v rows", lambda: softmax.softmax_attention(r(2, 3), r(2, 3), r(5, 1)), ValueError, r"\bv\b"),
    (
        "nadaraya y_data rows",
        lambda: softmax.nadaraya_watson(r(2, 3), r(4, 3), r(3, 1), bandwidth=1.0),
        ValueError,
        "y_data",
    ),
    (
        "DSF lam shape vs structure",
        lambda: D.DSF(lam(6), r(6, 4, 2), r(6, 3, 4), structure="diagonal"),
        ValueError,
        r"\blam\b",
    ),
    ("DSF C state size", lambda: D.DSF(lam(6, 4), r(6, 4, 2), r(6, 3, 5)), ValueError, r"\bC\b"),
    ("DSF D shape", lambda: D.DSF(lam(6, 4), r(6, 4, 2), r(6, 3, 4), r(6, 2, 2)), ValueError, r"\bD\b"),
    ("DSF B rank", lambda: D.DSF(lam(6, 4), r(4, 2), r(6, 3, 4)), ValueError, r"\bB\b"),
    ("DSF u length", lambda: dsf_diag().recurrent(r(5, 2)), ValueError, r"\bu\b"),
    ("DSF h0 size", lambda: dsf_diag().recurrent(r(6, 2), r(3)), ValueError, "h0"),
    (
        "DSF dplr without low_rank",
        lambda: D.DSF(lam(6, 4), r(6, 4, 2), r(6, 3, 4), structure="dplr"),
        ValueError,
        "low_rank",
    ),
    (
        "separable eta shape",
        lambda: D.separable_attention_dsf(r(5, 3), r(5, 3), r(2, 2), torch.ones(4, dtype=F64)),
        ValueError,
        "eta",
    ),
    ("hebbian key/value counts", lambda: memory.hebbian_memory(r(5, 4), r(6, 3)), ValueError, "keys|values"),
    ("retrieve width", lambda: memory.retrieve(r(3, 4), r(2, 5)), ValueError, "queries|memory"),
    ("stiffness non-square", lambda: stiffness.stiffness_ratio(np.ones((2, 3))), ValueError, r"\bA\b"),
    ("spectral radius rank", lambda: stiffness.spectral_radius(np.ones(3)), ValueError, r"\bA\b"),
    (
        "kernels q/k shapes",
        lambda: dispatch.linear_attention(r(1, 8, 2, 4), r(1, 8, 2, 5), r(1, 8, 2, 4)),
        ValueError,
        r"\bk\b",
    ),
    (
        "kernels g shape",
        lambda: dispatch.diag_scan(r(1, 8, 2, 4), r(1, 8, 2, 4), r(1, 8, 2, 4), -torch.ones(1, 8, 3)),
        ValueError,
        r"\bg\b",
    ),
    # ---- integer, complex and bool dtypes ---------------------------------------------------
    (
        "softmax int q",
        lambda: softmax.softmax_attention(torch.ones(2, 3, dtype=torch.int64), r(2, 3), r(2, 1)),
        TypeError,
        r"\bq\b",
    ),
    (
        "softmax complex k",
        lambda: softmax.softmax_attention(r(2, 3), r(2, 3).to(torch.complex128), r(2, 1)),
        TypeError,
        r"\bk\b",
    ),
    ("DSF int B", lambda: D.DSF(lam(6, 4), torch.ones(6, 4, 2, dtype=torch.int32), r(6, 3, 4)), TypeError, r"\bB\b"),
    ("DSF bool u", lambda: dsf_diag().recurrent(torch.ones(6, 2, dtype=torch.bool)), TypeError, r"\bu\b"),
    ("hebbian complex keys", lambda: memory.hebbian_memory(r(3, 2).to(torch.complex128), r(3, 2)), TypeError, "keys"),
    (
        "kernels int v",
        lambda: dispatch.linear_attention(r(1, 8, 2, 4), r(1, 8, 2, 4), torch.ones(1, 8, 2, 4, dtype=torch.int64)),
        TypeError,
        r"\bv\b",
    ),
    ("DSF dtype mismatch", lambda: D.DSF(lam(6, 4).float(), r(6, 4, 2), r(6, 3, 4)), TypeError, r"\blam\b"),
    # ---- empty sequences ---------------------------------------------------------------------
    ("softmax empty queries", lambda: softmax.softmax_attention(r(0, 3), r(2, 3), r(2, 1)), ValueError, r"\bq\b"),
    ("DSF empty sequence", lambda: D.DSF(lam(0, 4), r(0, 4, 2), r(0, 3, 4)), ValueError, r"\bB\b"),
    ("hebbian no items", lambda: memory.hebbian_memory(r(0, 4), r(0, 3)), ValueError, "keys"),
    (
        "kernels empty sequence",
        lambda: dispatch.softmax_attention(r(1, 0, 2, 4), r(1, 0, 2, 4), r(1, 0, 2, 4)),
        ValueError,
        r"\bq\b",
    ),
    # ---- NaN and Inf ---------------------------------------------------------------------------
    ("softmax NaN key", lambda: softmax.softmax_attention(r(2, 3), r(2, 3) * NAN, r(2, 1)), ValueError, r"\bk\b"),
    ("DSF Inf in lam", lambda: D.DSF(lam(6, 4) * INF, r(6, 4, 2), r(6, 3, 4)), ValueError, r"\blam\b"),
    ("DSF NaN input", lambda: dsf_diag().chunked(r(6, 2) * NAN, 2), ValueError, r"\bu\b"),
    ("hebbian NaN values", lambda: memory.hebbian_memory(r(3, 2), r(3, 2) * NAN), ValueError, "values"),
    (
        "stiffness NaN matrix",
        lambda: stiffness.stiffness_ratio(np.array([[NAN, 0.0], [0.0, -1.0]])),
        ValueError,
        r"\bA\b",
    ),
    ("phi1 Inf", lambda: stiffness.phi1(INF), ValueError, r"\bz\b"),
    (
        "kernels NaN query",
        lambda: dispatch.diag_scan(r(1, 8, 2, 4) * NAN, r(1, 8, 2, 4), r(1, 8, 2, 4), -torch.ones(1, 8, 2)),
        ValueError,
        r"\bq\b",
    ),
    # ---- negative sizes, steps, learning rates -----------------------------------------------
    ("DSF chunk 0", lambda: dsf_diag().chunked(r(6, 2), 0), ValueError, "chunk"),
    ("DSF chunk -3", lambda: dsf_diag().chunked(r(6, 2), -3), ValueError, "chunk"),
    (
        "kernels chunk 0",
        lambda: dispatch.linear_attention(r(1, 8, 2, 4), r(1, 8, 2, 4), r(1, 8, 2, 4), chunk_size=0),
        ValueError,
        "chunk_size",
    ),
    (
        "softmax temperature 0",
        lambda: softmax.softmax_attention(r(2, 3), r(2, 3), r(2, 1), temperature=0.0),
        ValueError,
        "temperature",
    ),
    (
        "nadaraya negative bandwidth",
        lambda: softmax.nadaraya_watson(r(2, 3), r(4, 3), r(4, 1), bandwidth=-1.0),
        ValueError,
        "bandwidth",
    ),
    ("capacity d_k <= 0", lambda: memory.relmse_theory(5, 0), ValueError, "d_k"),
    ("welch negative n", lambda: memory.welch_bound(-3, 4), ValueError, r"\bn\b"),
    (
        "delta rule beta out of range",
        lambda: memory.delta_rule_cyclic(torch.eye(3, dtype=F64), r(3, 2), 2.5, 10),
        ValueError,
        "beta",
    ),
    (
        "sgd negative eta_Y",
        lambda: scansnap.sgd_train(scansnap.syn_small(), eta_Y=-1.0, eta_Z=1.0, steps=1),
        ValueError,
        "eta_Y",
    ),
    (
        "population negative eta_Z",
        lambda: scansnap.population_flow(scansnap.syn_small(), eta_Y=1.0, eta_Z=-0.5, steps=1),
        ValueError,
        "eta_Z",
    ),
    (
        "euler negative step",
        lambda: stiffness.fixed_step_solve(lambda y: -y, np.ones(2), -0.1, 5),
        ValueError,
        r"\bh\b",
    ),
    (
        "gated step negative h",
        lambda: stiffness.gated_euler_step(r(3), r(3), torch.ones(3, dtype=F64), h=-1.0),
        ValueError,
        r"\bh\b",
    ),
    (
        "controller zero steps",
        lambda: stiffness.uniform_euler(lambda x: -x, torch.ones(2, dtype=F64), 1.0, 0),
        ValueError,
        "n_steps",
    ),
    ("validation integer minimum", lambda: V.integer(-1, "heads", minimum=1), ValueError, "heads"),
    # ---- probability vectors ------------------------------------------------------------------
    ("probabilities do not sum to 1", lambda: V.probability_vector([0.5, 0.4], "probs"), ValueError, "probs"),
    ("negative probability", lambda: V.probability_vector([1.2, -0.2], "probs"), ValueError, "probs"),
    (
        "scansnap class probabilities",
        lambda: scansnap.sequence_classes(
            [[0.6, 0.3, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]], query=[0, 0], next_token=[2, 3]
        ),
        ValueError,
        "probs",
    ),
    (
        "query not a function of the next token",
        lambda: scansnap.sequence_classes(
            [[0.5, 0.5, 0.0, 0.0], [0.0, 0.5, 0.5, 0.0]], query=[0, 1], next_token=[3, 3]
        ),
        ValueError,
        "query",
    ),
    # ---- options and devices ----------------------------------------------------------------
    (
        "DSF unknown structure",
        lambda: D.DSF(lam(6, 4), r(6, 4, 2), r(6, 3, 4), structure="banded"),
        ValueError,
        "structure",
    ),
    ("unknown stability method", lambda: stiffness.stability_function("rk5", 0.5), ValueError, "method"),
    (
        "kernels unknown backend",
        lambda: dispatch.linear_attention(r(1, 8, 2, 4), r(1, 8, 2, 4), r(1, 8, 2, 4), backend="cuda"),
        ValueError,
        "backend",
    ),
    ("claim unknown tier", lambda: claims.run("softmax.rows-sum-to-one", tier="huge"), ValueError, "tier"),
    (
        "device mismatch q/k",
        lambda: softmax.softmax_attention(r(2, 3), meta(2, 3), r(2, 1)),
        ValueError,
        r"\bq\b|\bk\b",
    ),
    ("device mismatch DSF", lambda: D.DSF(lam(6, 4), r(6, 4, 2), meta(6, 3, 4)), ValueError, r"\bC\b"),
    (
        "device mismatch kernels",
        lambda: dispatch.linear_attention(r(1, 8, 2, 4), meta(1, 8, 2, 4), r(1, 8, 2, 4)),
        ValueError,
        r"\bk\b",
    ),
]


def test_the_catalogue_is_large_and_covers_every_category():
    assert len(CASES) >= 40
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
    for word in ("rank", "int", "complex", "empty", "NaN", "Inf", "negative", "chunk", "probab", "device"):
        assert any(word.lower() in i.lower() for i in ids), f"no case about {word}"


@pytest.mark.parametrize(("call", "error", "argname"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(call, error, argname):
    with pytest.raises(error) as info:
        call()
    exc = info.value
    # Our own validation raised it (not torch or numpy deep inside): the frame that raised is ours.
    tb = info.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    origin = tb.tb_frame.f_code.co_filename
    assert "/attnmath/" in origin or "/kernels/" in origin, f"raised from {origin}: {exc!r}"
    assert type(exc) in (ValueError, TypeError) or isinstance(exc, ValueError | TypeError)
    import re

    assert re.search(argname, str(exc)), f"message does not name the argument ({argname}): {exc}"


def test_no_silent_nan_for_extreme_but_valid_inputs():
    """Large logits must not overflow into NaN (softmax subtracts the max); long decays stay finite."""
    q = torch.full((2, 3), 300.0, dtype=F64)
    k = torch.full((4, 3), 300.0, dtype=F64)
    y = softmax.softmax_attention(q, k, r(4, 2), scale=1.0)
    assert torch.isfinite(y).all()
    s = D.DSF(torch.full((400, 2), 1e-300, dtype=F64), r(400, 2, 1), r(400, 1, 2), structure="diagonal")
    assert torch.isfinite(s.chunked(r(400, 1), 64)).all()
    assert math.isfinite(stiffness.phi1(-1e6))
