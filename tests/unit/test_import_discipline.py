"""What the quick commands import, and how `awslab` exits (issue 9: start-up and exit time).

`--help` imports neither boto3 nor pydantic; `labs` and `validate` do not import boto3, botocore,
moto or werkzeug (`labs` does not load the spec models either: it reads each spec's description
and resource count, nor pydantic); `validate` builds the models of the lab's own kinds only and no
rich console; a command imports only its own command module; the console script flushes and ends
without the interpreter's shutdown unless a thread is still running. Each command runs in a fresh interpreter: what a test process
already imported says nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from awslab import __version__
from awslab.spec import builtin_labs, load_spec

REPO = Path(__file__).resolve().parents[2]
HEAVY = {"boto3", "botocore", "moto", "werkzeug", "pydantic", "yaml"}
CLOUD = {"boto3", "botocore", "moto", "werkzeug"}

# Runs the CLI in-process (no fast exit), then reports the exit code and the modules loaded.
_PROBE = """
import json, sys
from awslab.cli.main import app
try:
    app(sys.argv[1:], prog_name="awslab")
    code = 0
except SystemExit as exc:
    code = exc.code
with open(sys.argv[0] + ".json", "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "AWSLAB_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(REPO)}


def _probe(tmp_path: Path, *argv: str) -> dict[str, Any]:
    script = tmp_path / "probe.py"
    script.write_text(_PROBE)
    proc = subprocess.run(
        [sys.executable, str(script), *argv], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(Path(str(script) + ".json").read_text())
    report["stdout"] = proc.stdout
    return report


def _top(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_importing_the_cli_loads_no_cloud_sdk_and_no_spec_models(tmp_path: Path) -> None:
    code = "import json, sys, awslab.cli.main; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout)
    assert _top(modules) & HEAVY == set()
    assert not [m for m in modules if m.startswith(("awslab.engine", "awslab.resources", "awslab.spec"))]


def test_help_imports_neither_boto3_nor_pydantic(tmp_path: Path) -> None:
    report = _probe(tmp_path, "--help")
    assert report["code"] == 0 and "validate" in report["stdout"]
    assert _top(report["modules"]) & HEAVY == set()


def test_validate_needs_the_spec_models_but_no_cloud_sdk(tmp_path: Path) -> None:
    report = _probe(tmp_path, "validate", "crud")
    assert report["code"] == 0 and "is valid" in report["stdout"]
    assert "awslab.spec" in report["modules"]
    assert _top(report["modules"]) & CLOUD == set()
    assert "rich" not in _top(report["modules"])  # one plain line needs no rich console


def test_labs_reads_the_specs_without_loading_the_spec_models(tmp_path: Path) -> None:
    report = _probe(tmp_path, "labs", "--output", "json")
    assert report["code"] == 0
    rows = {r["name"]: r for r in json.loads(report["stdout"])}
    assert rows["crud"]["resources"] == 6 and rows["crud"]["description"].startswith("CRUD API")
    assert _top(report["modules"]) & CLOUD == set()
    assert not [m for m in report["modules"] if m.startswith(("awslab.spec", "awslab.resources"))]
    # typer 0.29 coerces every option through a pydantic TypeAdapter (pyproject pins it below)
    assert "pydantic" not in _top(report["modules"])


def test_only_the_status_command_reads_the_price_table_for_its_help(tmp_path: Path) -> None:
    assert "awslab.pricing_table" not in _probe(tmp_path, "labs", "--output", "json")["modules"]
    report = _probe(tmp_path, "status", "--help")
    assert "awslab.pricing_table" in report["modules"] and " as of " in report["stdout"]


@pytest.mark.parametrize(
    ("argv", "module"),
    [(["labs"], "awslab.cli.labs"), (["validate", "crud"], "awslab.cli.labs"), (["version"], None)],
)
def test_a_command_imports_only_its_own_command_module(
    tmp_path: Path, argv: list[str], module: str | None
) -> None:
    report = _probe(tmp_path, *argv)
    loaded = {m for m in report["modules"] if m.startswith("awslab.cli.") and m != "awslab.cli.main"}
    assert loaded - {"awslab.cli.common"} == ({module} if module else set())


# Which kinds' models a validation built: those of the lab's own kinds only (pydantic builds a
# model's validator when the class is made unless it is deferred; the spec's kinds are built on use).
_BUILT = """
import json, sys
from awslab.resources.base import load_kinds
from awslab.spec import find_lab, load_spec
spec = load_spec(find_lab(sys.argv[1]))
built = sorted(k for k, cls in load_kinds().items() if cls.props_model.__pydantic_complete__)
print(json.dumps({"built": built, "used": sorted(spec.kinds())}))
"""


def test_validate_builds_the_models_of_the_labs_kinds_only(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _BUILT, "crud"], env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["built"] == report["used"]


@pytest.mark.parametrize("name", sorted(builtin_labs()))
def test_what_labs_shows_of_a_builtin_spec_is_what_validation_finds(name: str) -> None:
    from awslab.lab_index import summarize

    summary = summarize(builtin_labs()[name])
    spec = load_spec(builtin_labs()[name])
    assert (summary.problem, summary.description, summary.resources) == (
        None,
        spec.description,
        len(spec.resources),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: x\nresources: [unclosed\n", "spec.yaml:3: not valid YAML"),
        ("- just\n- a list\n", "spec.yaml: expected a mapping"),
        ("name: x\nresources: {}\n", "spec.yaml: 'resources' must be a mapping of at least one resource"),
    ],
)
def test_labs_names_a_spec_it_cannot_read_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    from awslab.lab_index import summarize

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    summary = summarize(path)
    assert summary.problem is not None and summary.problem.startswith(problem)
    assert summary.resources == 0


# ---- exit ----------------------------------------------------------------------------------
# The console script's run(), with an atexit handler that says whether the interpreter's
# shutdown ran, and optionally a thread still running when the command ends.
_RUN = """
import atexit, sys, threading, time
from awslab.cli.main import run
atexit.register(lambda: sys.stderr.write("shutdown ran\\n"))
if sys.argv[1] == "thread":  # still running when the command ends, which takes milliseconds
    threading.Thread(target=lambda: (time.sleep(1), sys.stderr.write("thread finished\\n"))).start()
sys.argv = ["awslab", *sys.argv[2:]]
run()
"""


def _run(tmp_path: Path, thread: bool, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN, "thread" if thread else "-", *argv],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_console_script_flushes_and_exits_without_the_interpreter_shutdown(tmp_path: Path) -> None:
    proc = _run(tmp_path, False, "version")
    assert (proc.returncode, proc.stdout) == (0, f"{__version__}\n")  # piped, so block-buffered: flushed
    assert "shutdown ran" not in proc.stderr

    bad = _run(tmp_path, False, "validate", "no-such-lab")
    assert bad.returncode == 2
    assert "unknown lab 'no-such-lab'" in bad.stderr and "shutdown ran" not in bad.stderr


def test_a_thread_still_running_gets_the_normal_exit(tmp_path: Path) -> None:
    proc = _run(tmp_path, True, "version")
    assert (proc.returncode, proc.stdout) == (0, f"{__version__}\n")
    assert proc.stderr.splitlines() == ["thread finished", "shutdown ran"]
