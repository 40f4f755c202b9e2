"""How events reach a Lambda function: `lambda.event_source` (an event source mapping from an
SQS queue or a DynamoDB stream). The services that push to a function instead need an invoke
permission: `invoke_permission`.

An event source mapping has no name: awslab tags it, records its function and source, and finds
it by those (or by its tags) when a record has nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field, model_validator

from awslab.resources import event_source_rules as rules
from awslab.resources.base import (
    NAME_PREFIX,
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    ArnRef,
    Context,
    Made,
    Props,
    Record,
    Resource,
    Survey,
    UpdateNotSupported,
    error_code,
    is_not_found,
    missing_ok,
    or_none,
    pages,
    physical_name,
    read_tags,
    register,
)
from awslab.resources.idempotent import adopt_or_raise, drop_duplicates, is_ours
from awslab.resources.retry import is_propagation_error, retry_propagation
from awslab.resources.tagging import retag_resource

if TYPE_CHECKING:
    from awslab.target import Target

ArnRef = ArnRef


def function_name_of(function: str) -> str:
    """A function name or ARN (possibly qualified) -> its bare name, for comparisons."""
    if function.startswith("arn:"):
        return function.split(":")[6]
    return function


def awslab_functions(survey: Survey) -> list[dict[str, Any]]:
    """The functions named awslab-... on the survey's target, listed once per sweep (the kinds of
    functions and of their URLs both look at them)."""

    def read() -> list[dict[str, Any]]:
        found = pages(survey.target.client("lambda"), "list_functions", "Functions")
        return [f for f in found if str(f["FunctionName"]).startswith(f"{NAME_PREFIX}-")]

    return survey.once("lambda.functions", read)


# ---- lambda.event_source ---------------------------------------------------------------------
def _in_use_or_propagating(exc: BaseException) -> bool:
    # a mapping still Creating/Updating refuses changes with ResourceInUseException for a moment
    return is_propagation_error(exc) or error_code(exc) == "ResourceInUseException"


class EventSourceProps(Props):
    function: str  # name or ARN
    source: ArnRef  # a queue's ARN, or a stream's (${table.stream_arn})
    batch_size: int | None = Field(None, ge=1, le=10_000)  # default: 10 for a queue, 100 for a stream
    report_batch_item_failures: bool = True
    enabled: bool = True
    maximum_batching_window: int | None = Field(None, ge=0, le=300)
    # patterns in EventBridge's syntax, matched against each message or stream record
    filter_criteria: list[dict[str, Any]] | None = None
    # streams only (event_source_rules.py says which option goes with which source)
    starting_position: Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"] | None = None
    starting_position_timestamp: datetime | None = None
    maximum_retry_attempts: int | None = Field(None, ge=-1, le=10_000)
    maximum_record_age: int | None = Field(None, ge=-1, le=604_800)
    bisect_batch_on_function_error: bool = False
    on_failure: ArnRef | None = None  # SQS queue or SNS topic for the records a stream gives up on

    @model_validator(mode="after")
    def _fits_the_source(self) -> EventSourceProps:
        found = rules.problems(self.model_dump())
        if found:
            raise ValueError("; ".join(found))
        return self

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size or rules.default_batch_size(self.source)

    @property
    def is_stream(self) -> bool:
        return rules.source_type(self.source) in rules.STREAMS


@register
class EventSource(Resource[EventSourceProps]):
    """An event source mapping from an SQS queue or a DynamoDB (or Kinesis) stream to a function.
    With `report_batch_item_failures` the handler returns {"batchItemFailures": [{"itemIdentifier":
    id}]}: a queue retries only those messages (and, past the queue's maxReceiveCount, moves them
    to its dead-letter queue); a stream retries from the first failed record (id: its
    SequenceNumber). A stream retries a failed batch up to `maximum_retry_attempts` (-1: until the
    records are `maximum_record_age` old or expire), halving it first with
    `bisect_batch_on_function_error`, then sends what it gives up on to `on_failure`."""

    kind = "lambda.event_source"
    attributes = ("uuid", "arn")
    replace_fields = frozenset({"source", "starting_position", "starting_position_timestamp"})
    drift_keys = (
        "batch_size", "enabled", "function", "filter_criteria", "maximum_retry_attempts",
        "maximum_record_age", "bisect_batch_on_function_error", "on_failure",
    )  # fmt: skip
    drift_shown = frozenset({
        "batch_size", "enabled", "maximum_retry_attempts", "maximum_record_age",
        "bisect_batch_on_function_error",
    })  # fmt: skip
    delete_needs_dependencies = False  # a mapping is deleted by its id, its function and queue aside
    sweep_rank = 10  # before its function and its queue or table

    def _settings(self, *, creating: bool) -> dict[str, Any]:
        cfg = self.props
        settings: dict[str, Any] = {
            "FunctionName": cfg.function,
            "BatchSize": cfg.effective_batch_size,
            "Enabled": cfg.enabled,
        }
        if cfg.filter_criteria is not None:
            settings["FilterCriteria"] = {
                "Filters": [{"Pattern": json.dumps(p, separators=(",", ":"))} for p in cfg.filter_criteria]
            }
        elif not creating:
            settings["FilterCriteria"] = {}  # removes them
        if cfg.is_stream:
            settings.update(_stream_settings(cfg, creating=creating))
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
            "EventSourceArn": self.props.source,
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
                lambda: [m["UUID"] for m in _find_all(self.ctx, self.props.function, self.props.source)],
                lambda uuid: _delete_mapping(self.ctx, uuid),
            )
        return _attrs(mapping)

    def _adopt(self) -> dict[str, Any] | None:
        """The mapping of the same function and source, brought in line and tagged, when it is
        ours: tagged as this resource, or untagged (a create whose tagging was lost) on a function
        of this lab. A mapping another tool made for a function named in the spec is left alone."""
        existing = _find(self.ctx, self.props.function, self.props.source)
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
        name = function_name_of(self.props.function)
        return any(
            isinstance(attrs, Mapping) and attrs.get("name") == name for attrs in self.ctx.resolved.values()
        )

    def update(self, record: Record) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if record.attrs.get("source") and record.attrs["source"] != self.props.source:
            raise UpdateNotSupported(f"{self.kind}: the source of a mapping cannot change")
        if record.attrs.get("starting_position") not in (None, self.props.starting_position):
            raise UpdateNotSupported(f"{self.kind}: the starting position of a mapping cannot change")
        uuid = record.attrs.get("uuid")
        if not uuid:
            found = _find(self.ctx, self.props.function, self.props.source)
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
        uuid = _uuid_of(ctx, record)
        if uuid is None:
            return None
        mapping = or_none(lambda: ctx.client("lambda").get_event_source_mapping(UUID=uuid))
        if mapping is None:
            return None
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

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        lam = ctx.client("lambda")
        arn = str(record.attrs["arn"])
        retag_resource(lam, {"Resource": arn}, tags, dropped)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """Mappings to awslab functions: by their own tags (physical: the name awslab gives the
        mapping), or, untagged (an endpoint without tags on mappings), through their function."""
        survey = survey or Survey(target)
        lam = target.client("lambda")
        out: list[Made] = []
        for m in pages(lam, "list_event_source_mappings", "EventSourceMappings"):
            function = function_name_of(str(m["FunctionArn"]))
            if not function.startswith(f"{NAME_PREFIX}-") or m.get("State") == "Deleting":
                continue
            # endpoints without tags on mappings refuse the ARN: untagged
            tags = read_tags(
                partial(_mapping_tags, lam, m), "InvalidParameterValueException", "ValidationException"
            )
            detail, attrs = f"{m.get('EventSourceArn', '')} -> {function} ({m['UUID']})", {"uuid": m["UUID"]}
            own = tags or {}
            lab, stack, logical = own.get(TAG_LAB), own.get(TAG_STACK), own.get(TAG_LOGICAL)
            if tags is not None and lab and stack and logical:
                physical = physical_name(lab, logical, stack, cls.name_rule)
                if not survey.known(cls.kind, physical):
                    out.append(Made(physical, tags, attrs, detail))
            else:  # no logical name to build one from
                owner = ("lambda.function", function)
                out.append(Made(f"{function}-mapping-{m['UUID']}", {}, attrs, detail, owner=owner))
        return out


def _stream_settings(cfg: EventSourceProps, *, creating: bool) -> dict[str, Any]:
    """The settings only stream sources take; on update every one is sent, so that an option
    removed from the spec goes back to AWS's default."""
    settings: dict[str, Any] = {
        "MaximumRetryAttempts": -1 if cfg.maximum_retry_attempts is None else cfg.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": -1 if cfg.maximum_record_age is None else cfg.maximum_record_age,
        "BisectBatchOnFunctionError": cfg.bisect_batch_on_function_error,
    }
    if cfg.on_failure:
        settings["DestinationConfig"] = {"OnFailure": {"Destination": cfg.on_failure}}
    elif not creating:
        settings["DestinationConfig"] = {"OnFailure": {}}
    if creating:  # the position is where the mapping starts reading: it cannot change
        settings["StartingPosition"] = cfg.starting_position
        if cfg.starting_position_timestamp is not None:
            settings["StartingPositionTimestamp"] = cfg.starting_position_timestamp
    return settings


def _delete_mapping(ctx: Context, uuid: str) -> None:
    lam = ctx.client("lambda")
    with missing_ok():
        retry_propagation(
            lambda: lam.delete_event_source_mapping(UUID=uuid), is_retryable=_in_use_or_propagating
        )


def _mapping_tags(lam: Any, mapping: dict[str, Any]) -> dict[str, str]:
    return dict(lam.list_tags(Resource=_mapping_arn(mapping)).get("Tags", {}))


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
        "starting_position": mapping.get("StartingPosition"),
        "filter_criteria": _patterns(mapping.get("FilterCriteria")),
        "maximum_retry_attempts": mapping.get("MaximumRetryAttempts"),
        "maximum_record_age": mapping.get("MaximumRecordAgeInSeconds"),
        "bisect_batch_on_function_error": mapping.get("BisectBatchOnFunctionError"),
        "on_failure": ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
    }


def _patterns(criteria: Any) -> list[Any] | None:
    """FilterCriteria as the spec gives it: the patterns, parsed (None without filters)."""
    filters = (criteria or {}).get("Filters") or []
    return [json.loads(f["Pattern"]) for f in filters if f.get("Pattern")] or None


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
