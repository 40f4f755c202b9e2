"""Targeted retries for AWS propagation errors that botocore's retry modes do not know.

A new IAM role is not assumable by Lambda for some seconds; a new Lambda permission is not yet
visible to S3's notification check; a function is still Pending. These are retried with
exponential backoff (jittered) until a deadline, never with a fixed sleep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# (error code, a fragment of the message) pairs that mean "not propagated yet".
PROPAGATION_ERRORS: tuple[tuple[str, str], ...] = (
    ("InvalidParameterValueException", "cannot be assumed by Lambda"),
    ("InvalidParameterValueException", "role defined for the function cannot be assumed"),
    ("InvalidParameterValueException", "The provided execution role does not have permissions"),
    ("InvalidArgument", "Unable to validate the following destination configurations"),
    ("ResourceConflictException", "The operation cannot be performed at this time"),
    ("ResourceConflictException", "An update is in progress"),
    ("AccessDeniedException", "is not authorized to perform: iam:PassRole"),
    ("InvalidParameterValueException", "is not authorized to perform"),
    ("TooManyRequestsException", ""),
    ("ConflictException", "Unable to complete operation due to concurrent modification"),
)


def is_propagation_error(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    err = response.get("Error", {})
    code, message = str(err.get("Code", "")), str(err.get("Message", ""))
    return any(code == c and fragment in message for c, fragment in PROPAGATION_ERRORS)


def retry_propagation(
    fn: Callable[[], T],
    *,
    deadline: float = 120.0,
    first_delay: float = 0.5,
    max_delay: float = 8.0,
    is_retryable: Callable[[BaseException], bool] = is_propagation_error,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `fn` until it succeeds, retrying only retryable errors, with jittered exponential
    backoff, for at most `deadline` seconds. The last error is raised when time runs out."""
    start = time.monotonic()
    delay = first_delay
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_retryable(exc) or time.monotonic() - start + delay > deadline:
                raise
            sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, max_delay)
