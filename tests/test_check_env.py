"""tools/check_env.py: the pin checks on synthetic pip reports (no network, no pip run)."""

import importlib.util
import pathlib
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("check_env", ROOT / "tools" / "check_env.py")
ce = importlib.util.module_from_spec(_spec)
sys.modules["check_env"] = ce  # dataclasses look their module up while the file executes
_spec.loader.exec_module(ce)

ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.1",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "6.0",
    "platform_system": "Linux",
    "platform_version": "#1",
    "python_full_version": "3.12.1",
    "python_version": "3.12",
    "sys_platform": "linux",
}

CONSTRAINTS = """\
# Exact versions CI installs.
numpy==2.4.6
torch==2.13.0  # the CPU build locally
overrides==7.7.0 ; python_version < "3.12"
"""


def item(name, version, requires=(), url=None, requested=False, extras=None):
    return {
        "metadata": {"name": name, "version": version, "requires_dist": list(requires)},
        "download_info": {"url": url or f"https://index.example/packages/ab/{name}-{version}-py3-none-any.whl"},
        "requested": requested,
        "requested_extras": extras,
    }


def project(*requires):
    return item("attnmath", "0.1.0", requires, url="file:///tmp/src", requested=True, extras=["test"])


def report(*items):
    return {"version": "1", "install": list(items), "environment": ENV}


TORCH_REQUIRES = [
    "nvidia-cudnn-cu13==9.20.0.48; platform_system == 'Linux'",
    "cuda-toolkit[cublas]==13.0.3; platform_system == 'Linux'",
    "nvidia-nvshmem-cu13==3.4.5; platform_system == 'Windows'",
    "setuptools>=77.0.3",
]
CUDA_TOOLKIT_REQUIRES = [
    "nvidia-cublas==13.1.1.3.*; extra == 'cublas'",
    "nvidia-nvjitlink<14,>=13.0.88; extra == 'nvjitlink'",
]


def analyse(*items):
    return ce.analyse_report(report(*items), ce.parse_constraints(CONSTRAINTS), "attnmath")


def test_torch_exact_requirements_are_accepted():
    a = analyse(
        project("numpy>=1.26", "torch>=2.4"),
        item("numpy", "2.4.6"),
        item("torch", "2.13.0", TORCH_REQUIRES[:2]),
        item("nvidia-cudnn-cu13", "9.20.0.48"),
        item("cuda-toolkit", "13.0.3", CUDA_TOOLKIT_REQUIRES),
        item("nvidia-cublas", "13.1.1.3"),
    )
    assert a.ok, (a.mismatches, a.unpinned, a.foreign)
    assert a.resolved == 5  # the project itself is not counted
    assert sorted(a.pinned) == ["numpy", "torch"]
    assert {n: (f.requirer, f.root) for n, f in a.fixed.items()} == {
        "nvidia-cudnn-cu13": ("torch", "torch"),
        "cuda-toolkit": ("torch", "torch"),
        "nvidia-cublas": ("cuda-toolkit", "torch"),  # through torch's exact cuda-toolkit pin and its cublas extra
    }
    assert ce.summary_line("3.12", a, 7.2) == (
        "python 3.12: OK, 5 packages resolved from the public index (2 pinned, 3 fixed by torch's exact requirements), 7 s"
    )
    assert a.unused_pins == []  # overrides is pinned for python < 3.12 only


def test_version_mismatch_fails():
    a = analyse(project("torch"), item("torch", "2.13.0+cpu"), item("numpy", "2.4.5"))
    assert not a.ok
    assert len(a.mismatches) == 2
    assert any("torch resolved to 2.13.0+cpu" in m and "torch==2.13.0" in m for m in a.mismatches)
    assert ce.summary_line("3.12", a, 1).startswith("python 3.12: FAILED, 2 packages resolved")
    assert "2 not at the pinned version" in ce.summary_line("3.12", a, 1)


