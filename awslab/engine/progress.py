"""What the engine reports as it goes: one `Progress` per step, for the CLI to render (core never
prints).

A step starts, may wait for AWS or retry (reported by the resource's calls through
awslab.resources.report, with why), and ends done, failed or skipped. A resource AWS is still
making or still connecting gets a second step (action "ready", for its `wait_ready` and `link`):
it opens with one "waiting" event and ends "done" — with detail `NO_WAIT` when there was nothing
to wait for (the plain output shows no line for that) — or "failed", or "skipped" when what its
link needs failed; nothing of it is reported after that."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from awslab.resources.report import Phase, reporting_to

NO_WAIT = "ready at once"


@dataclass
class Progress:
    """One step of execution: a resource being created, updated, made ready or deleted."""

    logical: str
    kind: str
    action: str
    phase: Literal["start", "done", "failed", "skipped", "waiting", "retrying"]
    detail: str = ""
    seconds: float = 0.0


ProgressFn = Callable[[Progress], None]


@contextmanager
def reporting(notify: ProgressFn, logical: str, kind: str, action: str) -> Iterator[None]:
    """While a step runs: its calls' "waiting for AWS" and "retrying" reports, as its Progress."""
    t0 = time.monotonic()

    def reporter(phase: Phase, detail: str) -> None:
        notify(Progress(logical, kind, action, phase, detail, time.monotonic() - t0))

    with reporting_to(reporter):
        yield
