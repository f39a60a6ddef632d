r"""Sweep cells: the independent, seeded tasks of a heavy claim, and where they run.

A heavy claim (an MQAR grid of training runs, a Fig. 6 sweep, a capacity curve) does not loop over its sweep
itself. It names its cells and asks for their results, then checks the gathered results::

    accs = gather([Cell.of(train_accuracy, replace(cfg, seed=s)) for s in seeds])

A :class:`Cell` is a top-level function and its arguments. Its *identity* is ``module:qualname(args)``
(the ``repr`` of every argument), and everything about its run follows from that identity alone:

* its seed, :math:`\mathrm{seed} = \mathrm{int}(\mathrm{sha256}(\text{identity})[:4])`, reseeds numpy's and
  torch's global streams before it runs (a cell whose function takes its own seed argument uses that);
* it runs with one torch thread, so a float reduction inside it sums in the same order on any worker;
* its result is stored under ``sha256(identity, world, source fingerprint)`` in a content-addressed
  :class:`Store` when one is configured, and a rerun reuses it.

So a cell's result is the same whether it runs here, on one worker or on twenty, first or last. Where the
cells run is the *executor* of the current context (:func:`using`): :class:`SerialExecutor` runs them in
this process one after the other (the default); :class:`attnmath.ledger.cluster.DaskExecutor` sends them to
a Dask cluster (``python -m attnmath verify --workers N`` or ``--cluster ADDRESS``).

A negative control runs its claim in a wrong world: :func:`world` names that world, which enters every key,
so a control never reuses (or stores) a result computed in the right world.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import pathlib
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

#: Environment variable naming the folder of the default cell store (unset: no store, cells always run).
STORE_ENV = "ATTNMATH_CELL_STORE"


@dataclass(frozen=True)
class Cell:
    """One task of a sweep: ``fn(*args, **kwargs)`` with ``fn`` a top-level (importable) function.

    Build it with :meth:`Cell.of`. The arguments must have a ``repr`` that names their value (numbers,
    strings, tuples, dataclasses such as :class:`attnmath.dsf.mqar.MQARConfig`): the identity is made of it.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def of(cls, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Cell:
        """``Cell(fn, args, sorted kwargs)``; ``TypeError`` when ``fn`` is not a function with a module and a name.

        :func:`gather` also requires a top-level function (not a lambda or a local function) outside a
        control's world; inside one (a control patches a cell's function with a near-miss) any function will do.
        """
        qualname = getattr(fn, "__qualname__", None)
        module = getattr(fn, "__module__", None)
        if not callable(fn) or not isinstance(qualname, str) or not isinstance(module, str):
            raise TypeError(f"fn must be a top-level function, got {fn!r}")
        return cls(fn, tuple(args), tuple(sorted(kwargs.items())))

    @property
    def top_level(self) -> bool:
        """Whether ``fn`` is importable by name (not a ``<lambda>`` or a function local to another)."""
        return "<" not in self.fn.__qualname__

    @property
    def identity(self) -> str:
        """``module:qualname(repr(arg), ..., name=repr(value), ...)``: what the cell is, independent of where it runs."""
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"{self.fn.__module__}:{self.fn.__qualname__}({', '.join(parts)})"

    @property
    def seed(self) -> int:
        """The cell's seed: the first four bytes of ``sha256(identity)``, as an integer in ``[0, 2**32)``."""
        return int.from_bytes(hashlib.sha256(self.identity.encode()).digest()[:4], "big")

    def key(self, world: str = "") -> str:
        """Content address of the result: ``sha256(identity, world, source fingerprint)`` (64 hex digits)."""
        from .cache import source_fingerprint

        text = f"{self.identity}\n{world}\n{source_fingerprint()}"
        return hashlib.sha256(text.encode()).hexdigest()

    def __str__(self) -> str:
        text = self.identity
        return text if len(text) <= 160 else text[:157] + "..."


@contextlib.contextmanager
def _isolated(seed: int) -> Iterator[None]:
    """Seed numpy's and torch's global streams with ``seed`` and use one torch thread; restore all on exit."""
    import torch

    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global stream a caller may be using
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        try:
            np.random.seed(seed)  # noqa: NPY002 - cells that draw from the global stream draw the same numbers
            torch.manual_seed(seed)
            torch.set_num_threads(1)
            yield
        finally:
            torch.set_num_threads(threads)
            np.random.set_state(np_state)  # noqa: NPY002


def execute(cell: Cell) -> Any:
    """Run one cell here, isolated: its identity's seed, one torch thread; the caller's streams are restored."""
    if not isinstance(cell, Cell):
        raise TypeError(f"cell must be a Cell, got {type(cell).__name__}")
    with _isolated(cell.seed):
        return cell.fn(*cell.args, **dict(cell.kwargs))


class Store:
    """Content-addressed results: ``<root>/<key[:2]>/<key>.pkl``, written atomically (a temporary file, then a rename).

    The root must be a folder every worker sees (on one machine any folder; on several, a shared file
    system) for workers to reuse each other's cells across runs; within one run results also travel through
    the scheduler. Files are pickles written by this package: point a store only at a folder you trust.
    """

    def __init__(self, root: str | os.PathLike[str]):
        if not isinstance(root, str | os.PathLike):
            raise TypeError(f"root must be a path (str or os.PathLike), got {type(root).__name__}")
        self.root = pathlib.Path(root)

    def _path(self, key: str) -> pathlib.Path:
        if not isinstance(key, str) or len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"key must be 64 lower-case hex digits (a sha256), got {key!r}")
        return self.root / key[:2] / f"{key}.pkl"

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, result)`` when the store holds ``key``, else ``(False, None)``."""
        path = self._path(key)
        try:
            with open(path, "rb") as fh:
                return True, pickle.load(fh)
        except FileNotFoundError:
            return False, None

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (the last writer wins; every writer of one key writes the same result)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.pkl")) if self.root.exists() else 0

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"


def default_store() -> Store | None:
    """The store named by ``ATTNMATH_CELL_STORE``, or None (no store: every cell runs)."""
    folder = os.environ.get(STORE_ENV)
    return Store(folder) if folder else None


def run_cell(cell: Cell, world: str = "", store_root: str | None = None) -> Any:
    """Run one cell (isolated, see :func:`execute`), reusing and filling the store at ``store_root``.

    This is the task a cluster worker runs; the store is skipped in a control's world (``world != ""``).
    """
    store = Store(store_root) if store_root is not None and not world else None
    key = cell.key(world)
    if store is not None:
        found, value = store.get(key)
        if found:
            return value
    value = execute(cell)
    if store is not None:
        store.put(key, value)
    return value


class Executor(Protocol):
    """Where cells run: ``map(cells, world)`` returns their results in the order given."""

    def map(self, cells: Sequence[Cell], world: str) -> list[Any]: ...


@dataclass
class SerialExecutor:
    """Runs cells in this process one after the other, reusing and filling ``store`` (None: no store)."""

    store: Store | None = None

    def map(self, cells: Sequence[Cell], world: str) -> list[Any]:
        root = None if self.store is None else str(self.store.root)
        return [run_cell(c, world, root) for c in cells]


_EXECUTOR: contextvars.ContextVar[Executor | None] = contextvars.ContextVar("attnmath_cell_executor", default=None)
_WORLD: contextvars.ContextVar[str] = contextvars.ContextVar("attnmath_cell_world", default="")


def current_executor() -> Executor:
    """The executor of this context (:func:`using`), else a :class:`SerialExecutor` with :func:`default_store`."""
    ex = _EXECUTOR.get()
    return ex if ex is not None else SerialExecutor(default_store())


@contextlib.contextmanager
def using(executor: Executor) -> Iterator[Executor]:
    """Run the cells gathered inside the ``with`` block on ``executor``."""
    if not callable(getattr(executor, "map", None)):
        raise TypeError(f"executor must have a map(cells, world) method, got {type(executor).__name__}")
    token = _EXECUTOR.set(executor)
    try:
        yield executor
    finally:
        _EXECUTOR.reset(token)


@contextlib.contextmanager
def world(name: str) -> Iterator[None]:
    """Inside the block, cells belong to the world ``name`` (a negative control): new keys, no store."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string naming the world, got {name!r}")
    token = _WORLD.set(name)
    try:
        yield
    finally:
        _WORLD.reset(token)


