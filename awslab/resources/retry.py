"""Targeted retries for AWS propagation errors that botocore's retry modes do not know, and
polling until a resource AWS is still making is usable.

A new IAM role is not assumable by Lambda or Step Functions for some seconds, nor are a role's new
permissions visible to Lambda's event source check; a new Lambda permission is not yet visible to
S3's notification check; a function is still Pending. These are retried until a deadline, never
with a fixed sleep, and with a short cap on the back-off: a propagation window is usually 5-15 s,
and a retry should land just after it closes, not up to a long back-off later.

Retries that say which new role they wait for (`role_arn`) take turns: one probes, the others wait
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
# A retry that names the role it waits for: one caller per role probes, the others wait for its
# outcome, so the probe can come often. Each of the `n` probes of one API (its `group`) waits
# n x first_delay (FIRST_DELAY), jittered down to half: together 4 to 8 requests a second however
# many roles propagate at once, about half of Lambda's 15 per second for its control plane (Lambda
# quotas, "API requests"; a CreateFunction probe uploads the zip each time, which slows a big one
# down by itself); a lone probe lands at most 0.25 s after the window closes, and the first of
# several wakes the rest. Past AWS's usual window (5-15 s) each pauses n x max_delay (MAX_DELAY):
# a role that takes longer is not asked for as often. Grouped polls keep the same rule.
PROBE_FAST_SECONDS = 15.0
# Polls of one group (GetFunction: Lambda allows it 100 requests a second): each pauses this much
# per poll of the group still waiting, jittered down to half, so together at most 20 a second;
# past PROBE_FAST_SECONDS, POLL_MAX_DELAY per poll (together at most 4 a second).
POLL_SPACING = 0.1
# A throttled call is not retried at a propagation pace: it backs off from MAX_DELAY (or the
# caller's max_delay), doubling up to this.
THROTTLED = ("TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded")
THROTTLE_MAX_DELAY = 8.0


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
    if code in THROTTLED:
        return "throttled"
    return next((why for fragment, why in WHY if fragment in message), "not ready yet")


def is_throttled(exc: BaseException) -> bool:
    return _error_of(exc)[0] in THROTTLED


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
        # key -> (the probing thread, its group, set when its probe ends)
        self._holders: dict[str, tuple[int, str, threading.Event]] = {}
        self._woken: dict[str, int] = {}  # group -> how many probes (polls) of it succeeded
        self._pollers: dict[str, int] = {}  # group -> how many polls of it wait now

    def claim(self, key: str, group: str) -> bool:
        """Whether this thread probes `key` (it does, or now does); False: another thread does."""
        me = threading.get_ident()
        with self._cond:
            holder = self._holders.get(key)
            if holder is None:
                self._holders[key] = (me, group, threading.Event())
                return True
            return holder[0] == me

    def await_probe(self, key: str, timeout: float) -> None:
        """Until the probe of `key` that runs now ends (successfully or not), at most `timeout` s."""
        with self._cond:
            holder = self._holders.get(key)
        if holder is not None:
            holder[2].wait(timeout)

    def release(self, key: str, *, succeeded: bool) -> None:
        """This thread's probe of `key` ended (nothing if it was not probing it)."""
        with self._cond:
            holder = self._holders.get(key)
            if holder is None or holder[0] != threading.get_ident():
                return
            del self._holders[key]
            holder[2].set()
            if succeeded:
                self._woken[holder[1]] = self._woken.get(holder[1], 0) + 1
                self._cond.notify_all()

    def probing(self, group: str) -> int:
        with self._cond:
            return max(1, sum(1 for _, g, _ in self._holders.values() if g == group))

    @contextmanager
    def polling(self, group: str) -> Iterator[None]:
        """Counts this thread among the polls of `group` while it polls."""
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

    def woke(self, group: str) -> None:
        """What a poll of `group` waited for is ready: the group's other pauses end."""
        with self._cond:
            self._woken[group] = self._woken.get(group, 0) + 1
            self._cond.notify_all()

    def pause(self, group: str, seconds: float) -> None:
        """Sleep `seconds`, or until a probe of `group` succeeds meanwhile."""
        with self._cond:
            woken = self._woken.get(group, 0)
            self._cond.wait_for(lambda: self._woken.get(group, 0) != woken, seconds)


PROBES = Probes()
# what a caller is told while another caller probes the role both wait for
WAITING_FOR_TURN = "another resource using this role is retrying; going as soon as it succeeds"


def shared_pace(first_delay: float, max_delay: float, members: Callable[[], int]) -> Callable[[float], float]:
    """Pauses (by seconds waited so far) for one of `members()` callers sharing one rate: each
    pauses `first_delay` per member, past PROBE_FAST_SECONDS `max_delay` (if longer) per member,
    jittered down to half."""

    def pace(elapsed: float) -> float:
        spacing = first_delay if elapsed <= PROBE_FAST_SECONDS else max(first_delay, max_delay)
        return spacing * members() * (0.5 + random.random() / 2)

    return pace


