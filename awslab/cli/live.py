"""The live per-resource view of `up` and `teardown` on a terminal: one row per resource, redrawn
as the engine's progress events come (waiting on its dependencies, creating, waiting for AWS and
why, retrying and the error, done and how long it took), and a summary line under them.

Output that is not a terminal (a pipe, a file, `TERM=dumb`) gets the plain lines of
`render.progress_line` instead, one per finished step, as scripts have always read them. Colours
follow the console, which honours `NO_COLOR` (https://no-color.org)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from awslab import render

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from awslab.engine.plan import Plan
    from awslab.engine.progress import Progress, ProgressFn
    from awslab.engine.sweep import Orphan
    from awslab.resources.base import Record

State = Literal["pending", "running", "made", "waiting", "retrying", "done", "failed", "skipped"]
VERBS = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting"}
LOOK: dict[State, tuple[str, str]] = {  # state -> (symbol, style)
    "pending": ("·", "dim"),
    "running": ("…", "cyan"),
    "made": ("…", "cyan"),
    "waiting": ("…", "blue"),
    "retrying": ("↻", "yellow"),
    "done": ("✓", "green"),
    "failed": ("✗", "red"),
    "skipped": ("-", "yellow"),
}
REFRESH_PER_SECOND = 8


@dataclass
class Row:
    logical: str
    kind: str
    action: str  # create, update, replace, delete
    after: frozenset[str] = frozenset()  # the rows this one waits for before it starts
    ready_step: bool = False  # AWS keeps making it after its create: "ready" events follow
    state: State = "pending"
    detail: str = ""
    started: float | None = None
    seconds: float | None = None  # once finished


@dataclass
class LiveView:
    """The rows and their states; call it with each `Progress` (from any thread)."""

    title: str
    rows: dict[str, Row]
    has_ready_step: Callable[[str], bool] = lambda _kind: False  # for rows an event adds
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    finished: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def __call__(self, p: Progress) -> None:
        with self._lock:
            row = self.rows.get(p.logical)
            if row is None:  # a "keep" that turned into an update
                action = p.action if p.action != "ready" else "update"
                row = Row(p.logical, p.kind, action, ready_step=self.has_ready_step(p.kind))
                self.rows[p.logical] = row
            self._apply(row, p)

    def _apply(self, row: Row, p: Progress) -> None:
        now = self.clock()
        if row.started is None and p.phase != "skipped":
            row.started = now - p.seconds
        if p.phase == "start":
            row.state, row.detail, row.action = "running", "", p.action
        elif p.phase in ("waiting", "retrying"):
            row.state, row.detail = p.phase, p.detail
        elif p.phase == "failed":
            row.state, row.detail = "failed", _first_line(p.detail)
            row.seconds = now - row.started if row.started is not None else p.seconds
        elif p.phase == "skipped":
            row.state, row.detail = "skipped", p.detail
        elif p.action != "ready" and row.ready_step:  # made: AWS still makes it usable
            row.state, row.detail = "made", ""
        else:
            row.state, row.detail = "done", ""
            row.seconds = now - row.started if row.started is not None else p.seconds

    def stop(self) -> None:
        with self._lock:
            self.finished = self.clock()

    # ---- rendering ----------------------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.table import Table
        from rich.text import Text

        with self._lock:
            rows = list(self.rows.values())
            now = self.finished if self.finished is not None else self.clock()
            table = Table.grid(padding=(0, 1))
            for _ in range(5):
                table.add_column()
            table.columns[4].overflow = "fold"
            for row in rows:
                symbol, style = LOOK[row.state]
                seconds = (
                    row.seconds
                    if row.seconds is not None
                    else (now - row.started if row.started is not None and row.state != "pending" else None)
                )
                table.add_row(
                    Text(symbol, style=style),
                    Text(row.logical, style="bold"),
                    Text(row.kind, style="dim"),
                    Text(f"{seconds:5.1f}s" if seconds is not None else "", style="dim"),
                    Text(self._what(row), style=style if row.state != "pending" else ""),
                )
            summary = self._summary(rows, now)
        yield Text(self.title, style="bold")
        yield table
        yield Text(summary, style="bold")

    def _what(self, row: Row) -> str:
        verb = VERBS.get(row.action, row.action)
        if row.state == "pending":
            left = sorted(d for d in row.after if d in self.rows and self.rows[d].state != "done")
            return f"waiting on {', '.join(left)}" if left else "queued"
        if row.state == "running":
            return verb
        if row.state == "made":
            return f"{render.PAST.get(row.action, row.action)}; AWS is still making it usable"
        if row.state == "waiting":
            return f"waiting for AWS: {row.detail}" if row.detail else "waiting for AWS to finish it"
        if row.state == "retrying":
            return f"{verb}, retrying: {row.detail}"
        if row.state == "done":
            return render.PAST.get(row.action, row.action)
        if row.state == "failed":
            return f"failed while {verb}: {row.detail}"
        return f"skipped: {row.detail}"

    def _summary(self, rows: list[Row], now: float) -> str:
        count = {s: sum(r.state == s for r in rows) for s in LOOK}
        parts = [f"{count['done']} of {len(rows)} done"]
        parts += [f"{count[s]} {s}" for s in ("failed", "skipped") if count[s]]
        busy = len(rows) - count["done"] - count["failed"] - count["skipped"]
        if busy and self.finished is None:
            parts.append(f"{busy} to go")
        return ", ".join(parts) + f" in {now - self.started:.1f}s"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def plan_view(plan: Plan, **kwargs: Any) -> LiveView:
    """A row for each resource `up` changes, waiting on those of its dependencies it changes too."""
    from awslab.resources.base import kind_class

    changing = [c for c in plan.changes if c.action != "keep"]
    names = {c.logical for c in changing}
    rows = {
        c.logical: Row(
            c.logical,
            c.kind,
            c.action,
            frozenset(set(c.depends_on) & names),
            ready_step=c.action != "delete" and kind_class(c.kind).has_readiness(),
        )
        for c in changing
    }
    return LiveView(
        f"up lab '{plan.lab}'", rows, has_ready_step=lambda k: kind_class(k).has_readiness(), **kwargs
    )


def teardown_view(lab: str, records: Mapping[str, Record], **kwargs: Any) -> LiveView:
    """A row for each resource of the lab, waiting on the dependents to be deleted before it."""
    from awslab.engine.teardown import delete_order

    order = delete_order(dict(records))
    rows = {n: Row(n, r.kind, "delete", frozenset(order[n])) for n, r in records.items()}
    return LiveView(f"teardown lab '{lab}'", rows, **kwargs)


def sweep_view(orphans: list[Orphan], **kwargs: Any) -> LiveView:
    """A row for each resource `teardown --sweep` deletes, by its physical name (orphans of several
    labs may share a logical one), one after the other in the sweep's order."""
    rows = {o.physical: Row(o.physical, o.kind, "delete", frozenset()) for o in orphans}
    return LiveView("sweep", rows, **kwargs)


