"""The scripts of ``examples/`` run as a user runs them (a fresh process, from another folder) and say what they check."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str, cwd: pathlib.Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_every_example_is_tested_and_linked_from_the_readme():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert len(scripts) >= 3
    tested = pathlib.Path(__file__).read_text(encoding="utf-8")
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    for name in scripts:
        assert f'"{name}"' in tested, f"examples/{name} has no test"
        assert f"examples/{name}" in readme, f"README does not link examples/{name}"


def test_dsf_transfer_matrix(tmp_path):
    out = run("dsf_transfer_matrix.py", "--length", "12", "--plot", str(tmp_path / "phi.svg"), cwd=tmp_path)
    assert out.count("y = Φu matches the recurrence: yes") == 2
    assert out.count("<= N = 12: True") == 2
    assert (tmp_path / "phi.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_time_a_kernel(tmp_path):
    out = run("time_a_kernel.py", "--steps", "130", "--repeats", "1", cwd=tmp_path)
    assert "agrees with the float64 loop: yes" in out
    assert "backend torch" in out  # no GPU and no TRITON_INTERPRET: the chunked PyTorch form


def test_examples_refuse_bad_arguments(tmp_path):
    bad = [("dsf_transfer_matrix.py", ["--length", "1"]), ("time_a_kernel.py", ["--steps", "0"])]
    bad.append(("capacity_of_my_keys.py", ["--eps", "0"]))
    for name, args in bad:
        out = subprocess.run(
            [sys.executable, str(EXAMPLES / name), *args], cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 2 and "must be >= " in out.stderr


def test_capacity_of_my_keys(tmp_path):
    out = run("capacity_of_my_keys.py", cwd=tmp_path)
    mine = int(out.split("capacity of your keys:   N* = ")[1].split()[0])
    rand = int(out.split("random unit keys:        N* = ")[1].split()[0])
    assert abs(rand - 17) <= 3  # 1 + eps^2 d_k with eps = 0.5, d_k = 64 (bisection noise ~1 pair per SE)
    assert mine < rand / 2  # keys sharing a direction store fewer pairs
    # A user's own key file: orthonormal keys store every pair.
    import torch

    torch.save(torch.linalg.qr(torch.randn(16, 16, dtype=torch.float64))[0], tmp_path / "keys.pt")
    out = run("capacity_of_my_keys.py", "--keys", str(tmp_path / "keys.pt"), "--eps", "0.1", cwd=tmp_path)
    assert "N* = 16 (at least: every supplied pair is recalled within eps)" in out
