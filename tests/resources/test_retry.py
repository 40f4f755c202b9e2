"""What AWS documents as retryable is retried, in every wording AWS has used, and the back-off
lands a retry just after a propagation window closes, not long after it (issue 8, item 5)."""

from __future__ import annotations

import itertools

import pytest
from botocore.exceptions import ClientError

from awslab.resources.retry import (
    MAX_DELAY,
    POLL_MAX_DELAY,
    NotReady,
    is_propagation_error,
    poll_until,
    retry_propagation,
)


def error(code: str, message: str, operation: str = "CreateThing") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # Lambda CreateFunction with a role created seconds ago
        ("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."),
        # ...whose environment's encryption grant is not valid yet
        (
            "InvalidParameterValueException",
            "Lambda was unable to configure access to your environment variables because the KMS key is "
            "invalid for CreateGrant. Please check your KMS key settings. KMS Exception: "
            "InvalidArnException KMS Message: ARN does not refer to a valid principal",
        ),
        # CreateEventSourceMapping from SQS: AWS's current wording, and the older one
        (
            "InvalidParameterValueException",
            "The function execution role does not have permissions to call ReceiveMessage on SQS",
        ),
        (
            "InvalidParameterValueException",
            "The provided execution role does not have permissions to call ReceiveMessage on SQS",
        ),
        # ...from a stream
        (
            "InvalidParameterValueException",
            "Cannot access stream arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x. Please ensure "
            "the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions "
            "on your stream in IAM.",
        ),
        # Step Functions CreateStateMachine / UpdateStateMachine with a new role
        (
            "AccessDeniedException",
            "Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
            "to assume the provided role.",
        ),
        # a function still Pending, or updating
        (
            "ResourceConflictException",
            "The operation cannot be performed at this time. The function is currently in the following "
            "state: Pending",
        ),
        (
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for resource: "
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ),
        # AddPermission calls on one function racing each other
        (
            "ResourceConflictException",
            "The function could not be updated due to a concurrent update operation. Please try again later.",
        ),
        ("InvalidArgument", "Unable to validate the following destination configurations"),
        ("TooManyRequestsException", "Too Many Requests"),
    ],
)
def test_every_wording_aws_uses_for_not_propagated_yet_is_retried(code: str, message: str) -> None:
    assert is_propagation_error(error(code, message))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes"),
        ("AccessDeniedException", "User: arn:aws:iam::123456789012:user/x is not authorized to perform: x"),
        # the caller lacks iam:PassRole (a restricted account): permanent, so not waited on for minutes
        (
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/ada is not authorized to perform: iam:PassRole on "
            "resource: arn:aws:iam::123456789012:role/awslab-crud-role-abc123",
        ),
        (
            "InvalidParameterValueException",
            "User: arn:aws:sts::123456789012:assumed-role/Learner/ada is not authorized to perform: "
            "iam:PassRole on resource: arn:aws:iam::123456789012:role/r",
        ),
        ("ResourceConflictException", "Function already exist: f"),
        ("ValidationException", "1 validation error detected"),
    ],
)
def test_real_errors_are_not_retried(code: str, message: str) -> None:
    assert not is_propagation_error(error(code, message))


def test_a_retry_lands_soon_after_the_window_closes() -> None:
    """A role that becomes usable after 10 s of refusals (AWS: often 5-15 s): the back-off never
    grows past MAX_DELAY, so the first attempt after the window comes at most that late."""
    clock = [0.0]
    window = 10.0
    attempts: list[float] = []

    def create() -> str:
        attempts.append(clock[0])
        if clock[0] < window:
            raise error(
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            )
        return "made"

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    assert retry_propagation(create, sleep=sleep) == "made"
    assert MAX_DELAY <= 2.0
    assert attempts[-1] - window <= MAX_DELAY
    assert all(later - earlier <= MAX_DELAY for earlier, later in itertools.pairwise(attempts))


def test_poll_until_waits_with_the_same_back_off_and_gives_up_at_its_deadline() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    poll_until(lambda: clock[0] >= 3.0, "thing", sleep=sleep)
    assert clock[0] - 3.0 <= POLL_MAX_DELAY and max(sleeps) <= POLL_MAX_DELAY <= MAX_DELAY
    with pytest.raises(NotReady, match="thing was not ready after 1 s"):
        poll_until(lambda: False, "thing", deadline=1.0, sleep=sleep)
