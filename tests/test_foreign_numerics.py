"""tools/foreign_numerics.py: the verdict comparison and the environment check of the foreign stage."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("foreign_numerics", ROOT / "tools" / "foreign_numerics.py")
fn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fn)


def _ledger(tmp_path, name, verdicts):
    path = tmp_path / name
    path.write_text(json.dumps({"claims": [{"id": k, "passed": v} for k, v in verdicts.items()]}))
    return str(path)


def test_same_verdicts_pass(tmp_path, capsys):
    a = _ledger(tmp_path, "a.json", {"x.one": True, "x.two": False})
    b = _ledger(tmp_path, "b.json", {"x.two": False, "x.one": True})
    assert fn.compare(a, b) == 0
    assert "all 2 claims keep their verdict (1 passed, 1 failed in both runs)" in capsys.readouterr().out


def test_a_flipped_or_missing_verdict_fails(tmp_path, capsys):
    a = _ledger(tmp_path, "a.json", {"x.one": True, "x.two": True})
    assert fn.compare(a, _ledger(tmp_path, "b.json", {"x.one": True, "x.two": False})) == 1
    assert "x.two: passed normally, FAILED under the foreign numerics" in capsys.readouterr().out
    assert fn.compare(a, _ledger(tmp_path, "c.json", {"x.one": True})) == 1
    assert "x.two: only in the normal run" in capsys.readouterr().out


def test_a_file_that_is_not_a_ledger_is_rejected(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="not a `python -m attnmath verify --json` report"):
        fn.verdicts(str(bad))


def test_check_refuses_when_the_environment_is_not_set(monkeypatch, capsys):
    for key in fn.ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Sandybridge")
    assert fn.check() == 1
    out = capsys.readouterr().out
    assert "ATEN_CPU_CAPABILITY=default" in out and "OPENBLAS_CORETYPE" not in out


def test_the_foreign_environment_takes_effect_in_a_fresh_process():
    # The variables act at library load time, so only a fresh process can show their effect: with
    # them every library reports its foreign code path; without them torch keeps its own capability.
    base = {k: v for k, v in os.environ.items() if k not in fn.ENV}
    script = [sys.executable, str(ROOT / "tools" / "foreign_numerics.py"), "check"]
    res = subprocess.run(script, env={**base, **fn.ENV}, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "every setting took effect" in res.stdout
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    native = subprocess.run([sys.executable, "-c", probe], env=base, capture_output=True, text=True, timeout=120)
    assert native.stdout.strip() in {"DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX", "SVE256"}, native.stdout
