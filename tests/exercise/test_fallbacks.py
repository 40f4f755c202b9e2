"""Where an exercise command cannot learn something the first way, it falls back on purpose, and
only for the failures that mean "this source cannot say": a spec that moved on since `up` (no
upload route from it: `--route` is needed), a function the target does not know (any table may
be written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from awslab.exercise.messages import _writer_tables
from awslab.state import StateStore
from awslab.target import Target

from .conftest import Api, add_lab, api_rec, fn_rec, make_table

SPEC = (
    "name: up\nresources:\n"
    "  fn: {type: lambda.function, code: code, role: 'arn:aws:iam::123456789012:role/r'}\n"
    "  api: {type: apigateway.rest_api, routes: {'POST /files': fn}}\n"
    "checks:\n"
    "  - {upload: hello.txt, route: POST /files, expect: {status: 201}}\n"
)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    path = tmp_path / "up.yaml"
    path.write_text(SPEC)
    return path


def _upload(state: Path, file: Path, *args: str) -> Any:
    from awslab.cli.main import app

    cmd = ["upload", str(file), *args, "--wait", "0", "--target", "aws", "--state", str(state), "-o", "json"]
    return CliRunner().invoke(app, cmd)


@pytest.mark.parametrize("moved_on", ["invalid", "deleted"])
def test_the_upload_route_comes_from_the_spec_or_the_option(
    mocked_aws: None, tmp_path: Path, api: Api, spec: Path, moved_on: str
) -> None:
    state = tmp_path / "state.json"
    add_lab(
        StateStore(state, {"kind": "aws", "region": "us-east-1"}),
        "up",
        api_rec("api", api.url),
        spec=str(spec),
    )
    file = tmp_path / "hello.txt"
    file.write_text("hello")
    result = _upload(state, file)
    assert json.loads(result.stdout)["route"] == "POST /files"  # the spec's upload check names it
    assert api.requests[-1]["method"] == "POST" and api.requests[-1]["path"] == "/dev/files"
    if moved_on == "invalid":
        spec.write_text(SPEC + "  - {upload: hello.txt, route: nonsense}\n")
    else:
        spec.unlink()
    result = _upload(state, file)
    assert result.exit_code == 2 and "has an upload route" in result.stderr
    result = _upload(state, file, "--route", "PUT /files")
    assert json.loads(result.stdout)["route"] == "PUT /files" and api.requests[-1]["method"] == "PUT"


def test_tables_of_a_function_the_target_does_not_know_are_all_of_the_lab(
    target: Target, store: StateStore
) -> None:
    a, b = make_table(target, "a", "m"), make_table(target, "b", "m")
    lab = add_lab(store, "m", a, b, fn_rec("consumer", "m"))  # no such function on the target
    assert _writer_tables(target, lab, "consumer") == ["a", "b"]


def test_a_bug_while_reading_the_spec_is_not_swallowed(
    mocked_aws: None, tmp_path: Path, api: Api, spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only "the spec cannot say" falls back; anything else is a bug and shows as one."""
    state = tmp_path / "state.json"
    add_lab(
        StateStore(state, {"kind": "aws", "region": "us-east-1"}),
        "up",
        api_rec("api", api.url),
        spec=str(spec),
    )

    def broken(_path: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr("awslab.spec.load_spec", broken)
    file = tmp_path / "hello.txt"
    file.write_text("hello")
    result = _upload(state, file)
    assert (
        result.exit_code == 1 and "a bug" in result.stderr and "looks like a bug in awslab" in result.stderr
    )
