"""`awslab postman LAB [-o FILE]`: write a Postman collection for a deployed lab's HTTP API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from awslab.cli.common import Options, command, deployed_lab, err, open_state, open_target
from awslab.errors import UsageError

app = typer.Typer()


# No --output: its -o is this command's file, as with curl; `-o -` prints the collection itself.
@command(app, "postman")
def postman_cmd(
    opts: Options,
    lab: Annotated[str, typer.Argument(help="a deployed lab (name or spec path)")],
    output_file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-o",
            help="the file to write ('-': standard output; default: LAB.postman_collection.json here)",
        ),
    ] = None,
) -> None:
    """Write a Postman collection (v2.1) for the lab's deployed API: its base URL as a variable, a
    request per check (in order, with the check's expectations and the CORS header as tests) and an
    example for every other route. Import it in Postman, or run it: newman run FILE."""
    from awslab.postman import build_collection, default_file
    from awslab.target import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

    target = open_target(opts, start_local=False)
    where = target.describe()
    spec, state = deployed_lab(open_state(opts, target), target, lab)
    local_keys = (LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY) if target.kind == "local" else None
    result = build_collection(spec, state, where=where, region=target.region, local_keys=local_keys)
    text = json.dumps(result.data, indent=2) + "\n"
    file = output_file or default_file(spec.name)
    if file == "-":
        typer.echo(text, nl=False)
        return
    path = Path(file)
    try:
        path.write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", hint="pick another file with -o") from None
    err.print(
        f"Wrote {path}: {result.requests} requests, {result.tests} tests, for lab '{spec.name}' on {where}."
    )
    for key, value in result.variables.items():
        err.print(f"  {{{{{key}}}}} = {value or '(fill in)'}")
    if result.left_out:
        err.print(
            f"  left out, not HTTP: {len(result.left_out)} check{'s' if len(result.left_out) > 1 else ''} "
            f"('awslab check {spec.name}' runs them)"
        )
    err.print(f"Import it in Postman, or run it: newman run {path}")
