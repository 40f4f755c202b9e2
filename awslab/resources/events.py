"""EventBridge: `events.bus` (a custom event bus) and `events.rule` (a rule on the default or a named
bus, on a schedule or an event pattern, with its targets).

A rule's targets get the grant AWS requires before the rule can reach them, added before PutTargets
and removed when the target goes: an invoke permission on a Lambda function for
events.amazonaws.com with the rule's ARN as SourceArn, a statement in an SQS queue's policy or an
SNS topic's policy (merged by Sid, never replacing the policy) allowing events.amazonaws.com to
send / publish on behalf of the rule only. A Step Functions target instead needs a role
(`role`, an iam.role with `service: events` allowed states:StartExecution), as on AWS. Grant ids
derive from the rule's ARN, so teardown finds them from the rule alone.

`list_made(target)` (each kind here, and scheduler.schedule) lists what awslab made of the kind on
a target, for `teardown --sweep`: resources named `awslab-...` that carry the awslab tags.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field, JsonValue, field_validator, model_validator

from awslab.resources.base import (
    NAME_PREFIX,
    ArnRef,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    UpdateNotSupported,
    arn_of,
    ignore_missing,
    is_not_found,
    missing_ok,
    or_none,
    register,
)
from awslab.resources.idempotent import adopt_or_raise, is_ours, tag_map
from awslab.resources.invoke_permission import ensure_invoke_permission, remove_invoke_permission
from awslab.resources.sqs import put_queue_policy_statement, remove_queue_policy_statement
from awslab.resources.tagging import retag_resource

if TYPE_CHECKING:
    from awslab.target import Target

EVENTS_PRINCIPAL = "events.amazonaws.com"
DEFAULT_BUS = "default"
_TARGET_ID = re.compile(r"^[.\-_A-Za-z0-9]{1,64}\Z")
_PATH_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,256}\Z")
MAX_TARGETS = 5  # AWS: at most five targets per rule


# ---- events.bus ------------------------------------------------------------------------------------
class BusProps(Props):
    """A custom event bus has no settings of its own here: its rules name it (`bus: ${x.name}`)."""


@register
class EventBus(Resource[BusProps]):
    """A custom event bus. Rules on it are separate `events.rule` resources (deleted before it)."""

    kind = "events.bus"
    name_rule = NameRule(max_len=256, allowed="-_.")
    sweep_rank = 30  # after its rules and the APIs that put events on it
    predictable = frozenset({"name", "arn"})

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "events", f"event-bus/{physical}")}

    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        events = self.ctx.client("events")
        tags = [{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()]
        try:
            arn = str(events.create_event_bus(Name=self.physical, Tags=tags)["EventBusArn"])
        except ClientError as exc:  # a retried create whose answer was lost, or one an earlier run left
            arn = adopt_or_raise(exc, ("ResourceAlreadyExistsException",), self._adopt)
        return {"name": self.physical, "arn": arn}

    def _adopt(self) -> str | None:
        events = self.ctx.client("events")
        arn = str(events.describe_event_bus(Name=self.physical)["Arn"])
        tags = events.list_tags_for_resource(ResourceARN=arn).get("Tags")
        return arn if is_ours(tags, self.ctx, self.logical) else None

    def update(self, record: Record) -> dict[str, Any]:
        """Nothing to change but its existence and tags: made again if deleted behind awslab's back."""
        live = self.read(self.ctx, record)
        if live is None:
            return self.create()
        tags = [{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()]
        self.ctx.client("events").tag_resource(ResourceARN=live["arn"], Tags=tags)
        return live

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        bus = or_none(lambda: ctx.client("events").describe_event_bus(Name=record.physical))
        if bus is None:
            return None
        return {"name": bus["Name"], "arn": bus["Arn"]}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        ignore_missing(ctx.client("events").delete_event_bus, Name=record.physical)

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        arn = str(record.attrs.get("arn") or cls.predict(ctx.target, record.physical)["arn"])
        _retag(ctx, arn, tags, dropped)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        survey = survey or Survey(target)
        events = target.client("events")
        out: list[Made] = []
        for bus in _awslab_buses(survey):
            if survey.known(cls.kind, bus["Name"]):
                continue
            tags = _tags_or_none(events, bus["Arn"])
            if tags is not None:
                out.append(Made(bus["Name"], tags, {}, bus["Arn"]))
        return out


def _awslab_buses(survey: Survey) -> list[dict[str, Any]]:
    """The buses named awslab-..., listed once per sweep (its buses and its rules need them)."""

    def read() -> list[dict[str, Any]]:
        events = survey.target.client("events")
        out: list[dict[str, Any]] = []
        token: dict[str, str] = {}
        while True:  # ListEventBuses has no paginator in botocore
            page = events.list_event_buses(NamePrefix=f"{NAME_PREFIX}-", **token)
            out += page.get("EventBuses", [])
            if not page.get("NextToken"):
                return out
            token = {"NextToken": page["NextToken"]}

    return survey.once("events.buses", read)


# ---- events.rule -----------------------------------------------------------------------------------
class InputTransformer(Props):
    """EventBridge's InputTransformer: `paths` names values of the event (JSONPath), `template` is
    the text the target gets, with `<name>` for each."""

    paths: dict[str, str] = Field(default_factory=dict, max_length=100)
    template: str = Field(min_length=1, max_length=8192)

    @field_validator("paths")
    @classmethod
    def _paths(cls, paths: dict[str, str]) -> dict[str, str]:
        for name, path in paths.items():
            if not _PATH_NAME.match(name) or name.startswith("aws."):
                raise ValueError(f"path name {name!r}: letters, digits, '_' and '-' only (aws.* is reserved)")
            if not path.startswith("$"):
                raise ValueError(f"path {name}: {path!r} is not a JSONPath such as $.detail.id")
        return paths


class RuleTarget(Props):
    arn: ArnRef  # a Lambda function, SQS queue, SNS topic or Step Functions state machine
    id: str | None = None  # default: from the ARN's last part
    input: JsonValue = None  # constant JSON the target gets instead of the event
    input_path: str | None = None  # JSONPath: the part of the event the target gets
    input_transformer: InputTransformer | None = None
    role: ArnRef | None = None  # required for Step Functions targets (EventBridge assumes it)
    message_group_id: str | None = None  # required for SQS FIFO queues

    @model_validator(mode="after")
    def _consistent(self) -> RuleTarget:
        given = [n for n in ("input", "input_path", "input_transformer") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(
                f"give at most one of input, input_path and input_transformer (got {', '.join(given)})"
            )
        if self.id is not None and not _TARGET_ID.match(self.id):
            raise ValueError(f"target id {self.id!r}: 1-64 letters, digits, '.', '-' or '_'")
        if self.input_path is not None and not self.input_path.startswith("$"):
            raise ValueError(f"input_path {self.input_path!r} is not a JSONPath such as $.detail")
        _check_target_arn(self.arn, self.role, self.message_group_id)
        return self


def _check_target_arn(arn: str, role: str | None, group: str | None) -> None:
    """What AWS requires of a target, known once its ARN is (a reference is checked at create)."""
    if "${" in arn:
        return
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service not in ("lambda", "sqs", "sns", "states"):
        raise ValueError(
            f"{arn}: targets here are Lambda functions, SQS queues, SNS topics or state machines"
        )
    if service == "states" and role is None:
        raise ValueError(f"{arn}: a Step Functions target needs `role` (an iam.role with service: events)")
    if arn.endswith(".fifo") and service == "sqs" and not group:
        raise ValueError(f"{arn}: a FIFO queue target needs message_group_id")
    if group and service != "sqs":
        raise ValueError("message_group_id applies to SQS queue targets only")


class RuleProps(Props):
    bus: str = DEFAULT_BUS  # a bus name or ARN, e.g. ${orders-bus.name}
    schedule: str | None = None  # rate(...) or cron(...), default bus only
    pattern: dict[str, JsonValue] | None = None  # an event pattern
    description: str = Field("", max_length=512)
    enabled: bool = True
    targets: list[RuleTarget] = Field(default_factory=list, max_length=MAX_TARGETS)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None and "${" not in value:
            from awslab.local.eventbridge_schedule import parse

            parse(value, allow_at=False)  # its ExpressionError is a ValueError: pydantic says it
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
        if value is not None:
            if not value:
                raise ValueError("an empty pattern matches nothing: name at least one field, e.g. source")
            _check_pattern(value, "pattern")
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> RuleProps:
        if (self.schedule is None) == (self.pattern is None):
            raise ValueError("give either schedule (rate/cron) or pattern, not both and not neither")
        if self.schedule is not None and bus_name(self.bus) != DEFAULT_BUS and "${" not in self.bus:
            raise ValueError("a schedule runs on the default bus only (AWS): leave `bus` out")
        ids = [target_id(t, i) for i, t in enumerate(self.targets) if "${" not in t.arn or t.id]
        if len(ids) != len(set(ids)):
            raise ValueError("two targets have the same id: give them distinct `id`s")
        return self


def _check_pattern(node: JsonValue, where: str) -> None:
    """AWS's rule: every value of a pattern is an object or a non-empty array."""
    if not isinstance(node, dict):
        raise ValueError(f"{where} must be an object or a list of values to match")
    for key, value in node.items():
        at = f"{where}.{key}"
        if isinstance(value, dict):
            if key == "$or":
                raise ValueError(f"{at}: $or takes a list of patterns")
            _check_pattern(value, at)
        elif isinstance(value, list):
            if not value:
                raise ValueError(f"{at}: an empty list matches nothing")
            if key == "$or":
                for i, sub in enumerate(value):
                    _check_pattern(sub, f"{at}[{i}]")
        else:
            raise ValueError(f"{at}: {json.dumps(value)} must be a list, e.g. [{json.dumps(value)}]")


def bus_name(bus: str) -> str:
    """A bus given by name or ARN -> its name."""
    return bus.rsplit("/", 1)[-1] if bus.startswith("arn:") else bus


def target_id(target: RuleTarget, index: int) -> str:
    """The target's Id: its own, or the ARN's last part (a function, queue, topic or machine name)."""
    if target.id:
        return target.id
    name = re.split(r"[:/]", target.arn)[-1] if "${" not in target.arn else f"target-{index + 1}"
    return re.sub(r"[^.\-_A-Za-z0-9]", "-", name)[:64] or f"target-{index + 1}"


def grant_id(rule_arn: str) -> str:
    """The Sid / StatementId of the grants this rule adds (Lambda allows [A-Za-z0-9_-], <= 100)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", rule_arn.split(":", 5)[-1].removeprefix("rule/"))[:70]
    digest = hashlib.sha256(rule_arn.encode()).hexdigest()[:8]
    return f"awslab-events-{name}-{digest}"


def _service(arn: str) -> str:
    return arn.split(":")[2] if arn.count(":") >= 5 else ""


def _grant(ctx: Context, rule_arn: str, arn: str) -> None:
    sid, service = grant_id(rule_arn), _service(arn)
    condition = {"ArnEquals": {"aws:SourceArn": rule_arn}}
    if service == "lambda":
        ensure_invoke_permission(ctx, arn, sid, EVENTS_PRINCIPAL, rule_arn)
    elif service == "sqs":
        put_queue_policy_statement(ctx, arn, _statement(sid, "sqs:SendMessage", arn, condition))
    elif service == "sns":
        put_topic_policy_statement(ctx, arn, _statement(sid, "sns:Publish", arn, condition))


def _revoke(ctx: Context, rule_arn: str, arn: str) -> None:
    """Remove the grant; its function, queue or topic being gone is fine."""
    sid, service = grant_id(rule_arn), _service(arn)
    if service == "lambda":
        remove_invoke_permission(ctx, arn, sid)
    elif service == "sqs":
        remove_queue_policy_statement(ctx, arn, sid)
    elif service == "sns":
        remove_topic_policy_statement(ctx, arn, sid)


def _statement(sid: str, action: str, resource: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": EVENTS_PRINCIPAL},
        "Action": action,
        "Resource": resource,
        "Condition": condition,
    }


def put_topic_policy_statement(ctx: Context, topic_arn: str, statement: dict[str, Any]) -> None:
    """Add `statement` to the topic's access policy, replacing one with the same Sid, keeping the rest."""
    sns = ctx.client("sns")
    text = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("Policy") or ""
    policy: dict[str, Any] = json.loads(text) if text else {"Version": "2012-10-17"}
    kept = [s for s in _statements(policy) if s.get("Sid") != statement["Sid"]]
    policy["Statement"] = [*kept, statement]
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy))


