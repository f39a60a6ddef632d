"""MQAR claims, reproduced *in direction only* with tiny models on a synthetic task (never against paper numbers).

Tier ``ci`` uses a one-layer model with a token shift (the previous token's embedding is added
to each position, as the short convolutions of H3/BASED do; qLSTM's own width-4 convolution also
sees it), 384 AdamW steps and 3 seeds per cell, so that all four claims take well under a minute
of one CPU core.  Tier ``paper`` uses the paper's two layers without the shift, longer training
and more seeds; it is still far from the paper's grid (App. J-K of Sieber et al. 2024: 320 runs of
up to 64 epochs).  Each ordering is asserted on seed means, allowing a 2-point dip where an
ordering over several state sizes is asserted.  Sizes: :data:`attnmath.dsf.claims.sizes.SIZES`.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import replace
from statistics import mean
from types import SimpleNamespace
from unittest import mock

import torch

from attnmath.claims import artifact_path, at_least, claim, control, holds, source_fingerprint

from ..mqar import MQARConfig, MQARModel, mixer_eigenvalues, mqar_batch, train_mqar
from .sizes import SIZES

_SRC = "sieber2024understanding"
_SOURCES = "see the book's Sources appendix"
DIP = 0.02  # a 2-point dip allowed between neighbouring state sizes (our allowance for 3-seed noise)
_TASKS = {"attention": "mqar_attention", "attention-long": "mqar_attention_long", "qlstm": "mqar_qlstm"}


def mqar_config(tier: str, task: str) -> MQARConfig:
    """The configuration of ``task`` at ``tier``: ``"attention"``, ``"attention-long"`` (a 2.7x larger training
    budget at ``ci``: 512 steps of batch 64) or ``"qlstm"``; the values are in :data:`.sizes.SIZES`."""
    if task not in _TASKS:
        raise ValueError(f"task must be one of {tuple(_TASKS)}, got {task!r}")
    return getattr(SIZES[tier], _TASKS[task])


def seeds(tier: str) -> tuple[int, ...]:
    """Seeds per cell: 3 at tier ``ci``, 5 at tier ``paper``."""
    return SIZES[tier].mqar_seeds


@functools.cache
def trained(cfg: MQARConfig) -> tuple[float, MQARModel]:
    """(test accuracy, trained model) of one run, cached per process (the attention claims share their linear-attention runs).

    Inside ``make test`` (``ATTNMATH_CLAIM_CACHE`` set) the claims stage also stores each trained model with
    the source fingerprint, and notebook 11 loads it instead of training the same configuration again
    (:func:`attnmath.claims.artifact_path`). A standalone run always trains.
    """
    path = artifact_path(f"mqar-{hashlib.sha256(repr(cfg).encode()).hexdigest()[:20]}.pt")
    if path is not None and path.exists():
        data = torch.load(path, weights_only=True)
        if data["fingerprint"] == source_fingerprint() and data["config"] == repr(cfg):
            model = MQARModel(cfg.kind, cfg.vocab, cfg.d, cfg.n, cfg.seq_len, cfg.layers, cfg.shift)
            model.load_state_dict(data["state"])
            return float(data["accuracy"]), model
    acc, model = train_mqar(cfg, return_model=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        state = {"fingerprint": source_fingerprint(), "config": repr(cfg), "accuracy": acc, "state": model.state_dict()}
        torch.save(state, tmp)
        os.replace(tmp, path)
    return acc, model


def run(cfg: MQARConfig) -> float:
    """Test accuracy of one (cached) training run."""
    return trained(cfg)[0]


def run_with_gates(cfg: MQARConfig) -> tuple[float, float]:
    """(test accuracy, mean forget-gate eigenvalue Λ on 64 fresh sequences) of one (cached) qLSTM run."""
    acc, model = trained(cfg)
    x, _ = mqar_batch(64, cfg.seq_len, cfg.num_kv, cfg.vocab, seed=99)
    return acc, float(mixer_eigenvalues(model, x)[0].mean())


def cell(tier: str, task: str, **changes) -> list[float]:
    """Accuracies of one grid cell over the seeds of ``tier``."""
    cfg = mqar_config(tier, task)
    return [run(replace(cfg, seed=s, **changes)) for s in seeds(tier)]


def _fmt(xs) -> str:
    return "[" + ", ".join(f"{x:.3f}" for x in xs) + "]"


STATE_SIZES = (2, 4, 8, 16)


@claim(
    "dsf.mqar-linear-state-size",
    title="MQAR (direction only): linear attention's accuracy does not decrease as the state expansion n grows",
    statement=r"\overline{\mathrm{acc}}_{\text{lin}}(n_{k+1})\ge\overline{\mathrm{acc}}_{\text{lin}}(n_k)-0.02,\ n\in\{2,4,8,16\}",
    source=f"{_SRC} Fig. 1 (with larger n, linear attention approaches softmax); a toy-scale reproduction "
    f"in direction only ({_SOURCES})",
    status_of_source="stated",
    kinds=("statistical",),
)
def _linear_accuracy_grows_with_state(tier: str):
    means = [mean(cell(tier, "attention", kind="linear", n=n)) for n in STATE_SIZES]
    checks = [
        at_least(
            f"mean acc at n={b} minus n={a}",
            mb - ma,
            -DIP,
            reason=f"direction only: means of {len(seeds(tier))} seeds, a 2-point dip allowed",
            kind="statistical",
        )
        for (a, ma), (b, mb) in zip(zip(STATE_SIZES, means), list(zip(STATE_SIZES, means))[1:])
    ]
    checks.append(
        holds("largest n beats smallest n", means[-1] > means[0], kind="statistical", details=f"means {_fmt(means)}")
    )
    return checks


def _reduced_budget(tier_changes: dict, **mqar_changes):
    """A SIZES stand-in for a control: 1 seed per cell, each MQAR configuration changed by ``mqar_changes``."""
    tiers = {}
    for tier in ("ci", "paper"):
        entries = dict(vars(SIZES[tier]), mqar_seeds=(0,), **tier_changes)
        for key in _TASKS.values():
            entries[key] = replace(entries[key], **mqar_changes)
        tiers[tier] = SimpleNamespace(**entries)
    return mock.patch(f"{__name__}.SIZES", tiers)


@control(
    "dsf.mqar-linear-state-size",
    "the state expansion n is ignored: every cell trains n = 2 (reduced budget: 1 seed, 256 sequences x 4 epochs)",
)
def _state_size_ignored():
    grid_cell = cell

    def fixed_n(tier, task, **changes):
        return grid_cell(tier, task, **{**changes, "n": 2})

    with _reduced_budget({}, train=256, epochs=4), mock.patch(f"{__name__}.cell", fixed_n):
        yield


@claim(
    "dsf.mqar-softmax-vs-linear",
    title="MQAR (direction only): softmax attention is at least as accurate as linear attention at the same small n",
    statement=r"\overline{\mathrm{acc}}_{\text{softmax}}(n)\ge\overline{\mathrm{acc}}_{\text{lin}}(n),\ n=4",
    source=f"{_SRC} Figs. 1-2 (softmax attention is the most accurate); a toy-scale reproduction in direction "
    f"only ({_SOURCES})",
    status_of_source="stated",
    kinds=("statistical",),
)
def _softmax_beats_linear(tier: str):
    sm, lin = cell(tier, "attention", kind="softmax", n=4), cell(tier, "attention", kind="linear", n=4)
    return [
        at_least(
            "mean acc softmax minus linear (n=4)",
            mean(sm) - mean(lin),
            0.0,
            reason=f"direction only: means of {len(sm)} seeds",
            kind="statistical",
        ),
        holds(
            "softmax wins in every seed",
            all(s >= l for s, l in zip(sm, lin)),
            kind="statistical",
            details=f"softmax {_fmt(sm)}, linear {_fmt(lin)}",
        ),
    ]


@control(
    "dsf.mqar-softmax-vs-linear",
    "softmax attention left at its random initialisation (0 training epochs; reduced budget: 1 seed)",
)
def _softmax_untrained():
    grid_cell = cell

    def untrained_softmax(tier, task, **changes):
        if changes.get("kind") == "softmax":
            changes = {**changes, "epochs": 0}
        return grid_cell(tier, task, **changes)

    with _reduced_budget({}), mock.patch(f"{__name__}.cell", untrained_softmax):
        yield


@claim(
    "dsf.mqar-normalized-vs-linear",
    title="MQAR (direction only): normalized attention (eq. 22) beats linear attention at the same n, given 512 steps of batch 64",
    statement=r"\overline{\mathrm{acc}}_{\text{norm}}(n)\ge\overline{\mathrm{acc}}_{\text{lin}}(n),\ n=4,\ \text{512 AdamW steps of batch 64}",
    source=f"{_SRC} Fig. 2 (normalized attention, eq. (22), against linear attention); a toy-scale reproduction "
    f"in direction only ({_SOURCES})",
    status_of_source="stated",
    kinds=("statistical",),
)
def _normalized_beats_linear(tier: str):
    nm, lin = cell(tier, "attention-long", kind="normalized", n=4), cell(tier, "attention-long", kind="linear", n=4)
    nm_s, lin_s = cell(tier, "attention", kind="normalized", n=4), cell(tier, "attention", kind="linear", n=4)
    return [
        at_least(
            "mean acc normalized minus linear (n=4, 512 steps of 64)",
            mean(nm) - mean(lin),
            0.0,
            reason=f"direction only: means of {len(nm)} seeds",
            kind="statistical",
        ),
        holds(
            "normalized wins in every seed (512 steps of 64)",
            all(a >= b for a, b in zip(nm, lin)),
            kind="statistical",
            details=f"normalized {_fmt(nm)}, linear {_fmt(lin)}; not asserted, the 384x32 budget of the other attention claims: "
            f"normalized {_fmt(nm_s)}, linear {_fmt(lin_s)}",
        ),
    ]


@control(
    "dsf.mqar-normalized-vs-linear",
    "normalized attention left at its random initialisation (0 training epochs; reduced budget: 1 seed)",
)
def _normalized_untrained():
    grid_cell = cell

    def untrained_normalized(tier, task, **changes):
        if changes.get("kind") == "normalized":
            changes = {**changes, "epochs": 0}
        return grid_cell(tier, task, **changes)

    with _reduced_budget({}), mock.patch(f"{__name__}.cell", untrained_normalized):
        yield


@claim(
    "dsf.mqar-qlstm-reversed",
    title="MQAR (direction only): the reversed-sigmoid forget gate (eq. 23) helps the qLSTM on the long-context task",
    statement=r"\overline{\mathrm{acc}}_{\text{qLSTM-rev}}\ge\overline{\mathrm{acc}}_{\text{qLSTM}},\quad\overline{\Lambda}_{\text{rev}}>\overline{\Lambda}",
    source=f"{_SRC} Fig. 3 and §4.3 (the reversed-sigmoid transition beats the original qLSTM transition); a "
    f"toy-scale reproduction in direction only ({_SOURCES})",
    status_of_source="stated",
    kinds=("statistical",),
)
def _reversed_sigmoid_helps_qlstm(tier: str):
    cfg = mqar_config(tier, "qlstm")
    plain = [run_with_gates(replace(cfg, kind="qlstm", seed=s)) for s in seeds(tier)]
    rev = [run_with_gates(replace(cfg, kind="qlstm-rev", seed=s)) for s in seeds(tier)]
    acc_p, acc_r = [a for a, _ in plain], [a for a, _ in rev]
    lam_p, lam_r = [g for _, g in plain], [g for _, g in rev]
    return [
        at_least(
            f"mean acc qLSTM-rev minus qLSTM (L={cfg.seq_len})",
            mean(acc_r) - mean(acc_p),
            0.0,
            reason=f"direction only: means of {len(acc_r)} seeds",
            kind="statistical",
        ),
        holds(
            "mean forget-gate eigenvalue is larger with the reversed sigmoid (longer memory)",
            mean(lam_r) > mean(lam_p),
            kind="statistical",
            details=f"acc rev {_fmt(acc_r)}, plain {_fmt(acc_p)}; mean Λ rev {_fmt(lam_r)}, plain {_fmt(lam_p)}",
        ),
    ]


@control(
    "dsf.mqar-qlstm-reversed",
    "the reversed gate is never applied: 'qlstm-rev' trains the plain qLSTM (reduced budget: 1 seed, 256 sequences x 4 epochs)",
)
def _reversed_gate_not_applied():
    gates = run_with_gates

    def plain_only(cfg):
        return gates(replace(cfg, kind="qlstm"))

    with _reduced_budget({}, train=256, epochs=4), mock.patch(f"{__name__}.run_with_gates", plain_only):
        yield
