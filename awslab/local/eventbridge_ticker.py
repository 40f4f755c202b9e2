"""The clock of EventBridge in the local cloud: scheduled rules and EventBridge Scheduler schedules
fire on time.

`ScheduleTicker.tick(now)` looks at every scheduled rule and every schedule in moto's backends and
fires those due; the local cloud calls it from a thread about once a second, tests call it with the
times they choose (the clock is injectable, no test waits for a minute to pass). What AWS does, and
so what fires when:

- a rule's `rate(...)`: one period after the rule is created (or changed), then every period;
  `cron(...)`: at the times it names, in UTC. Only ENABLED rules with targets fire; each firing sends
  one "Scheduled Event" (source aws.events, the rule's ARN in `resources`) to every target.
- a schedule's `rate(...)`: at once when created without a StartDate ("your schedule starts invoking
  its target immediately"), else from StartDate, then every period; `cron(...)` in the schedule's
  time zone; `at(...)` once; never after EndDate; only while ENABLED. A FLEXIBLE time window delays
  each invocation by a random time within the window, as AWS does. The target gets the schedule's
  Input; ActionAfterCompletion DELETE removes a schedule that will not fire again.
- A firing that was missed (the process was busy, the machine slept) is not caught up: the next one
  is planned from now, as AWS's schedules never run twice to make up.

Changing a rule's or schedule's expression, time zone, dates, window or state plans it afresh.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from awslab.local import eventbridge_targets as targets
from awslab.local.eventbridge_schedule import At, Cron, ExpressionError, Rate, parse, zone_of

log = logging.getLogger("awslab.local.eventbridge")

Clock = Callable[[], dt.datetime]
Submit = Callable[[Callable[[], None]], None]
ENABLED = ("ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Plan:
    """One scheduled rule's or schedule's next firing."""

    signature: tuple[Any, ...]  # what it was planned from: a change plans it again
    anchor: dt.datetime  # where a rate counts its periods from
    nominal: dt.datetime | None  # the scheduled time of the next firing (None: no more)
    fire_at: dt.datetime | None  # nominal plus the flexible window's delay
    last: dt.datetime | None = None  # the scheduled time it last fired for
    active: bool = True  # enabled (and, for a rule, with targets)


class ScheduleTicker:
    """Fires due rules and schedules (see module doc). `submit` runs a delivery in the background."""

    def __init__(self, submit: Submit, *, clock: Clock = utc_now, rng: random.Random | None = None) -> None:
        self.submit = submit
        self.clock = clock
        self.rng = rng or random.Random()
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._lock = threading.Lock()
        self.fired = 0  # firings so far (for status and tests)

    # ---- one tick -----------------------------------------------------------------------------------
    def tick(self, now: dt.datetime | None = None) -> dt.datetime | None:
        """Fire what is due at `now` (default: the clock); returns the next time anything is due."""
        now = now or self.clock()
        with self._lock:
            seen: set[tuple[str, ...]] = set()
            for key, item in self._scheduled():
                seen.add(key)
                try:
                    self._visit(key, item, now)
                except Exception:  # one broken schedule must not stop the others
                    log.exception("schedule %s could not be run", "/".join(key))
            for key in set(self._plans) - seen:  # deleted (or the local cloud was reset)
                del self._plans[key]
            upcoming = [p.fire_at for p in self._plans.values() if p.fire_at is not None and p.active]
        return min(upcoming) if upcoming else None

    def _scheduled(self) -> Iterator[tuple[tuple[str, ...], Any]]:
        from moto.events.models import events_backends
        from moto.scheduler.models import scheduler_backends

        for account, regions in list(events_backends.items()):
            for region, backend in list(regions.items()):
                bus = backend.event_buses.get("default")
                for rule in list(bus.rules.values()) if bus is not None else []:
                    if rule.scheduled_expression:
                        yield ("rule", account, region, rule.name), rule
        for account, schedulers in list(scheduler_backends.items()):
            for region, scheduler in list(schedulers.items()):
                for group in list(scheduler.schedule_groups.values()):
                    for schedule in list(group.schedules.values()):
                        yield ("schedule", account, region, group.name, schedule.name), (scheduler, schedule)

    def _visit(self, key: tuple[str, ...], item: Any, now: dt.datetime) -> None:
        if key[0] == "rule":
            signature: tuple[Any, ...] = (id(item), item.scheduled_expression, item.state)
            active = item.state in ENABLED and bool(item.targets)
        else:
            schedule = item[1]
            signature = (schedule.schedule_expression, schedule.schedule_expression_timezone,
                         schedule.start_date, schedule.end_date, repr(schedule.flexible_time_window),
                         schedule.state)  # fmt: skip
            active = schedule.state == "ENABLED"
        plan = self._plans.get(key)
        if plan is None or plan.signature != signature:
            last = plan.last if plan is not None else None
            plan = self._plans[key] = self._plan(key, item, signature, now, last)
        plan.active = active
        if plan.fire_at is None or plan.fire_at > now:
            return
        nominal = plan.nominal or now
        if active:  # a disabled one (or a rule without targets) lets its time pass
            self.fired += 1
            if key[0] == "rule":
                self._fire_rule(key, item, nominal)
            else:
                self._fire_schedule(item, nominal)
        plan.last = nominal
        plan.nominal = self._next(key, item, plan.anchor, max(nominal, now))
        plan.fire_at = self._delayed(item, plan.nominal)
        if key[0] == "schedule" and plan.nominal is None and item[1].action_after_completion == "DELETE":
            backend, schedule = item
            backend.delete_schedule(schedule.group_name, schedule.name)

    # ---- planning -----------------------------------------------------------------------------------
    def _plan(self, key: tuple[str, ...], item: Any, signature: tuple[Any, ...], now: dt.datetime,
              last: dt.datetime | None) -> _Plan:  # fmt: skip
        """The next firing of a rule or schedule seen for the first time, or changed (`last`: when it
        last fired, so that a change never makes it fire twice for one time)."""
        if key[0] == "rule":
            # a rule's rate counts from its creation (or change), first firing one period later
            first = _rule_next(_parsed(item.scheduled_expression, allow_at=False), now, now)
            return _Plan(signature, now, first, first, last)
        schedule = item[1]
        expression = _parsed(schedule.schedule_expression, allow_at=True)
        start = None if isinstance(expression, At) else _date(schedule.start_date)  # at() ignores it
        created = _date(schedule.creation_date)
        anchor = start or (min(created, now) if created else now)
        # AWS's schedules have a minute's precision: a time less than a minute ago is still due
        # (it was created a moment before this tick); older ones are not made up for
        floor = max(now - dt.timedelta(seconds=60), last + dt.timedelta(microseconds=1) if last else anchor)
        nominal: dt.datetime | None
        if isinstance(expression, At):
            at = expression.time_in(_zone(schedule))
            nominal = at if last is None and at >= floor else None
        elif isinstance(expression, Rate):
            # "If you do not provide a StartDate for a rate-based schedule, your schedule starts
            # invoking its target immediately" (EventBridge Scheduler User Guide, "Schedule types")
            nominal = expression.next_after(anchor, floor - dt.timedelta(microseconds=1))
        elif isinstance(expression, Cron):
            nominal = expression.next_after(floor - dt.timedelta(microseconds=1), _zone(schedule))
        else:
            nominal = None
        nominal = _before_end(schedule, nominal, expression)
        return _Plan(signature, anchor, nominal, self._delayed(item, nominal), last)

    def _next(
        self, key: tuple[str, ...], item: Any, anchor: dt.datetime, after: dt.datetime
    ) -> dt.datetime | None:
        if key[0] == "rule":
            return _rule_next(_parsed(item.scheduled_expression, allow_at=False), anchor, after)
        schedule = item[1]
        expression = _parsed(schedule.schedule_expression, allow_at=True)
        if isinstance(expression, Rate):
            return _before_end(schedule, expression.next_after(anchor, after), expression)
        if isinstance(expression, Cron):
            return _before_end(schedule, expression.next_after(after, _zone(schedule)), expression)
        return None  # at(...): once

    def _delayed(self, item: Any, nominal: dt.datetime | None) -> dt.datetime | None:
        if nominal is None or not isinstance(item, tuple):
            return nominal
        window = item[1].flexible_time_window or {}
        if window.get("Mode") != "FLEXIBLE":
            return nominal
        minutes = float(window.get("MaximumWindowInMinutes") or 0)
        return nominal + dt.timedelta(seconds=self.rng.uniform(0, minutes * 60))

    # ---- firing -------------------------------------------------------------------------------------
    def _fire_rule(self, key: tuple[str, ...], rule: Any, when: dt.datetime) -> None:
        _, account, region, _ = key
        event = targets.scheduled_event(account, region, rule.arn, when)
        ingestion = targets.iso_time(self.clock())
        for target in list(rule.targets):
            self.submit(targets.rule_delivery(target, targets.rule_input(target, event, rule.arn, ingestion)))
        log.info("rule %s fired (scheduled time %s)", rule.arn, targets.iso_time(when))

    def _fire_schedule(self, item: tuple[Any, Any], when: dt.datetime) -> None:
        schedule = item[1]
        target = dict(schedule.target or {})
        text = targets.scheduler_input(target, schedule.arn, when)
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        bus = target.get("EventBridgeParameters") or {}
        arn = str(target.get("Arn", ""))
        self.submit(
            lambda: targets.deliver(
                arn, text, group_id=group, detail_type=bus.get("DetailType", ""), source=bus.get("Source", "")
            )
        )
        log.info("schedule %s fired (scheduled time %s)", schedule.arn, targets.iso_time(when))


def _parsed(expression: str, *, allow_at: bool) -> Rate | Cron | At | None:
    try:
        return parse(expression, allow_at=allow_at)
    except ExpressionError:  # moto accepted what AWS would not: it never fires
        return None


def _rule_next(
    expression: Rate | Cron | At | None, anchor: dt.datetime, after: dt.datetime
) -> dt.datetime | None:
    if isinstance(expression, Rate):
        return expression.next_after(anchor, after)
    if isinstance(expression, Cron):
        return expression.next_after(after)
    return None


def _zone(schedule: Any) -> dt.tzinfo:
    try:
        return zone_of(schedule.schedule_expression_timezone or "UTC")
    except ExpressionError:
        return dt.UTC


def _date(value: Any) -> dt.datetime | None:
    """A Scheduler StartDate / EndDate as moto keeps it (epoch seconds, or ISO text)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    except (TypeError, ValueError):
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _before_end(schedule: Any, nominal: dt.datetime | None, expression: Any) -> dt.datetime | None:
    end = _date(schedule.end_date)
    if nominal is None or isinstance(expression, At) or end is None:
        return nominal
    return nominal if nominal <= end else None
