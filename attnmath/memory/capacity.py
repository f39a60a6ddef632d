r"""Capacity of a Hebbian (linear-attention) memory: average case, worst case, discrete read-out.

Book chapter: ``notebooks/30_pavlovian_memory`` (claims ``memory.crosstalk-moment``,
``memory.relmse-law``, ``memory.linear-capacity``, ``memory.coherence-guarantee``,
``memory.worst-vs-average``, ``memory.bit-error-law``, ``memory.decay-snr``). Classical; see the book's Sources appendix.

Random models: *unit* keys uniform on :math:`S^{d_k-1}`; *gaussian* keys
:math:`\mathcal N(0,I/d_k)`; values :math:`\mathcal N(0,I/d_v)` (so :math:`\mathbb E\lVert v\rVert^2=1`)
or unit. Every Monte-Carlo estimator takes ``trials`` and ``seed`` and is deterministic given them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ..base import memory as base_memory
from ..base import validation as V
from ..base.numerics import torch_generator
from . import _checks
from .hebbian import _memory, _recall, hebbian_memory, retrieve

KEY_KINDS = ("unit", "gaussian")
F64 = torch.float64


def random_keys(
    n: int, d_k: int, *, kind: str = "unit", batch: Sequence[int] = (), generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""``[*batch, n, d_k]`` float64 keys: uniform on the unit sphere (``unit``) or :math:`\mathcal N(0,I/d_k)` (``gaussian``).

    ``batch``: a list or tuple of sizes >= 0 (``()``: no batch dims); ``generator``: a ``torch.Generator`` or None.
    """
    n = V.integer(n, "n", minimum=1)
    d_k = V.integer(d_k, "d_k", minimum=1)
    V.choice(kind, "kind", KEY_KINDS)
    batch = V.integers(batch, "batch", minimum=0, nonempty=False)
    generator = V.generator(generator, "generator")
    x = torch.randn(*batch, n, d_k, generator=generator, dtype=F64)
    return x / x.norm(dim=-1, keepdim=True) if kind == "unit" else x / math.sqrt(d_k)


