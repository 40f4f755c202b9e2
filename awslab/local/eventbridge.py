"""EventBridge in the local cloud: PutEvents reaches the targets of matching rules, scheduled rules
and EventBridge Scheduler schedules fire on time, deliveries are asynchronous as on AWS.

moto keeps buses, rules, targets and schedules and matches event patterns; what it lacks is added
here, process-wide, by `install`:

- moto's PutEvents sends to SQS, log groups, archives and other buses only, and fails the whole
  call (a 500) for a rule with a Lambda, SNS or Step Functions target; it delivers inside the call,
  to disabled rules as well, and hands scheduled rules (which have no pattern) every event. Here a
  rule's Lambda, SQS, SNS, Step Functions and event-bus targets get the event AWS sends
  (awslab.local.eventbridge_targets: `time` as 2024-05-01T12:00:00Z, the target's Input /
  InputPath / InputTransformer applied) after PutEvents has answered, only from ENABLED rules whose
  pattern matches; other targets (log groups, archives) keep moto's own delivery.
- moto never fires a schedule. A ScheduleTicker (awslab.local.eventbridge_ticker) does, from a
  thread that wakes at least once a second.

Deliveries run one after another on one thread (`Dispatcher`), apart from the request that caused
them; Lambda targets then go to Lambda's own asynchronous queue (retries, destinations).
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from awslab.local import eventbridge_targets as targets
from awslab.local.eventbridge_ticker import ENABLED, Clock, ScheduleTicker, utc_now
from awslab.local.moto_originals import Installed
from awslab.local.state_gate import GATE

log = logging.getLogger("awslab.local.eventbridge")

TICK_S = 1.0  # the longest the ticker sleeps: a new schedule is seen within a second


class Dispatcher:
    """Runs deliveries in the background, in the order they were submitted."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="eventbridge-delivery", daemon=True)
        self._thread.start()

    def submit(self, delivery: Callable[[], None]) -> None:
        self._queue.put(delivery)

    def join(self) -> None:
        """Wait until every delivery submitted so far has run (for tests)."""
        self._queue.join()

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                delivery()
            except Exception:  # one delivery must not stop the others
                log.exception("EventBridge delivery failed")
            finally:
                self._queue.task_done()


class EventBridge:
    """The dispatcher and the ticker, and the thread that runs the ticker."""

    def __init__(self, *, clock: Clock = utc_now, run_ticker: bool = True) -> None:
        self.dispatcher = Dispatcher()
        self.ticker = ScheduleTicker(self.dispatcher.submit, clock=clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if run_ticker:
            self._thread = threading.Thread(target=self._loop, name="eventbridge-ticker", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with GATE.changing():  # no snapshot in the middle of it (awslab.local.state_gate)
                    upcoming = self.ticker.tick()
            except Exception:
                log.exception("the EventBridge ticker failed")
                upcoming = None
            now = self.ticker.clock()
            wait = TICK_S if upcoming is None else min(TICK_S, max(0.0, (upcoming - now).total_seconds()))
            self._stop.wait(max(wait, 0.05))

    def drain(self) -> None:
        """Wait for the deliveries submitted so far (tests)."""
        self.dispatcher.join()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.dispatcher.stop()


# ---- moto, patched process-wide ----------------------------------------------------------------------
_layer: Installed[EventBridge] = Installed()
_originals = _layer.originals


def install(**options: Any) -> EventBridge:
    """Deliver PutEvents to every kind of target, asynchronously, and start the ticker (idempotent).
    `options`: EventBridge's (`clock`, `run_ticker=False` for tests that tick themselves)."""
    return _layer.install(_patch_moto, lambda: EventBridge(**options))


def uninstall() -> None:
    """Stop the ticker and the dispatcher; moto's own PutEvents delivery back."""
    _layer.uninstall()


def _patch_moto() -> None:
    from moto.events.models import Rule

    original = Rule.__dict__["send_to_targets"]

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        """One rule's share of a PutEvents (moto calls it for every rule of the bus)."""
        if self.state not in ENABLED or self.event_pattern.dump() is None:
            return  # AWS: disabled rules get nothing; a scheduled rule matches no event
        event = targets.aws_event(dict(original_event))
        if not self.event_pattern.matches_event(event):
            return
        ours = [t for t in self.targets if targets.handled(t["Arn"])]
        ingestion = targets.iso_time(original_event.get("ingestion-time", original_event.get("time")))
        for target in ours:
            _submit(targets.rule_delivery(target, targets.rule_input(target, event, self.arn, ingestion)))
        rest = [t for t in self.targets if t not in ours]
        if rest:  # log groups, archives: moto's own delivery, for those targets only
            clone = copy.copy(self)
            clone.targets = rest
            original(clone, original_event, transform_input)

    _originals[(Rule, "send_to_targets")] = original
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _submit(delivery: Callable[[], None]) -> None:
    active = _layer.active
    if active is None:  # only reachable if moto kept a reference across uninstall()
        delivery()
        return
    active.dispatcher.submit(delivery)
