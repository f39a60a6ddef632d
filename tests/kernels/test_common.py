"""Shared input checks and layout helpers (``kernels/_common.py``): what is validated, chunk layout round trips."""

from __future__ import annotations

import pytest
import torch
from attnmath.kernels import _common, dispatch


def test_q_k_v_states_and_gates_must_be_finite():
    """As the module docstring says: a NaN in q, k, v, an initial state or a log-decay is rejected (issue 17)."""
    q = torch.randn(1, 6, 1, 4, dtype=torch.float64)
    for name in "qkv":
        bad = {"q": q, "k": q, "v": q} | {name: q * float("nan")}
        with pytest.raises(ValueError, match=rf"\b{name} must contain only finite values"):
            _common.check_qkv(bad["q"], bad["k"], bad["v"])
    h0 = torch.full((1, 1, 4, 4), float("nan"), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^initial_state must contain only finite values"):
        dispatch.linear_attention(q, q, q, initial_state=h0, backend="torch")
    for bad in (float("nan"), float("-inf")):
        g = torch.full((1, 6, 1), bad, dtype=torch.float64)
        with pytest.raises(ValueError, match=r"^g must contain only finite values"):
            dispatch.diag_scan(q, q, q, g, backend="torch")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e300])
@pytest.mark.parametrize("name", ["q", "k", "v", "g"])
def test_the_chunked_forms_check_every_group_of_steps(name, bad):
    """The chunked PyTorch forms check q, k, v and g one group of 512 steps at a time, while the group is in cache:
    a bad value in the last step of the third group is still refused, with the input's name, before any output."""
    from attnmath.kernels.diag_scan import chunk_diag_scan
    from attnmath.kernels.linear_attention import chunk_linear_attention

    T = 1100  # groups of 512, 512 and 76 steps
    gen = torch.Generator().manual_seed(0)
    x = {n: torch.randn(1, T, 2, 4, generator=gen, dtype=torch.float64) for n in "qkv"}
    x["g"] = -torch.rand(1, T, 2, 4, generator=gen, dtype=torch.float64)
    x[name] = x[name].clone()
    x[name][0, T - 1, 1, 2] = bad if name != "g" or bad != 1e300 else 0.5  # g: a positive log-decay instead
    if bad == 1e300:
        msg = r"g must be <= 0\.0, got 0\.5" if name == "g" else rf"{name} must have magnitude <= 1\.34e\+154"
    else:
        msg = rf"{name} must contain only finite values"
    with pytest.raises(ValueError, match=rf"^{msg}"):
        chunk_diag_scan(x["q"], x["k"], x["v"], x["g"])
    if name != "g":
        with pytest.raises(ValueError, match=rf"^{msg}"):
            chunk_linear_attention(x["q"], x["k"], x["v"])


@pytest.mark.parametrize("form", ["linear", "scalar", "key"])
def test_the_backward_leaves_the_callers_upstream_gradient_alone(form):
    """One head, whole chunks: the chunked layout of dO is then a view of the caller's tensor, and the backward's
    scaling by s must not write into it.  Two autograd.grad calls with the same dO agree, and dO is unchanged."""
    from attnmath.kernels.diag_scan import chunk_diag_scan
    from attnmath.kernels.linear_attention import chunk_linear_attention

    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 16, 1, 4, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(3))
    gshape = {"scalar": (1, 16, 1), "key": (1, 16, 1, 4)}.get(form)
    g = None if gshape is None else -torch.rand(*gshape, generator=gen, dtype=torch.float64)
    o = (
        chunk_linear_attention(q, k, v, chunk_size=16)[0]
        if g is None
        else chunk_diag_scan(q, k, v, g, chunk_size=16)[0]
    )
    do = torch.ones_like(o)
    first = torch.autograd.grad(o, (q, k, v), do, retain_graph=True)
    assert torch.equal(do, torch.ones_like(o)), "the backward wrote into the caller's upstream gradient"
    second = torch.autograd.grad(o, (q, k, v), do)
    for a, b in zip(first, second):
        assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [[[1.0]], None, "q"])
def test_a_non_tensor_input_is_a_type_error_naming_it(bad):
    from attnmath.kernels.diag_scan import chunk_diag_scan
    from attnmath.kernels.linear_attention import chunk_linear_attention

    x = torch.randn(1, 4, 1, 2)
    with pytest.raises(TypeError, match=r"^q must be a torch\.Tensor"):
        chunk_linear_attention(bad, x, x)
    with pytest.raises(TypeError, match=r"^q must be a torch\.Tensor"):
        chunk_diag_scan(bad, x, x, -torch.rand(1, 4, 1))


def test_values_are_checked_by_group_on_a_cpu_only():
    """On a GPU each group's check would be a device sync: there the whole inputs are checked once, up front."""
    assert _common.checks_by_group(torch.zeros(1))
    assert not _common.checks_by_group(torch.zeros(1, device="meta"))


@pytest.mark.parametrize("T", [1, 7, 16, 33])
def test_to_chunks_and_from_chunks_are_inverse(T):
    x = torch.randn(2, T, 3, 5)
    c = _common.to_chunks(x, 8)
    assert c.shape == (2, 3, -(-T // 8), 8, 5)
    assert torch.equal(_common.from_chunks(c, T), x)
    assert not c[:, :, -1, (T - 1) % 8 + 1 :].any()  # time padding is zero


def test_groups_hold_whole_chunks_of_about_512_steps():
    assert _common.group_len(64) == 512 and _common.group_len(48) == 480 and _common.group_len(1024) == 1024
