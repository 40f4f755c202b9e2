"""A full disk or a read-only place while awslab writes is the user's to fix: the CLI names the
file and what to do, never "this looks like a bug"."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from awslab.cli.common import translate
from awslab.cli.main import app
from awslab.errors import StateError


@pytest.fixture
def runner(mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def test_up_with_a_full_disk_names_the_state_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state" / "state" / "aws-123456789012-us-east-1.json"
    real_replace = os.replace
    writes: list[str] = []

    def replace(src: Any, dst: Any, *a: Any, **k: Any) -> None:
        if str(dst) == str(state):
            writes.append(str(dst))
            if len(writes) > 1:  # the lab is recorded, then the disk fills up
                raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)
    result = runner.invoke(app, ["up", "crud", "--target", "aws", "--yes"])
    assert result.exit_code == 1, result.output
    assert f"cannot write {state}: the disk is full" in result.output
    assert "free some space, then run the command again" in result.output
    assert "looks like a bug" not in result.output
    monkeypatch.setattr(os, "replace", real_replace)
    # the file holds what was recorded before: 'up' carries on once there is room again
    again = runner.invoke(app, ["up", "crud", "--target", "aws", "--yes"])
    assert again.exit_code == 0, again.output


def test_a_read_only_state_directory_is_named(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, *_a: Any, **_k: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    result = runner.invoke(app, ["up", "crud", "--target", "aws", "--yes"])
    assert result.exit_code == 1, result.output
    assert "the file system is read-only" in result.output and "state" in result.output
    assert "looks like a bug" not in result.output


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES])
def test_any_write_that_fails_for_want_of_room_or_rights_names_its_file(code: int) -> None:
    translated = translate(OSError(code, os.strerror(code), "/cache/bundle.zip"))
    assert isinstance(translated, StateError)
    assert str(translated).startswith("cannot write /cache/bundle.zip: ")
    other = OSError(errno.EIO, "Input/output error", "/x")  # not one the user can act on: a bug
    assert translate(other) is other
