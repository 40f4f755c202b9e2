"""`awslab validate` through the CLI (typer's CliRunner and a real process): exit code 2, the file and
line shown, no traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.unit.spec_cases import (
    AWSLAB,
    CORPUS,
    FN,
    lab_dir_fixture,  # noqa: F401 (provides the lab_dir fixture)
)


def cli(*args: str) -> Any:
    from awslab.cli.main import app

    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("name", ["unknown-kind", "cycle-of-two", "dangling-reference", "not-yaml", "empty"])
def test_validate_cli_exits_2_and_shows_the_line(lab_dir: Path, name: str) -> None:
    case = CORPUS[name]
    (lab_dir / "lab.yaml").write_text(case.yaml)
    result = cli("validate", "lab.yaml")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"lab.yaml:{case.line}: {case.path}" in result.output
    assert result.output.startswith("error: ")


def test_validate_cli_lists_every_problem(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text("name: Bad\nresources:\n  t: {type: dynamodb.tabel}\n")
    result = cli("validate", "lab.yaml")
    assert result.exit_code == 2
    assert "lab.yaml:1: name: invalid lab name" in result.output
    assert "lab.yaml:3: resources.t.type: unknown kind" in result.output


def test_validate_cli_on_a_valid_spec(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text("name: ok\nresources:\n  t: {type: dynamodb.table, key: {id: S}}\n")
    result = cli("validate", "lab.yaml")
    assert result.exit_code == 0, result.output
    assert "lab 'ok' is valid" in result.output
    result = cli("validate", "lab.yaml", "--output", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"lab": "ok", "valid": True, "resources": ["t"]}


def test_validate_cli_unknown_lab_name(lab_dir: Path) -> None:
    result = cli("validate", "crdu")
    assert result.exit_code == 2
    assert "unknown lab 'crdu'" in result.output and "did you mean 'crud'?" in result.output


def run_awslab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AWSLAB), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("name", ["duplicate-nested-key", "not-yaml", "missing-name"])
def test_validate_as_a_real_process(lab_dir: Path, name: str) -> None:
    case = CORPUS[name]
    (lab_dir / "lab.yaml").write_text(case.yaml)
    proc = run_awslab("validate", "lab.yaml", cwd=lab_dir)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.startswith(f"error: lab.yaml:{case.line}: {case.path}")
    assert proc.stdout == ""


def test_validate_crud_as_a_real_process(lab_dir: Path) -> None:
    # regression: the CLI imports one kind module early, which once left load_kinds() partial
    proc = run_awslab("validate", "crud", cwd=lab_dir)
    assert proc.returncode == 0, proc.stderr
    assert "lab 'crud' is valid" in proc.stdout


def test_validate_cli_shows_brackets_verbatim(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text(f"name: a\nresources:\n  fn: {FN}\n  api:\n    type: apigateway.rest_api\n"
                                      "    routes:\n      GET /items/[id]: fn\n")  # fmt: skip
    result = cli("validate", "lab.yaml")
    assert result.exit_code == 2
    assert "GET /items/[id]" in result.output
