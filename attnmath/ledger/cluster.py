"""Claims and their cells on a Dask cluster (``dask.distributed``): ``python -m attnmath verify --workers N``.

:func:`verify_on_cluster` submits each selected claim as one task. Inside it, the claim's cells
(:mod:`attnmath.ledger.cells`) go to the same cluster as further tasks (:class:`DaskExecutor`: the claim's task
secedes from its worker's thread pool while it waits, the pattern of :func:`distributed.worker_client`), and
the claim's checks run on the gathered results. :func:`open_client` connects to a running scheduler
(``--cluster ADDRESS``) or starts an embedded :class:`distributed.LocalCluster` of worker processes on this
machine (``--workers N``, one thread each).

Faults. A cell's task key is its content address (``cell-<sha256>``), and each task may run ``RETRIES`` more
times: a worker that dies mid-task (its nanny restarts it) costs only the tasks it was running, which the
scheduler gives to another worker; two claims that need the same cell share one task. A cell that raises
makes its claim fail with the cell's traceback. With a store (``--store``, a folder every worker sees) each
cell's result is written by the worker that computed it, so nothing finished is lost and a rerun reuses it.

Every cell runs isolated (its identity's seed, one torch thread; see :mod:`attnmath.ledger.cells`), and the
workers run with one thread, so a claim's verdict and numbers do not depend on the number of workers or on
the order in which tasks finish.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import cells
from .registry import Claim, get
from .results import ClaimResult

if TYPE_CHECKING:
    from distributed import Client

#: Extra attempts a task gets when its worker dies (the scheduler's own limit, ``allowed-failures``, also applies).
RETRIES = 2
CELL_PREFIX = "cell-"
CLAIM_PREFIX = "claim-"
_PROGRESS = "attnmath-progress"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - the test environment has it
        raise ImportError(
            "running claims on a cluster needs dask.distributed: pip install 'attnmath[cluster]' "
            "(or pip install 'dask[distributed]')"
        ) from exc
    return distributed


@dataclass
class DaskExecutor:
    """Sends cells to the Dask cluster of the current client (from a worker: that worker's client, seceded).

    ``store_root``: the folder of the content-addressed :class:`attnmath.ledger.cells.Store`, or None.
    """

    store_root: str | None = None

    def map(self, cells_: Sequence[cells.Cell], world: str) -> list[Any]:
        distributed = _distributed()
        try:
            distributed.get_worker()
        except ValueError:  # not inside a task: the client of this process
            return self._submit(distributed.get_client(), cells_, world)
        with distributed.worker_client() as client:  # secede: the waiting claim frees its worker thread
            return self._submit(client, cells_, world)

    def _submit(self, client: Client, cells_: Sequence[cells.Cell], world: str) -> list[Any]:
        futures = [
            client.submit(
                cells.run_cell,
                c,
                world,
                self.store_root,
                key=CELL_PREFIX + c.key(world),
                retries=RETRIES,
            )
            for c in cells_
        ]
        return client.gather(futures)


def _claim_task(claim_id: str, tier: str, controls: bool, store_root: str | None) -> ClaimResult:
    """The task of one claim on a worker: the claim (and its controls) with cells sent to the cluster."""
    import torch

    from .runner import run

    if not torch.cuda.is_available():  # the kernel claims run Triton's interpreter where there is no GPU
        os.environ.setdefault("TRITON_INTERPRET", "1")
    with cells.using(DaskExecutor(store_root)):
        return run(claim_id, tier, controls=controls)


try:  # the plugin's base class; without dask.distributed nothing here runs (see _distributed)
    from distributed.diagnostics.plugin import SchedulerPlugin as _PluginBase
except ImportError:  # pragma: no cover
    _PluginBase = object  # type: ignore[assignment, misc]  # a stand-in base class: the module imports without dask


class CellProgress(_PluginBase):
    """A scheduler plugin counting the claim and cell tasks seen and finished (for the progress bar)."""

    name = _PROGRESS
    idempotent = True

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {"cell": set(), "claim": set()}
        self.done: dict[str, set[str]] = {"cell": set(), "claim": set()}

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        k = str(key)
        kind = "cell" if k.startswith(CELL_PREFIX) else "claim" if k.startswith(CLAIM_PREFIX) else None
        if kind is None:
            return
        self.seen[kind].add(k)
        if finish in ("memory", "erred"):
            self.done[kind].add(k)

    def counts(self) -> dict[str, int]:
        return {f"{w}_{kind}": len(s[kind]) for w, s in (("seen", self.seen), ("done", self.done)) for kind in s}


def _counts(dask_scheduler: Any) -> dict[str, int] | None:
    plugin = dask_scheduler.plugins.get(_PROGRESS)
    return None if plugin is None else plugin.counts()


def _register_progress(client: Client) -> bool:
    """Register the progress plugin on the scheduler (False when the scheduler cannot load it)."""
    try:
        client.register_plugin(CellProgress())
        return True
    except Exception:  # a scheduler without attnmath installed: claim-level progress only
        return False


def verify_on_cluster(
    claims: Sequence[Claim | str],
    tier: str,
    client: Client,
    *,
    controls: bool = False,
    store_root: str | None = None,
    progress: bool = False,
) -> list[ClaimResult]:
    """Run ``claims`` on the cluster of ``client``; results in the order given, as :func:`attnmath.claims.run` would.

    A claim whose task is lost for good (its worker died more than the retries allow) becomes a failed result
    carrying the scheduler's error. ``progress`` shows cells done / seen and claims done / total, with an ETA.
    """
    selected = [get(c) if isinstance(c, str) else c for c in claims]
    distributed = _distributed()
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
    stamp = f"{os.getpid()}-{time.time_ns()}"
    futures = [
        client.submit(
            _claim_task,
            c.id,
            tier,
            controls,
            store_root,
            key=f"{CLAIM_PREFIX}{c.id}@{tier}-{stamp}",
            retries=RETRIES,
        )
        for c in selected
    ]
    if progress:
        _follow(client, futures)
    results = []
    for c, fut in zip(selected, futures):
        try:
            results.append(fut.result())
        except Exception as exc:  # KilledWorker and the like: this claim's failure, the others are kept
            tb = "".join(traceback.format_exception(exc, limit=6))
            results.append(ClaimResult(c, False, [], None, None, 0.0, f"{type(exc).__name__}: {exc}\n{tb}", tier))
    return results


def _follow(client: Client, futures: Sequence[Any]) -> None:
    """A progress bar until every claim task has finished: cells done / seen (claims done / total in the postfix)."""
    import sys

    from tqdm import tqdm

    has_plugin = _register_progress(client)
    bar = tqdm(total=len(futures), desc="cells" if has_plugin else "claims", unit="task", file=sys.stderr)
    try:
        while True:
            claims_done = sum(f.done() for f in futures)
            counts = client.run_on_scheduler(_counts) if has_plugin else None
            if counts:
                bar.total = max(counts["seen_cell"], 1)
                bar.n = counts["done_cell"]
                bar.set_postfix_str(f"claims {claims_done}/{len(futures)}", refresh=False)
            else:
                bar.n = claims_done
            bar.refresh()
            if claims_done == len(futures):
                break
            time.sleep(0.5)
    finally:
        bar.close()


def open_client(address: str | None = None, workers: int | None = None) -> Client:
    """A client of the scheduler at ``address``, or of an embedded local cluster of ``workers`` processes.

    The embedded cluster's workers run one thread each; its HTTP server (Dask's dashboard where bokeh is
    installed) listens on a free loopback port. Close both with :func:`close_client`.
    """
    distributed = _distributed()
    if address is not None:
        if not isinstance(address, str) or not address:
            raise ValueError(f"address must be a scheduler address such as 'tcp://host:8786', got {address!r}")
        return distributed.Client(address)
    n = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    import dask

    # Dask's default environment for worker processes also sets MALLOC_TRIM_THRESHOLD_=65536, which returns
    # freed memory to the system so eagerly that an MQAR training cell ran twice as slowly as here (8 cells on
    # 2 workers: 16.8 s with it, 8.7 s without); the thread variables are kept: one thread per worker.
    one_thread = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": one_thread}):
        cluster = distributed.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0",  # loopback, any free port: two clusters on one machine do not clash
            silence_logs=40,
        )
    client = distributed.Client(cluster)
    client._attnmath_owns_cluster = cluster  # closed with the client (close_client)
    return client


def close_client(client: Client) -> None:
    """Close ``client`` and the embedded cluster it started (if any)."""
    cluster = getattr(client, "_attnmath_owns_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()
