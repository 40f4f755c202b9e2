"""`awslab explain LAB`: a bash script of AWS CLI commands that builds the lab by hand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from awslab.cli.common import Options, command, err

app = typer.Typer()


@command(app, "explain", target=False)
def explain_cmd(
    opts: Options,
    lab: Annotated[str, typer.Argument(help="a built-in lab name (see 'awslab labs') or a path to a spec")],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="write the script here (its files go to FILE's directory); default: stdout"
        ),
    ] = None,
    region: Annotated[str, typer.Option("--region", help="the region the script defaults to")] = "us-east-1",
) -> None:
    """Write a bash script of AWS CLI commands that builds LAB by hand, as 'up' does: in dependency
    order, a comment naming each resource, ids AWS assigns kept in shell variables, and the waits
    AWS needs. Nothing is deployed: the commands are those 'up' makes, recorded on an in-process
    mock. Run it with 'bash FILE' (--endpoint-url URL or AWS_ENDPOINT_URL for an emulator)."""
    from awslab.explain.record import record_up
    from awslab.explain.script import build_script
    from awslab.spec import find_lab, load_spec

    spec = load_spec(find_lab(lab))
    recording = record_up(spec, region=region)
    if out_file is None:
        typer.echo(build_script(recording).text, nl=False)
        return
    files_dir = f"{out_file.stem}-files"
    script = build_script(recording, files_dir=files_dir)
    folder = out_file.parent / files_dir
    if script.files:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in script.files.items():
            (folder / name).write_bytes(data)
    out_file.write_text(script.text)
    os.chmod(out_file, 0o755)
    err.print(
        f"Wrote {out_file} ({sum(1 for line in script.text.splitlines() if line.startswith(('aws ', 'read ')) or '$(aws ' in line)} "
        f"commands{f', {len(script.files)} files in {folder}' if script.files else ''}); "
        f"run it with 'bash {out_file}' (add --endpoint-url URL for an emulator).",
        markup=False,
    )
