"""Terminal rendering of the exercise commands' results: the response, and the effect downstream
(the rows consumers wrote, the lab's summary of a row, the state tree). No logic, no AWS calls; JSON output
is each result's `to_dict()` through `awslab.render.print_json`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from awslab.exercise.attributes import MessageAttribute
from awslab.exercise.checks import CheckReport, CheckResult
from awslab.exercise.effects import Effects
from awslab.exercise.executions import ExecutionResult, StateNode
from awslab.exercise.http import CallResult
from awslab.exercise.invoke import InvokeResult
from awslab.exercise.logs import LogEvent
from awslab.exercise.messages import PublishResult, SendResult
from awslab.exercise.upload import UploadResult

STATUS_STYLE = {
    "SUCCEEDED": "green",
    "CAUGHT": "yellow",
    "FAILED": "red",
    "ABORTED": "magenta",
    "RUNNING": "cyan",
    "TIMED_OUT": "red",
}
STATUS_ICON = {
    "SUCCEEDED": "✓",
    "CAUGHT": "↪",
    "FAILED": "✗",
    "ABORTED": "-",
    "RUNNING": "…",
    "TIMED_OUT": "✗",
}


def _ms(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def value_view(value: Any, *, compact: bool = False) -> RenderableType:
    """JSON-able data highlighted; text as text."""
    if isinstance(value, str):
        return Text(value)
    try:
        return JSON.from_data(value, indent=None if compact else 2, default=str)
    except (TypeError, ValueError):
        return Text(str(value))


def _one_line(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- call / invoke ----------------------------------------------------------------------
def call_view(res: CallResult, *, show_headers: bool = True) -> RenderableType:
    style = "green" if res.status < 300 else "yellow" if res.status < 400 else "red"
    parts: list[RenderableType] = [
        Text.from_markup(
            f"[bold {style}]HTTP {res.status} {escape(res.reason)}[/]  [dim]{escape(res.method)} "
            f"{escape(res.url)} ({_ms(res.elapsed_ms)})[/]"
        )
    ]
    if show_headers:
        for name, value in res.headers.items():
            parts.append(Text.from_markup(f"[dim]{escape(name)}: {escape(value)}[/]"))
    if res.body:
        parts.append(value_view(res.json) if res.json is not None else Text(res.body))
    return Group(*parts)


def invoke_view(res: InvokeResult) -> RenderableType:
    head = (
        f"[bold green]✓ {escape(res.function)}[/] returned"
        if res.ok
        else f"[bold red]✗ {escape(res.function)} failed[/] ({escape(str(res.function_error))})"
    )
    parts: list[RenderableType] = [
        Text.from_markup(
            f"{head}  [dim]{escape(res.physical)}, status {res.status_code}, {_ms(res.elapsed_ms)}[/]"
        ),
        value_view(res.payload) if res.payload is not None else Text("(no payload)", style="dim"),
    ]
    if res.log_tail:
        parts += [Text("log (last 4 KB):", style="bold"), Text(res.log_tail.rstrip("\n"), style="dim")]
    return Group(*parts)


# ---- effects ----------------------------------------------------------------------------
def _rows(found: Iterable[Mapping[str, Any]], indent: str = "  ") -> list[RenderableType]:
    out: list[RenderableType] = []
    for f in found:
        out.append(
            Text.from_markup(
                f"{indent}[green]→[/] row in [bold]{escape(str(f['table']))}[/] "
                f"[dim](matched {escape(str(f['matched_on']))})[/]"
            )
        )
        out.append(Text(f"{indent}  {_one_line(f['item'], 400)}"))
    return out


def _nothing(effects: Effects, hint: str = "") -> RenderableType:
    if not effects.tables:
        return Text("  the lab has no table to look for an effect in", style="dim")
    return Text.from_markup(
        f"  [yellow]no row written[/] within {effects.waited_ms / 1000:.1f}s"
        + (f" [dim]— {escape(hint)}[/]" if hint else "")
    )


def send_view(res: SendResult) -> RenderableType:
    parts: list[RenderableType] = []
    hint = (
        f"the consumer may have rejected it: 'awslab logs {res.lab} {res.consumer}'"
        if res.consumer
        else "no Lambda reads this queue"
    )
    for m in res.messages:
        parts.append(
            Text.from_markup(
                f"[bold green]✓[/] sent [bold]{escape(m.message_id)}[/] to queue "
                f"[bold]{escape(res.queue)}[/] [dim]{escape(_one_line(m.body, 120))}[/]"
                + _attributes_text(res.attributes)
            )
        )
        parts += _rows(m.effects) if m.effects else [_nothing(res.effects, hint)]
    return Group(*parts)


def _attributes_text(attributes: Mapping[str, MessageAttribute]) -> str:
    if not attributes:
        return ""
    shown = ", ".join(f"{name}={a.value}" for name, a in attributes.items())
    return f" [dim]with attributes {escape(shown)}[/]"


def publish_view(res: PublishResult) -> RenderableType:
    parts: list[RenderableType] = [
        Text.from_markup(
            f"[bold green]✓[/] published [bold]{escape(res.message_id)}[/] to topic "
            f"[bold]{escape(res.topic)}[/] [dim]{escape(_one_line(res.body, 120))}[/]"
            + _attributes_text(res.attributes)
        )
    ]
    if not res.subscribers:
        parts.append(Text("  the topic has no subscribers", style="yellow"))
    for s in res.subscribers:
        who = s.resource or s.endpoint
        via = f" → {', '.join(s.writers)}" if s.writers else ""
        parts.append(
            Text.from_markup(f"  subscriber [bold]{escape(s.protocol)}[/] {escape(who)}{escape(via)}")
        )
        if not s.delivered:
            parts.append(Text("    not delivered: its filter policy does not match", style="dim"))
        elif s.effects:
            parts += _rows(s.effects, indent="    ")
        elif s.tables:
            parts.append(
                Text.from_markup(f"    [yellow]no row written[/] within {res.effects.waited_ms / 1000:.1f}s")
            )
        else:
            parts.append(Text("    writes to none of the lab's tables", style="dim"))
    return Group(*parts)


# ---- executions -------------------------------------------------------------------------
def _cause_text(cause: str | None) -> str:
    """A Lambda error's cause is JSON ({"errorMessage": ..., "errorType": ...}): its message reads best."""
    if not cause:
        return ""
    try:
        data = json.loads(cause)
    except ValueError:
        return cause
    return str(data.get("errorMessage") or cause) if isinstance(data, dict) else cause