def remove_topic_policy_statement(ctx: Context, topic_arn: str, sid: str) -> None:
    """Remove the statement `sid` from the topic's policy; a topic or statement that is gone is done."""
    sns = ctx.client("sns")
    with missing_ok():
        text = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"].get("Policy") or ""
        policy = json.loads(text) if text else {}
        statements = _statements(policy)
        kept = [s for s in statements if s.get("Sid") != sid]
        if len(kept) == len(statements):
            return
        policy["Statement"] = kept
        sns.set_topic_attributes(
            TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(policy)
        )


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    stmts = policy.get("Statement", [])
    return [stmts] if isinstance(stmts, dict) else list(stmts)


def _api_target(target: RuleTarget, index: int) -> dict[str, Any]:
    """A PutTargets entry (the props were validated again with references resolved)."""
    entry: dict[str, Any] = {"Id": target_id(target, index), "Arn": target.arn}
    if target.input is not None:
        entry["Input"] = json.dumps(target.input)
    if target.input_path is not None:
        entry["InputPath"] = target.input_path
    if target.input_transformer is not None:
        entry["InputTransformer"] = {
            "InputPathsMap": dict(target.input_transformer.paths),
            "InputTemplate": target.input_transformer.template,
        }
    if target.role is not None:
        entry["RoleArn"] = target.role
    if target.message_group_id is not None:
        entry["SqsParameters"] = {"MessageGroupId": target.message_group_id}
    return entry


