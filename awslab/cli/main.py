"""The `awslab` entry point: assembles the command groups."""

from __future__ import annotations

import typer

from awslab import __version__
from awslab.cli import exercise, labs, local, teardown

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
app.registered_commands += teardown.app.registered_commands
app.registered_commands += exercise.app.registered_commands
app.add_typer(local.app, name="local")


@app.command("version")
def version_cmd() -> None:
    """Print awslab's version."""
    typer.echo(__version__)


def run() -> None:
    app()


if __name__ == "__main__":
    run()
