"""What the engine reports as it goes: one `Progress` per step, for the CLI to render (core never
prints)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass
class Progress:
    """One step of execution: a resource being created, updated, made ready or deleted."""

    logical: str
    kind: str
    action: str
    phase: Literal["start", "done", "failed", "skipped"]
    detail: str = ""
    seconds: float = 0.0


ProgressFn = Callable[[Progress], None]