@register
class Rule(Resource[RuleProps]):
    """An EventBridge rule and its targets. Update puts the rule again (PutRule changes it in
    place), then reconciles targets: removed ones go (and their grants), new ones are granted
    and put. Moving a rule to another bus replaces it."""

    kind = "events.rule"
    attributes = ("name", "arn")
    sweep_rank = 10  # before its bus and its targets
    name_rule = NameRule(max_len=64, allowed="-_.")
    drift_keys = ("state", "schedule", "pattern", "targets")
    drift_labels = {"targets": "targets (ids and ARNs)"}
    drift_shown = frozenset({"state", "schedule"})
    replace_fields = frozenset({"bus"})
    predictable = frozenset({"name"})

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical}

    def _put_rule(self) -> str:
        cfg = self.props
        params: dict[str, Any] = {
            "Name": self.physical,
            "EventBusName": cfg.bus,
            "State": "ENABLED" if cfg.enabled else "DISABLED",
            "Description": cfg.description,
            "Tags": [{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()],
        }
        if cfg.schedule is not None:
            params["ScheduleExpression"] = cfg.schedule
        else:
            params["EventPattern"] = json.dumps(cfg.pattern)
        # PutRule creates or updates: a retried create is the same call again
        return str(self.ctx.client("events").put_rule(**params)["RuleArn"])

    def create(self) -> dict[str, Any]:
        arn = self._put_rule()
        return self._reconcile(arn, previous=[])

    def update(self, record: Record) -> dict[str, Any]:
        if bus_name(str(record.attrs.get("bus", self.props.bus))) != bus_name(self.props.bus):
            raise UpdateNotSupported(f"{self.kind}: a rule cannot move to another bus")
        arn = self._put_rule()
        tags = [{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()]
        self.ctx.client("events").tag_resource(ResourceARN=arn, Tags=tags)  # PutRule keeps old tags
        return self._reconcile(arn, previous=list(record.attrs.get("targets") or []))

    def _reconcile(self, arn: str, previous: list[dict[str, Any]]) -> dict[str, Any]:
        events = self.ctx.client("events")
        wanted = [_api_target(t, i) for i, t in enumerate(self.props.targets)]
        live = _live_targets(events, self.physical, self.props.bus)
        wanted_ids = {t["Id"] for t in wanted}
        stale = [t for t in live if t["Id"] not in wanted_ids]
        if stale:
            _remove_targets(events, self.physical, self.props.bus, [t["Id"] for t in stale])
        keep = {t["Arn"] for t in wanted}
        for old in {*(t["Arn"] for t in live), *(str(t.get("arn")) for t in previous)} - keep:
            _revoke(self.ctx, arn, old)
        for t in wanted:  # grant first: EventBridge may deliver as soon as the target is put
            _grant(self.ctx, arn, t["Arn"])
        if wanted:
            answer = events.put_targets(Rule=self.physical, EventBusName=self.props.bus, Targets=wanted)
            failed = answer.get("FailedEntries") or []
            if failed:
                first = failed[0]
                raise RuntimeError(
                    f"PutTargets refused target {first.get('TargetId')}: {first.get('ErrorMessage')}"
                )
        return _rule_attrs(arn, self.props.bus, "ENABLED" if self.props.enabled else "DISABLED",
                           self.props.schedule, self.props.pattern, wanted)  # fmt: skip

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        events = ctx.client("events")
        bus = _bus_of(ctx, record)
        try:
            rule = events.describe_rule(Name=record.physical, EventBusName=bus)
            live = _live_targets(events, record.physical, bus)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        pattern = json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None
        return _rule_attrs(rule["Arn"], bus, rule.get("State", "ENABLED"), rule.get("ScheduleExpression"),
                           pattern, live)  # fmt: skip

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        from botocore.exceptions import ClientError

        events = ctx.client("events")
        bus = _bus_of(ctx, record)
        try:
            arn = str(
                record.attrs.get("arn") or events.describe_rule(Name=record.physical, EventBusName=bus)["Arn"]
            )
            live = _live_targets(events, record.physical, bus)
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            arn, live = str(record.attrs.get("arn") or ""), []
        if live:  # AWS refuses to delete a rule that has targets
            _remove_targets(events, record.physical, bus, [t["Id"] for t in live])
        if arn:
            for target_arn in sorted(
                {*(t["Arn"] for t in live), *(str(t["arn"]) for t in record.attrs.get("targets") or [])}
            ):
                _revoke(ctx, arn, target_arn)
        ignore_missing(events.delete_rule, Name=record.physical, EventBusName=bus)

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        arn = str(record.attrs.get("arn") or ctx.client("events").describe_rule(
            Name=record.physical, EventBusName=_bus_of(ctx, record))["Arn"])  # fmt: skip
        _retag(ctx, arn, tags, dropped)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """Rules named awslab-... with the awslab tags, on the default bus and on awslab's buses
        (attrs carry the bus, which delete needs)."""
        survey = survey or Survey(target)
        events = target.client("events")
        buses = [DEFAULT_BUS, *(str(b["Name"]) for b in _awslab_buses(survey))]
        out: list[Made] = []
        for bus in buses:
            pages = events.get_paginator("list_rules").paginate(
                NamePrefix=f"{NAME_PREFIX}-", EventBusName=bus
            )
            for page in pages:
                for rule in page.get("Rules", []):
                    if survey.known(cls.kind, rule["Name"]):
                        continue
                    tags = _tags_or_none(events, rule["Arn"])
                    if tags is not None:
                        out.append(Made(rule["Name"], tags, {"bus": bus, "arn": rule["Arn"]}, rule["Arn"]))
        return out


def _retag(ctx: Context, arn: str, tags: Mapping[str, str], dropped: Collection[str]) -> None:
    retag_resource(ctx.client("events"), {"ResourceARN": arn}, tags, dropped, pairs=("Key", "Value"))


def _bus_of(ctx: Context, record: Record) -> str:
    """The bus a recorded rule is on. A record without attrs (the process died during create) does
    not say: the rule is looked for on the default bus, then on this stack's own buses."""
    if record.attrs.get("bus"):
        return str(record.attrs["bus"])
    events = ctx.client("events")
    prefix, suffix = f"{NAME_PREFIX}-{ctx.lab}-", f"-{ctx.stack_id}"
    candidates = [DEFAULT_BUS]
    page = events.list_event_buses(NamePrefix=prefix)
    candidates += [b["Name"] for b in page.get("EventBuses", []) if str(b["Name"]).endswith(suffix)]
    for bus in candidates:
        with missing_ok():
            events.describe_rule(Name=record.physical, EventBusName=bus)
            return bus
    return DEFAULT_BUS


def _rule_attrs(arn: str, bus: str, state: str, schedule: str | None, pattern: Any,
                targets: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    return {
        "name": arn.rsplit("/", 1)[-1],
        "arn": arn,
        "bus": bus_name(bus),
        "state": state,
        "schedule": schedule,
        "pattern": pattern,
        # sorted, so that a read compares equal to what create recorded
        "targets": sorted(({"id": t["Id"], "arn": t["Arn"]} for t in targets), key=lambda t: t["id"]),
    }


def _live_targets(events: Any, rule: str, bus: str) -> list[dict[str, Any]]:
    pages = events.get_paginator("list_targets_by_rule").paginate(Rule=rule, EventBusName=bus)
    return [t for page in pages for t in page.get("Targets", [])]


def _remove_targets(events: Any, rule: str, bus: str, ids: list[str]) -> None:
    for start in range(0, len(ids), 100):  # RemoveTargets takes at most 100 ids
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=ids[start : start + 100])


def _tags_or_none(events: Any, arn: str) -> dict[str, str] | None:
    """The resource's tags when they say awslab made it; None otherwise (or when it went away)."""
    tags = or_none(lambda: tag_map(events.list_tags_for_resource(ResourceARN=arn).get("Tags")))
    if tags is None:
        return None
    from awslab.resources.base import TAG_LAB, TAG_STACK

    return tags if tags.get(TAG_LAB) and tags.get(TAG_STACK) else None
