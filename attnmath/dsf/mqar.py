r"""A synthetic multi-query associative recall (MQAR) task and tiny trainers for the DSF chapter's MQAR claims.

The generator follows the zoology ``multiquery_ar`` layout (Arora et al. 2023, as used by the DSF
paper's official code): a context of ``num_kv`` key-value pairs ``k1 v1 k2 v2 ...`` (keys from the
first half of the vocabulary, values from the second, keys distinct within a sequence), then a
query region of zero tokens in which every key appears once at a random position; the label at a
query position is the value bound to that key, and ``-100`` (ignored) everywhere else.  Nothing
is downloaded: everything is drawn from a seeded generator.

Models are small pre-LayerNorm residual stacks with learned token and position embeddings and one
sequence mixer per layer (no MLP), as in the paper's attention configs:

- ``"softmax"``: causal softmax attention, :math:`q,k\in\mathbb R^n` (``d_qk = n``), scale :math:`1/\sqrt n`;
- ``"linear"``: Katharopoulos linear attention, :math:`\phi=\mathrm{elu}+1` on :math:`n`-dim q/k, row-sum normaliser;
- ``"normalized"``: eq. (22) of the paper, :math:`y_i=e^{-(w^\top u_i+b)}\sum_{j\le i}(q_i^\top k_j)v_j`;
- ``"qlstm"`` / ``"qlstm-rev"``: the official qLSTM mixer core (input/gate projection, causal
  depthwise conv of width 4, sigmoid gates, forget gate :math:`\sigma(f)` or :math:`\sigma(-f)^{\mathrm{ReLU}(\alpha)}`),
  its first-order scan a log-depth doubling scan.

:func:`train_mqar` trains one model with AdamW and a cosine schedule on a fixed training set and
returns the test accuracy on query positions; :func:`mqar_sweep` runs seeds.  Everything runs in
float32 on one thread (deterministic).  :func:`paired_lower_bound` compares two models over seeds, and
:func:`no_binding_accuracy` is the accuracy reachable without recall (the baseline a model must clear).  Claims ``dsf.mqar-*``; these are reproductions *in direction
only* at a toy scale, never comparisons with the paper's numbers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, overload

import torch
import torch.nn.functional as F
from torch import nn

from ..base import validation as V
from ..base.numerics import torch_generator

MIXERS = ("softmax", "linear", "normalized", "qlstm", "qlstm-rev")
__all__ = [
    "MIXERS",
    "MQARConfig",
    "MQARModel",
    "PairedDifference",
    "mixer_eigenvalues",
    "mqar_batch",
    "mqar_sweep",
    "no_binding_accuracy",
    "paired_lower_bound",
    "query_positions",
    "train_mqar",
]


def mqar_batch(n: int, seq_len: int, num_kv: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` MQAR sequences: inputs ``[n, seq_len]`` (long) and labels ``[n, seq_len]`` (``-100`` off queries)."""
    n, seq_len = V.integer(n, "n", minimum=1), V.integer(seq_len, "seq_len", minimum=4)
    num_kv, vocab = V.integer(num_kv, "num_kv", minimum=1), V.integer(vocab, "vocab", minimum=4)
    half = vocab // 2
    if num_kv > half - 1:
        raise ValueError(f"num_kv must be < vocab/2 - 1 = {half - 1} (distinct keys), got {num_kv}")
    if 3 * num_kv > seq_len:
        raise ValueError(f"seq_len must be >= 3 num_kv = {3 * num_kv} (context plus queries), got {seq_len}")
    g = torch_generator(seed)
    keys = torch.argsort(torch.rand(n, half - 1, generator=g), dim=1)[:, :num_kv] + 1  # distinct, in [1, half)
    vals = torch.randint(half, vocab, (n, num_kv), generator=g)
    x = torch.zeros(n, seq_len, dtype=torch.long)
    y = torch.full((n, seq_len), -100, dtype=torch.long)
    x[:, 0 : 2 * num_kv : 2], x[:, 1 : 2 * num_kv : 2] = keys, vals
    region = seq_len - 2 * num_kv
    pos = torch.argsort(torch.rand(n, region, generator=g), dim=1)[:, :num_kv] + 2 * num_kv
    order = torch.argsort(torch.rand(n, num_kv, generator=g), dim=1)
    rows = torch.arange(n)[:, None]
    x[rows, pos] = keys.gather(1, order)
    y[rows, pos] = vals.gather(1, order)
    return x, y


