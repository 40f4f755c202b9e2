"""Rendering of core results for a terminal (rich) or as JSON. No logic, no AWS calls."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the types only: the engine is not imported by the commands that only list
    from rich.console import Console
    from rich.table import Table

    from awslab.engine.plan import Plan, Progress
    from awslab.engine.status import ResourceStatus

ACTION_STYLE = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "keep": "dim"}
HEALTH_STYLE = {
    "present": "green",
    "missing": "red",
    "changed": "yellow",
    "incomplete": "magenta",
    "unknown": "red",
    "gone": "red",
}
PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "keep": "kept"}


def print_json(console: Console, data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def _table(title: str, **options: Any) -> Table:
    from rich.table import Table  # a command that shows no table (validate) does not import it

    return Table(title=title, title_justify="left", **options)


def plan_table(plan: Plan) -> Table:
    t = _table(f"Plan for lab '{plan.lab}' (stack {plan.stack_id})")
    for col in ("action", "resource", "kind", "physical name", "reason"):
        t.add_column(col, overflow="fold")
    for c in plan.changes:
        style = ACTION_STYLE[c.action]
        t.add_row(f"[{style}]{c.action}[/]", c.logical, c.kind, c.physical, c.reason)
    return t


def plan_summary(plan: Plan) -> str:
    counts = plan.counts()
    parts = [f"{n} to {a}" for a, n in counts.items() if n and a != "keep"]
    if not parts:
        return f"Lab '{plan.lab}' is up to date ({counts['keep']} resources)."
    return f"Lab '{plan.lab}': " + ", ".join(parts) + f", {counts['keep']} unchanged."


def progress_line(p: Progress) -> str | None:
    """One line per finished step (output that is not a terminal); waits and retries show only in
    the live view (cli/live.py), so that scripts reading these lines see what they always did."""
    from awslab.engine.progress import NO_WAIT

    if p.phase in ("start", "waiting", "retrying") or (p.action == "ready" and p.detail == NO_WAIT):
        return None
    if p.phase == "done":
        return f"[green]✓[/] {PAST.get(p.action, p.action)} {p.kind} [bold]{p.logical}[/] [dim]({p.seconds:.1f}s)[/]"
    if p.phase == "skipped":
        return f"[yellow]-[/] skipped {p.kind} [bold]{p.logical}[/]: {p.detail}"
    return f"[red]✗[/] {p.action} {p.kind} [bold]{p.logical}[/] failed [dim]({p.seconds:.1f}s)[/]"


def outputs_table(lab: str, outputs: Mapping[str, Any]) -> Table:
    t = _table(f"Outputs of lab '{lab}'", show_header=False)
    t.add_column("name", style="bold")
    t.add_column("value", overflow="fold")
    for k, v in outputs.items():
        t.add_row(k, str(v))
    return t


def status_table(rows: Iterable[ResourceStatus], title: str) -> Table:
    t = _table(title)
    for col in ("lab", "resource", "kind", "physical name", "status", "detail"):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(r.lab, r.logical, r.kind, r.physical, f"[{HEALTH_STYLE[r.health]}]{r.health}[/]", r.detail)
    return t


def labs_table(rows: Iterable[Mapping[str, Any]]) -> Table:
    t = _table("Labs")
    for col in ("lab", "description", "resources", "deployed"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["description"], str(r["resources"]), "\n".join(map(deployment, r["deployed"])))
    return t


def deployment(d: Mapping[str, Any]) -> str:
    """One place a lab is deployed: `local:4580`, `aws 123456789012 us-east-1 (other.json)`; a lab
    whose local cloud has stopped or restarted since is marked gone."""
    text = str(d["where"])
    if not d.get("default_state", True):
        text += f" ({PurePath(d['state_file']).name})"
    return f"{text} [red](gone)[/]" if d.get("gone") else text
