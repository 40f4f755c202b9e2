"""`awslab graph LAB`: the lab's resources and flows as a Mermaid flowchart or Graphviz DOT."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from awslab.cli.common import Options, command

app = typer.Typer()


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


@command(app, "graph", target=False)
def graph_cmd(
    opts: Options,
    lab: Annotated[str, typer.Argument(help="a built-in lab name (see 'awslab labs') or a path to a spec")],
    fmt: Annotated[
        GraphFormat,
        typer.Option("--format", "-f", help="mermaid (Markdown, GitHub) or dot (Graphviz: | dot -Tsvg)"),
    ] = GraphFormat.mermaid,
) -> None:
    """Draw a lab from its spec: each resource, and the flows between them (API route -> function ->
    table, bucket -> function, topic -> queue -> function, state machine -> functions, rule -> target),
    labelled with what travels; dashed arrows show who assumes each IAM role. Nothing is deployed."""
    from awslab.diagram import load
    from awslab.diagram_render import render

    typer.echo(render(load(lab), fmt.value), nl=False)
