"""`awslab new NAME [--from TEMPLATE] [--dir DIR]`: write a lab of one's own (awslab/scaffold.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from awslab.cli.common import Options, command, out

app = typer.Typer()

# Listed in the help without reading the templates (help must stay quick); a test keeps it in step.
TEMPLATE_NAMES = "function (default), crud, queue, topic, schedule, http-api"


@command(app, "new", target=False, output=True)
def new_cmd(
    opts: Options,
    name: Annotated[str, typer.Argument(help="the lab's name: lowercase letters, digits, '-' (at most 20)")],
    template: Annotated[
        str, typer.Option("--from", help=f"the template: {TEMPLATE_NAMES}", show_default=False)
    ] = "function",
    directory: Annotated[
        Path | None, typer.Option("--dir", help="where to write (default: the current directory)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite files that exist")] = False,
) -> None:
    """Start a lab of your own: a spec NAME.yaml with checks, its handler code in handlers/NAME/ and
    a sample event in events/NAME.json, ready for 'awslab up ./NAME.yaml'."""
    from rich.markup import escape

    from awslab.scaffold import create_lab

    lab = create_lab(name, template, directory, force=force)
    if opts.json:
        typer.echo(json.dumps(lab.to_dict(), indent=2))
        return
    where = "the current directory" if directory is None else str(lab.directory)
    out.print(f"[green]created[/] lab [bold]{escape(lab.name)}[/] from template {lab.template} in {where}:")
    for path in lab.files:
        note = " (overwritten)" if path in lab.overwritten else ""
        out.print(f"  {escape(str(path))}{note}")
    out.print("next:")
    for step in lab.next_steps:
        out.print(f"  {escape(step)}")
