"""The `awslab` entry point: assembles the command groups."""

from __future__ import annotations

import typer

from awslab import __version__
from awslab.cli import labs

app = typer.Typer(
    name="awslab",
    help="Provision, exercise and clean up serverless AWS labs from YAML specs — on a local cloud "
    "(default: no account, no Docker) or a real AWS account (--target aws).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a crash must never print credentials
    rich_markup_mode="rich",
)
app.registered_commands += labs.app.registered_commands


def _optional_groups() -> None:
    """Groups whose modules may not exist yet in a partial checkout are added when present."""
    import importlib

    for module, name in (("awslab.cli.local", "local"),):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        app.add_typer(mod.app, name=name)
    try:
        exercise = importlib.import_module("awslab.cli.exercise")
    except ModuleNotFoundError as exc:
        if exc.name != "awslab.cli.exercise":
            raise
    else:
        app.registered_commands += exercise.app.registered_commands


_optional_groups()


@app.command("version")
def version_cmd() -> None:
    """Print awslab's version."""
    typer.echo(__version__)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
