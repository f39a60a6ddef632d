"""attnmath.base.validation: the exact contract of each helper (issue 9, mutation testing).

The module's docstring is the spec: a ``TypeError`` for a wrong type or dtype, a ``ValueError``
for a wrong shape, value or range, with a message that names the argument, says what was
expected and what was given. These tests pin the full messages and each boundary (closed or
open), so that a changed comparison, a dropped argument or a garbled message fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnmath.base import validation as V


def _message(exc_type, fn, *args, **kwargs) -> str:
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- tensor ---------------------------------------------------------------------------------


def test_tensor_returns_its_input_and_accepts_every_float_dtype():
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        x = torch.zeros(2, 3, dtype=dtype)
        assert V.tensor(x, "x", ndim=2, shape=(2, None)) is x


def test_tensor_type_and_dtype_messages():
    assert _message(TypeError, V.tensor, [1.0], "q") == "q must be a torch.Tensor, got list"
    msg = _message(TypeError, V.tensor, torch.zeros(2, dtype=torch.int64), "k")
    assert msg == "k must have a real floating dtype (float16, bfloat16, float32, float64), got int64"
    msg = _message(TypeError, V.tensor, torch.zeros(2), "v", dtypes=(torch.float64,))
    assert msg == "v must have a real floating dtype (float64), got float32"
    assert V.tensor(torch.zeros(2, dtype=torch.int32), "i", dtypes=(torch.int32,)).dtype == torch.int32


def test_tensor_rank_and_shape_messages():
    x = torch.zeros(2, 3)
    assert _message(ValueError, V.tensor, x, "x", ndim=3) == "x must have 3 dimensions, got shape [2, 3]"
    assert _message(ValueError, V.tensor, x, "x", ndim=(1, 3)) == "x must have 1 or 3 dimensions, got shape [2, 3]"
    assert V.tensor(x, "x", ndim=(1, 2)) is x
    assert _message(ValueError, V.tensor, x, "x", shape=(2, 4)) == "x must have shape [2, 4], got [2, 3]"
    assert _message(ValueError, V.tensor, x, "x", shape=(None, "T")) == "x must have shape [*, T], got [2, 3]"
    # a shape of the wrong length fails even when the common prefix agrees
    assert _message(ValueError, V.tensor, x, "x", shape=(2, 3, None)) == "x must have shape [2, 3, *], got [2, 3]"
    assert _message(ValueError, V.tensor, x, "x", shape=(2,)) == "x must have shape [2], got [2, 3]"


def test_tensor_empty_and_nonfinite():
    empty = torch.zeros(0, 3)
    assert _message(ValueError, V.tensor, empty, "x") == "x must be non-empty, got shape [0, 3]"
    assert V.tensor(empty, "x", nonempty=False) is empty  # an empty tensor has no non-finite entry
    for bad in (math.nan, math.inf, -math.inf):
        x = torch.tensor([1.0, bad])
        assert _message(ValueError, V.tensor, x, "x") == "x must contain only finite values (found NaN or Inf)"
        assert V.tensor(x, "x", finite=False) is x


# --- same_device / same_dtype ----------------------------------------------------------------


def test_same_device_and_dtype():
    a, b = torch.zeros(1), torch.zeros(1, dtype=torch.float64)
    assert V.same_device("a", a, "b", b) is None
    assert V.same_dtype("a", a, "c", torch.ones(2)) is None
    assert _message(TypeError, V.same_dtype, "a", a, "b", b) == (
        "a has dtype torch.float32 but b has dtype torch.float64; they must match"
    )
    meta = torch.zeros(1, device="meta")
    assert _message(ValueError, V.same_device, "a", a, "m", meta) == (
        "a is on cpu but m is on meta; put them on one device"
    )


# --- integer ---------------------------------------------------------------------------------


def test_integer_accepts_python_and_numpy_ints_and_returns_int():
    assert V.integer(5, "n") == 5
    out = V.integer(np.int64(7), "n", minimum=7, maximum=7)  # both bounds are inclusive
    assert out == 7 and type(out) is int


def test_integer_rejects_bools_floats_and_strings():
    assert _message(TypeError, V.integer, True, "n") == "n must be an int, got bool"
    assert _message(TypeError, V.integer, 2.0, "n") == "n must be an int, got float"
    assert _message(TypeError, V.integer, "3", "n") == "n must be an int, got str"


def test_integer_bounds_messages():
    assert _message(ValueError, V.integer, 0, "chunk", minimum=1) == "chunk must be >= 1, got 0"
    assert _message(ValueError, V.integer, 9, "k", maximum=8) == "k must be <= 8, got 9"
    assert V.integer(-3, "n") == -3  # no bounds: any int


# --- real ------------------------------------------------------------------------------------


def test_real_accepts_numbers_and_scalar_float_tensors():
    assert V.real(2, "x") == 2.0 and type(V.real(2, "x")) is float
    assert V.real(np.float32(0.5), "x") == 0.5
    out = V.real(torch.tensor(0.25, dtype=torch.float64), "x")
    assert out == 0.25 and type(out) is float
    assert V.real(torch.tensor([1.5]), "x") == 1.5  # one element, any rank


def test_real_rejects_bools_strings_and_non_scalar_or_integer_tensors():
    assert _message(TypeError, V.real, True, "lr") == "lr must be a real number, got bool"
    assert _message(TypeError, V.real, "1", "lr") == "lr must be a real number, got str"
    assert _message(TypeError, V.real, torch.tensor([1.0, 2.0]), "lr") == "lr must be a real number, got Tensor"
    assert _message(TypeError, V.real, torch.tensor(3), "lr") == "lr must be a real number, got Tensor"
    assert _message(TypeError, V.real, 1 + 2j, "lr") == "lr must be a real number, got complex"


def test_real_finite_positive_nonnegative():
    assert _message(ValueError, V.real, math.nan, "x") == "x must be finite, got nan"
    assert _message(ValueError, V.real, -math.inf, "x") == "x must be finite, got -inf"
    assert _message(ValueError, V.real, 0.0, "lr", positive=True) == "lr must be > 0, got 0.0"
    assert V.real(1e-300, "lr", positive=True) == 1e-300
    assert _message(ValueError, V.real, -1e-12, "w", nonnegative=True) == "w must be >= 0, got -1e-12"
    assert V.real(0.0, "w", nonnegative=True) == 0.0
    assert V.real(-1.0, "w") == -1.0  # neither flag: negatives are fine


def test_real_closed_and_open_bounds():
    assert V.real(0.0, "p", low=0.0, high=1.0) == 0.0
    assert V.real(1.0, "p", low=0.0, high=1.0) == 1.0
    assert _message(ValueError, V.real, -0.5, "p", low=0.0) == "p must be >= 0.0, got -0.5"
    assert _message(ValueError, V.real, 1.5, "p", high=1.0) == "p must be <= 1.0, got 1.5"
    assert _message(ValueError, V.real, 0.0, "p", low=0.0, low_open=True) == "p must be > 0.0, got 0.0"
    assert _message(ValueError, V.real, 1.0, "p", high=1.0, high_open=True) == "p must be < 1.0, got 1.0"
    assert V.real(0.5, "p", low=0.0, high=1.0, low_open=True, high_open=True) == 0.5
    # an open flag without its bound does nothing
    assert V.real(-7.0, "p", low_open=True, high_open=True) == -7.0


# --- choice ----------------------------------------------------------------------------------


def test_choice():
    assert V.choice("ci", "scale", ("ci", "paper")) == "ci"
    assert _message(ValueError, V.choice, "big", "scale", ["ci", "paper"]) == (
        "scale must be one of ('ci', 'paper'), got 'big'"
    )


# --- probability_vector ----------------------------------------------------------------------


def test_probability_vector_returns_float64_array():
    out = V.probability_vector([0.25, 0.75], "p")
    assert out.dtype == np.float64 and out.tolist() == [0.25, 0.75]
    out = V.probability_vector(torch.tensor([1, 0]), "p")  # integer one-hot from a tensor
    assert out.dtype == np.float64 and out.tolist() == [1.0, 0.0]
    assert V.probability_vector(np.array([1.0], dtype=np.float32), "p").dtype == np.float64
    assert V.probability_vector([1.0], "p").tolist() == [1.0]  # a single-outcome distribution
    p = torch.tensor([0.5, 0.5], requires_grad=True)  # an autograd leaf is detached, not refused
    assert V.probability_vector(p, "p").tolist() == [0.5, 0.5]


def test_probability_vector_messages():
    msg = _message(TypeError, V.probability_vector, np.array([0.5 + 0j, 0.5]), "p")
    assert msg == "p must be a real vector of probabilities, got dtype complex128"
    assert _message(TypeError, V.probability_vector, ["a"], "p").startswith("p must be a real vector")
    assert _message(ValueError, V.probability_vector, [], "p") == (
        "p must be a non-empty 1-D probability vector, got shape [0]"
    )
    assert _message(ValueError, V.probability_vector, [[0.5, 0.5]], "p") == (
        "p must be a non-empty 1-D probability vector, got shape [1, 2]"
    )
    assert _message(ValueError, V.probability_vector, [0.5, math.nan], "p") == "p must contain only finite values"
    assert _message(ValueError, V.probability_vector, [1.5, -0.5], "p") == "p must be non-negative, got min -0.5"
    assert _message(ValueError, V.probability_vector, [0.5, 0.6], "p") == "p must sum to 1, got sum 1.1"


def test_probability_vector_sum_tolerance_is_atol():
    # default atol 1e-8 (float64 roundoff x length): 1e-9 off passes, 1e-7 off fails
    assert V.probability_vector([0.5, 0.5 + 1e-9], "p").shape == (2,)
    with pytest.raises(ValueError, match="p must sum to 1"):
        V.probability_vector([0.5, 0.5 + 1e-7], "p")
    assert V.probability_vector([0.5, 0.5 + 1e-7], "p", atol=1e-6).shape == (2,)
    # exactly atol off is accepted (strict >), checked with dyadic numbers that sum exactly
    assert V.probability_vector([0.5, 0.25], "p", atol=0.25).shape == (2,)
    with pytest.raises(ValueError, match="sum to 1"):
        V.probability_vector([0.5, 0.25], "p", atol=0.125)


# --- issue 17 helpers: tensor_like, shape_in, has_data, real_array, device, dtype ----------------------------


def test_tensor_like_checks_the_tensor_then_dtype_and_device_of_ref():
    ref = torch.zeros(2, 3, dtype=torch.float64)
    w = torch.ones(4, 3, dtype=torch.float64)
    assert V.tensor_like(w, "W", ref, "u", shape=(None, 3)) is w
    assert _message(TypeError, V.tensor_like, w.float(), "W", ref, "u") == (
        "W has dtype torch.float32 but u has dtype torch.float64; they must match"
    )
    meta = torch.empty(4, 3, dtype=torch.float64, device="meta")
    assert _message(ValueError, V.tensor_like, meta, "W", ref, "u") == (
        "W is on meta but u is on cpu; put them on one device"
    )
    assert _message(ValueError, V.tensor_like, w, "W", ref, "u", shape=(None, 2)) == (
        "W must have shape [*, 2], got [4, 3]"
    )
    assert _message(ValueError, V.tensor_like, w * math.nan, "W", ref, "u").startswith("W must contain only finite")
    assert V.tensor_like(w * math.inf, "W", ref, "u", finite=False).shape == (4, 3)


def test_shape_in_accepts_any_listed_shape_and_names_them_all():
    x = torch.zeros(4, 3)
    assert V.shape_in(x, "lam", [(4,), (4, 3)], "[L] or [L, N]") is x
    assert V.shape_in(x[:, 0], "lam", [(4,), (4, 3)], "[L] or [L, N]").shape == (4,)
    assert _message(ValueError, V.shape_in, torch.zeros(5, 3), "lam", [(4,), (4, 3)], "[L] or [L, N]") == (
        "lam must have shape [L] or [L, N] = [4] or [4, 3], got [5, 3]"
    )


def test_has_data_rejects_only_meta_tensors():
    x = torch.zeros(2)
    assert V.has_data(x, "A") is x
    meta = torch.empty(2, 2, device="meta")
    assert _message(ValueError, V.has_data, meta, "A") == (
        "A must hold values, got a tensor on the meta device (shape [2, 2] only)"
    )


def test_real_array_accepts_real_array_likes_as_float64():
    assert V.real_array([1, 2], "a").dtype == np.float64
    assert V.real_array(np.ones(2, dtype=np.float32), "a").tolist() == [1.0, 1.0]
    assert V.real_array(3, "a", ndim=0).shape == ()
    g = torch.tensor([0.5, 0.25], dtype=torch.float64, requires_grad=True)
    assert V.real_array(g, "a").tolist() == [0.5, 0.25]  # detached, not refused
    assert V.real_array(torch.arange(3), "a").tolist() == [0.0, 1.0, 2.0]
    assert V.real_array([], "a", nonempty=False).shape == (0,)
    assert np.isnan(V.real_array([math.nan], "a", finite=False)).all()


def test_real_array_messages():
    assert _message(TypeError, V.real_array, None, "alpha") == "alpha must be a real number or array, got NoneType"
    assert _message(TypeError, V.real_array, "3", "alpha") == "alpha must be a real number or array, got str"
    assert _message(TypeError, V.real_array, [True, False], "a") == "a must be real (float or integer), got dtype bool"
    assert _message(TypeError, V.real_array, [1j], "a") == "a must be real (float or integer), got dtype complex128"
    assert _message(TypeError, V.real_array, torch.ones(2, dtype=torch.bool), "a") == (
        "a must be real (float or integer), got dtype bool"
    )
    assert _message(ValueError, V.real_array, torch.empty(2, device="meta"), "a").startswith("a must hold values")
    assert _message(ValueError, V.real_array, np.ones((2, 2)), "a", ndim=(0, 1)) == (
        "a must have 0 or 1 dimensions, got shape [2, 2]"
    )
    assert _message(ValueError, V.real_array, [], "a") == "a must be non-empty, got shape [0]"
    assert _message(ValueError, V.real_array, [1.0, math.inf], "a") == (
        "a must contain only finite values (found NaN or Inf)"
    )


def test_device_and_dtype():
    assert V.device(None, "device") is None
    assert V.device("cpu", "device") == torch.device("cpu")
    assert V.device(torch.device("cpu"), "device") == torch.device("cpu")
    assert _message(ValueError, V.device, "bogus", "device") == (
        "device must be a device such as 'cpu' or 'cuda:0', got 'bogus'"
    )
    assert _message(TypeError, V.device, 0.5, "device") == (
        "device must be a torch.device, a device string or None, got float"
    )
    assert V.dtype(None, "dtype") is None and V.dtype(torch.float32, "dtype") is torch.float32
    assert _message(TypeError, V.dtype, "float64", "dtype") == "dtype must be a torch.dtype or None, got str 'float64'"
