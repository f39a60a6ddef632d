r"""Claim on the normaliser of linear attention: it is one more value column of ones.

Book: ``notebooks/20_kernels``, section "The normaliser is one more value column".
"""

from __future__ import annotations

from unittest import mock

import sympy as sp
import torch
import torch.nn.functional as F

from attnmath.base.numerics import torch_generator
from attnmath.claims import claim, control, rel_close, symbolic
from attnmath.kernels import dispatch
from attnmath.kernels import linear_attention as _la
from attnmath.kernels.linear_attention import linear_attention_recurrent

from .. import derivation as der
from .inputs import EXACT_REASON, EXACT_RTOL, F64, R32, R32_REASON, R64, R64_REASON, concrete, device, seeded_inputs
from .sizes import SIZES


@claim(
    "kernels.normalizer-is-a-value-column",
    title="Normalised linear attention is linear attention on the value augmented by a column of ones",
    statement=r"\frac{S_t^\top q_t}{z_t^\top q_t} = \frac{[\tilde S_t^\top q_t]_{1:V}}{[\tilde S_t^\top q_t]_{V+1}},"
    r"\quad \tilde S_t = \tilde S_{t-1} + k_t[v_t^\top, 1],\ \tilde S_0 = [S_0, z_0]",
    source="katharopoulos2020transformers, eq. (16) (normaliser); "
    "sieber2024understanding, eqs. (15)-(16) (attention and linear attention in the DSF)",
    status_of_source="classical",
    kinds=("symbolic", "numeric", "kernel"),
)
def _normaliser_is_a_value_column(tier: str):
    direct, augmented = der.normalised_and_augmented(3, 2)
    checks = [symbolic("direct normalised output minus the augmented-column ratio, T=3, K=2", direct - augmented)]
    seq = der.sequence(3, 2, 1)
    seq["z0"] = sp.Matrix(2, 1, lambda i, _: sp.Symbol(f"z_{i + 1}", real=True))
    vals, x3 = concrete(seq, 22)
    q3, k3 = F.elu(x3["q"]) + 1, F.elu(x3["k"]) + 1  # positive features: no zero denominator
    z03 = torch.rand(1, 1, 2, generator=torch_generator(23), dtype=F64) + 0.5
    vals.update(q=q3[0, :, 0].numpy(), k=k3[0, :, 0].numpy(), z0=z03[0, 0, :, None].numpy())
    o3, _ = dispatch.linear_attention(
        q3, k3, x3["v"], normalize=True, initial_state=(x3["h0"], z03), backend="torch", chunk_size=2
    )
    checks.append(
        rel_close(
            "dispatch.linear_attention(normalize=True, C=2) vs S_t^T q_t / z_t^T q_t evaluated at 30 digits, T=3",
            o3[0, :, 0],
            der.evaluate(direct, seq, vals),
            rtol=EXACT_RTOL,
            reason=EXACT_REASON,
            kind="symbolic",
        )
    )
    T = SIZES[tier].normaliser_length
    x = seeded_inputs(5, 2, T, 2, 8, 6)
    q, k = F.elu(x["q"]) + 1, F.elu(x["k"]) + 1
    S0 = x["h0"].abs()
    z0 = torch.rand(2, 2, 8, generator=torch_generator(6), dtype=F64)
    o_r, (S_r, z_r) = linear_attention_recurrent(q, k, x["v"], normalize=True, initial_state=(S0, z0), dtype=F64)
    o, (S, z) = dispatch.linear_attention(q, k, x["v"], normalize=True, initial_state=(S0, z0), backend="torch")
    checks += [
        rel_close("PyTorch chunked normalised output", o, o_r, rtol=R64, reason=R64_REASON),
        rel_close("PyTorch chunked final state S_T", S, S_r, rtol=R64, reason=R64_REASON),
        rel_close("PyTorch chunked final normaliser z_T", z, z_r, rtol=R64, reason=R64_REASON),
    ]
    dev = device()
    o_t, _ = dispatch.linear_attention(
        *(t.to(device=dev, dtype=torch.float32) for t in (q, k, x["v"])),
        normalize=True,
        initial_state=(S0.to(device=dev, dtype=torch.float32), z0.to(device=dev, dtype=torch.float32)),
        backend="triton",
        chunk_size=32,
    )
    checks.append(rel_close("Triton normalised output", o_t.cpu(), o_r, rtol=R32, reason=R32_REASON, kind="kernel"))
    return checks


@control(
    "kernels.normalizer-is-a-value-column", "normaliser column started at zero (the initial normaliser z_0 dropped)"
)
def _initial_normaliser_dropped():
    linear_attention = dispatch.linear_attention

    def without_z0(*args, normalize=False, initial_state=None, **kw):
        if normalize and initial_state is not None:
            S0, z0 = initial_state
            initial_state = (S0, torch.zeros_like(z0))
        return linear_attention(*args, normalize=normalize, initial_state=initial_state, **kw)

    with mock.patch.object(dispatch, "linear_attention", without_z0):
        yield


@control(
    "kernels.normalizer-is-a-value-column",
    "every backend, the reference included, starts the normaliser at zero (z_0 dropped consistently)",
)
def _initial_normaliser_dropped_everywhere():
    def without_z0(fn):
        def run(*args, normalize=False, initial_state=None, **kw):
            if normalize and initial_state is not None:
                S0, z0 = initial_state
                initial_state = (S0, torch.zeros_like(z0))
            return fn(*args, normalize=normalize, initial_state=initial_state, **kw)

        return run

    with (
        mock.patch(f"{__name__}.linear_attention_recurrent", without_z0(_la.linear_attention_recurrent)),
        mock.patch.object(dispatch, "linear_attention", without_z0(dispatch.linear_attention)),
    ):
        yield
