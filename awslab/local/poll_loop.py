"""The background loop the event source pollers share (SQS queues, DynamoDB streams): a daemon
thread runs `poll_once` every `interval_s`, or at once when woken (a message arrived, a batch
ended); a failed round is logged and the next one runs. `MappingPoller` is the round both make:
each event source mapping of their service in moto's Lambda backends, stepped on its own."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Generic, Self, TypeVar

from awslab.local.state_gate import GATE

MappingKey = tuple[str, str, str]  # account, region, mapping UUID
S = TypeVar("S")  # what a poller keeps between rounds for one mapping


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


class MappingPoller(PollLoop, Generic[S]):
    """A poller of the event source mappings whose source ARNs are of `service`; `new_state` makes
    what it keeps for a mapping first seen, `_step` does one mapping's part of a round."""

    service: ClassVar[str]  # in the source ARN: "sqs", "dynamodb"
    label: ClassVar[str]  # the source in log lines

    def __init__(self, interval_s: float, thread_name: str, pool: ThreadPoolExecutor | None) -> None:
        super().__init__(interval_s, thread_name, pool)
        self._mappings: dict[MappingKey, S] = {}

    @abstractmethod
    def _new_state(self) -> S: ...

    @abstractmethod
    def _step(self, key: MappingKey, esm: Any, state: S) -> int:
        """One mapping's part of a round; how many batches it started."""

    def _forget(self, state: S) -> None:
        """The mapping is gone (deleted, or the cloud was reset): undo what `state` holds."""

    def poll_once(self) -> int:
        """Look at every mapping once; returns how many batches were started."""
        found = dict(moto_mappings(self.service))
        for key in [k for k in self._mappings if k not in found]:  # deleted mapping, or a reset
            self._forget(self._mappings.pop(key))
        started = 0
        for key, esm in found.items():
            state = self._mappings.setdefault(key, self._new_state())
            try:
                started += self._step(key, esm, state)
            except Exception:  # one broken mapping must not stop the others
                log = logging.getLogger(type(self).__module__)
                log.exception("%s event source mapping %s: polling failed", self.label, esm.uuid)
        return started


def moto_mappings(service: str) -> list[tuple[MappingKey, Any]]:
    """Every event source mapping from `service` in moto's Lambda backends, creating no backend."""
    from moto.awslambda.models import lambda_backends

    found: list[tuple[MappingKey, Any]] = []
    for account_id, regions in list(dict.items(lambda_backends)):
        for region, backend in list(dict.items(regions)):
            for esm in list(backend._event_source_mappings.values()):
                if esm.event_source_arn.split(":")[2] == service:
                    found.append(((account_id, region, esm.uuid), esm))
    return found
