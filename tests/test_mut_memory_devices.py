"""attnmath.memory (Hebbian memory, Hopfield contrast, delta rule, conditioning): device and dtype contracts.

Complements tests/test_mut_memory_core.py (issue 9, mutation survivors). A CPU-only machine has one real
device, so device handling is checked on the ``meta`` device (shapes and devices, no values): every
tensor a function allocates must live on its inputs' device, and a device mismatch must be reported with
the names of both arguments. Rescorla-Wagner must compute in float64 whatever the dtype of its inputs.
"""

from __future__ import annotations

import numpy as np
import torch

from attnmath.memory import hebbian, hopfield, rules
from tests._helpers import msg

F64 = torch.float64
META = torch.device("meta")


def meta(*shape):
    return torch.empty(*shape, dtype=F64, device=META)


def test_device_mismatch_names_both_arguments():
    cpu = torch.ones(3, 2, dtype=F64)
    assert msg(ValueError, hebbian.hebbian_memory, cpu, meta(3, 4)) == (
        "keys is on cpu but values is on meta; put them on one device"
    )
    assert msg(ValueError, hebbian.hebbian_memory, meta(3, 2), torch.ones(3, 4, dtype=F64)) == (
        "keys is on meta but values is on cpu; put them on one device"
    )
    # q against k (k and v agree): the query is named first
    assert msg(ValueError, hebbian.hebbian_parallel, meta(3, 2), cpu, torch.ones(3, 4, dtype=F64)) == (
        "q is on meta but k is on cpu; put them on one device"
    )
    assert msg(ValueError, hebbian.decayed_recurrent, cpu, meta(3, 2), meta(3, 4), 0.5) == (
        "q is on cpu but k is on meta; put them on one device"
    )
    assert msg(ValueError, rules.delta_rule_recurrent, cpu, cpu, meta(3, 4), 0.5) == (
        "k is on cpu but v is on meta; put them on one device"
    )


def test_recurrences_allocate_on_the_input_device():
    q, v = meta(2, 3, 5, 4), meta(2, 3, 5, 6)  # [B, H, T, d_k], [B, H, T, d_v]
    out, state = hebbian.decayed_recurrent(q, q, v, 0.5)
    assert out.device == state.device == META
    assert out.shape == (2, 3, 5, 6) and state.shape == (2, 3, 6, 4)
    out, state = rules.delta_rule_recurrent(q, q, v, 0.5)  # scalar beta: the write strengths are allocated
    assert out.device == state.device == META
    assert out.shape == (2, 3, 5, 6) and state.shape == (2, 3, 6, 4)


def test_closed_forms_allocate_on_the_input_device(monkeypatch):
    keys, values = meta(2, 5, 4), meta(2, 5, 3)
    M = hebbian.decayed_memory(keys, values, 0.5)
    assert M.device == META and M.shape == (2, 3, 4)
    sep = hopfield.separation(keys)
    assert sep.device == META and sep.shape == (2, 5)
    # the convergence check of beta reads key norms (values), which a meta tensor has not: stub it
    monkeypatch.setattr(rules, "_convergent_beta", lambda keys, beta: beta)
    P, Q = rules.delta_sweep_map(keys, values, 0.25)
    assert P.device == Q.device == META
    assert P.shape == (2, 4, 4) and Q.shape == (2, 3, 4)


def test_allocations_follow_the_inputs_not_the_default_device():
    """torch.set_default_device("cuda") with CPU inputs is a real setting: every tensor a function allocates
    must follow its inputs. Here the default device is meta and the inputs live on the CPU."""
    g = torch.Generator().manual_seed(5)
    keys = torch.nn.functional.normalize(torch.randn(2, 4, 3, generator=g, dtype=F64), dim=-1)
    values = torch.randn(2, 4, 2, generator=g, dtype=F64)
    calls = {
        "sweep": lambda: rules.delta_sweep_map(keys, values, 0.5),
        "delta": lambda: rules.delta_rule_recurrent(keys, keys, values, 0.5),
        "decayed": lambda: hebbian.decayed_recurrent(keys, keys, values, 0.5),
        "memory": lambda: (hebbian.decayed_memory(keys, values, 0.5),),
        "separation": lambda: (hopfield.separation(keys),),
    }
    ref = {name: fn() for name, fn in calls.items()}
    with torch.device("meta"):
        got = {name: fn() for name, fn in calls.items()}
    for name in calls:
        for x, y in zip(got[name], ref[name]):
            assert x.device.type == "cpu" and torch.equal(x, y), name


def test_decayed_recurrent_casts_the_initial_state_to_the_dtype_of_k():
    g = torch.Generator().manual_seed(3)
    k = torch.randn(4, 2, generator=g)  # float32
    v = torch.randn(4, 3, generator=g)
    M0 = torch.randn(3, 2, generator=g, dtype=F64)
    out, state = hebbian.decayed_recurrent(k, k, v, 0.3, initial_state=M0)
    assert out.dtype == state.dtype == torch.float32
    ref_out, ref_state = hebbian.decayed_recurrent(k, k, v, 0.3, initial_state=M0.float())
    assert torch.equal(out, ref_out) and torch.equal(state, ref_state)


def test_rescorla_wagner_computes_in_float64_from_float32_rates():
    a32 = np.float32(0.7)
    Vs = rules.rescorla_wagner([[1.0]], [1.0], np.array([a32]), beta=0.9)
    # one trial from V = 0: Delta V = alpha beta lambda, with alpha = float32(0.7) widened exactly to float64
    # (a float32 product alpha * beta would round to 0.6299999952..., not 0.6299999892...)
    assert Vs[1, 0] == float(a32) * 0.9
    assert Vs.dtype == np.float64
