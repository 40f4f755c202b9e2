"""Putting moto back: the layers of the local cloud that replace moto's methods (the EventBridge
dispatcher, the SQS and stream pollers) each have one process-wide instance and keep moto's own
methods (`originals`: (owner, name) -> moto's) to restore when they are uninstalled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar


class Stoppable(Protocol):
    def stop(self) -> None: ...


L = TypeVar("L", bound=Stoppable)


class Installed(Generic[L]):
    """A layer's instance while it is installed (`active`), and moto's methods it replaced."""

    def __init__(self) -> None:
        self.active: L | None = None
        self.originals: dict[tuple[Any, str], Any] = {}
        self._lock = threading.Lock()

    def install(self, patch_moto: Callable[[], None], make: Callable[[], L]) -> L:
        """Patch moto and make the instance, once (idempotent)."""
        with self._lock:
            if self.active is None:
                patch_moto()
                self.active = make()
            return self.active

    def uninstall(self) -> None:
        """Give moto its own methods back, and stop the instance."""
        with self._lock:
            for (owner, name), original in self.originals.items():
                setattr(owner, name, original)
            self.originals.clear()
            if self.active is not None:
                self.active.stop()
            self.active = None