def wants_live(console: Console) -> bool:
    """A live view only where it can be redrawn and is looked at: the console (stderr) and stdout
    are terminals, and not dumb ones."""
    return bool(console.is_terminal and not console.is_dumb_terminal and sys.stdout.isatty())


def plain(console: Console) -> ProgressFn:
    """One line per finished step."""

    def show(p: Progress) -> None:
        line = render.progress_line(p)
        if line:
            console.print(line)

    return show


@contextmanager
def showing(console: Console, view: LiveView | None) -> Iterator[ProgressFn]:
    """The progress callback to hand the engine: the live view drawn on `console` while the block
    runs, or (view None) plain lines."""
    if view is None:
        yield plain(console)
        return
    from rich.live import Live

    # what else the command prints meanwhile (warnings, --explain) goes above the view
    with Live(view, console=console, refresh_per_second=REFRESH_PER_SECOND, transient=False):
        try:
            yield view
        finally:
            view.stop()


@contextmanager
def progress_for(json: bool, console: Console, view: Callable[[], LiveView]) -> Iterator[ProgressFn | None]:
    """What a command shows while the engine works: nothing with --output json, the live view
    (made by `view`) on a terminal, plain lines otherwise."""
    if json:
        yield None
        return
    with showing(console, view() if wants_live(console) else None) as show:
        yield show