def _state_label(node: StateNode) -> str:
    style = STATUS_STYLE.get(node.status, "white")
    icon = STATUS_ICON.get(node.status, "?")
    extra = [node.type, _ms(node.duration_ms)]
    if node.attempts > 1:
        extra.append(f"{node.attempts - 1} retr{'y' if node.attempts == 2 else 'ies'}")
    label = (
        f"[{style}]{icon}[/] [bold]{escape(node.name)}[/] [{style}]{node.status.lower()}[/] "
        f"[dim]({escape(', '.join(e for e in extra if e))})[/]"
    )
    if node.error or node.cause:
        cause = _cause_text(node.cause)
        what = f"{escape(str(node.error or ''))}" + (f": {escape(_one_line(cause, 160))}" if cause else "")
        # a failure that a retry or a Catch got past is history, not the outcome
        label += f"\n[dim]after {what}[/]" if node.status in ("SUCCEEDED", "CAUGHT") else f"\n[red]{what}[/]"
    return label


def _add_states(tree: Tree, nodes: Iterable[StateNode]) -> None:
    for n in nodes:
        _add_states(tree.add(_state_label(n)), n.children)


def execution_view(res: ExecutionResult) -> RenderableType:
    style = STATUS_STYLE.get(res.status, "white")
    tree = Tree(
        f"[bold]{escape(res.state_machine)}[/] execution [bold]{escape(res.name)}[/] "
        f"[{style}]{res.status}[/] [dim]({_ms(res.duration_ms)})[/]"
    )
    _add_states(tree, res.states)
    parts: list[RenderableType] = [tree]
    if res.waited_out:
        parts.append(
            Text("still running when the wait ended; see it with the execution ARN:", style="yellow")
        )
        parts.append(Text(res.execution_arn, style="dim"))
    if res.error or res.cause:
        parts.append(
            Text.from_markup(
                f"[red]error:[/] {escape(str(res.error or ''))}"
                + (f": {escape(str(res.cause))}" if res.cause else "")
            )
        )
    if res.output is not None:
        parts += [Text("output:", style="bold"), value_view(res.output)]
    return Group(*parts)


