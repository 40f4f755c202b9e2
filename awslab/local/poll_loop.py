"""The background loop the event source pollers share (SQS queues, DynamoDB streams): a daemon
thread runs `poll_once` every `interval_s`, or at once when woken (a message arrived, a batch
ended); a failed round is logged and the next one runs."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Self

from awslab.local.state_gate import GATE


class PollLoop(ABC):
    def __init__(self, interval_s: float, thread_name: str, pool: ThreadPoolExecutor | None) -> None:
        self.interval_s = interval_s
        self._pool = pool  # where batches are invoked; None: inside poll_once (tests)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=thread_name, daemon=True)

    @abstractmethod
    def poll_once(self) -> int:
        """One round over every mapping; how many batches it started."""

    def start(self) -> None:
        self._thread.start()

    def started(self, start: bool = True) -> Self:
        """This poller, its thread started (unless `start` is False: tests poll by hand)."""
        if start:
            self.start()
        return self

    def wake(self) -> None:
        """Run a round now rather than at the next interval."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling; batches being invoked finish (or fail when the executor shuts down)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                with GATE.changing():  # no snapshot in the middle of a round (awslab.local.state_gate)
                    self.poll_once()
            except Exception:  # the poller must outlive any one bad round
                logging.getLogger(type(self).__module__).exception("%s round failed", self._thread.name)
