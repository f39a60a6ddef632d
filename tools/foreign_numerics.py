"""The foreign-numerics stage of `make test`: a different numeric code path on the same machine.

A notebook's stored outputs and a claim's verdict must not depend on which SIMD kernels, BLAS
micro-kernels or CPU dispatch a machine happens to use. `make foreign-check` re-runs every
notebook (nbval, against the stored outputs) and every claim (a fresh claim cache, so nothing is
reused from the normal run) under the environment below, then compares the verdicts with the
normal run's ledger.

    ATEN_CPU_CAPABILITY=default        PyTorch's ATen kernels without AVX2/AVX-512 vectorisation
    OPENBLAS_CORETYPE=Sandybridge      numpy's and scipy's OpenBLAS use their Sandy Bridge (AVX) kernels
    NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4"   numpy's own loops without AVX2/FMA3/AVX-512
    MKL_CBWR=COMPATIBLE                PyTorch's MKL (matmul, LAPACK) in its SSE2-compatible mode

Usage:
    python tools/foreign_numerics.py check                  # exit 1 unless every setting took effect
    python tools/foreign_numerics.py compare NORMAL FOREIGN # exit 1 if any claim's verdict differs
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ENV = {
    "ATEN_CPU_CAPABILITY": "default",
    "OPENBLAS_CORETYPE": "Sandybridge",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4",
    "MKL_CBWR": "COMPATIBLE",
}


def observed() -> dict[str, str]:
    """What the running process actually uses, read from each library's own runtime report."""
    import numpy as np
    import scipy.linalg  # noqa: F401 - loads scipy's OpenBLAS so that threadpoolctl sees it
    import threadpoolctl
    import torch

    np_features = np._core._multiarray_umath.__cpu_features__
    blas = sorted(
        {str(i.get("architecture")) for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"}
    )
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; a = torch.ones(8, 8, dtype=torch.float64); a @ a"],
        env={**os.environ, "MKL_VERBOSE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    cnr = [w for line in probe.stdout.splitlines() if "GEMM" in line for w in line.split() if w.startswith("CNR:")]
    return {
        "torch CPU capability": torch.backends.cpu.get_cpu_capability(),
        "numpy X86_V3 (AVX2, FMA3)": "on" if np_features.get("X86_V3") else "off",
        "numpy X86_V4 (AVX-512)": "on" if np_features.get("X86_V4") else "off",
        "OpenBLAS core type": ",".join(blas) or "no OpenBLAS loaded",
        "MKL conditional numerical reproducibility": ",".join(sorted(set(cnr))) or "no MKL GEMM seen",
    }


EXPECTED = {
    "torch CPU capability": "DEFAULT",
    "numpy X86_V3 (AVX2, FMA3)": "off",
    "numpy X86_V4 (AVX-512)": "off",
    "OpenBLAS core type": "Sandybridge",
    "MKL conditional numerical reproducibility": "CNR:COMPATIBLE",
}


def check() -> int:
    missing = [k for k, v in ENV.items() if os.environ.get(k) != v]
    if missing:
        print(f"foreign numerics: not set in the environment: {', '.join(f'{k}={ENV[k]}' for k in missing)}")
        return 1
    seen = observed()
    bad = 0
    for key, want in EXPECTED.items():
        ok = seen[key] == want
        bad += not ok
        print(f"  {key:42s} {seen[key]:18s} {'ok' if ok else f'EXPECTED {want}'}")
    print("foreign numerics: every setting took effect" if not bad else f"foreign numerics: {bad} setting(s) ignored")
    return 1 if bad else 0


def verdicts(path: str) -> dict[str, bool]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ValueError(f"{path}: not a `python -m attnmath verify --json` report (no 'claims' list)")
    return {c["id"]: bool(c["passed"]) for c in data["claims"]}


def compare(normal_path: str, foreign_path: str) -> int:
    normal, foreign = verdicts(normal_path), verdicts(foreign_path)
    problems = []
    for cid in sorted(set(normal) | set(foreign)):
        a, b = normal.get(cid), foreign.get(cid)
        if a is None or b is None:
            problems.append(f"  {cid}: only in the {'foreign' if a is None else 'normal'} run")
        elif a != b:
            word = {True: "passed", False: "FAILED"}
            problems.append(f"  {cid}: {word[a]} normally, {word[b]} under the foreign numerics")
    if problems:
        print(f"foreign numerics: {len(problems)} claim(s) changed verdict:", *problems, sep="\n")
        return 1
    print(
        f"foreign numerics: all {len(normal)} claims keep their verdict "
        f"({sum(normal.values())} passed, {len(normal) - sum(normal.values())} failed in both runs)"
    )
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"] and len(argv) == 1:
        return check()
    if argv[:1] == ["compare"] and len(argv) == 3:
        return compare(argv[1], argv[2])
    print(__doc__.split("Usage:")[1].rstrip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
