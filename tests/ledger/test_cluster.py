"""Claims and their cells on a real Dask cluster on localhost (issue 19's acceptance).

Each run is ``python -m attnmath verify`` in a subprocess, as a reader runs it: in one process (the
reference), on an embedded cluster of 1 and of 2 worker processes, and on a scheduler and two workers
started with the ``dask scheduler`` / ``dask worker`` commands the README gives, one of which the test
kills while it is running a cell. Every run must report the same verdicts and numbers as the reference.

The selection is small on purpose (CI stays under 20 minutes): one MQAR claim at the ci tier (16 training
runs of about a second, each a sweep cell) and one claim without cells. Workers run one thread each, so the
reference runs with one thread too (OMP_NUM_THREADS=1): the claim without cells computes float sums whose
last bits could depend on the thread count, the cells run with one thread everywhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import distributed
import pytest

pytestmark = pytest.mark.slow

SELECTION = "dsf.mqar-softmax-vs-linear,softmax.rows-sum-to-one"
N_CLAIMS = 2


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ATTNMATH_CLAIM_CACHE", "ATTNMATH_CELL_STORE")}
    return env | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def _verify(out, *extra: str, timeout: float = 300) -> dict:
    cmd = [sys.executable, "-m", "attnmath", "verify", "-k", SELECTION, "--no-progress", "--out", str(out), *extra]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


def _claims(report: dict) -> list[dict]:
    """The per-claim results without their wall times (the only field that may differ between runs)."""
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in report["claims"]]
    assert len(rows) == N_CLAIMS
    return rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[dict]:
    report = _verify(tmp_path_factory.mktemp("ref") / "ref.json")
    assert report["environment"]["run"]["workers"] == 0  # ran in this process
    rows = _claims(report)
    assert all(r["passed"] for r in rows)
    return rows


@pytest.mark.parametrize("workers", [1, 2])
def test_embedded_cluster_reproduces_the_in_process_run(reference, tmp_path, workers):
    report = _verify(tmp_path / "run.json", "--workers", str(workers))
    run = report["environment"]["run"]
    assert run["cluster"] == "embedded LocalCluster" and run["workers"] == workers and run["threads_per_worker"] == [1]
    assert _claims(report) == reference


def _start(cmd: list[str], log) -> subprocess.Popen:
    with open(log, "w") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, env=_env(), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(predicate, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_worker_killed_mid_cell_costs_only_its_task(reference, tmp_path):
    """`dask scheduler` + two `dask worker` processes; one is killed (SIGKILL) while it runs a cell."""
    bindir = os.path.dirname(sys.executable)
    with socket.socket() as sock:  # a free port on localhost for the scheduler
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        _start(
            [
                f"{bindir}/dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                "127.0.0.1:0",
            ],
            tmp_path / "scheduler.log",
        )
    ]
    try:
        workers = {}
        for name in ("w1", "w2"):
            workers[name] = _start(
                [
                    f"{bindir}/dask",
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--name",
                    name,
                    "--dashboard-address",
                    "127.0.0.1:0",
                    "--host",
                    "127.0.0.1",
                ],
                tmp_path / f"{name}.log",
            )
            procs.append(workers[name])
        with distributed.Client(address, timeout="30s") as watcher:
            watcher.wait_for_workers(2, timeout=60)
            out = tmp_path / "run.json"
            cmd = [sys.executable, "-m", "attnmath", "verify", "-k", SELECTION, "--no-progress", "--out", str(out)]
            run = subprocess.Popen(
                [*cmd, "--cluster", address], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            procs.append(run)

            def busy_worker():
                names = {a: w["name"] for a, w in watcher.scheduler_info()["workers"].items()}
                for addr, keys in watcher.processing().items():
                    if any(str(k).startswith("cell-") for k in keys):
                        return names.get(addr)
                return None

            victim = _wait_for(busy_worker, 120, "a worker running a cell")
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(timeout=30)
            stdout, stderr = run.communicate(timeout=300)
            assert run.returncode == 0, stdout[-3000:] + stderr[-3000:]
            remaining = [w["name"] for w in watcher.scheduler_info()["workers"].values()]
            assert remaining == [n for n in ("w1", "w2") if n != victim]  # the victim really is gone
        report = json.loads(out.read_text())
        assert report["environment"]["run"]["cluster"] == address
        assert _claims(report) == reference
    finally:
        for p in procs:  # the dask commands run in their own sessions; the verify run is a plain child
            if p.poll() is None:
                if p.args[0] == sys.executable:
                    p.kill()
                else:
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)


def test_a_cell_raising_on_a_worker_fails_its_claim_with_the_traceback(private_claims):
    """A cell that raises on a worker fails the claim that gathers it, with the cell's error and traceback;
    a claim whose cells succeed on the same cluster passes."""
    from attnmath.claims import Cell, gather, holds, run
    from attnmath.ledger import cells, cluster

    private_claims(
        "testonly.cells-raise", lambda: holds("never reached", gather([Cell.of(_square, 2), Cell.of(_boom, 7)]) == [])
    )
    private_claims(
        "testonly.cells-fine", lambda: holds("squares", gather([Cell.of(_square, 3), Cell.of(_square, 4)]) == [9, 16])
    )
    client = cluster.open_client(workers=1)
    try:
        with cells.using(cluster.DaskExecutor()):
            bad, good = run("testonly.cells-raise"), run("testonly.cells-fine")
    finally:
        cluster.close_client(client)
    assert bad.verdict == "failed" and good.verdict == "passed"
    assert "RuntimeError: cell 7 failed" in bad.exception and "Traceback" in bad.exception
    assert "in _boom" in bad.exception  # the frame of the cell that raised, from the worker


def _boom(x: int) -> int:
    raise RuntimeError(f"cell {x} failed")


def _square(x: int) -> int:
    return x * x


def test_progress_counts_cell_and_claim_tasks_seen_and_finished():
    from attnmath.ledger.cluster import CellProgress

    p = CellProgress()
    for key, start, finish in [
        ("cell-aa", "released", "waiting"),
        ("cell-aa", "waiting", "processing"),
        ("cell-bb", "released", "waiting"),
        ("cell-aa", "processing", "memory"),
        ("claim-x@paper-1", "released", "processing"),
        ("other-key", "released", "memory"),  # not ours: ignored
        ("cell-bb", "processing", "erred"),  # an error is finished too (the claim reports it)
    ]:
        p.transition(key, start, finish)
    assert p.counts() == {"seen_cell": 2, "seen_claim": 1, "done_cell": 2, "done_claim": 0}