def retry_propagation(
    fn: Callable[[], T],
    *,
    deadline: float = 120.0,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
    is_retryable: Callable[[BaseException], bool] = is_propagation_error,
    sleep: Callable[[float], None] | None = None,
    role_arn: str | None = None,
    group: str | None = None,
    probes: Probes | None = None,
) -> T:
    """Call `fn` until it succeeds, retrying only retryable errors, with jittered exponential
    backoff from `first_delay` capped at `max_delay`, for at most `deadline` seconds. The last
    error is raised when time runs out; a throttled call backs off further (THROTTLE_MAX_DELAY).

    With the `role_arn` the error waits for and a `group` (the API), the retries of one role take
    turns (see `Probes`): one probes, pacing as `shared_pace` says with the other probes of its
    group, the others wait for its outcome. `sleep` replaces the pauses (tests)."""
    if role_arn is None:
        if group is not None or probes is not None:
            raise ValueError("retry_propagation: a group or probes take turns by role_arn, and none is given")
        steady = backoff(first_delay, max_delay)
        return _retry(fn, deadline, is_retryable, lambda _: steady(), max_delay, sleep or time.sleep, None)
    board, shared = probes or PROBES, group or role_arn
    turns = (board, role_arn, shared)
    pace = shared_pace(first_delay, max_delay, partial(board.probing, shared))
    try:
        result = _retry(
            fn, deadline, is_retryable, pace, max_delay, sleep or partial(board.pause, shared), turns
        )
    except BaseException:
        board.release(role_arn, succeeded=False)  # a probe that gave up: another caller takes over
        raise
    board.release(role_arn, succeeded=True)
    return result


def _retry(
    fn: Callable[[], T],
    deadline: float,
    is_retryable: Callable[[BaseException], bool],
    pace: Callable[[float], float],
    max_delay: float,
    sleep: Callable[[float], None],
    turns: tuple[Probes, str, str] | None,
) -> T:
    """The one retry loop: `pace(seconds so far)` is the next pause, a throttled call's doubles
    from `max_delay` (MAX_DELAY at least); with `turns` (the board, the key, its group) a caller
    that does not hold the key's probe waits for its outcome instead."""
    start = time.monotonic()
    slowest = max(max_delay, MAX_DELAY)
    # from twice that, jittered down to half: never sooner than `slowest`
    throttled = backoff(2 * slowest, max(2 * slowest, THROTTLE_MAX_DELAY))
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            elapsed = time.monotonic() - start
            if not is_retryable(exc) or elapsed >= deadline:
                raise
            if turns is not None and not turns[0].claim(turns[1], turns[2]):
                # another caller probes: its outcome is ours
                report("retrying", f"{why_retried(exc)}: {WAITING_FOR_TURN}")
                turns[0].await_probe(turns[1], deadline - elapsed)
                continue
            pause = throttled() if is_throttled(exc) else pace(elapsed)
            if elapsed + pause > deadline:
                raise
            attempt += 1
            code = _error_of(exc)[0] or type(exc).__name__
            report("retrying", f"{why_retried(exc)}, retry {attempt} in {pause:.1f} s: {code}")
            sleep(pause)


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
    (from `first_delay`) but to a shorter cap (`max_delay`): a resource that becomes usable in
    seconds is seen so within a second. With a `group` (the read it polls with), the polls of
    one group share one rate (`shared_pace`: `first_delay` per poll of the group still waiting,
    `max_delay` past PROBE_FAST_SECONDS); and one that sees its resource ready wakes the others,
    since what was made at the same moment is usually ready at the same moment (a wrong guess
    costs one read). `sleep` replaces the pauses (tests)."""
    if group is None:
        if probes is not None:
            raise ValueError("poll_until: probes share the pace of a group, and none is given")
        steady = backoff(first_delay, max_delay)
        _poll(ready, what, deadline, lambda _: steady(), sleep or time.sleep)
        return
    board = probes or PROBES
    with board.polling(group):
        pace = shared_pace(first_delay, max_delay, partial(board.pollers, group))
        _poll(ready, what, deadline, pace, sleep or partial(board.pause, group))
    board.woke(group)


def _poll(
    ready: Callable[[], bool],
    what: str,
    deadline: float,
    pace: Callable[[float], float],
    sleep: Callable[[float], None],
) -> None:
    start = time.monotonic()
    checks = 0
    while not ready():
        checks += 1
        elapsed = time.monotonic() - start
        pause = pace(elapsed)
        if elapsed + pause > deadline:
            raise NotReady(f"{what} was not ready after {deadline:.0f} s")
        seen = take_observed()  # what AWS said ("Pending"), when the check told us
        report("waiting", f"{what}{': ' + seen if seen else ''} (check {checks}, next in {pause:.1f} s)")
        sleep(pause)
