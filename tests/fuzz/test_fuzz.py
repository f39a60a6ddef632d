"""The CI sample of the fuzz harness (issue 17): every public callable, a seeded sample of corruptions.

Every public callable has an example call and that call succeeds; every sampled corruption is ``clear``
(a ``ValueError``/``TypeError`` naming the corrupted argument) or ``valid`` (a valid variant that works
and matches, or a justified exception of tests/fuzz/known_*.py): no ``unclear``, ``silent`` or ``hang``.
``make fuzz`` runs every corruption of every argument and asserts the same.
"""

from __future__ import annotations

import random
import time

import pytest

from .api import public_callables
from .classification import KNOWN_VALID
from .examples import EXAMPLES
from .harness import OUTCOMES, Task, default_workers, run_task, run_tasks, summarize, tasks_for

SEED = 17
PER_CALLABLE = 8  # corruptions sampled per callable (plus its example call): about 40 s on 2 cores
TIMEOUT_S = 10.0


def test_every_public_callable_has_one_example() -> None:
    public = set(public_callables())
    assert len(public) > 200
    missing = sorted(public - set(EXAMPLES))
    assert not missing, f"public callables without an example call in tests/fuzz/examples.py: {missing}"
    stale = sorted(set(EXAMPLES) - public)
    assert not stale, f"examples of callables that are not public (renamed or removed?): {stale}"


def test_known_exceptions_carry_reasons() -> None:
    assert all(len(reason) > 10 for *_, reason in KNOWN_VALID)


def test_classifier() -> None:
    assert run_task(Task("softmax.softmax_attention", "q", "nan")) == ("clear", "")
    assert run_task(Task("softmax.softmax_attention", "", "example"))[0] == "valid"
    assert run_task(Task("softmax.softmax_attention", "q", "noncontiguous"))[0] == "valid"
    assert run_task(Task("softmax.softmax_attention", "q", "requires_grad"))[0] == "valid"
    # a message naming another argument is not clear
    outcome, detail = run_task(Task("softmax.softmax_attention", "q", "rank_up"))
    assert outcome in ("clear", "unclear") and (outcome == "clear" or "not naming q" in detail)


def _sample() -> list[Task]:
    rng = random.Random(SEED)
    tasks: list[Task] = []
    for key in sorted(public_callables()):
        every = tasks_for(key)
        corrupt = every[1:]
        tasks.append(every[0])
        tasks += rng.sample(corrupt, min(PER_CALLABLE, len(corrupt)))
    return tasks


def test_ci_sample() -> None:
    tasks = _sample()
    t0 = time.monotonic()
    results = run_tasks(tasks, workers=default_workers(), timeout_s=TIMEOUT_S)
    elapsed = time.monotonic() - t0
    assert set(results) == {t.id for t in tasks}
    broken = {tid: d for tid, (o, d) in results.items() if tid.endswith(":example") and o != "valid"}
    assert not broken, f"example calls that fail: {broken}"
    bad = [f"{tid}: {o}: {d}" for tid, (o, d) in sorted(results.items()) if o in ("unclear", "silent", "hang")]
    assert not bad, "calls that are not clear or valid:\n" + "\n".join(bad)
    assert elapsed < 120, f"the CI sample took {elapsed:.0f} s (budget: 2 minutes)"
    totals = {o: sum(c[o] for c in summarize(results).values()) for o in OUTCOMES}
    print(f"fuzz sample: {len(tasks)} calls in {elapsed:.0f} s: {totals}")


@pytest.mark.parametrize("key", ["synthesis.held_input_ode_states", "dsf.chunked_diag_scan"])
def test_sample_tasks_exist(key: str) -> None:
    assert any(t.arg for t in tasks_for(key))
