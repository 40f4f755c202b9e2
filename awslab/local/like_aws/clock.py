"""Time windows: "this key is in this state until then", thread-safe, on an injectable clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

Clock = Callable[[], float]


class Windows:
    """Keys in a state for a while (a new role, a Pending function...), each with an optional
    value remembered alongside (the function's ARN, a deleted table's description...)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until: dict[Hashable, tuple[float, Any]] = {}

    def open(self, key: Hashable, seconds: float, value: Any = None, *, since: float | None = None) -> None:
        """Start (or restart) the window of `key`, `seconds` long from `since` (the clock reading
        when the call that opens it arrived; default now); a window already over is no window."""
        with self._lock:
            end = (self._clock() if since is None else since) + seconds
            if seconds > 0 and end > self._clock():
                self._until[key] = (end, value)
            else:
                self._until.pop(key, None)

    def active(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def get(self, key: Hashable) -> tuple[float, Any] | None:
        """(seconds left, value) while `key`'s window lasts, else None."""
        with self._lock:
            entry = self._until.get(key)
            if entry is None:
                return None
            left = entry[0] - self._clock()
            if left <= 0:
                del self._until[key]
                return None
            return left, entry[1]

    def close(self, key: Hashable) -> None:
        with self._lock:
            self._until.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._until.clear()
