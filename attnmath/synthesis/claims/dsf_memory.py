"""Claim ``dsf.hebbian-capacity``: the DSF state as an associative memory (DSF view × associative-memory view).

It belongs to the DSF chapter (same id, shown in ``notebooks/13_dsf_extensions``) but needs the memory
chapter's Hebbian and delta-rule memories, so it lives here, where chapters may be combined.  Its run
size is the DSF chapter's ``hebbian_trials`` and its tolerances are the DSF chapter's identity tolerances.
"""

from __future__ import annotations

import math
from unittest import mock

import torch

from attnmath import memory as _memory
from attnmath.base.numerics import torch_generator
from attnmath.claims import at_most, claim, control, rel_close, statistical
from attnmath.dsf.claims.sizes import SIZES
from attnmath.dsf.claims.tolerances import REASON_IDENTITY, TOL_IDENTITY
from attnmath.dsf.sampling import randn


@claim(
    "dsf.hebbian-capacity",
    title="Outer-product memory: exact recall for orthonormal keys, crosstalk variance (#KV-1)/n for random keys; the delta rule removes it",
    statement=r"M=\sum_jv_jk_j^\top:\ Mk_i=v_i\ (\text{orthonormal}),\ \mathrm{Var}[(Mk_i-v_i)]=\frac{\#KV-1}{n}\ (\text{uniform unit keys, unit values})",
    source="kohonen1972correlation, anderson1972simple (outer-product memory, classical); the delta rule as "
    "Kaczmarz iteration (widrow1960adaptive); sieber2024understanding eq. (14) (the DSF write B_iu_i is an "
    "outer product); the memory reading of the DSF state is reconstructed (see the book's Sources appendix)",
    status_of_source="reconstructed",
    kinds=("numeric", "statistical"),
)
def _hebbian_recall_and_crosstalk(tier: str):
    n, P, dv = 16, 8, 3
    g = torch_generator(83)
    keys = torch.linalg.qr(randn(g, n, n))[0][:P]  # orthonormal rows
    vals = randn(g, P, dv)
    M = _memory.hebbian_memory(keys, vals)
    checks = [
        rel_close(
            f"orthonormal keys, #KV={P} ≤ n={n}: recall M k_i vs v_i",
            keys @ M.T,
            vals,
            rtol=TOL_IDENTITY,
            reason=REASON_IDENTITY,
        )
    ]
    trials, nkv, seed = SIZES[tier].hebbian_trials, 9, 11
    gen = torch_generator(seed)
    kr = _memory.random_keys(nkv, n, batch=(trials,), generator=gen)  # uniform unit keys, [trials, #KV, n]
    vr = torch.randn(trials, nkv, 1, generator=gen, dtype=torch.float64)  # one unit-variance value channel
    # the library's memory and read-out: M k_1 - v_1 is the crosstalk of the first pair
    cross = (_memory.retrieve(_memory.hebbian_memory(kr, vr), kr[:, :1]) - vr[:, :1]).flatten()
    est, stderr = float((cross**2).mean()), float((cross**2).std() / math.sqrt(trials))
    checks.append(
        statistical(
            f"crosstalk variance, #KV={nkv}, n={n}: target (#KV-1)/n",
            est,
            (nkv - 1) / n,
            stderr,
            n_trials=trials,
            seed=seed,
        )
    )
    kd = randn(g, 6, 8)
    kd = kd / kd.norm(dim=-1, keepdim=True)  # 6 linearly independent unit keys in R^8
    vd = randn(g, 6, dv)
    Md = _memory.delta_rule_cyclic(kd, vd, beta=1.0, sweeps=200)
    checks.append(
        at_most(
            "delta rule (β=1, 200 sweeps): max |M k_i - v_i|",
            float((kd @ Md.T - vd).abs().max()),
            1e-10,
            reason="Kaczmarz converges linearly for independent keys; 1e-10 is far below the initial error",
        )
    )
    return checks


@control("dsf.hebbian-capacity", "the delta rule replaced by the Hebbian write (no error-correcting term)")
def _delta_rule_is_hebbian():
    def hebbian(keys, values, beta, sweeps, **kw):
        return hebbian_memory(keys, values)

    hebbian_memory = _memory.hebbian_memory
    with mock.patch.object(_memory, "delta_rule_cyclic", hebbian):
        yield


@control("dsf.hebbian-capacity", "memory that averages the outer products, (1/#KV) Σ v_j k_jᵀ, instead of summing them")
def _averaged_memory():
    def averaged(keys, values):
        return hebbian_memory(keys, values) / keys.shape[-2]

    hebbian_memory = _memory.hebbian_memory
    with mock.patch.object(_memory, "hebbian_memory", averaged):
        yield


@control(
    "dsf.hebbian-capacity",
    "the library's memory is the pseudo-inverse (OLAM) V^T (K^T)^+, exact for independent keys: no crosstalk",
)
def _memory_is_olam():
    with mock.patch.object(_memory, "hebbian_memory", _memory.olam_memory):
        yield
