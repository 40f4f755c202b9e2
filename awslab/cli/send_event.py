"""`awslab send-event`: put an event on a lab's EventBridge bus and show which rules matched and
what their targets' consumers wrote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from awslab.cli.common import Options, command
from awslab.cli.exercise import BODY_HELP, LabOption, WaitOption, _emit, _live, _open, waiting
from awslab.exercise.defaults import EFFECTS_TIMEOUT

if TYPE_CHECKING:
    from awslab.exercise.put_events import EventResult

app = typer.Typer()


@command(app, "send-event", output=True)
def send_event_cmd(
    opts: Options,
    detail: Annotated[
        str | None,
        typer.Argument(help=f"the event's detail, a JSON object (default: a sample order): {BODY_HELP}"),
    ] = None,
    lab: LabOption = None,
    bus: Annotated[
        str | None,
        typer.Option(
            "--bus", help="the bus's logical name, or 'default' (default: the bus the lab's rules use)"
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="the event's source (default: the one a rule asks for)")
    ] = None,
    detail_type: Annotated[
        str | None,
        typer.Option("--detail-type", help="the event's detail-type (default: the one a rule asks for)"),
    ] = None,
    wait: WaitOption = EFFECTS_TIMEOUT,
) -> None:
    """Put an event on a lab's EventBridge bus (PutEvents) and show the rules it matched and the
    rows their targets' consumers wrote."""
    from awslab.exercise import put_events
    from awslab.exercise.labs import pick_lab_with
    from awslab.exercise.values import option_text

    text = option_text(detail, "DETAIL") if detail is not None else None
    target, store, where = _open(opts)
    deployed = _live(target, store, pick_lab_with(store, ("events.rule", "events.bus"), lab, where=where))
    with waiting(f"Sending an event to lab '{deployed.name}' and waiting for the targets…"):
        res = put_events.send_event(
            target, deployed, text, bus=bus, source=source, detail_type=detail_type, timeout=wait
        )
    _emit(opts, res.to_dict(), _view(res))


def _view(res: EventResult) -> Any:
    from rich.console import Group
    from rich.markup import escape
    from rich.text import Text

    parts: list[Any] = [
        Text.from_markup(
            f"[bold green]✓[/] put event [bold]{escape(res.event_id)}[/] on bus [bold]{escape(res.bus)}[/] "
            f"[dim]source {escape(res.source)}, detail-type {escape(res.detail_type)}[/]"
        )
    ]
    if not res.rules:
        parts.append(Text("  no rule of the lab listens on this bus with a pattern", style="yellow"))
    for r in res.rules:
        parts.append(Text.from_markup(
            f"  rule [bold]{escape(r.rule)}[/] " + ("[green]matched[/]" if r.matched else "[dim]did not match[/]")
        ))  # fmt: skip
    for found in res.effects.found:
        parts.append(Text(f"  row in {found.table}: {found.item}"))
    if any(r.matched for r in res.rules) and not res.effects.found and res.effects.tables:
        parts.append(Text.from_markup(
            f"  [yellow]no row written[/] within {res.effects.waited_ms / 1000:.1f}s"
        ))  # fmt: skip
    return Group(*parts)
