"""attnmath.base.numerics: seeded local generators, unit roundoff per dtype, phi1 lives here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnmath.base.numerics import F32_EPS, F64_EPS, numpy_rng, phi1, torch_generator, unit_roundoff


def test_torch_generator_is_a_seeded_local_generator():
    a = torch.rand(3, generator=torch_generator(5))
    assert torch.equal(a, torch.rand(3, generator=torch.Generator().manual_seed(5)))
    assert not torch.equal(a, torch.rand(3, generator=torch_generator(6)))


def test_unit_roundoff_and_machine_epsilon():
    assert unit_roundoff(torch.float64) == 2.0**-53 and unit_roundoff(torch.float32) == 2.0**-24
    assert unit_roundoff(torch.bfloat16) == 2.0**-8 and unit_roundoff(torch.float16) == 2.0**-11
    assert (F64_EPS, F32_EPS) == (2.0**-52, 2.0**-23)
    with pytest.raises(
        TypeError, match=r"^dtype must be a floating torch\.dtype \(float16, bfloat16, float32, float64\), got int64$"
    ):
        unit_roundoff(torch.int64)


def test_numpy_rng_is_seeded_and_rejects_negative_seeds():
    assert numpy_rng(3).random() == np.random.default_rng(3).random()
    with pytest.raises(ValueError, match="seed"):
        numpy_rng(-1)


def test_phi1_at_zero_and_as_a_float():
    assert phi1(0.0) == 1.0 and isinstance(phi1(0.5), float)
    z = torch.tensor([0.0, 1e-12, -2.0], dtype=torch.float64)
    assert torch.equal(phi1(z)[:1], torch.ones(1, dtype=torch.float64))
    assert abs(phi1(z)[2].item() - (1 - np.exp(-2.0)) / 2.0) < 4 * F64_EPS


@pytest.mark.parametrize(("z", "bound"), [(710.0, "709.78"), (torch.tensor([0.0, 89.0]), "88.72")])
def test_phi1_refuses_arguments_whose_exponential_overflows(z, bound):
    """e^z overflows above log(largest float) of z's dtype: a clear error, not a silent Inf."""
    with pytest.raises(ValueError, match=rf"^z must be <= {bound}"):
        phi1(z)
    edge = 709.0 if isinstance(z, float) else torch.tensor([0.0, 88.0])
    assert torch.isfinite(torch.as_tensor(phi1(edge), dtype=torch.float64)).all()  # just inside the bound: finite
