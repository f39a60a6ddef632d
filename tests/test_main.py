"""attnmath.__main__: the command line (exit codes, JSON output, list)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from attnmath import __main__ as cli
from attnmath.claims import holds

REASON = "test tolerance"
R = "test reason"


def test_cli_exits_1_when_a_claim_fails(private_claims, capsys):
    private_claims("testonly.cli-fail", lambda: holds("deliberately false", False))
    private_claims("testonly.cli-pass", lambda: holds("true", True))
    assert cli.main(["verify", "-k", "testonly.cli", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  testonly.cli-fail" in out and "PASS  testonly.cli-pass" in out and "1 passed, 1 failed" in out
    assert cli.main(["verify", "-k", "testonly.cli-pass", "--no-progress"]) == 0


def test_cli_json_and_out_file(private_claims, capsys, tmp_path):
    private_claims("testonly.cli-json", lambda: holds("true", True))
    out_file = tmp_path / "ledger.json"
    assert cli.main(["verify", "-k", "testonly.cli-json", "--json", "--no-progress", "--out", str(out_file)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["passed"] == 1 and printed["claims"][0]["id"] == "testonly.cli-json"
    assert json.loads(out_file.read_text())["claims"][0]["passed"] is True


def test_cli_list_and_empty_selection(private_claims, capsys):
    private_claims("testonly.cli-list", lambda: holds("true", True), status="classical")
    assert cli.main(["list", "-k", "testonly.cli-list"]) == 0
    assert "testonly.cli-list" in capsys.readouterr().out
    assert cli.main(["verify", "-k", "testonly.no-such-claim"]) == 3  # nothing matched: not a usage error


def test_usage_errors_exit_2_and_version_prints_the_package_version(capsys):
    from attnmath import __version__

    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", "--tier", "huge"])
    assert exc.value.code == 2 and "invalid choice: 'huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"attnmath {__version__}"


def test_scale_is_kept_as_the_old_name_of_tier(private_claims, capsys):
    private_claims("testonly.cli-tier", lambda tier: holds("paper tier", tier == "paper"))
    assert (
        cli.main(["verify", "-k", "testonly.cli-tier", "--scale", "paper", "--workers", "0", "--json", "--no-progress"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["claims"][0]["tier"] == "paper" and report["environment"]["tier"] == "paper"


def test_json_reports_carry_schema_version_environment_and_statements(private_claims, capsys):
    private_claims("testonly.cli-env", lambda: holds("true", True), statement="a = a")
    assert cli.main(["verify", "-k", "testonly.cli-env", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    env = report["environment"]
    assert report["schema_version"] == 1 and report["claims"][0]["statement"] == "a = a"
    for key in ("attnmath", "python", "torch", "numpy", "sympy", "scipy", "triton", "platform", "backend"):
        assert env[key], key
    assert env["torch_cpu_capability"] and env["timestamp"].endswith("+00:00")
    assert cli.main(["list", "-k", "testonly.cli-env", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["schema_version"] == 1 and listed["claims"] == [
        {
            "id": "testonly.cli-env",
            "title": "title of testonly.cli-env",
            "statement": "a = a",
            "source": "src, eq. 1",
            "status_of_source": "reconstructed",
            "kinds": ["numeric"],
            "controls": [],
        }
    ]


def test_no_progress_frames_when_stderr_is_not_a_terminal():
    # tqdm with disable=None draws nothing when its stream is not a TTY (a CI log, a redirect)
    code = (
        "import sys\nfrom attnmath.__main__ import main\nsys.exit(main(['verify', '-k', 'softmax.rows-sum-to-one']))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "verifying" not in res.stderr and "claim/s" not in res.stderr


DOUBLED: list[int] = []


def double(x: int) -> int:
    """A sweep cell (top-level, so a Cell may name it) that records each time it really runs."""
    DOUBLED.append(x)
    return 2 * x


def test_store_keeps_finished_cells_for_a_rerun(private_claims, tmp_path, monkeypatch):
    from attnmath.claims import Cell, gather

    monkeypatch.delenv("ATTNMATH_CELL_STORE", raising=False)
    DOUBLED.clear()
    private_claims(
        "testonly.cli-cells", lambda: holds("cells", gather([Cell.of(double, 3), Cell.of(double, 4)]) == [6, 8])
    )
    args = ["verify", "-k", "testonly.cli-cells", "--no-progress", "--store", str(tmp_path / "store")]
    assert cli.main(args) == 0 and DOUBLED == [3, 4]
    assert cli.main(args) == 0 and DOUBLED == [3, 4]  # the rerun ran no cell: both came from the store
    assert cli.main(args[:-2]) == 0 and DOUBLED == [3, 4, 3, 4]  # without a store every cell runs


def test_workers_and_cluster_are_checked(capsys):
    assert cli.main(["verify", "-k", "softmax.rows-sum-to-one", "--workers", "-1", "--no-progress"]) == 2
    assert "--workers must be 0 (this process) or a positive integer, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", "--workers", "2", "--cluster", "tcp://127.0.0.1:8786"])
    assert exc.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