class _Attention(nn.Module):
    def __init__(self, kind: str, d: int, n: int):
        super().__init__()
        self.kind = kind
        bias = kind == "normalized"
        self.q, self.k = nn.Linear(d, n, bias=bias), nn.Linear(d, n, bias=bias)
        self.v, self.o = nn.Linear(d, d, bias=False), nn.Linear(d, d, bias=False)
        if kind == "normalized":
            self.eta = nn.Linear(d, 1)
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.q(x), self.k(x), self.v(x)
        L = x.shape[1]
        mask = torch.ones(L, L, dtype=torch.bool, device=x.device).tril()
        if self.kind == "softmax":
            a = (q @ k.transpose(1, 2) / math.sqrt(self.n)).masked_fill(~mask, float("-inf")).softmax(-1)
            y = a @ v
        elif self.kind == "linear":
            a = (F.elu(q) + 1) @ (F.elu(k) + 1).transpose(1, 2) * mask
            y = (a @ v) / a.sum(-1, keepdim=True)
        else:
            y = ((q @ k.transpose(1, 2)) * mask) @ v * torch.exp(-self.eta(x))
        return self.o(y)

    def eigenvalues(self, x: torch.Tensor) -> torch.Tensor:
        """Recurrent-normalisation eigenvalues Λ_i = η_{i-1}/η_i (i ≥ 2), ``[B, L-1]`` (attention mixers)."""
        q, k = self.q(x), self.k(x)
        L = x.shape[1]
        mask = torch.ones(L, L, dtype=torch.bool, device=x.device).tril()
        if self.kind == "softmax":
            log_eta = torch.logsumexp((q @ k.transpose(1, 2) / math.sqrt(self.n)).masked_fill(~mask, float("-inf")), -1)
        elif self.kind == "linear":
            log_eta = torch.log(((F.elu(q) + 1) @ (F.elu(k) + 1).transpose(1, 2) * mask).sum(-1))
        else:
            log_eta = self.eta(x)[..., 0]
        return torch.exp(log_eta[:, :-1] - log_eta[:, 1:])


def _prefix_scan(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""All states of :math:`h_t=a_t\odot h_{t-1}+x_t` (axis 1, :math:`h_0=0`) by a Hillis–Steele doubling scan.

    :math:`\lceil\log_2L\rceil` rounds of the associative combine :math:`(a_2,x_2)\circ(a_1,x_1)=(a_2a_1,\ a_2x_1+x_2)`;
    only products of gates are formed (no division), and autograd sees a dozen tensor ops instead of ``L`` steps.
    """
    off = 1
    while off < x.shape[1]:
        x = torch.cat([x[:, :off], x[:, off:] + a[:, off:] * x[:, :-off]], dim=1)
        a = torch.cat([a[:, :off], a[:, off:] * a[:, :-off]], dim=1)
        off *= 2
    return x


class _QLSTM(nn.Module):
    def __init__(self, d: int, reversed: bool, expansion: int = 2, kernel: int = 4):
        super().__init__()
        h = expansion * d
        self.inp = nn.Linear(d, 2 * h, bias=False)
        self.conv = nn.Conv1d(h, h, kernel, groups=h, padding=kernel - 1)
        self.gates = nn.Linear(h, 3 * h)
        self.out = nn.Linear(h, d, bias=False)
        self.alpha = nn.Parameter(torch.tensor(1.0))
        self.reversed = reversed

    def _gates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        T = x.shape[1]
        gate, z = self.inp(x).chunk(2, dim=-1)
        z = self.conv(z.transpose(1, 2))[..., :T].transpose(1, 2)
        f, i, o = self.gates(z).chunk(3, dim=-1)
        a = torch.exp(-F.relu(self.alpha) * F.softplus(f)) if self.reversed else torch.sigmoid(f)
        return gate, z, a, i, o

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, z, a, i, o = self._gates(x)
        h = _prefix_scan(a, torch.sigmoid(i) * z)
        return self.out(F.gelu(gate) * torch.sigmoid(o) * h)

    def eigenvalues(self, x: torch.Tensor) -> torch.Tensor:
        """The diagonal forget gates Λ_i, ``[B, L, 2d]``."""
        return self._gates(x)[2]


class MQARModel(nn.Module):
    """Token + position embedding, ``layers`` x (LayerNorm, mixer, residual), LayerNorm, unembedding."""

    def __init__(self, kind: str, vocab: int, d: int, n: int, seq_len: int, layers: int = 2, shift: bool = False):
        super().__init__()
        V.choice(kind, "kind", MIXERS)
        self.emb, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq_len, d)
        self.prev = nn.Embedding(vocab, d) if shift else None
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(layers))
        if kind.startswith("qlstm"):
            self.mixers = nn.ModuleList(_QLSTM(d, kind == "qlstm-rev") for _ in range(layers))
        else:
            self.mixers = nn.ModuleList(_Attention(kind, d, n) for _ in range(layers))
        self.final, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def hidden(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Residual stream before each mixer (list of ``[B, L, d]``) and the final one."""
        h = self.emb(x) + self.pos(torch.arange(x.shape[1]))
        if self.prev is not None:  # token shift: each position also sees the previous token (BASED/H3-style)
            h = h + self.prev(F.pad(x[:, :-1], (1, 0)))
        states = []
        for norm, mix in zip(self.norms, self.mixers):
            states.append(norm(h))
            h = h + mix(states[-1])
        return states, h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.final(self.hidden(x)[1]))