def test_unpinned_dependency_without_exact_requirement_fails():
    a = analyse(
        project("torch"), item("numpy", "2.4.6"), item("torch", "2.13.0", TORCH_REQUIRES), item("setuptools", "84.2.1")
    )
    assert not a.ok
    assert list(a.unpinned) == ["setuptools"]
    assert "torch: >=77.0.3" in a.unpinned["setuptools"]
    assert "  FAIL: setuptools 84.2.1 (torch: >=77.0.3) is not pinned: add setuptools==84.2.1 to constraints.txt" in (
        ce.details(a)
    )
    assert "1 unpinned" in ce.summary_line("3.12", a, 1)


def test_exact_requirement_counts_only_under_its_marker_and_selected_extras():
    # nvshmem's exact pin is for Windows only; nvjitlink is behind an extra torch selects on Windows only.
    windows_only = "cuda-toolkit[nvjitlink]==13.0.3; platform_system == 'Windows'"
    a = analyse(
        project("torch"),
        item("numpy", "2.4.6"),
        item("torch", "2.13.0", [*TORCH_REQUIRES[:3], windows_only]),
        item("cuda-toolkit", "13.0.3", [*CUDA_TOOLKIT_REQUIRES, "nvidia-nvjitlink==13.0.88.*; extra == 'nvjitlink'"]),
        item("nvidia-nvshmem-cu13", "3.4.5"),
        item("nvidia-nvjitlink", "13.0.88"),
        item("nvidia-cudnn-cu13", "9.20.0.48"),
    )
    assert sorted(a.unpinned) == ["nvidia-nvjitlink", "nvidia-nvshmem-cu13"]
    # Once torch selects the extra, the exact requirement behind it fixes nvjitlink.
    requires = [*TORCH_REQUIRES[:1], "cuda-toolkit[cublas,nvjitlink]==13.0.3"]
    a = analyse(
        project("torch"),
        item("numpy", "2.4.6"),
        item("torch", "2.13.0", requires),
        item("cuda-toolkit", "13.0.3", [*CUDA_TOOLKIT_REQUIRES, "nvidia-nvjitlink==13.0.88.*; extra == 'nvjitlink'"]),
        item("nvidia-nvjitlink", "13.0.88"),
        item("nvidia-cudnn-cu13", "9.20.0.48"),
    )
    assert a.ok, a.unpinned
    assert a.fixed["nvidia-nvjitlink"].requirer == "cuda-toolkit"


def test_exact_requirement_of_an_unpinned_package_does_not_fix():
    # foo floats (foo>=1 from the project), so its exact bar==2.0 floats with it.
    a = analyse(project("foo>=1"), item("numpy", "2.4.6"), item("foo", "1.3", ["bar==2.0"]), item("bar", "2.0"))
    assert sorted(a.unpinned) == ["bar", "foo"]
    assert a.fixed == {}


def test_project_exact_requirement_fixes():
    a = analyse(project("bar==2.0"), item("numpy", "2.4.6"), item("bar", "2.0"))
    assert a.ok
    assert a.fixed["bar"].root == "attnmath"
    a = analyse(
        project("bar==2.0"),
        item("numpy", "2.4.6"),
        item("torch", "2.13.0", ["baz==1.0"]),
        item("bar", "2.0"),
        item("baz", "1.0"),
    )
    assert "(2 pinned, 2 fixed by exact requirements of attnmath, torch)" in ce.summary_line("3.12", a, 1)


def test_distribution_not_from_public_index_fails():
    a = analyse(project(), item("numpy", "2.4.6", url="file:///opt/wheels/numpy-2.4.6-cp312-linux_x86_64.whl"))
    assert not a.ok
    assert a.foreign == ["numpy 2.4.6 from file:///opt/wheels/numpy-2.4.6-cp312-linux_x86_64.whl"]


def test_unused_pins_are_information_only():
    a = analyse(project(), item("numpy", "2.4.6"))
    assert a.ok
    assert a.unused_pins == ["torch==2.13.0"]
    assert "(1 pinned, 0 fixed by exact requirements)" in ce.summary_line("3.12", a, 1)