def gather(cells: Sequence[Cell]) -> list[Any]:
    """The results of ``cells`` (in order) from the current executor; a cell that raises raises here.

    Every cell runs isolated (its identity's seed, one thread), so the results do not depend on the
    executor. Repeated cells run once. Inside a control's world (``cells.world``) the cells run in this process
    whatever the executor: the control's patches exist only here.
    """
    if isinstance(cells, Cell) or not isinstance(cells, Sequence):
        raise TypeError(f"cells must be a sequence of Cell, got {type(cells).__name__}")
    bad = [type(c).__name__ for c in cells if not isinstance(c, Cell)]
    if bad:
        raise TypeError(f"cells must be a sequence of Cell, got elements of type {sorted(set(bad))}")
    unique = list({c.identity: c for c in cells}.values())
    world_ = _WORLD.get()
    if world_:  # a control patches functions in this process: its cells run here, and store nothing
        results = SerialExecutor(None).map(unique, world_)
    else:
        local = sorted({c.identity.split("(")[0] for c in unique if not c.top_level})
        if local:  # a worker could not import it, and its identity would not be unique
            raise TypeError(f"a cell's fn must be a top-level function (importable by a worker), got {local}")
        results = current_executor().map(unique, world_)
    by_identity = {c.identity: r for c, r in zip(unique, results)}
    return [by_identity[c.identity] for c in cells]
