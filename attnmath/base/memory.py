r"""Memory estimates for the quadratic forms, so that they refuse clearly instead of failing in the allocator.

The quadratic ("attention") forms materialise an :math:`L\times L` object: the masked score matrix of
the kernels' references (``B H T^2`` numbers, ``B H T^2 K`` for a per-key decay), the DSF's blocks
:math:`\Phi_{ij}` (``L^2 p d`` numbers, plus the transition products ``L^2 N`` or ``L^2 N^2``).  At
``L = 20000`` the DSF's :meth:`~attnmath.dsf.DSF.parallel` would ask for about 51 GB.  Each such form
calls :func:`check_quadratic_memory` with its own count of bytes first; it raises a ``MemoryError``
naming the size, the memory available and the ``O(L)`` form to use instead.
"""

from __future__ import annotations

import os

import torch

__all__ = ["available_bytes", "check_quadratic_memory", "format_bytes"]


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps it >= 1 (``'51.2 GiB'``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def available_bytes(device: torch.device | str = "cpu") -> int:
    """Free memory on ``device``: ``torch.cuda.mem_get_info`` on a GPU; on the CPU, the available physical
    memory (``/proc/meminfo`` ``MemAvailable`` where it exists, else ``sysconf``)."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    meminfo = _mem_available_from_proc()
    if meminfo is not None:
        return meminfo
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1  # unknown: do not refuse


def _mem_available_from_proc() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes, or ``None`` where the file or the line does not exist."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            lines = fh.readlines()
    except OSError:
        return None
    found = [int(line.split()[1]) * 1024 for line in lines if line.startswith("MemAvailable:")]
    return found[0] if found else None


def check_quadratic_memory(
    what: str, nbytes: int, *, alternative: str, device: torch.device | str = "cpu", limit: int | None = None
) -> None:
    """Raise ``MemoryError`` when the ``nbytes`` that ``what`` needs exceed ``limit`` (default: what is free).

    ``alternative`` names the ``O(L)``-memory form that computes the same thing.
    """
    budget = available_bytes(device) if limit is None else int(limit)
    if nbytes > budget:
        raise MemoryError(
            f"{what} needs about {format_bytes(nbytes)} for its quadratic intermediates, more than the "
            f"{format_bytes(budget)} free on {torch.device(device)}; use {alternative}, which needs O(L) memory"
        )
