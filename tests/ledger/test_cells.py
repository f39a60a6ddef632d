"""Sweep cells (attnmath.ledger.cells): identity, seeds from identity, isolation, the store, executors, worlds."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

from attnmath.ledger import cells
from attnmath.ledger.cells import Cell, SerialExecutor, Store, gather

CALLS: list[tuple] = []


def draw(n: int, scale: float = 1.0) -> list[float]:
    """A cell that draws from the global streams (so its result shows the seed it ran with) and counts its calls."""
    CALLS.append((n, scale))
    return [float(x) * scale for x in np.random.rand(n)] + [float(torch.rand(()))]  # noqa: NPY002


def threads() -> int:
    return torch.get_num_threads()


def boom(x: int) -> int:
    raise RuntimeError(f"cell {x} failed")


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def test_identity_names_function_and_arguments():
    c = Cell.of(draw, 3, scale=2.0)
    assert c.identity == f"{__name__}:draw(3, scale=2.0)"
    assert Cell.of(draw, 3, scale=2.0).identity == c.identity
    assert Cell.of(draw, 4, scale=2.0).identity != c.identity


def test_seed_comes_from_identity_not_from_order():
    a, b = Cell.of(draw, 3), Cell.of(draw, 4)
    first = gather([a, b])
    second = gather([b, a])
    assert first == second[::-1]  # each cell's numbers do not depend on its position
    assert a.seed != b.seed and 0 <= a.seed < 2**32
    np.random.seed(a.seed)  # noqa: NPY002
    assert first[0][:3] == [float(x) for x in np.random.rand(3)]  # noqa: NPY002 - the seed the cell ran with


def test_cell_runs_with_one_thread_and_restores_the_callers_state():
    torch.set_num_threads(2)
    np.random.seed(123)  # noqa: NPY002
    expected = np.random.rand()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    assert gather([Cell.of(threads)]) == [1]
    assert torch.get_num_threads() == 2
    assert np.random.rand() == expected  # noqa: NPY002 - the caller's stream continues where it was


def test_repeated_cells_run_once():
    out = gather([Cell.of(draw, 2), Cell.of(draw, 2), Cell.of(draw, 5)])
    assert out[0] == out[1] and len(CALLS) == 2


def test_store_reuses_finished_cells(tmp_path):
    store = Store(tmp_path / "store")
    with cells.using(SerialExecutor(store)):
        first = gather([Cell.of(draw, 3), Cell.of(draw, 4)])
    assert len(CALLS) == 2 and len(store) == 2
    with cells.using(SerialExecutor(Store(tmp_path / "store"))):
        again = gather([Cell.of(draw, 4), Cell.of(draw, 3)])
    assert len(CALLS) == 2  # nothing ran: both came from the store
    assert again == first[::-1]


def test_store_key_depends_on_world_and_source(monkeypatch):
    c = Cell.of(draw, 3)
    here = c.key()
    assert len(here) == 64 and here != c.key("control x: wrong")
    monkeypatch.setattr("attnmath.ledger.cache._FINGERPRINT", "another source tree")
    assert c.key() != here  # edited code never reuses a stored result


def test_a_control_world_neither_reads_nor_writes_the_store(tmp_path):
    store = Store(tmp_path)
    with cells.using(SerialExecutor(store)):
        gather([Cell.of(draw, 3)])
        with cells.world("control demo: wrong"):
            gather([Cell.of(draw, 3)])
    assert len(CALLS) == 2 and len(store) == 1


def test_a_raising_cell_raises_from_gather():
    with pytest.raises(RuntimeError, match="cell 7 failed"):
        gather([Cell.of(boom, 7)])


@pytest.mark.parametrize("fn", [functools.partial(draw, 1), "draw"])
def test_cell_refuses_what_is_not_a_named_function(fn):
    with pytest.raises(TypeError, match="fn must be a top-level function"):
        Cell.of(fn, 1)


def test_gather_refuses_local_functions_except_in_a_control_world(tmp_path):
    def near_miss(n):  # what a control patches in: local to the control, never sent to a worker
        return n + 1

    with pytest.raises(TypeError, match="importable by a worker"):
        gather([Cell.of(lambda n: n, 1)])
    with pytest.raises(TypeError, match="importable by a worker"):
        gather([Cell.of(near_miss, 1)])

    class Refuses:
        def map(self, cells_, world):
            raise AssertionError("a control's cells must not leave this process")

    with cells.using(Refuses()), cells.world("control demo: near miss"):
        assert gather([Cell.of(near_miss, 1), Cell.of(draw, 2)])[0] == 2


def test_gather_and_store_validate_their_arguments(tmp_path):
    with pytest.raises(TypeError, match="cells must be a sequence of Cell"):
        gather(Cell.of(draw, 1))
    with pytest.raises(TypeError, match="elements of type"):
        gather([Cell.of(draw, 1), 3])
    with pytest.raises(ValueError, match="64 lower-case hex"):
        Store(tmp_path).get("../etc/passwd")
    with pytest.raises(TypeError, match="root must be a path"):
        Store(3)
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        with cells.world(""):
            pass
    with pytest.raises(TypeError, match="executor must have a map"):
        with cells.using(object()):
            pass


def test_default_store_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(cells.STORE_ENV, raising=False)
    assert cells.default_store() is None
    monkeypatch.setenv(cells.STORE_ENV, str(tmp_path))
    store = cells.default_store()
    assert store is not None and store.root == tmp_path
