"""How events reach a Lambda function: `lambda.event_source` (an SQS -> Lambda event source
mapping), and the invoke-permission helpers the pushing services need (sns.topic
subscriptions, s3.notification).

An event source mapping has no name: awslab tags it, records its function and source, and finds
it by those (or by its tags) when a record has nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field

from awslab.resources.base import (
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    ArnRef,
    Context,
    Props,
    Record,
    Resource,
    UpdateNotSupported,
    error_code,
    is_not_found,
    register,
)
from awslab.resources.idempotent import adopt_or_raise, already_exists, drop_duplicates, is_ours, was_retried
from awslab.resources.retry import is_propagation_error, retry_propagation

ArnRef = ArnRef


def function_name_of(function: str) -> str:
    """A function name or ARN (possibly qualified) -> its bare name, for comparisons."""
    if function.startswith("arn:"):
        return function.split(":")[6]
    return function


# ---- invoke permissions ----------------------------------------------------------------------
def _statement(lam: Any, function: str, statement_id: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        policy = json.loads(lam.get_policy(FunctionName=function)["Policy"])
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise
    stmts = policy.get("Statement", [])
    for s in [stmts] if isinstance(stmts, dict) else stmts:
        if s.get("Sid") == statement_id:
            return dict(s)
    return None


def ensure_invoke_permission(
    ctx: Context,
    function: str,
    statement_id: str,
    principal: str,
    source_arn: str,
    source_account: str | None = None,
) -> None:
    """Let `principal` (a service, e.g. s3.amazonaws.com) invoke `function` on behalf of
    `source_arn` only. Idempotent: an identical statement is kept, a different one replaced."""
    lam = ctx.client("lambda")
    current = _statement(lam, function, statement_id)
    if current is not None:
        text = json.dumps(current)
        if principal in text and source_arn in text and (source_account is None or source_account in text):
            return
        remove_invoke_permission(ctx, function, statement_id)
    params: dict[str, Any] = {
        "FunctionName": function,
        "StatementId": statement_id,
        "Action": "lambda:InvokeFunction",
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
        # a function just created may still be Pending ("The operation cannot be performed at this time")
        response = retry_propagation(lambda: lam.add_permission(**params))
    except ClientError as exc:
        if already_exists(exc, ("ResourceConflictException",), "already exists"):
            return
        raise
    if was_retried(response):
        function, sid = params["FunctionName"], params["StatementId"]
        policy = json.loads(lam.get_policy(FunctionName=function)["Policy"])
        stmts = policy.get("Statement", [])
        copies = sum(1 for s in ([stmts] if isinstance(stmts, dict) else stmts) if s.get("Sid") == sid)
        for _ in range(copies - 1):
            lam.remove_permission(FunctionName=function, StatementId=sid)


def remove_invoke_permission(ctx: Context, function: str, statement_id: str) -> None:
    """Remove one statement from a function's policy; the function or statement being gone is done."""
    from botocore.exceptions import ClientError

    try:
        retry_propagation(
            lambda: ctx.client("lambda").remove_permission(FunctionName=function, StatementId=statement_id)
        )
    except ClientError as exc:
        if not is_not_found(exc):
            raise


# ---- lambda.event_source ---------------------------------------------------------------------
def _in_use_or_propagating(exc: BaseException) -> bool:
    # a mapping still Creating/Updating refuses changes with ResourceInUseException for a moment
    return is_propagation_error(exc) or error_code(exc) == "ResourceInUseException"


class EventSourceProps(Props):
    function: str  # name or ARN
    source: ArnRef  # the queue's ARN
    batch_size: int = Field(10, ge=1, le=10_000)
    report_batch_item_failures: bool = True
    enabled: bool = True
    maximum_batching_window: int | None = Field(None, ge=0, le=300)