@pytest.mark.parametrize(
    ("spec", "version", "exact"),
    [
        ("==2.13.0", "2.13.0", True),
        ("==2.13", "2.13.0", True),
        ("==13.1.1.3.*", "13.1.1.3", True),
        ("==13.*", "13.5.0", False),
        (">=77.0.3", "84.2.1", False),
        ("<14,>=13.0.3", "13.5.0", False),
        ("===1.0", "1.0", True),
        ("==2.13.0", "2.13.0+cpu", False),
    ],
)
def test_is_exact(spec, version, exact):
    assert ce.is_exact(ce.SpecifierSet(spec), version) is exact


def test_parse_constraints_markers_and_rejections():
    pins = ce.parse_constraints(CONSTRAINTS)
    assert [(p.name, p.version, p.line) for p in pins] == [
        ("numpy", "2.4.6", 2),
        ("torch", "2.13.0", 3),
        ("overrides", "7.7.0", 4),
    ]
    assert set(ce.applicable_pins(pins, ENV)) == {"numpy", "torch"}
    assert set(ce.applicable_pins(pins, {**ENV, "python_version": "3.11"})) == {"numpy", "torch", "overrides"}
    assert ce.parse_constraints("Jinja2==3.1.6\nhuggingface_hub==2.4.0\n")[1].name == "huggingface-hub"
    for bad in ("torch>=2.4", "torch==2.*", "torch", "torch==2.13.0,<3"):
        with pytest.raises(ValueError, match="line 2"):
            ce.parse_constraints(f"numpy==2.4.6\n{bad}\n")
    with pytest.raises(ValueError, match="both pin"):
        ce.applicable_pins(ce.parse_constraints("numpy==2.4.6\nnumpy==2.4.5\n"), ENV)


def test_extras_are_read_from_pyproject(tmp_path):
    name, extras = ce.read_project(ROOT / "pyproject.toml")
    assert name == "attnmath"
    assert {"test", "compare", "book", "lab", "mutate"} <= set(extras)
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""\
            [project]
            name = "demo"
            [project.optional-dependencies]
            zeta = ["a"]
            alpha = ["b"]
            new-extra = ["c"]
        """)
    )
    assert ce.read_project(tmp_path / "pyproject.toml") == ("demo", ["alpha", "new-extra", "zeta"])


def test_pip_command_asks_the_public_index_only(tmp_path):
    cmd = ce.pip_command("python3.12", tmp_path / "r.json", tmp_path / "c.txt", tmp_path / "src", ["book", "test"])
    assert cmd[:4] == ["python3.12", "-m", "pip", "install"]
    assert cmd[-1] == f"{tmp_path / 'src'}[book,test]"  # a path requirement, not -e
    assert "-e" not in cmd and "--editable" not in cmd
    for flag in ("--isolated", "--dry-run", "--ignore-installed", "--report"):
        assert flag in cmd
    assert "--index-url" not in cmd  # pip's default index, as a user's pip has it
    assert not any(a.startswith(("--find-links", "--extra-index-url", "-f")) for a in cmd)
    assert cmd[cmd.index("-c") + 1] == str(tmp_path / "c.txt")


def test_clean_env_removes_pip_variables():
    env = {"PATH": "/bin", "PIP_FIND_LINKS": "/opt/wheels", "PIP_CONFIG_FILE": "/etc/pip.conf", "pip_index_url": "x"}
    assert ce.clean_env(env) == {"PATH": "/bin"}


@pytest.mark.parametrize(("version", "ok"), [("22.1.2", False), ("22.2", True), ("23.2.1", True), ("24.0b1", True)])
def test_pip_version_for_report(version, ok):
    assert ce.pip_version_ok(version) is ok


def test_find_interpreter_checks_the_version(tmp_path):
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    interpreter, why = ce.find_interpreter(here, sys.executable)
    assert interpreter is not None and interpreter.path == sys.executable, why
    interpreter, why = ce.find_interpreter("3.99", sys.executable)
    assert interpreter is None and f"is python {here}" in why
    interpreter, why = ce.find_interpreter("3.99", str(tmp_path / "missing"))
    assert interpreter is None and "missing" in why