@dataclass(frozen=True)
class MQARConfig:
    """One training run: task, model and optimiser sizes (``ci`` defaults: seconds on one core)."""

    kind: str = "linear"
    seq_len: int = 32
    num_kv: int = 4
    vocab: int = 32
    d: int = 32
    n: int = 16
    layers: int = 2
    shift: bool = False
    train: int = 2048
    test: int = 512
    batch: int = 64
    epochs: int = 6
    lr: float = 3e-3
    weight_decay: float = 0.1
    seed: int = 0


@contextlib.contextmanager
def _one_thread_float32() -> Iterator[None]:
    """One thread and float32 defaults, whatever the caller set (a notebook may default to float64)."""
    old_threads, old_dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.set_default_dtype(old_dtype)


@overload
def train_mqar(cfg: MQARConfig, *, return_model: Literal[False] = False, progress: bool = False) -> float: ...
@overload
def train_mqar(cfg: MQARConfig, *, return_model: Literal[True], progress: bool = False) -> tuple[float, MQARModel]: ...
def train_mqar(
    cfg: MQARConfig, *, return_model: bool = False, progress: bool = False
) -> float | tuple[float, MQARModel]:
    """Train ``cfg`` and return the test accuracy on query positions (and the model with ``return_model``)."""
    V.choice(cfg.kind, "cfg.kind", MIXERS)
    with _one_thread_float32():
        torch.manual_seed(cfg.seed)
        xtr, ytr = mqar_batch(cfg.train, cfg.seq_len, cfg.num_kv, cfg.vocab, seed=10_000 + cfg.seed)
        xte, yte = mqar_batch(cfg.test, cfg.seq_len, cfg.num_kv, cfg.vocab, seed=20_000 + cfg.seed)
        model = MQARModel(cfg.kind, cfg.vocab, cfg.d, cfg.n, cfg.seq_len, cfg.layers, cfg.shift)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = cfg.epochs * (cfg.train // cfg.batch)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        g = torch_generator(cfg.seed)
        from tqdm import tqdm

        bar = tqdm(total=steps, disable=not progress, desc=cfg.kind)
        for _ in range(cfg.epochs):
            perm = torch.randperm(cfg.train, generator=g)
            for s in range(0, cfg.train - cfg.batch + 1, cfg.batch):
                idx = perm[s : s + cfg.batch]
                logits = model(xtr[idx])
                loss = F.cross_entropy(logits.reshape(-1, cfg.vocab), ytr[idx].reshape(-1), ignore_index=-100)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                bar.update()
        bar.close()
        with torch.no_grad():
            pred = model(xte).argmax(-1)
            sel = yte != -100
            acc = float((pred[sel] == yte[sel]).float().mean())
    return (acc, model) if return_model else acc


def mqar_sweep(cfg: MQARConfig, seeds: Sequence[int] = (0, 1, 2), **changes: Any) -> list[float]:
    """Test accuracies of ``cfg`` (with ``changes`` applied) over ``seeds``."""
    return [train_mqar(replace(cfg, seed=s, **changes)) for s in seeds]


def mixer_eigenvalues(model: MQARModel, x: torch.Tensor) -> list[torch.Tensor]:
    """DSF eigenvalues of every layer's mixer on inputs ``x`` (recurrent-norm ratios or forget gates), flattened."""
    with torch.no_grad():
        states, _ = model.hidden(x)
        return [mix.eigenvalues(s).flatten() for mix, s in zip(model.mixers, states)]  # type: ignore[operator]  # nn.ModuleList types its items as Module


def no_binding_accuracy(x: torch.Tensor, num_kv: int) -> float:
    r"""Accuracy of the best predictor that knows which values the context holds but not which key each is bound to.

    Each key is queried exactly once, so a sequence whose context values have multiplicities :math:`c_u`
    is answered best by always guessing a most frequent value, with accuracy :math:`\max_u c_u/\#KV`;
    the result is the mean over sequences, :math:`\mathbb E[\max_u c_u]/\#KV`. It is at least
    :math:`1/\#KV` (and far above the uniform :math:`2/\text{vocab}`): a model below it has not learned recall.
    ``x`` is a ``[B, L]`` batch of :func:`mqar_batch` (values at positions ``1, 3, ..., 2 num_kv - 1``).
    """
    num_kv = V.integer(num_kv, "num_kv", minimum=1)
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.dtype != torch.long:
        got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a [B, L] long tensor of MQAR tokens, got {got}")
    if x.shape[1] < 2 * num_kv:
        raise ValueError(f"x must have at least 2 num_kv = {2 * num_kv} columns, got {x.shape[1]}")
    vals = x[:, 1 : 2 * num_kv : 2]
    counts = (vals[:, :, None] == vals[:, None, :]).sum(-1)  # multiplicity of each context value
    return float(counts.max(-1).values.double().mean() / num_kv)


def query_positions(cfg: MQARConfig) -> int:
    """Number of scored query positions in the test set of ``cfg``: ``cfg.test * cfg.num_kv``."""
    return V.integer(cfg.test, "cfg.test", minimum=1) * V.integer(cfg.num_kv, "cfg.num_kv", minimum=1)


@dataclass(frozen=True)
class PairedDifference:
    """Per-seed differences ``a_s - b_s`` and their one-sided Student-t lower confidence bound."""

    diffs: tuple[float, ...]
    mean: float
    sd: float
    lower: float
    alpha: float
    t_quantile: float
    wins: int

    @property
    def n(self) -> int:
        return len(self.diffs)


def paired_lower_bound(a: Sequence[float], b: Sequence[float], *, alpha: float = 0.05) -> PairedDifference:
    r"""One-sided paired comparison of per-seed accuracies ``a`` and ``b`` (same seeds, same order).

    With :math:`d_s=a_s-b_s` (:math:`s=1..n`, :math:`n\ge2`), :math:`\bar d` and the sample standard
    deviation :math:`s_d`, the lower :math:`(1-\alpha)` confidence bound of the mean difference is
    :math:`\bar d-t_{1-\alpha,\,n-1}\,s_d/\sqrt n` (Student t, seeds independent). ``lower > m`` is the
    one-sided paired t-test rejecting :math:`H_0:\ \mathbb E[d]\le m` at level :math:`\alpha`.
    ``wins`` counts seeds with :math:`d_s>0` (ties do not count).
    """
    from scipy.stats import t as student_t

    alpha = V.real(alpha, "alpha", low=0.0, high=0.5, low_open=True, high_open=True)
    try:
        a, b = [float(v) for v in a], [float(v) for v in b]
    except TypeError as exc:
        raise TypeError(
            f"a and b must be sequences of real numbers, got {type(a).__name__}, {type(b).__name__}"
        ) from exc
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"a and b must have the same length >= 2 (one value per seed), got {len(a)} and {len(b)}")
    if not all(math.isfinite(v) for v in a + b):
        raise ValueError("a and b must be finite")
    d = torch.tensor([x - y for x, y in zip(a, b)], dtype=torch.float64)
    n = len(d)
    mean, sd = float(d.mean()), float(d.std(correction=1))
    tq = float(student_t.ppf(1.0 - alpha, n - 1))
    return PairedDifference(tuple(d.tolist()), mean, sd, mean - tq * sd / math.sqrt(n), alpha, tq, int((d > 0).sum()))