def random_values(
    n: int,
    d_v: int,
    *,
    kind: str = "gaussian",
    batch: Sequence[int] = (),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""``[*batch, n, d_v]`` float64 values: :math:`\mathcal N(0,I/d_v)` (``gaussian``) or unit vectors (``unit``)."""
    return random_keys(n, V.integer(d_v, "d_v", minimum=1), kind=kind, batch=batch, generator=generator)


def ratio_of_means(num: torch.Tensor, den: torch.Tensor) -> tuple[float, float]:
    r"""Ratio of means :math:`\hat R=\bar a/\bar b` of paired per-trial samples and its delta-method standard error
    :math:`\mathrm{sd}(a-\hat Rb)/(\sqrt n\,\bar b)`. ``num``, ``den``: ``[trials]``."""
    V.has_data(V.tensor(num, "num", dtypes=V.REAL_DTYPES, nonempty=False), "num")
    V.has_data(V.tensor(den, "den", dtypes=V.REAL_DTYPES, nonempty=False), "den")
    a, b = num.detach().double().flatten(), den.detach().double().flatten()
    if a.shape != b.shape or a.numel() < 2:
        raise ValueError(
            f"num and den must be paired samples of equal length >= 2, got {list(a.shape)}, {list(b.shape)}"
        )
    r = float(a.mean() / b.mean())
    se = float((a - r * b).std(unbiased=True) / (math.sqrt(a.numel()) * b.mean()))
    return r, se


def relmse_theory(n: int, d_k: int, kind: str = "unit") -> float:
    r"""Average-case relative recall error :math:`\mathbb E\lVert Mk_j-v_j\rVert^2/\mathbb E\lVert v_j\rVert^2`:
    :math:`(N-1)/d_k` for unit keys, :math:`(N+1)/d_k` for Gaussian keys (claim ``memory.relmse-law``)."""
    n = V.integer(n, "n", minimum=1)
    d_k = V.integer(d_k, "d_k", minimum=1)
    return (n - 1) / d_k if V.choice(kind, "kind", KEY_KINDS) == "unit" else (n + 1) / d_k


def capacity_theory(d_k: int, eps: float, kind: str = "unit") -> float:
    r"""Average-case capacity at fidelity :math:`\varepsilon` (relMSE :math:`\le\varepsilon^2`):
    :math:`N^\star=1+\varepsilon^2d_k` (unit) or :math:`\varepsilon^2d_k-1` (Gaussian). Claim ``memory.linear-capacity``."""
    d_k = V.integer(d_k, "d_k", minimum=1)
    e = V.real(eps, "eps", positive=True)
    return 1 + e**2 * d_k if V.choice(kind, "kind", KEY_KINDS) == "unit" else e**2 * d_k - 1


def _relmse_pool(
    d_k: int, n_max: int, trials: int, seed: int, kind: str, d_v: int
) -> Callable[[int], tuple[float, float]]:
    g = torch_generator(seed)
    trials = V.integer(trials, "trials", minimum=2)
    K = random_keys(n_max, d_k, kind=kind, batch=(trials,), generator=g)
    Vv = random_values(n_max, d_v, batch=(trials,), generator=g)

    def at(n: int) -> tuple[float, float]:
        k, v = K[:, :n], Vv[:, :n]
        err = _recall(_memory(k, v), k) - v
        return ratio_of_means((err**2).sum(dim=(1, 2)), (v**2).sum(dim=(1, 2)))

    return at


def relmse_monte_carlo(
    n: int, d_k: int, *, trials: int, seed: int, kind: str = "unit", d_v: int = 16
) -> tuple[float, float]:
    r"""Monte-Carlo relMSE of a Hebbian memory of ``n`` random pairs: ratio of means over ``trials``
    of :math:`\sum_j\lVert Mk_j-v_j\rVert^2` and :math:`\sum_j\lVert v_j\rVert^2`, with its delta-method SE."""
    n = V.integer(n, "n", minimum=1)
    d_k = V.integer(d_k, "d_k", minimum=1)
    return _relmse_pool(d_k, n, trials, seed, kind, d_v)(n)


def relmse_curve(
    d_k: int, ns: Sequence[int], *, trials: int, seed: int, kind: str = "unit", d_v: int = 16, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """relMSE and its SE at each N of ``ns``, on nested prefixes of one pool of pairs (common random numbers)."""
    d_k = V.integer(d_k, "d_k", minimum=1)
    ns = _checks.int_sequence(ns, "ns", minimum=1)
    progress = V.flag(progress, "progress")
    at = _relmse_pool(d_k, max(ns), trials, seed, kind, d_v)
    out = [at(n) for n in tqdm(ns, desc=f"relMSE d_k={d_k}", disable=not progress, leave=False)]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def largest_true(pred: Callable[[int], bool], lo: int, hi: int) -> int:
    r"""Bisection: the largest ``n`` in ``[lo, hi]`` with ``pred(n)``, for a predicate true up to a point, then false.

    Requires ``pred(lo)``; returns ``hi`` when ``pred(hi)`` holds. Makes exactly
    :math:`1+\lceil\log_2(hi-lo+1)\rceil` calls (a closed bracket re-probes ``lo``, known true).
    """
    V.function(pred, "pred")
    lo, hi = V.integer(lo, "lo"), V.integer(hi, "hi", minimum=lo)
    if not pred(lo):
        raise ValueError(f"lo={lo} must satisfy the predicate (bisection needs a valid lower bracket)")
    for _ in range((hi - lo).bit_length()):  # each probe halves [lo, hi]: ceil(log2(hi - lo + 1)) probes close it
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if pred(mid) else (lo, mid - 1)
    return lo


def capacity_bisection(d_k: int, eps: float, *, trials: int, seed: int, kind: str = "unit", d_v: int = 16) -> int:
    r"""Largest N whose measured relMSE is :math:`\le\varepsilon^2` (bisection over nested prefixes of one pool).

    The pool holds :math:`2(1+\varepsilon^2d_k)+8` pairs; raises ``ValueError`` if even the pool stays below
    :math:`\varepsilon^2` (no bracket), or if one pair already exceeds it (Gaussian keys, small ``eps``), or if
    the pool (``trials`` of them) would not fit in the free memory (a large ``eps``).
    Claim ``memory.linear-capacity``.
    """
    d_k = V.integer(d_k, "d_k", minimum=1)
    e2 = _checked_pool_eps(d_k, eps, trials, kind, d_v) ** 2
    n_max = int(2 * (1 + e2 * d_k)) + 8
    return _bisect_pool(_relmse_pool(d_k, n_max, trials, seed, kind, d_v), e2, n_max, eps, kind, d_k)


def _refuse_oversized_pool(e: float, d_k: int, pool: float, nbytes: float, arrays: str) -> None:
    """Raise a ``ValueError`` naming ``eps`` and ``d_k`` when a pool sized from them (``pool`` pairs, computed in
    floating point so that it cannot overflow an int) is not finite or its ``nbytes`` exceed the free memory."""
    free = base_memory.available_bytes()
    if math.isfinite(nbytes) and nbytes <= free:
        return
    size = base_memory.format_bytes(nbytes) if nbytes < 2.0**60 else f"{nbytes:.2g} bytes"
    raise ValueError(
        f"eps={e:g} with d_k={d_k} needs a pool of {pool:.2g} pairs ({arrays}: {size}), more than the "
        f"{base_memory.format_bytes(free)} free; lower eps or d_k"
    )


def _checked_pool_eps(d_k: int, eps: float, trials: int, kind: str, d_v: int) -> float:
    r"""``eps`` of :func:`capacity_bisection`, checked, once its pool of :math:`2(1+\varepsilon^2d_k)+8` pairs is known to
    fit in memory: ``trials`` float64 keys ``[pool, d_k]`` and values ``[pool, d_v]``, plus the normal sample that
    the larger of them is drawn through."""
    e = V.real(eps, "eps", positive=True)
    trials = V.integer(trials, "trials", minimum=2)
    V.choice(kind, "kind", KEY_KINDS)
    d_v = V.integer(d_v, "d_v", minimum=1)
    pool = 2 * (1 + e * e * d_k) + 8  # a float: inf, never an OverflowError, for a huge eps
    nbytes = 8.0 * trials * pool * (d_k + d_v + max(d_k, d_v))
    _refuse_oversized_pool(e, d_k, pool, nbytes, f"{trials} trials of float64 keys and values")
    return e


def _bisect_pool(
    at: Callable[[int], tuple[float, float]], e2: float, n_max: int, eps: float, kind: str, d_k: int
) -> int:
    if at(n_max)[0] <= e2:
        raise ValueError(f"no bracket: relMSE at N={n_max} is still <= eps^2={e2}")
    r1 = at(1)[0]  # Gaussian keys: one pair already misses by the norm spread, E(|k|^2-1)^2 = 2/d_k
    if r1 > e2:
        raise ValueError(
            f"eps={eps} is too small for kind={kind!r}, d_k={d_k}: relMSE at N=1 is {r1:.3g} > eps^2={e2:.3g}"
        )
    return largest_true(lambda n: at(n)[0] <= e2, 1, n_max)


def capacity_interpolated(
    d_k: int, eps: float, *, trials: int, seed: int, kind: str = "unit", d_v: int = 16
) -> tuple[float, float]:
    r"""Continuous capacity at fidelity :math:`\varepsilon`: the N at which the measured relMSE crosses :math:`\varepsilon^2`.

    With :math:`n_0` the bisection capacity (:func:`capacity_bisection`, same pool, same seed) and
    :math:`r(n)` the measured relMSE on nested prefixes,
    :math:`\hat N=n_0+(\varepsilon^2-r(n_0))/(r(n_0+1)-r(n_0))` (linear interpolation; the law
    :math:`r(N)=(N-1)/d_k` is linear in N, so the interpolation adds no bias). Its SE is the delta-method
    SE of the level, :math:`\max(\mathrm{se}(n_0),\mathrm{se}(n_0+1))/(r(n_0+1)-r(n_0))` (the slope's own noise is
    small: both points share their draws). Returns (:math:`\hat N`, SE). Raises ``ValueError`` as
    :func:`capacity_bisection` does (no bracket, one pair already misses, a pool too large for the free memory).
    Claim ``memory.linear-capacity``.
    """
    d_k = V.integer(d_k, "d_k", minimum=1)
    e2 = _checked_pool_eps(d_k, eps, trials, kind, d_v) ** 2
    n_max = int(2 * (1 + e2 * d_k)) + 8
    at = _relmse_pool(d_k, n_max, trials, seed, kind, d_v)
    n0 = _bisect_pool(at, e2, n_max, eps, kind, d_k)
    (r0, s0), (r1, s1) = at(n0), at(n0 + 1)
    slope = r1 - r0
    if not slope > 0:
        raise ValueError(f"relMSE does not increase from N={n0} to N={n0 + 1} ({r0:.4g} -> {r1:.4g}): no crossing")
    return n0 + (e2 - r0) / slope, max(s0, s1) / slope


def crosstalk_moment(d: int, pairs: int, *, seed: int, kind: str = "unit") -> tuple[float, float, float, float]:
    r"""Monte-Carlo moments over independent key pairs :math:`(k,k')`: :math:`\mathbb E(k^\top k')^2` (theory :math:`1/d`)
    and :math:`\mathbb E(\lVert k\rVert^2-1)^2` (0 for unit keys, :math:`2/d` for Gaussian keys).

    Returns (crosstalk moment, its SE, norm moment, its SE). Claim ``memory.crosstalk-moment``.
    """
    d = V.integer(d, "d", minimum=1)
    g = torch_generator(seed)
    K = random_keys(2, d, kind=kind, batch=(V.integer(pairs, "pairs", minimum=2),), generator=g)
    c2 = (K[:, 0] * K[:, 1]).sum(-1) ** 2
    n2 = ((K[:, 0] ** 2).sum(-1) - 1) ** 2
    root = math.sqrt(c2.numel())
    return float(c2.mean()), float(c2.std() / root), float(n2.mean()), float(n2.std() / root)


# --------------------------------------------------------------------------------------
# Worst case: coherence, Welch bound, guarantee vs empirical all-pairs capacity
# --------------------------------------------------------------------------------------
def coherence(keys: torch.Tensor) -> torch.Tensor:
    r"""Coherence :math:`\mu=\max_{i\ne j}|k_i^\top k_j|` of unit keys ``[..., N, d_k]`` (N ≥ 2) → ``[...]``."""
    V.tensor(keys, "keys", ndim=range(2, 6))
    if keys.shape[-2] < 2:
        raise ValueError(f"keys must hold at least 2 vectors for a coherence, got shape {list(keys.shape)}")
    G = (keys @ keys.transpose(-1, -2)).abs()
    G = G - torch.diag_embed(torch.diagonal(G, dim1=-2, dim2=-1))
    return G.amax(dim=(-2, -1))


def coherence_error_bound(keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Deterministic all-pairs bound for unit keys: :math:`\max_j\lVert Mk_j-v_j\rVert\le(N-1)\mu\max_i\lVert v_i\rVert`.

    Returns (worst error, bound), each ``[...]``. Claim ``memory.coherence-guarantee``.
    """
    err = (retrieve(hebbian_memory(keys, values), keys) - values).norm(dim=-1).amax(-1)
    bound = (keys.shape[-2] - 1) * coherence(keys) * values.norm(dim=-1).amax(-1)
    return err, bound


def mean_square_overlap(keys: torch.Tensor) -> torch.Tensor:
    r"""Mean squared off-diagonal overlap :math:`\overline{c^2}=\frac1{N(N-1)}\sum_{i\ne j}(k_i^\top k_j)^2` of keys
    ``[..., N, d_k]`` (N ≥ 2) → ``[...]``.

    The Welch bound is a bound on this mean: for unit keys, :math:`\mu^2\ge\overline{c^2}\ge\frac{N-d_k}{d_k(N-1)}`
    (from :math:`\lVert KK^\top\rVert_F^2=\lVert K^\top K\rVert_F^2\ge(\mathrm{tr}K^\top K)^2/d_k=N^2/d_k`), with equality on
    the right iff the keys form a unit-norm tight frame, :math:`K^\top K=\frac N{d_k}I`. For random unit keys
    :math:`\mathbb E\overline{c^2}=1/d_k`. Claim ``memory.coherence-guarantee``.
    """
    V.tensor(keys, "keys", ndim=range(2, 6))
    n = keys.shape[-2]
    if n < 2:
        raise ValueError(f"keys must hold at least 2 vectors for an overlap, got shape {list(keys.shape)}")
    G = keys @ keys.transpose(-1, -2)
    off = (G**2).sum(dim=(-2, -1)) - (torch.diagonal(G, dim1=-2, dim2=-1) ** 2).sum(-1)
    return off / (n * (n - 1))


def coherence_tight_instance(
    n: int, d_k: int, mu: float, *, d_v: int = 16, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Keys and values on which the coherence guarantee is attained with equality for item 0.

    :math:`k_0=e_1`, :math:`k_i=\mu e_1+\sqrt{1-\mu^2}\,u_i` (:math:`u_i` orthonormal in :math:`e_1^\perp`, so
    :math:`n\le d_k`), every value the same random unit vector v. Then :math:`k_i^\top k_0=\mu`,
    :math:`k_i^\top k_l=\mu^2\le\mu`, the coherence is :math:`\mu`, and
    :math:`Mk_0-v_0=\sum_{i\ne0}(k_i^\top k_0)v_i=(N-1)\mu v`: error :math:`=(N-1)\mu\max\lVert v\rVert`.
    Returns (keys ``[n, d_k]``, values ``[n, d_v]``) float64.
    """
    n = V.integer(n, "n", minimum=2)
    d_k = V.integer(d_k, "d_k", minimum=n)
    mu = V.real(mu, "mu", low=0.0, high=1.0, low_open=True, high_open=True)
    d_v = V.integer(d_v, "d_v", minimum=1)
    U = torch.linalg.qr(
        torch.randn(d_k - 1, n - 1, generator=generator, dtype=F64)
    ).Q.T  # [n-1, d_k-1] orthonormal rows
    keys = torch.zeros(n, d_k, dtype=F64)
    keys[0, 0] = 1.0
    keys[1:, 0] = mu
    keys[1:, 1:] = math.sqrt(1 - mu**2) * U
    v = random_values(1, d_v, kind="unit", generator=generator)
    return keys, v.expand(n, d_v).clone()


def guarantee_capacity(mu: float, eps: float) -> int:
    r"""Largest N allowed by the coherence guarantee, :math:`N\le1+\varepsilon/\mu`."""
    mu = V.real(mu, "mu", positive=True)
    return math.floor(1 + V.real(eps, "eps", positive=True) / mu)


def welch_bound(n: int, d_k: int) -> float:
    r"""Welch (1974) lower bound on the coherence of ``n`` unit vectors in :math:`\mathbb R^{d_k}`:
    :math:`\mu^2\ge(N-d_k)/(d_k(N-1))` (0 when :math:`N\le d_k`)."""
    n = V.integer(n, "n", minimum=2)
    d_k = V.integer(d_k, "d_k", minimum=1)
    return math.sqrt(max(0.0, (n - d_k) / (d_k * (n - 1))))


def simplex_frame(d_k: int) -> torch.Tensor:
    r"""The :math:`d_k+1` unit vectors of a regular simplex in :math:`\mathbb R^{d_k}` (pairwise :math:`-1/d_k`):
    they attain the Welch bound with equality. Returns ``[d_k + 1, d_k]`` float64."""
    d_k = V.integer(d_k, "d_k", minimum=1)
    n = d_k + 1
    centred = torch.eye(n, dtype=F64) - 1.0 / n
    basis = torch.linalg.qr(centred[:, :d_k]).Q  # orthonormal basis of the sum-zero hyperplane, [n, d_k]
    X = centred @ basis
    return X / X.norm(dim=-1, keepdim=True)


def worst_vs_average(
    d_k: int, eps: float, *, draws: int, seed: int, progress: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per draw: (guarantee capacity, empirical all-pairs capacity) at fidelity :math:`\varepsilon` (claim ``memory.worst-vs-average``).

    One pool of random unit keys and unit values (:math:`d_v=d_k`). On its prefixes of length N,
    the *guarantee* is the largest N with :math:`(N-1)\mu_N\le\varepsilon`; the *empirical* capacity is
    the largest N (bisection) with :math:`\max_{j\le N}\lVert Mk_j-v_j\rVert\le\varepsilon`. The pool starts at
    :math:`2\varepsilon^2d_k+8` pairs and doubles if the empirical capacity reaches it.
    Returns two int arrays ``[draws]``. Raises ``ValueError`` naming ``eps`` and ``d_k`` when the pool
    (with its ``[pool, pool]`` overlap matrices) would not fit in the free memory.
    """
    d_k = V.integer(d_k, "d_k", minimum=1)
    e = V.real(eps, "eps", positive=True)
    _check_worst_pool(e, d_k, 2 * e * e * d_k + 8)  # a float: inf, never an OverflowError, for a huge eps
    progress = V.flag(progress, "progress")
    g = torch_generator(seed)
    guar, emp = [], []
    for _ in tqdm(range(V.integer(draws, "draws", minimum=1)), desc=f"draws d_k={d_k}", disable=not progress):
        pool = int(2 * e**2 * d_k) + 8
        while True:
            _check_worst_pool(e, d_k, pool)
            K = random_keys(pool, d_k, generator=g)
            Vv = random_values(pool, d_k, kind="unit", generator=g)
            R = K @ K.T
            R.diagonal().sub_(1.0)  # R_ij = k_i.k_j - delta_ij, so M_N k_j - v_j = sum_{i<=N} R_ji v_i exactly
            mu = torch.cummax(R.abs().tril(-1).amax(dim=1), dim=0).values  # mu_N for N = 1..pool
            ok_g = (torch.arange(pool, dtype=F64) * mu <= e).nonzero()
            n_emp = largest_true(lambda n, R=R, Vv=Vv: bool((R[:n, :n] @ Vv[:n]).pow(2).sum(1).max() <= e**2), 1, pool)  # type: ignore[misc]  # mypy cannot infer a lambda that binds loop values as default arguments
            if n_emp < pool:
                break
            pool *= 2
        guar.append(int(ok_g.max()) + 1)
        emp.append(n_emp)
    return np.array(guar), np.array(emp)


def _check_worst_pool(e: float, d_k: int, pool: float) -> None:
    # keys and values [pool, d_k] (each drawn through a normal sample of that size), R = K K^T and the two
    # [pool, pool] temporaries of its coherence (|R| and its lower triangle), all float64
    nbytes = 8.0 * (4 * pool * d_k + 3 * pool * pool)
    _refuse_oversized_pool(e, d_k, pool, nbytes, "float64 keys, values and three [pool, pool] matrices")


# --------------------------------------------------------------------------------------
# Discrete read-out and decay
# --------------------------------------------------------------------------------------
def bit_error_theory(n: int, d: int) -> float:
    r"""Bit error of the sign read-out of a hetero-associative Hebbian memory of ``n`` :math:`\pm1` pairs:
    :math:`\Phi(-\sqrt{d/(N-1)})` (Gaussian crosstalk approximation)."""
    n = V.integer(n, "n", minimum=2)
    d = V.integer(d, "d", minimum=1)
    return 0.5 * math.erfc(math.sqrt(d / (n - 1)) / math.sqrt(2))


def bit_error_exact(n: int, d: int) -> float:
    r"""Exact bit error of the sign read-out of :func:`bit_error_monte_carlo` (ties counted 1/2).

    For bit a of pattern :math:`\nu`, :math:`\eta^\nu_a\,d\,(W\xi^\nu)_a=d+S` where :math:`S=\sum_{\mu\ne\nu}\sum_b
    \eta^\nu_a\eta^\mu_a\xi^\mu_b\xi^\nu_b` is a sum of :math:`m=(N-1)d` independent uniform signs, so
    :math:`S=2B-m` with :math:`B\sim\mathrm{Bin}(m,\tfrac12)` and the error is
    :math:`P(S<-d)+\tfrac12P(S=-d)`; :func:`bit_error_theory` is its Gaussian approximation.
    """
    n = V.integer(n, "n", minimum=2)
    d = V.integer(d, "d", minimum=1)
    from scipy import stats

    m = (n - 1) * d
    t2 = m - d  # S < -d  <=>  2B < m - d
    below = stats.binom.cdf((t2 - 1) // 2, m, 0.5)  # largest B with 2B < m - d
    tie = stats.binom.pmf(t2 // 2, m, 0.5) if t2 % 2 == 0 else 0.0
    return float(below + 0.5 * tie)


def bit_error_monte_carlo(n: int, d: int, *, trials: int, seed: int) -> tuple[float, float]:
    r"""Monte-Carlo bit error of :math:`\mathrm{sign}(W\xi^\nu)` vs :math:`\eta^\nu`, :math:`W=\frac1d\sum_\mu\eta^\mu\xi^{\mu\top}`.

    Ties (a zero field) count 1/2 (a fair coin). Returns (mean error rate over trials, its SE).
    Claim ``memory.bit-error-law``.
    """
    n = V.integer(n, "n", minimum=2)
    d = V.integer(d, "d", minimum=1)
    trials = V.integer(trials, "trials", minimum=2)
    g = torch_generator(seed)
    xi = torch.randint(0, 2, (trials, n, d), generator=g).to(F64) * 2 - 1
    eta = torch.randint(0, 2, (trials, n, d), generator=g).to(F64) * 2 - 1
    # d W xi^nu = xi^nu-weighted sums of +-1 products: integers, exact in float64, so a zero field (a tie)
    # is found exactly; the positive factor 1/d changes no sign (scaling by 1/sqrt(d) lost ties to rounding)
    field = _recall(_memory(xi, eta), xi)
    wrong = (torch.sign(field) != eta).to(F64) - 0.5 * (field == 0).to(F64)
    rate = wrong.mean(dim=(1, 2))
    return float(rate.mean()), float(rate.std() / math.sqrt(trials))


def decay_snr_theory(gamma: float, d_k: int, T: int, age: int) -> float:
    r"""Finite-horizon SNR of the item stored ``age`` = s steps before the end of a stream of T writes with decay
    :math:`\gamma`: :math:`\gamma^{2s}\big/\big(\frac1{d_k}\sum_{a<T,\,a\ne s}\gamma^{2a}\big)` (unit keys, exact in
    expectation of the energies). As :math:`T\to\infty` it tends to
    :math:`\gamma^{2s}d_k(1-\gamma^2)/(1-\gamma^{2s}(1-\gamma^2))`, which is :math:`\approx\gamma^{2s}d_k(1-\gamma^2)` only when
    :math:`\gamma^{2s}(1-\gamma^2)\ll1`. Claim ``memory.decay-snr``."""
    gm = V.real(gamma, "gamma", low=0.0, high=1.0, low_open=True)
    d_k = V.integer(d_k, "d_k", minimum=1)
    T = V.integer(T, "T", minimum=2)
    s = V.integer(age, "age", minimum=0, maximum=T - 1)
    w = gm ** (2 * np.arange(T))  # weight of the item of age a is gm^(2a)
    return gm ** (2 * s) / ((w.sum() - w[s]) / d_k)


def decay_snr_monte_carlo(
    gamma: float, d_k: int, T: int, ages: Sequence[int], *, trials: int, seed: int, d_v: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    r"""SNR = mean signal energy / mean noise energy of the recall :math:`M_Tk_j` of the item of each age,
    :math:`M_T=\sum_i\gamma^{T-1-i}v_ik_i^\top` with unit keys. Returns (SNR ``[len(ages)]``, delta-method SE)."""
    gm = V.real(gamma, "gamma", low=0.0, high=1.0, low_open=True)
    T = V.integer(T, "T", minimum=2)
    ages = _checks.int_sequence(ages, "ages", minimum=0, maximum=T - 1)
    g = torch_generator(seed)
    trials = V.integer(trials, "trials", minimum=2)
    K = random_keys(T, d_k, batch=(trials,), generator=g)
    Vv = random_values(T, d_v, batch=(trials,), generator=g)
    M = _memory(K * (gm ** torch.arange(T - 1, -1, -1, dtype=F64))[:, None], Vv)  # = decayed_memory(K, Vv, gm)
    snr, se = [], []
    for s in ages:
        j = T - 1 - s
        recall = _recall(M, K[:, j : j + 1])[:, 0]
        signal = gm**s * Vv[:, j]  # ||k_j||^2 = 1
        r, e = ratio_of_means((signal**2).sum(-1), ((recall - signal) ** 2).sum(-1))
        snr.append(r)
        se.append(e)
    return np.array(snr), np.array(se)


@dataclass(frozen=True)
class KeyCapacity:
    """The capacity of a user-supplied key set (:func:`capacity_of_keys`).

    ``n``: the largest number of stored pairs recalled with relMSE :math:`\\le\\varepsilon^2`;
    ``pool``: how many pairs were supplied; ``bracketed``: False when even the whole pool is recalled within
    :math:`\\varepsilon` (the capacity is then at least ``pool``: supply more keys to find it);
    ``relmse_at_n`` and ``relmse_above`` (at ``n + 1``, ``nan`` when not bracketed): the measured errors
    that bracket the answer.
    """

    n: int
    pool: int
    bracketed: bool
    relmse_at_n: float
    relmse_above: float


def relmse_of_keys(keys: torch.Tensor, values: torch.Tensor, n: int, *, permutations: int = 16, seed: int = 0) -> float:
    r"""relMSE of a Hebbian memory holding ``n`` of the given pairs, averaged over random subsets.

    For each of ``permutations`` seeded orders of the pool, the first ``n`` pairs are stored,
    :math:`M=\sum_{j\le n}v_jk_j^\top`, and recalled with their own keys; the result is the ratio of means
    :math:`\sum\lVert Mk_j-v_j\rVert^2/\sum\lVert v_j\rVert^2` over all orders and stored pairs.
    keys ``[P, d_k]``, values ``[P, d_v]``; ``1 <= n <= P``.
    """
    keys, values = _check_pool(keys, values)
    n = V.integer(n, "n", minimum=1, maximum=keys.shape[0])
    return _relmse_orders(keys, values, _orders(keys.shape[0], permutations, seed), n)


def capacity_of_keys(
    keys: torch.Tensor,
    values: torch.Tensor | None = None,
    *,
    eps: float,
    permutations: int = 16,
    seed: int = 0,
) -> KeyCapacity:
    r"""How many of *your* key/value pairs a Hebbian (linear-attention) memory stores within fidelity ``eps``.

    The largest :math:`N` with :func:`relmse_of_keys` :math:`\le\varepsilon^2`, by bisection
    (:func:`largest_true`) over nested subsets of the pool (the first :math:`N` pairs of each of
    ``permutations`` seeded orders: common random numbers, so the measured error grows with :math:`N`).
    For random unit keys the answer is about :math:`1+\varepsilon^2d_k` (:func:`capacity_theory`, claim
    ``memory.linear-capacity``); correlated keys store fewer, orthogonal keys store :math:`d_k` exactly.

    keys ``[P, d_k]`` (real, finite); values ``[P, d_v]`` or ``None`` for seeded Gaussian values
    :math:`\mathcal N(0, I/d_v)` with :math:`d_v = 16`.  Raises ``ValueError`` when a single stored pair
    already misses (keys far from unit norm: normalise them, or raise ``eps``).
    """
    e = V.real(eps, "eps", positive=True)
    V.has_data(V.tensor(keys, "keys", ndim=2), "keys")
    if values is None:
        g = torch_generator(seed)
        values = torch.randn(keys.shape[0], 16, generator=g, dtype=F64).to(keys.dtype) / 4.0
    keys, values = _check_pool(keys, values)
    P = keys.shape[0]
    orders = _orders(P, permutations, seed)

    def at(n: int) -> float:
        return _relmse_orders(keys, values, orders, n)

    r1 = at(1)
    if r1 > e * e:
        norms = keys.norm(dim=-1)
        raise ValueError(
            f"a memory of one pair already misses eps={e:g}: relMSE at N=1 is {r1:.3g} > eps^2={e * e:.3g} "
            f"(key norms range over [{float(norms.min()):.3g}, {float(norms.max()):.3g}]; recall is exact for "
            f"one pair only with unit keys: normalise the keys, or raise eps)"
        )
    if at(P) <= e * e:
        return KeyCapacity(P, P, False, at(P), math.nan)
    n = largest_true(lambda m: at(m) <= e * e, 1, P)
    return KeyCapacity(n, P, True, at(n), at(n + 1))


def _check_pool(keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    V.has_data(V.tensor(keys, "keys", ndim=2), "keys")
    V.has_data(V.tensor(values, "values", ndim=2), "values")
    if values.shape[0] != keys.shape[0]:
        raise ValueError(
            f"values must have one row per key: keys are [P={keys.shape[0]}, d_k], got values {list(values.shape)}"
        )
    if keys.shape[0] < 1:
        raise ValueError("keys must hold at least one key, got an empty [0, d_k] tensor")
    return keys.to(F64), values.to(F64)


def _orders(P: int, permutations: int, seed: int) -> torch.Tensor:
    permutations = V.integer(permutations, "permutations", minimum=1)
    seed = V.integer(seed, "seed", minimum=0)
    g = torch_generator(seed)
    return torch.stack([torch.randperm(P, generator=g) for _ in range(permutations)])


def _relmse_orders(keys: torch.Tensor, values: torch.Tensor, orders: torch.Tensor, n: int) -> float:
    K, Vv = keys[orders[:, :n]], values[orders[:, :n]]  # [R, n, d_k], [R, n, d_v]
    M = Vv.transpose(-1, -2) @ K  # [R, d_v, d_k]
    err = K @ M.transpose(-1, -2) - Vv  # recall M k_j for every stored pair
    return float(err.pow(2).sum() / Vv.pow(2).sum())
