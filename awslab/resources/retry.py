"""Targeted retries for AWS propagation errors that botocore's retry modes do not know, and
polling until a resource AWS is still making is usable.

A new IAM role is not assumable by Lambda or Step Functions for some seconds, nor are a role's new
permissions visible to Lambda's event source check; a new Lambda permission is not yet visible to
S3's notification check; a function is still Pending. These are retried until a deadline, never
with a fixed sleep, and with a short cap on the back-off: a propagation window is usually 5-15 s,
and a retry should land just after it closes, not up to a long back-off later.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
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


def retry_propagation(
    fn: Callable[[], T],
    *,
    deadline: float = 120.0,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
    is_retryable: Callable[[BaseException], bool] = is_propagation_error,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fn` until it succeeds, retrying only retryable errors, with jittered exponential
    backoff capped at `max_delay`, for at most `deadline` seconds. The last error is raised when
    time runs out."""
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


class NotReady(Exception):
    """Raised by `poll_until` when the deadline passes first."""


def poll_until(
    ready: Callable[[], bool],
    what: str,
    *,
    deadline: float = 300.0,
    first_delay: float = FIRST_DELAY,
    max_delay: float = POLL_MAX_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Call `ready()` until it returns True (it raises to give up), backing off as retries do
    but to a shorter cap: a resource that becomes usable in seconds is seen so within a second."""
    start = time.monotonic()
    next_sleep = backoff(first_delay, max_delay)
    checks = 0
    while not ready():
        checks += 1
        pause = next_sleep()
        if time.monotonic() - start + pause > deadline:
            raise NotReady(f"{what} was not ready after {deadline:.0f} s")
        seen = take_observed()  # what AWS said ("Pending"), when the check told us
        report("waiting", f"{what}{': ' + seen if seen else ''} (check {checks}, next in {pause:.1f} s)")
        sleep(pause)