# ---- upload -----------------------------------------------------------------------------
def upload_view(res: UploadResult, summary: Iterable[str] = ()) -> RenderableType:
    """The upload and the row written; `summary`: the lab's lines about that row (its upload
    checks' `summary` templates, filled in)."""
    parts: list[RenderableType] = []
    if res.mode == "api":
        ok = res.status is not None and 200 <= res.status < 300
        style = "green" if ok else "red"
        parts.append(
            Text.from_markup(
                f"[bold {style}]HTTP {res.status}[/] {escape(res.route or '')} "
                f"[bold]{escape(res.filename)}[/] ({res.size} bytes, "
                f"{escape(res.content_type)}) [dim]{_ms(res.elapsed_ms)}[/]"
            )
        )
        if not ok:
            parts.append(value_view(res.response))
            return Group(*parts)
    else:
        parts.append(
            Text.from_markup(
                f"[bold green]✓[/] put s3://{escape(str(res.bucket))}/{escape(res.key)} "
                f"({res.size} bytes, {escape(res.content_type)})"
            )
        )
    rec = res.record
    if rec is None:
        parts.append(
            Text.from_markup(f"  [yellow]no record written[/] [dim](waited {_ms(res.elapsed_ms)})[/]")
        )
        return Group(*parts)
    parts.append(Text.from_markup(f"  [green]→[/] record in [bold]{escape(str(res.table))}[/]"))
    parts += [Text(f"  {line}", style="bold") for line in summary]
    parts.append(record_table(rec))
    return Group(*parts)


def record_table(rec: Mapping[str, Any]) -> Table:
    t = Table(show_header=False, box=None, padding=(0, 2))
    t.add_column("field", style="bold")
    t.add_column("value")
    for k, v in rec.items():
        t.add_row(escape(str(k)), escape(_one_line(v, 160)))
    return t


# ---- logs, checks -----------------------------------------------------------------------
def log_line(e: LogEvent) -> str:
    return f"[dim]{e.time.strftime('%H:%M:%S.%f')[:-3]}[/] {escape(e.message.rstrip())}"


def check_line(r: CheckResult) -> str:
    mark = "[green]✓ pass[/]" if r.passed else "[red]✗ FAIL[/]"
    return f"{mark} {r.index}. {escape(r.name)} [dim]({_ms(r.elapsed_ms)})[/]"


def checks_table(report: CheckReport) -> Table:
    t = Table(title=f"Checks of lab '{report.lab}'", title_justify="left")
    t.add_column("#", justify="right")
    for col in ("check", "action", "result"):
        t.add_column(col)
    t.add_column("time", justify="right")
    t.add_column("detail", overflow="fold")
    for r in report.results:
        t.add_row(
            str(r.index),
            escape(r.name),
            r.action,
            "[green]pass[/]" if r.passed else "[red]FAIL[/]",
            _ms(r.elapsed_ms),
            escape(r.detail),
        )
    return t


def checks_summary(report: CheckReport) -> str:
    total, failed = len(report.results), len(report.failed)
    if not total:
        return f"Lab '{report.lab}' has no checks."
    if not failed:
        return f"[green]All {total} checks passed.[/]"
    return f"[red]{failed} of {total} checks failed.[/]"