@register
class EventSource(Resource):
    """An SQS -> Lambda event source mapping. With `report_batch_item_failures` the handler
    returns {"batchItemFailures": [{"itemIdentifier": messageId}]} and only those messages
    are retried (and, past the queue's maxReceiveCount, go to its dead-letter queue)."""

    kind = "lambda.event_source"
    Props = EventSourceProps
    attributes = ("uuid", "arn")
    replace_fields = frozenset({"source"})
    drift_keys = ("batch_size", "enabled", "function")
    drift_shown = frozenset({"batch_size", "enabled"})
    delete_needs_dependencies = False  # a mapping is deleted by its id, its function and queue aside

    @property
    def cfg(self) -> EventSourceProps:
        return cast(EventSourceProps, self.props)

    def _settings(self, *, creating: bool) -> dict[str, Any]:
        cfg = self.cfg
        settings: dict[str, Any] = {
            "FunctionName": cfg.function,
            "BatchSize": cfg.batch_size,
            "Enabled": cfg.enabled,
        }
        if cfg.report_batch_item_failures:
            settings["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
        elif not creating:
            settings["FunctionResponseTypes"] = []  # turns it off
        if cfg.maximum_batching_window is not None:
            settings["MaximumBatchingWindowInSeconds"] = cfg.maximum_batching_window
        elif not creating and not cfg.source.endswith(".fifo"):
            settings["MaximumBatchingWindowInSeconds"] = 0  # the default; FIFO sources have none
        return settings

    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        lam = self.ctx.client("lambda")
        params = {
            **self._settings(creating=True),
            "EventSourceArn": self.cfg.source,
            "Tags": self.ctx.tags(self.logical),
        }
        try:
            # the function's role may not yet show its new SQS permissions to Lambda
            mapping = retry_propagation(lambda: lam.create_event_source_mapping(**params))
        except ClientError as exc:
            # AWS maps a queue to a function once: "already exists" is a retried create whose
            # first answer was lost, or one an earlier run left
            mapping = adopt_or_raise(exc, ("ResourceConflictException",), self._adopt)
        else:
            # endpoints that map twice (moto) made one mapping per attempt: one is kept
            drop_duplicates(
                mapping,
                mapping["UUID"],
                lambda: [m["UUID"] for m in _find_all(self.ctx, self.cfg.function, self.cfg.source)],
                lambda uuid: _delete_mapping(self.ctx, uuid),
            )
        return _attrs(mapping)

    def _adopt(self) -> dict[str, Any] | None:
        """The mapping of the same function and source, brought in line and tagged, when it is
        ours: tagged as this resource, or untagged (a create whose tagging was lost) on a function
        of this lab. A mapping another tool made for a function named in the spec is left alone."""
        existing = _find(self.ctx, self.cfg.function, self.cfg.source)
        if existing is None:
            return None
        tags = self.ctx.client("lambda").list_tags(Resource=_mapping_arn(existing)).get("Tags")
        if not is_ours(tags, self.ctx, self.logical) and (tags or not self._function_is_this_labs()):
            return None
        mapping = self._update_mapping(existing["UUID"])
        self.ctx.client("lambda").tag_resource(
            Resource=_mapping_arn(mapping), Tags=self.ctx.tags(self.logical)
        )
        return mapping

    def _function_is_this_labs(self) -> bool:
        name = function_name_of(self.cfg.function)
        return any(
            isinstance(attrs, Mapping) and attrs.get("name") == name for attrs in self.ctx.resolved.values()
        )

    def update(self, record: Record) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if record.attrs.get("source") and record.attrs["source"] != self.cfg.source:
            raise UpdateNotSupported(f"{self.kind}: the source queue of a mapping cannot change")
        uuid = record.attrs.get("uuid")
        if not uuid:
            found = _find(self.ctx, self.cfg.function, self.cfg.source)
            if found is None:
                return self.create()
            uuid = found["UUID"]
        try:
            mapping = self._update_mapping(uuid)
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            mapping = {}
        if not mapping.get("UUID"):  # deleted behind awslab's back (moto answers with an empty body)
            return self.create()
        return _attrs(mapping)

    def _update_mapping(self, uuid: str) -> dict[str, Any]:
        lam = self.ctx.client("lambda")
        settings = self._settings(creating=False)
        return retry_propagation(
            lambda: lam.update_event_source_mapping(UUID=uuid, **settings),
            is_retryable=_in_use_or_propagating,
        )

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        uuid = _uuid_of(ctx, record)
        if uuid is None:
            return None
        try:
            mapping = ctx.client("lambda").get_event_source_mapping(UUID=uuid)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        if mapping.get("State") == "Deleting":
            return None
        return _attrs(mapping)

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        if record.attrs.get("uuid"):
            _delete_mapping(ctx, str(record.attrs["uuid"]))
            return
        # A record without a uuid (the process died during create): every mapping found goes,
        # in case a create retried after a lost answer made two before its duplicate was removed.
        if record.attrs.get("function") and record.attrs.get("source"):
            found = _find_all(ctx, record.attrs["function"], record.attrs["source"])
        else:
            found = _all_by_tags(ctx, record.logical)
        for m in found:
            _delete_mapping(ctx, str(m["UUID"]))


def _delete_mapping(ctx: Context, uuid: str) -> None:
    from botocore.exceptions import ClientError

    lam = ctx.client("lambda")
    try:
        retry_propagation(
            lambda: lam.delete_event_source_mapping(UUID=uuid), is_retryable=_in_use_or_propagating
        )
    except ClientError as exc:
        if not is_not_found(exc):
            raise


def _mapping_arn(mapping: dict[str, Any]) -> str:
    arn = mapping.get("EventSourceMappingArn")
    if arn:
        return str(arn)
    # older endpoints do not return it: build it the way Lambda does
    function_arn = str(mapping["FunctionArn"]).split(":")
    partition, region, account = function_arn[1], function_arn[3], function_arn[4]
    return f"arn:{partition}:lambda:{region}:{account}:event-source-mapping:{mapping['UUID']}"


def _attrs(mapping: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": mapping["UUID"],
        "arn": _mapping_arn(mapping),
        "function": mapping["FunctionArn"],
        "source": mapping["EventSourceArn"],
        "batch_size": mapping.get("BatchSize"),
        "enabled": mapping.get("State") not in ("Disabled", "Disabling"),
    }


def _mappings(ctx: Context, source: str | None = None) -> list[dict[str, Any]]:
    params = {"EventSourceArn": source} if source else {}
    pages = ctx.client("lambda").get_paginator("list_event_source_mappings").paginate(**params)
    return [m for page in pages for m in page.get("EventSourceMappings", [])]


def _find(ctx: Context, function: str, source: str) -> dict[str, Any] | None:
    """The mapping from `source` to `function` (given by name or ARN), if there is one."""
    found = _find_all(ctx, function, source)
    return found[0] if found else None


def _find_all(ctx: Context, function: str, source: str) -> list[dict[str, Any]]:
    """Every mapping from `source` to `function` (AWS allows one; moto does not check)."""
    name = function_name_of(function)
    return [
        m
        for m in _mappings(ctx, source)
        if function_name_of(m["FunctionArn"]) == name and m.get("State") != "Deleting"
    ]


def _find_by_tags(ctx: Context, logical: str) -> dict[str, Any] | None:
    """A record with empty attrs (the process died during create): the mapping is found by the
    awslab tags it was created with."""
    found = _all_by_tags(ctx, logical)
    return found[0] if found else None


def _all_by_tags(ctx: Context, logical: str) -> list[dict[str, Any]]:
    from botocore.exceptions import ClientError

    lam = ctx.client("lambda")
    wanted = {TAG_LAB: ctx.lab, TAG_STACK: ctx.stack_id, TAG_LOGICAL: logical}
    found = []
    for m in _mappings(ctx):
        try:
            tags = lam.list_tags(Resource=_mapping_arn(m)).get("Tags", {})
        except ClientError as exc:
            if is_not_found(exc):
                continue
            raise
        if all(tags.get(k) == v for k, v in wanted.items()):
            found.append(m)
    return found


def _uuid_of(ctx: Context, record: Record) -> str | None:
    attrs = record.attrs
    if attrs.get("uuid"):
        return str(attrs["uuid"])
    if attrs.get("function") and attrs.get("source"):
        found = _find(ctx, attrs["function"], attrs["source"])
    else:
        found = _find_by_tags(ctx, record.logical)
    return str(found["UUID"]) if found else None
