"""Targeted retries for AWS propagation errors that botocore's retry modes do not know, and
polling until a resource AWS is still making is usable.

A new IAM role is not assumable by Lambda or Step Functions for some seconds, nor are a role's new
permissions visible to Lambda's event source check; a new Lambda permission is not yet visible to
S3's notification check; a function is still Pending. These are retried until a deadline, never
with a fixed sleep, and with a short cap on the back-off: a propagation window is usually 5-15 s,
and a retry should land just after it closes, not up to a long back-off later.

Retries that say what they wait for (a role's ARN: `key`) take turns: one probes, the others wait
for its outcome, and the probes of one API share one rate, so that a lab's five functions send one
CreateFunction at a time, not five. Polls that name their read (`group`) share one rate too. In
both, one that succeeds wakes the others of its API: what was made at the same moment is usually
ready at the same moment.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

from awslab.resources.report import report, take_observed

T = TypeVar("T")

# (error code, a fragment of the message) pairs that mean "not propagated yet", in every wording
# AWS has used (the Terraform AWS provider retries the same fragments).
PROPAGATION_ERRORS: tuple[tuple[str, str], ...] = (
    # CreateFunction / UpdateFunctionConfiguration with a new role
    ("InvalidParameterValueException", "cannot be assumed by Lambda"),
    # ...whose grant for environment encryption is not valid yet
    ("InvalidParameterValueException", "KMS key is invalid for CreateGrant"),
    # CreateEventSourceMapping from SQS before the role's new permissions are visible: older "The
    # provided execution role does not have permissions to call ReceiveMessage on SQS", current
    # "The function execution role does not have permissions to call ReceiveMessage on SQS"
    ("InvalidParameterValueException", "execution role does not have permissions"),
    # ...from a stream ("Please ensure the role can perform the GetRecords, ... Actions")
    ("InvalidParameterValueException", "ensure the role can perform"),
    ("InvalidParameterValueException", "is not authorized to perform"),
    # CreateStateMachine / UpdateStateMachine with a new role: "Neither the global service
    # principal states.amazonaws.com, nor the regional one is authorized to assume the provided role."
    ("AccessDeniedException", "authorized to assume the provided role"),
    ("AccessDeniedException", "is not authorized to perform: iam:PassRole"),
    # PutBucketNotificationConfiguration before the new invoke permission is visible to S3
    ("InvalidArgument", "Unable to validate the following destination configurations"),
    # a function still Pending, or with an update InProgress
    ("ResourceConflictException", "The operation cannot be performed at this time"),
    ("ResourceConflictException", "An update is in progress"),
    # AddPermission calls on one function racing each other
    ("ResourceConflictException", "concurrent update operation"),
    ("TooManyRequestsException", ""),
    ("ConflictException", "Unable to complete operation due to concurrent modification"),
)
# `up` of a lab takes one propagation window plus what follows it: a retry lands at most
# MAX_DELAY after the window closes (a few requests a second per resource while it is open,
# well within the control planes' rates: Lambda's 15 per second, IAM's, Step Functions').
FIRST_DELAY = 0.25
MAX_DELAY = 0.5
# Polling reads (GetFunction, DescribeTable) is cheap: as close to the moment it is ready.
POLL_MAX_DELAY = 0.5
# A retry keyed by what it waits for (a new role's ARN): one caller per key probes, the others wait
# for its outcome, so the probe can come often. Each of the `n` probes of one API (its `group`)
# waits n x PROBE_DELAY, jittered down to half: together 4 to 8 requests a second however many
# roles propagate at once, about half of Lambda's 15 per second for its control plane (Lambda
# quotas, "API requests"; a CreateFunction probe uploads the zip each time, which slows a big one
# down by itself); a lone probe lands at most 0.25 s after the window closes, and the first of
# several wakes the rest. Past AWS's usual window (5-15 s) the probes slow to MAX_DELAY per probe:
# a role that takes longer is not asked for as often.
PROBE_DELAY = 0.25
PROBE_FAST_SECONDS = 15.0
# Polls of one group (GetFunction: Lambda allows it 100 requests a second): each pauses this much
# per poll of the group still waiting, jittered down to half, so together at most 20 a second.
POLL_SPACING = 0.1


# what a learner is told a retry waits for, by a fragment of the error's message (first match)
WHY: tuple[tuple[str, str], ...] = (
    ("cannot be assumed", "role propagating"),
    ("assume the provided role", "role propagating"),
    ("CreateGrant", "role's grant propagating"),
    ("execution role does not have", "role's permissions propagating"),
    ("role can perform", "role's permissions propagating"),
    ("not authorized to perform", "permissions propagating"),
    ("Unable to validate", "invoke permission propagating to S3"),
    ("cannot be performed at this time", "function busy (Pending or updating)"),
    ("update is in progress", "function busy (updating)"),
    ("concurrent", "concurrent change"),
)


def _error_of(exc: BaseException) -> tuple[str, str]:
    response = getattr(exc, "response", None)
    err = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(err.get("Code", "")), str(err.get("Message", ""))


def is_propagation_error(exc: BaseException) -> bool:
    if not isinstance(getattr(exc, "response", None), dict):
        return False
    code, message = _error_of(exc)
    if message.startswith("User: "):
        # "User: arn:aws:iam::1:user/ada is not authorized to perform: iam:PassRole ...": the
        # caller's own permission is missing (common on restricted accounts), waiting cannot help
        return False
    return any(code == c and fragment in message for c, fragment in PROPAGATION_ERRORS)


def why_retried(exc: BaseException) -> str:
    """`role propagating` for an error retried because AWS has not propagated something yet."""
    code, message = _error_of(exc)
    if code in ("TooManyRequestsException", "ThrottlingException"):
        return "throttled"
    return next((why for fragment, why in WHY if fragment in message), "not ready yet")


def backoff(first_delay: float, max_delay: float) -> Callable[[], float]:
    """Successive sleeps: doubling from `first_delay` up to `max_delay`, each jittered down to
    half (callers running in parallel do not retry in step)."""
    delay = first_delay

    def next_sleep() -> float:
        nonlocal delay
        current, delay = delay, min(delay * 2, max_delay)
        return current * (0.5 + random.random() / 2)

    return next_sleep


class Probes:
    """The keyed propagation retries of one process. Per key (what they wait for: a role's ARN),
    one caller probes while the others wait for its outcome instead of sending the same failing
    request; per group (the API they call), how many keys are probed, so that together they keep
    to one rate. A probe that succeeds wakes the other probes of its group at once: roles made at
    about the same time propagate at about the same time (a wrong guess costs one request)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holders: dict[str, tuple[int, str]] = {}  # key -> (the probing thread, its group)
        self._released: dict[str, int] = {}  # key -> how many times its probe ended
        self._woken: dict[str, int] = {}  # group -> how many probes (polls) of it succeeded
        self._pollers: dict[str, int] = {}  # group -> how many polls of it wait now

    def claim(self, key: str, group: str) -> bool:
        """Whether this thread probes `key` (it does, or now does); False: another thread does."""
        me = threading.get_ident()
        with self._cond:
            holder = self._holders.get(key)
            if holder is None:
                self._holders[key] = (me, group)
                return True
            return holder[0] == me

    def await_probe(self, key: str, timeout: float) -> None:
        """Until the probe of `key` that runs now ends (successfully or not), at most `timeout` s."""
        with self._cond:
            ended = self._released.get(key, 0)
            self._cond.wait_for(
                lambda: key not in self._holders or self._released.get(key, 0) != ended, timeout
            )

    def release(self, key: str, *, succeeded: bool) -> None:
        """This thread's probe of `key` ended (nothing if it was not probing it)."""
        with self._cond:
            holder = self._holders.get(key)
            if holder is None or holder[0] != threading.get_ident():
                return
            del self._holders[key]
            self._released[key] = self._released.get(key, 0) + 1
            if succeeded:
                self._woken[holder[1]] = self._woken.get(holder[1], 0) + 1
            self._cond.notify_all()

    def probing(self, group: str) -> int:
        with self._cond:
            return max(1, sum(1 for _, g in self._holders.values() if g == group))

    @contextmanager
    def polling(self, group: str | None) -> Iterator[None]:
        """Counts this thread among the polls of `group` while it polls (None: no group)."""
        if group is None:
            yield
            return
        with self._cond:
            self._pollers[group] = self._pollers.get(group, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                self._pollers[group] -= 1

    def pollers(self, group: str) -> int:
        with self._cond:
            return max(1, self._pollers.get(group, 0))

    def woke(self, group: str | None) -> None:
        """What a poll of `group` waited for is ready: the group's other pauses end."""
        if group is None:
            return
        with self._cond:
            self._woken[group] = self._woken.get(group, 0) + 1
            self._cond.notify_all()

    def pause(self, group: str, seconds: float) -> None:
        """Sleep `seconds`, or until a probe of `group` succeeds meanwhile."""
        with self._cond:
            woken = self._woken.get(group, 0)
            self._cond.wait_for(lambda: self._woken.get(group, 0) != woken, seconds)


PROBES = Probes()


def retry_propagation(
    fn: Callable[[], T],
    *,
    deadline: float = 120.0,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
    is_retryable: Callable[[BaseException], bool] = is_propagation_error,
    sleep: Callable[[float], None] | None = None,
    key: str | None = None,
    group: str = "",
    probes: Probes = PROBES,
    probe_delay: float = PROBE_DELAY,
) -> T:
    """Call `fn` until it succeeds, retrying only retryable errors, with jittered exponential
    backoff capped at `max_delay`, for at most `deadline` seconds. The last error is raised when
    time runs out. With a `key` (what the error waits for, e.g. a role's ARN) and a `group` (the
    API), the retries of one key take turns (see `Probes`): one probes every `probe_delay` s per
    probe of its group, the others wait for its outcome. `sleep` replaces the pauses (tests)."""
    if key is not None:
        pauses = sleep or partial(probes.pause, group)
        return _retry_keyed(fn, key, group, deadline, max_delay, is_retryable, probes, probe_delay, pauses)
    sleep = sleep or time.sleep
    start = time.monotonic()
    next_sleep = backoff(first_delay, max_delay)
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            pause = next_sleep()
            if not is_retryable(exc) or time.monotonic() - start + pause > deadline:
                raise
            attempt += 1
            code = _error_of(exc)[0] or type(exc).__name__
            report("retrying", f"{why_retried(exc)}, retry {attempt} in {pause:.1f} s: {code}")
            sleep(pause)


def _retry_keyed(
    fn: Callable[[], T],
    key: str,
    group: str,
    deadline: float,
    max_delay: float,
    is_retryable: Callable[[BaseException], bool],
    probes: Probes,
    probe_delay: float,
    sleep: Callable[[float], None],
) -> T:
    start = time.monotonic()
    attempt = 1
    try:
        while True:
            try:
                result = fn()
            except Exception as exc:
                left = deadline - (time.monotonic() - start)
                if not is_retryable(exc) or left <= 0:
                    raise
                if not probes.claim(key, group):  # another caller probes: its outcome is ours
                    report(
                        "retrying", f"{why_retried(exc)}, waiting for another call's retry of the same role"
                    )
                    probes.await_probe(key, left)
                    continue
                slow = time.monotonic() - start > PROBE_FAST_SECONDS
                pace = max(max_delay, probe_delay) if slow else probe_delay
                pause = pace * probes.probing(group) * (0.5 + random.random() / 2)
                if pause > left:
                    raise
                attempt += 1
                code = _error_of(exc)[0] or type(exc).__name__
                report("retrying", f"{why_retried(exc)}, retry {attempt} in {pause:.1f} s: {code}")
                sleep(pause)
            else:
                probes.release(key, succeeded=True)
                return result
    finally:
        probes.release(key, succeeded=False)  # a probe that gave up: another caller takes over


class NotReady(Exception):
    """Raised by `poll_until` when the deadline passes first."""


def poll_until(
    ready: Callable[[], bool],
    what: str,
    *,
    deadline: float = 300.0,
    first_delay: float = FIRST_DELAY,
    max_delay: float = POLL_MAX_DELAY,
    sleep: Callable[[float], None] | None = None,
    group: str | None = None,
    probes: Probes | None = None,
) -> None:
    """Call `ready()` until it returns True (it raises to give up), backing off as retries do
    but to a shorter cap: a resource that becomes usable in seconds is seen so within a second.
    With a `group` (the read it polls with), the polls of one group share one rate: each pauses
    POLL_SPACING per poll of the group still waiting, jittered down to half; and one that sees
    its resource ready wakes the others, since what was made at the same moment is usually ready
    at the same moment (a wrong guess costs one read). `sleep` replaces the pauses (tests)."""
    board = probes or PROBES

    def shared_pace() -> float:
        return POLL_SPACING * board.pollers(str(group)) * (0.5 + random.random() / 2)

    next_sleep = backoff(first_delay, max_delay) if group is None else shared_pace
    pause_for = sleep or (time.sleep if group is None else partial(board.pause, group))
    start = time.monotonic()
    checks = 0
    with board.polling(group):
        while not ready():
            checks += 1
            pause = next_sleep()
            if time.monotonic() - start + pause > deadline:
                raise NotReady(f"{what} was not ready after {deadline:.0f} s")
            seen = take_observed()  # what AWS said ("Pending"), when the check told us
            report("waiting", f"{what}{': ' + seen if seen else ''} (check {checks}, next in {pause:.1f} s)")
            pause_for(pause)
    board.woke(group)
