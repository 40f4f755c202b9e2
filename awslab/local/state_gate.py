"""The gate between what changes moto's state and the snapshot that pickles it
(awslab.local.snapshot_saver): a snapshot is never taken in the middle of a change.

Changes (a request that may change something, a poller's round, an EventBridge delivery) pass
`changing()` together, as many at once as come; a capture passes `capturing()` alone, once no change
is in flight, and holds the gate only while it pickles (tens of milliseconds for a few labs): the
hashing and writing happen after it. So a request waits at most for one pickle.

A capture waits for the changes in flight to end; while it waits, a new change waits for it at most
`YIELD_S` and then goes on: it may be part of one the capture waits for (a Lambda function's own
calls while its invoke is in flight), and a request must never wait long. A capture that finds no
quiet moment within its timeout gives up (`Busy`) and the saver tries again a moment later.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

YIELD_S = 0.05  # how long a new change lets a waiting capture go first


class Busy(Exception):
    """No quiet moment for a capture within its timeout: changes were in flight all along."""


class StateGate:
    def __init__(self, *, yield_s: float = YIELD_S) -> None:
        self.yield_s = yield_s
        self._cond = threading.Condition()
        self._active = 0  # changes in flight
        self._waiting = 0  # captures waiting for a quiet moment
        self._capturing = False

    @property
    def active(self) -> int:
        return self._active

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """Around anything that may change moto's state."""
        with self._cond:
            deadline = time.monotonic() + self.yield_s
            while self._capturing or self._waiting:
                left = deadline - time.monotonic()
                if not self._capturing and left <= 0:
                    break  # a waiting capture had its moment: this change goes on
                self._cond.wait(left if not self._capturing else None)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def capturing(self, timeout: float) -> Iterator[None]:
        """Alone: once no change is in flight (Busy if none ends within `timeout` seconds)."""
        with self._cond:
            self._waiting += 1
            try:
                quiet = self._cond.wait_for(lambda: self._active == 0, timeout)
            finally:
                self._waiting -= 1
            if not quiet:
                self._cond.notify_all()
                raise Busy(f"{self._active} changes still in flight after {timeout:g} s")
            self._capturing = True
        try:
            yield
        finally:
            with self._cond:
                self._capturing = False
                self._cond.notify_all()


# moto's state is the process's: so is its gate.
GATE = StateGate()
