"""Statements on a Lambda function's resource policy that let a service invoke it: the one place
that adds and removes them, for every kind whose service pushes to a function (API Gateway REST
and HTTP APIs, function URLs, SNS subscriptions, S3 notifications, EventBridge rules).

Each statement has a fixed id its kind derives from its own identity, so that adding is
idempotent and a record (a list of `{"function", "statement_id"}`) is enough to remove it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from awslab.resources.base import NAME_PREFIX, Context, Record, error_code, missing_ok, or_none
from awslab.resources.fanout import together
from awslab.resources.idempotent import already_exists, was_retried
from awslab.resources.retry import is_propagation_error, retry_propagation

INVOKE = "lambda:InvokeFunction"
# how long a function made in this run may still be "not found" to AddPermission
NOT_FOUND_SECONDS = 15.0


def statements(lam: Any, function: str) -> list[dict[str, Any]]:
    """The statements of the function's policy ([] when the function or its policy is gone)."""
    found = or_none(lambda: lam.get_policy(FunctionName=function))
    if found is None:
        return []
    stmts = json.loads(found["Policy"]).get("Statement", [])
    return [dict(s) for s in ([stmts] if isinstance(stmts, dict) else stmts)]


def statement_ids(lam: Any, function: str) -> set[str]:
    return {str(s.get("Sid", "")) for s in statements(lam, function)}


def ensure_invoke_permission(
    ctx: Context,
    function: str,
    statement_id: str,
    principal: str,
    source_arn: str,
    source_account: str | None = None,
    *,
    fresh: bool = False,
) -> None:
    """Let `principal` (a service, e.g. s3.amazonaws.com) invoke `function` on behalf of
    `source_arn` only. Idempotent: an identical statement is kept, a different one replaced.
    `fresh`: the statement id is new (a resource just created), so no function has it yet and
    the policy is not read first."""
    lam = ctx.client("lambda")
    current = (
        None if fresh else next((s for s in statements(lam, function) if s.get("Sid") == statement_id), None)
    )
    if current is not None:
        text = json.dumps(current)
        if principal in text and source_arn in text and (source_account is None or source_account in text):
            return
        remove_invoke_permission(ctx, function, statement_id)
    params: dict[str, Any] = {
        "FunctionName": function,
        "StatementId": statement_id,
        "Action": INVOKE,
        "Principal": principal,
        "SourceArn": source_arn,
    }
    if source_account:
        params["SourceAccount"] = source_account
    add_permission_once(lam, params)


def add_permission_once(lam: Any, params: dict[str, Any]) -> None:
    """AddPermission with a fixed StatementId that was not there, so that a lost answer cannot
    matter: the retried call finds its own statement (ResourceConflictException on AWS: done),
    and an endpoint that adds the same statement id twice (moto) has the copy removed."""
    from botocore.exceptions import ClientError

    try:
        # a function just created may still be Pending ("The operation cannot be performed at this time"),
        # or not yet visible to AddPermission at all
        response = retry_propagation(
            lambda: lam.add_permission(**params), is_retryable=_not_yet(time.monotonic())
        )
    except ClientError as exc:
        if already_exists(exc, ("ResourceConflictException",), "already exists"):
            return
        raise
    if was_retried(response):
        function, sid = params["FunctionName"], params["StatementId"]
        copies = sum(1 for s in statements(lam, function) if s.get("Sid") == sid)
        for _ in range(copies - 1):
            lam.remove_permission(FunctionName=function, StatementId=sid)


def _not_yet(started: float) -> Callable[[BaseException], bool]:
    """What AddPermission answers while what it changes is still being made. Its function was
    made before (the step that adds runs after the function's create succeeded), yet for a moment
    after CreateFunction AWS may answer "Function not found" (eventual consistency; the Terraform
    AWS provider retries it too): retried for NOT_FOUND_SECONDS, then it is the function's absence."""

    def retryable(exc: BaseException) -> bool:
        if error_code(exc) == "ResourceNotFoundException":
            return time.monotonic() - started < NOT_FOUND_SECONDS
        return is_propagation_error(exc)

    return retryable


def remove_invoke_permission(ctx: Context, function: str, statement_id: str) -> None:
    """Remove one statement from a function's policy; the function or statement being gone is done."""
    with missing_ok():
        retry_propagation(
            lambda: ctx.client("lambda").remove_permission(FunctionName=function, StatementId=statement_id)
        )


def remove_invoke_permissions(ctx: Context, permissions: list[dict[str, str]]) -> None:
    """Remove recorded statements (`{"function", "statement_id"}`), together, except from the
    functions the same run deletes (their policy goes with them)."""
    together(
        *(
            lambda p=p: remove_invoke_permission(ctx, p["function"], p["statement_id"])
            for p in permissions
            if not ctx.goes_too(p["function"])
        )
    )


def permissions_of(ctx: Context, record: Record, api_id: str, statement_id: str) -> list[dict[str, str]]:
    """The statements the API `api_id` of `record` put on functions: the recorded ones when it is
    the recorded API; otherwise (nothing recorded: a create that died) looked for on the lab's
    functions by the API's `statement_id`."""
    recorded = record.attrs.get("permissions") if api_id == record.attrs.get("id") else None
    return list(recorded) if recorded is not None else find_lab_permissions(ctx, statement_id)


def find_lab_permissions(ctx: Context, statement_id: str) -> list[dict[str, str]]:
    """The statements of this id on the functions named like this lab's (`awslab-<lab>-...-<stack>`):
    for a record that never saved the ones it added (a create that died)."""
    lam = ctx.client("lambda")
    prefix, suffix = f"{NAME_PREFIX}-{ctx.lab}-", f"-{ctx.stack_id}"
    return [
        {"function": fn["FunctionArn"], "statement_id": statement_id}
        for page in lam.get_paginator("list_functions").paginate()
        for fn in page.get("Functions", [])
        if fn["FunctionName"].startswith(prefix)
        and fn["FunctionName"].endswith(suffix)
        and statement_id in statement_ids(lam, fn["FunctionName"])
    ]


def permission_records(
    functions: Iterable[str], statement_id: str, also: Iterable[Mapping[str, str]] = ()
) -> list[dict[str, str]]:
    """The records (`{"function", "statement_id"}`) of the statement `statement_id` on each of
    `functions`, with those of `also`: each once, sorted."""
    found = {(fn, statement_id) for fn in functions} | {(p["function"], p["statement_id"]) for p in also}
    return [{"function": fn, "statement_id": sid} for fn, sid in sorted(found)]
