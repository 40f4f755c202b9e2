"""Asynchronous invocation in the local cloud, with AWS's semantics.

S3 notifications, SNS deliveries to Lambda and Invoke with InvocationType=Event hand their event
to an AsyncInvoker and return at once (Invoke: 202 and an empty body); a small pool of threads runs
the handlers from an internal queue, as Lambda's own event queue does (AWS Lambda Developer Guide,
"Asynchronous invocation" and "How Lambda handles errors and retries with asynchronous
invocation"):

- a function error (an exception, a timeout, a crash, a failed init) is retried
  MaximumRetryAttempts times (the function's event invoke config, 0-2, default 2): after 1 minute,
  then after 2 more minutes, on AWS. Every attempt has the same request id.
- an event older than MaximumEventAgeInSeconds (default 6 h) when an attempt comes due is given up
  with the condition `EventAgeExceeded`; after the last retry, with `RetriesExhausted`.
- what ends goes where async_destinations.py says: the invocation record to the on-success or
  on-failure destination, a failed event to the dead-letter queue.

Timing: the delays between attempts are AWS's times `retry_scale`. The default, 1/60, retries after
1 s and then 2 s, so a learner sees the retries (and the failure's destination) within seconds
rather than minutes; the AWS-like mode (awslab.local.like_aws) sets the mode's scale instead, so
that its delays are AWS's. An event's age counts every delay at AWS's length, so
MaximumEventAgeInSeconds gives up on the same attempt as on AWS whatever the scale.

Not modelled: throttling (an event waits for a free execution environment instead of being
retried for up to 6 hours), duplicate deliveries, per-qualifier configurations (moto keeps one).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from awslab.local import async_destinations as destinations
from awslab.local.async_destinations import Outcome, Result

# The executor's logger: these invokes are its, and the server log shows them with the others.
log = logging.getLogger("awslab.local.executor")

RETRY_DELAYS_S = (60.0, 120.0)  # AWS: one minute before the first retry, two before the second
DEFAULT_RETRY_SCALE = 1 / 60  # locally: 1 s, then 2 s
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_EVENT_AGE_S = 6 * 3600.0
DEFAULT_POOL_SIZE = 4

Run = Callable[..., Result]  # LambdaExecutor.invoke(fn, event, request_id=...)


@dataclass(eq=False)
class _Event:
    fn: Any  # the moto LambdaFunction (version) invoked
    event: Any
    raw: str  # the event as received
    request_id: str
    queued_at: float  # monotonic
    attempts: int = 0
    credit_s: float = 0.0  # AWS's retry delays minus the scaled ones actually waited
    response: Result | None = None
    cancelled: bool = False

    def age(self, now: float) -> float:
        """The event's age on AWS's clock."""
        return now - self.queued_at + self.credit_s


class AsyncInvoker:
    """Lambda's asynchronous event queue for one executor (see module doc)."""

    def __init__(self, run: Run, *, pool_size: int = DEFAULT_POOL_SIZE,
                 retry_scale: float = DEFAULT_RETRY_SCALE) -> None:  # fmt: skip
        self.run = run
        self.pool_size = pool_size
        self.retry_scale = retry_scale  # may be changed while running; applies to the next retry
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, _Event]] = []  # a heap by due time
        self._running: set[_Event] = set()
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopped = False

    # ---- the queue ------------------------------------------------------------------------------
    def submit(self, fn: Any, event: Any, *, raw: str | None = None) -> str:
        """Queue an invoke of `fn` with `event` (`raw`: its text as received); its request id."""
        item = _Event(fn, event, raw if raw is not None else json.dumps(event), str(uuid.uuid4()),
                      time.monotonic())  # fmt: skip
        with self._cond:
            if self._stopped:  # the local cloud is stopping: as on AWS, nothing promises the run
                log.info("asynchronous invoke of %s dropped: the local cloud is stopping", fn.function_arn)
                return item.request_id
            self._push(item, item.queued_at)
            if not self._threads:  # started on first use: most executors never see an Event invoke
                for n in range(self.pool_size):
                    thread = threading.Thread(target=self._loop, name=f"lambda-async-{n}", daemon=True)
                    self._threads.append(thread)
                    thread.start()
        return item.request_id

    def pending(self) -> int:
        """Events queued or running, not counting dropped ones whose attempt is still running."""
        with self._cond:
            return len(self._queue) + sum(1 for item in self._running if not item.cancelled)

    def drop(self, match: Callable[[Any], bool]) -> int:
        """Forget the events of the functions `match` picks: queued ones now, running ones when
        their attempt ends (no retry, no destination). Returns how many were queued."""
        with self._cond:
            seen = [entry[2] for entry in self._queue] + list(self._running)
        # Outside the lock: `match` may ask moto, whose backend lock a reset holds while it calls us.
        doomed = {item for item in seen if match(item.fn)}
        with self._cond:
            for item in doomed:
                item.cancelled = True
            kept = [entry for entry in self._queue if not entry[2].cancelled]
            dropped = len(self._queue) - len(kept)
            heapq.heapify(kept)
            self._queue = kept
            self._cond.notify_all()
        return dropped

    def drop_region(self, account_id: str, region: str) -> int:
        """After a reset of the local cloud: none of these functions exists any more."""
        return self.drop(lambda fn: (fn.account_id, fn.region) == (account_id, region))

    def drop_deleted(self) -> int:
        """After a DeleteFunction: the events of functions (or versions) that are gone."""
        return self.drop(lambda fn: current(fn) is None)

    def stop(self) -> None:
        """Drop every event and take no more; threads end once their attempt is over."""
        with self._cond:
            self._stopped = True
        self.drop(lambda fn: True)

    def join(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _push(self, item: _Event, due: float) -> None:
        heapq.heappush(self._queue, (due, next(self._order), item))
        self._cond.notify()

    def _next(self) -> _Event | None:
        """The next due event (None once stopped); the caller holds the lock."""
        while not self._stopped:
            now = time.monotonic()
            if self._queue and self._queue[0][0] <= now:
                item = heapq.heappop(self._queue)[2]
                self._running.add(item)
                return item
            self._cond.wait(self._queue[0][0] - now if self._queue else None)
        return None

    def _loop(self) -> None:
        while True:
            with self._cond:
                item = self._next()
            if item is None:
                return
            try:
                self._attempt(item)
            except Exception:  # one bad event must not stop the queue
                log.exception("asynchronous invoke %s of %s failed", item.request_id, item.fn.function_arn)
            finally:
                with self._cond:
                    self._running.discard(item)

    # ---- one attempt ----------------------------------------------------------------------------
    def _attempt(self, item: _Event) -> None:
        if item.cancelled:  # dropped after it was taken from the queue
            return
        fn = current(item.fn)
        if fn is None:  # deleted: AWS discards its queued events
            log.info("asynchronous invoke %s dropped: %s was deleted", item.request_id, item.fn.function_arn)
            return
        config = destinations.invoke_config(fn)
        max_age = config.get("MaximumEventAgeInSeconds")
        if item.age(time.monotonic()) >= (DEFAULT_MAX_EVENT_AGE_S if max_age is None else float(max_age)):
            self._settle(item, fn, destinations.EVENT_AGE_EXCEEDED)
            return
        item.attempts += 1
        item.response = self.run(fn, item.event, request_id=item.request_id)
        if item.cancelled:
            return
        if not item.response[1]:
            self._settle(item, fn, destinations.SUCCESS)
            return
        retries = destinations.invoke_config(fn).get("MaximumRetryAttempts")
        if item.attempts > (DEFAULT_MAX_RETRIES if retries is None else int(retries)):
            self._settle(item, fn, destinations.RETRIES_EXHAUSTED)
            return
        delay = RETRY_DELAYS_S[min(item.attempts, len(RETRY_DELAYS_S)) - 1]
        scaled = delay * max(self.retry_scale, 0.0)
        item.credit_s += delay - scaled
        log.info("asynchronous invoke %s of %s failed (attempt %d); retrying in %.1f s",
                 item.request_id, fn.function_arn, item.attempts, scaled)  # fmt: skip
        with self._cond:
            if not item.cancelled:
                self._push(item, time.monotonic() + scaled)

    def _settle(self, item: _Event, fn: Any, condition: str) -> None:
        if item.cancelled:
            return
        if condition != destinations.SUCCESS:
            log.info("asynchronous invoke %s of %s: %s after %d attempt(s)",
                     item.request_id, fn.function_arn, condition, item.attempts)  # fmt: skip
        outcome = Outcome(fn, item.request_id, item.event, item.raw, condition, item.attempts, item.response)
        destinations.settle(outcome, self.submit)


def current(fn: Any) -> Any:
    """The function (version) as moto holds it now, or None when it was deleted."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    try:
        return get_backend(fn.account_id, fn.region).get_function(fn.function_arn)
    except LambdaClientError:
        return None
