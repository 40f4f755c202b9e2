"""The CLI is assembled from modules that exist: every command group is there, and a module
that fails to import is an error, not a quietly smaller CLI."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_every_command_group_is_registered() -> None:
    from awslab.cli.main import app

    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert {"labs", "up", "teardown", "call", "upload", "check", "logs", "local", "version"} <= names


@pytest.mark.parametrize("module", ["awslab.cli.exercise", "awslab.cli.local"])
def test_a_command_module_that_cannot_be_imported_is_an_error(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import awslab.cli

    monkeypatch.delitem(sys.modules, "awslab.cli.main", raising=False)
    monkeypatch.delattr(awslab.cli, module.rsplit(".", 1)[1], raising=False)
    monkeypatch.setitem(sys.modules, module, None)  # importing it raises ModuleNotFoundError
    with pytest.raises(ImportError):
        importlib.import_module("awslab.cli.main")
