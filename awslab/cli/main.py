"""The `awslab` entry point: the command groups, each imported when one of its commands runs."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

# A command is short and leaves little garbage, but Python's collector runs hundreds of times while
# imports build the heap, each full pass over all of it: 15-20% of a start. So it runs rarely while
# this module imports and while a command runs (`run`); cycles made and dropped at once still go.
_FEW_COLLECTIONS = (50_000, 50, 1000)
_thresholds = gc.get_threshold()
gc.set_threshold(*_FEW_COLLECTIONS)
try:
    import typer
    import typer.main
    from typer.core import TyperGroup

    from awslab import __version__
finally:
    gc.set_threshold(*_thresholds)

# Each command -> the module of awslab.cli that defines it, in the order help lists them. Only that
# module is imported to run a command, and only that command is turned into a click command:
# `awslab labs` pays neither for the exercise commands' imports nor for building the other 20.
# A new command module is registered by one entry here. A command of a listed module that the
# table misses still runs (every module is searched then), only slower; help lists every command
# the modules define (tests/unit/test_cli_main.py checks that the table is complete).
COMMANDS: dict[str, str] = {
    **dict.fromkeys(("labs", "validate", "plan", "up", "status", "outputs"), "labs"),
    "new": "new",
    "teardown": "teardown",
    "graph": "graph",
    "explain": "explain",
    "postman": "postman",
    **dict.fromkeys(
        ("call", "invoke", "upload", "send-message", "publish", "start-execution", "logs", "check", "event"),
        "exercise",
    ),
    "send-event": "send_event",
    "local": "local",
}
GROUPS = {"local"}  # modules whose app is a command group of its own, under the module's name
MODULES = tuple(dict.fromkeys(COMMANDS.values()))

_APP_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_show_locals": False,  # a crash must never print credentials
    "rich_markup_mode": "rich",
}


class LazyGroup(TyperGroup):
    """The top-level group: a command is imported and built when it is looked up. Help lists every
    command (importing all modules); a failing import is an error, never a smaller CLI."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: set[str] = set()  # modules whose every command is built

    def list_commands(self, ctx: Any) -> list[str]:
        self._load_all()
        return list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            module = COMMANDS.get(cmd_name)
            if module is not None:
                self._load(module, only=cmd_name)
            else:  # not in the table (or a typo: then every name is known for the suggestion)
                self._load_all()
        return self.commands.get(cmd_name)

    def _load_all(self) -> None:
        for module in MODULES:
            if module not in self._loaded:
                self._load(module)
                self._loaded.add(module)
        self.commands = {n: self.commands[n] for n in _help_order(self.commands)}

    def _load(self, module_name: str, only: str | None = None) -> None:
        module = importlib.import_module(f"awslab.cli.{module_name}")
        holder = typer.Typer(**_APP_SETTINGS)
        if module_name in GROUPS:
            holder.add_typer(module.app, name=module_name)
        else:
            holder.registered_commands = [
                c for c in module.app.registered_commands if only is None or c.name == only
            ]
        for name, cmd in typer.main.get_group(holder).commands.items():
            self.commands.setdefault(name, cmd)


def _help_order(commands: Mapping[str, Any]) -> list[str]:
    """As before commands were loaded lazily: the table's order, `version`, the groups last."""
    known = [n for n in COMMANDS if n in commands and n not in GROUPS]
    others = [n for n in commands if n not in COMMANDS]  # `version`, and any the table misses
    return [*known, *others, *(n for n in GROUPS if n in commands)]


app = typer.Typer(
    name="awslab",
    help="Provision, exercise and clean up serverless AWS labs from YAML specs — on a local cloud "
    "(default: no account, no Docker) or a real AWS account (--target aws).",
    no_args_is_help=True,
    cls=LazyGroup,
    # --install-completion / --show-completion on the top level only (README: shell completion)
    **{**_APP_SETTINGS, "add_completion": True},
)


@app.callback()
def _group() -> None:
    """Makes the app a group although `version` is its only command registered up front."""


@app.command("version")
def version_cmd() -> None:
    """Print awslab's version."""
    typer.echo(__version__)


def run() -> None:
    """The console script: run the command, then exit at once (see `_exit`)."""
    gc.set_threshold(*_FEW_COLLECTIONS)
    try:
        app()
    except SystemExit as exc:
        _exit(exc.code)
    _exit(0)


def _exit(code: object) -> None:
    """Flush and end the process without the interpreter's shutdown, which spends 0.1-0.2 s
    tearing down modules and objects (boto3's above all) that no one needs any more. Only when
    the command left nothing running: another thread falls back to the normal exit, which waits
    for it. A local cloud the command started runs detached (its own session, its output in its
    log) and is not affected either way."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # what sys.exit("message") does
        print(code, file=sys.stderr)
        status = 1
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a pipe whose reader left: as Python exits then
            status = status or 120
    os._exit(status)


if __name__ == "__main__":
    run()
