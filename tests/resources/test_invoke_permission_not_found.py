"""AddPermission right after CreateFunction: AWS may answer "Function not found" for a moment
(Lambda's eventual consistency). The add is retried for a while, then the absence is the error."""

from __future__ import annotations

import functools

import pytest
from botocore.exceptions import ClientError

from awslab.resources import invoke_permission
from awslab.resources.base import Context
from awslab.resources.invoke_permission import ensure_invoke_permission, statement_ids
from awslab.resources.retry import retry_propagation
from tests.resources.wiring_helpers import fail_first, make_function

SOURCE = "arn:aws:sns:us-east-1:123456789012:topic"


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    taken: list[float] = []
    monkeypatch.setattr(
        invoke_permission, "retry_propagation", functools.partial(retry_propagation, sleep=taken.append)
    )
    return taken


def not_found(ctx: Context, arn: str) -> list[int]:
    return fail_first(
        ctx, "lambda", "AddPermission", "ResourceNotFoundException", f"Function not found: {arn}"
    )


def test_a_function_just_made_that_is_not_found_yet_gets_its_permission(
    ctx: Context, pauses: list[float]
) -> None:
    arn = make_function(ctx, "fresh")
    failed = not_found(ctx, arn)
    ensure_invoke_permission(ctx, arn, "sns-grant", "sns.amazonaws.com", SOURCE, fresh=True)
    assert failed == [1] and len(pauses) == 1
    assert "sns-grant" in statement_ids(ctx.client("lambda"), "fresh")


def test_a_function_still_not_found_after_the_window_is_the_error(
    ctx: Context, pauses: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoke_permission, "NOT_FOUND_SECONDS", 0.0)
    arn = make_function(ctx, "fresh")
    not_found(ctx, arn)
    with pytest.raises(ClientError, match="Function not found"):
        ensure_invoke_permission(ctx, arn, "sns-grant", "sns.amazonaws.com", SOURCE, fresh=True)
    assert pauses == []
