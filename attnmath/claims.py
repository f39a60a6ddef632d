r"""The claims ledger's public face: every statement the book makes, as an executable check.

A *claim* is a statement from a paper (or our reconstruction of one) together with a function
that checks it. The function returns one or more :class:`Check` objects; the runner turns them
into a :class:`ClaimResult` (passed, measured error, tolerance, seconds). A check that raises is
reported as a failed result carrying the exception; it never aborts a run.

Registration happens at import time with the :func:`claim` decorator::

    @claim("softmax.rows-sum-to-one", title="Rows of A sum to one",
           statement=r"\sum_j A_{ij} = 1", source="vaswani2017attention, eq. (1)",
           status_of_source="classical", kinds=("symbolic", "numeric"))
    def _rows_sum_to_one(tier):
        return [symbolic(...), close(...)]

Every claim also declares at least one negative *control* (:func:`control`): a plausible wrong
world (a near-miss function, a violated hypothesis) in which its checks must fail; ``python -m
attnmath verify --controls`` runs them.

A heavy claim names its sweep cells (one training run, one grid point) as :class:`Cell` objects and
checks what :func:`gather` returns: each cell is seeded from its own identity, so ``python -m attnmath
verify --workers N`` (an embedded Dask cluster) or ``--cluster ADDRESS`` gives the same results as a
run in this process (:mod:`attnmath.ledger.cells`, :mod:`attnmath.ledger.cluster`).

The same registry feeds ``python -m attnmath verify``, the pytest parametrisation
(``tests/ledger/test_claims.py``) and the book's ledger page. The implementation lives in
:mod:`attnmath.ledger`, one module per concern; chapters import from here.
"""

from __future__ import annotations

from .base.tiers import TIERS, Sizes
from .ledger.cache import CACHE_ENV, artifact_path, source_fingerprint
from .ledger.cells import Cell, gather
from .ledger.checks import (
    KINDS,
    Check,
    at_least,
    at_most,
    band,
    close,
    holds,
    pvalue_not_rejected,
    pvalue_rejected,
    rel_band,
    rel_close,
    statistical,
    symbolic,
    symbolic_true,
)
from .ledger.display import ClaimDisplay, show
from .ledger.registry import STATUSES, Claim, Control, claim, control, get, load_all, registry, select
from .ledger.results import ClaimResult, ControlResult, dump_json, format_table, report_json
from .ledger.runner import run, run_all, run_control

__all__ = [
    "CACHE_ENV",
    "KINDS",
    "STATUSES",
    "TIERS",
    "Cell",
    "Check",
    "Claim",
    "ClaimDisplay",
    "ClaimResult",
    "Control",
    "ControlResult",
    "Sizes",
    "artifact_path",
    "at_least",
    "at_most",
    "band",
    "claim",
    "close",
    "control",
    "dump_json",
    "format_table",
    "gather",
    "get",
    "holds",
    "load_all",
    "pvalue_not_rejected",
    "pvalue_rejected",
    "registry",
    "rel_band",
    "rel_close",
    "report_json",
    "run",
    "run_all",
    "run_control",
    "select",
    "show",
    "source_fingerprint",
    "statistical",
    "symbolic",
    "symbolic_true",
]
