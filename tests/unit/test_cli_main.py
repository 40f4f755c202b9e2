"""The CLI is assembled from modules that exist: every command is listed and runs, the table that
says which module holds a command is complete, and a module that fails to import is an error, not
a quietly smaller CLI. Commands are imported lazily: one command imports only its own module."""

from __future__ import annotations

import importlib
import sys

import pytest
from typer.testing import CliRunner

from awslab.cli import main


def _defined_by(module_name: str) -> set[str]:
    module = importlib.import_module(f"awslab.cli.{module_name}")
    if module_name in main.GROUPS:
        return {module_name}
    return {c.name for c in module.app.registered_commands if c.name}


def test_every_command_module_is_in_the_table() -> None:
    """A module missing from the table would never be imported: a quietly smaller CLI."""
    import pkgutil

    import awslab.cli

    modules = {m.name for m in pkgutil.iter_modules(awslab.cli.__path__)} - {"main"}
    # a module of commands has an `app`; the others (common, live, watching) serve them
    commands = {m for m in modules if hasattr(importlib.import_module(f"awslab.cli.{m}"), "app")}
    assert set(main.MODULES) == commands and {"common", "live"} <= modules - commands


def test_the_command_table_names_every_command_of_every_module() -> None:
    by_table = {m: {c for c, mod in main.COMMANDS.items() if mod == m} for m in main.MODULES}
    assert by_table == {m: _defined_by(m) for m in main.MODULES}


def test_help_lists_every_command_in_the_table_and_version() -> None:
    result = CliRunner().invoke(main.app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = [
        line.split()[1]
        for line in result.output.splitlines()
        if line.startswith("│ ") and len(line.split()) > 1
    ]
    assert set(listed) >= {*main.COMMANDS, "version"}
    assert {"labs", "up", "teardown", "call", "upload", "check", "logs", "local"} <= set(listed)


def test_a_typo_is_answered_with_the_command_meant() -> None:
    result = CliRunner().invoke(main.app, ["stauts"])
    assert result.exit_code == 2
    assert "No such command 'stauts'" in result.output and "'status'" in result.output


@pytest.mark.parametrize(
    ("module", "command"), [("awslab.cli.exercise", "call"), ("awslab.cli.local", "local")]
)
def test_a_command_module_that_cannot_be_imported_is_an_error(
    module: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import awslab.cli

    monkeypatch.delattr(awslab.cli, module.rsplit(".", 1)[1], raising=False)
    monkeypatch.setitem(sys.modules, module, None)  # importing it raises ModuleNotFoundError
    for argv in (["--help"], [command, "--help"]):
        result = CliRunner().invoke(main.app, argv)
        assert isinstance(result.exception, ImportError), (argv, result.output)
