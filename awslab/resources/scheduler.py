"""scheduler.schedule: an EventBridge Scheduler schedule (rate, cron or one-time `at(...)`) that
invokes one target (a Lambda function, SQS queue, SNS topic, state machine or event bus) with its
`input`, through `target.role_arn` (a role Scheduler assumes: an iam.role with `service: scheduler`
allowed the target's action, e.g. lambda:InvokeFunction).

Schedules take no tags on AWS; schedule groups do. So a lab's schedules live in a schedule group of
their own, `awslab-<lab>-...-<stack>`, tagged with the lab and stack: the first schedule creates it,
the last one deleted deletes it, and a sweep finds awslab's schedules through it. The group carries
awslab's tags, not the user's: it is shared by schedules whose user tags may differ.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field, JsonValue, field_validator, model_validator

from awslab.resources.base import (
    NAME_PREFIX,
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    ArnRef,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    error_code,
    ignore_missing,
    is_not_found,
    missing_ok,
    or_none,
    physical_name,
    register,
)
from awslab.resources.idempotent import tag_map

if TYPE_CHECKING:
    from awslab.target import Target

GROUP_RULE = NameRule(max_len=64, allowed="-_.")


class FlexibleWindow(Props):
    """`OFF` (the default: on time), or a number of minutes (1-1440) within which Scheduler picks
    a time; the long form `{mode: FLEXIBLE, maximum_window_in_minutes: 15}` is taken too."""

    mode: Literal["OFF", "FLEXIBLE"] = "OFF"
    maximum_window_in_minutes: int | None = Field(None, ge=1, le=1440)

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, str) and value.upper() == "OFF":
            return {"mode": "OFF"}
        if isinstance(value, int) and not isinstance(value, bool):
            return {"mode": "FLEXIBLE", "maximum_window_in_minutes": value}
        return value

    @model_validator(mode="after")
    def _window_when_flexible(self) -> FlexibleWindow:
        if (self.mode == "FLEXIBLE") != (self.maximum_window_in_minutes is not None):
            raise ValueError("FLEXIBLE takes maximum_window_in_minutes (1-1440); OFF takes none")
        return self

    def api(self) -> dict[str, Any]:
        if self.mode == "OFF":
            return {"Mode": "OFF"}
        return {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": self.maximum_window_in_minutes}


class BusEntry(Props):
    """For an event bus target: the entry's detail-type and source (its detail is the input)."""

    detail_type: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)


class Retry(Props):
    maximum_retry_attempts: int = Field(185, ge=0, le=185)
    maximum_event_age_in_seconds: int = Field(86400, ge=60, le=86400)


class ScheduleTarget(Props):
    arn: ArnRef
    role_arn: ArnRef  # the role Scheduler assumes to call the target (AWS requires one)
    # what the target gets: JSON (a mapping, list, number) is sent as JSON; a string as it is
    input: JsonValue = None
    message_group_id: str | None = None  # SQS FIFO queues
    event_bridge: BusEntry | None = None  # event bus targets
    retry: Retry | None = None

    @model_validator(mode="after")
    def _fits_the_target(self) -> ScheduleTarget:
        if "${" in self.arn:
            return self
        parts = self.arn.split(":")
        service = parts[2] if len(parts) > 5 else ""
        if service not in ("lambda", "sqs", "sns", "states", "events"):
            raise ValueError(
                f"{self.arn}: targets here are Lambda functions, SQS queues, SNS topics, state machines "
                "or event buses"
            )
        if (service == "events") != (self.event_bridge is not None):
            raise ValueError(
                "an event bus target needs event_bridge: {detail_type, source}; others take none"
            )
        if service == "sqs" and self.arn.endswith(".fifo") and not self.message_group_id:
            raise ValueError(f"{self.arn}: a FIFO queue target needs message_group_id")
        if self.message_group_id and service != "sqs":
            raise ValueError("message_group_id applies to SQS queue targets only")
        return self

    def input_text(self) -> str | None:
        if self.input is None:
            return None
        return self.input if isinstance(self.input, str) else json.dumps(self.input)

    def api(self) -> dict[str, Any]:
        target: dict[str, Any] = {"Arn": self.arn, "RoleArn": self.role_arn}
        if self.input is not None:
            target["Input"] = self.input_text()
        if self.message_group_id:
            target["SqsParameters"] = {"MessageGroupId": self.message_group_id}
        if self.event_bridge is not None:
            target["EventBridgeParameters"] = {
                "DetailType": self.event_bridge.detail_type,
                "Source": self.event_bridge.source,
            }
        if self.retry is not None:
            target["RetryPolicy"] = {
                "MaximumRetryAttempts": self.retry.maximum_retry_attempts,
                "MaximumEventAgeInSeconds": self.retry.maximum_event_age_in_seconds,
            }
        return target


class ScheduleProps(Props):
    schedule_expression: str  # rate(...), cron(...) or at(yyyy-mm-ddThh:mm:ss)
    timezone: str = "UTC"  # where cron(...) and at(...) are read
    flexible_time_window: FlexibleWindow = Field(default_factory=FlexibleWindow)
    target: ScheduleTarget
    enabled: bool = True
    description: str = Field("", max_length=512)
    start_date: dt.datetime | None = None
    end_date: dt.datetime | None = None
    # DELETE: Scheduler deletes the schedule once it will not fire again (a one-time `at(...)`)
    action_after_completion: Literal["NONE", "DELETE"] = "NONE"

    @field_validator("schedule_expression")
    @classmethod
    def _expression(cls, value: str) -> str:
        if "${" not in value:
            from awslab.local.eventbridge_schedule import parse

            parse(value, allow_at=True)  # its ExpressionError is a ValueError: pydantic says it
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from awslab.local.eventbridge_schedule import zone_of

        zone_of(value)  # an ExpressionError (a ValueError) when AWS would refuse it
        return value

    @model_validator(mode="after")
    def _dates(self) -> ScheduleProps:
        if self.start_date and self.end_date and _aware(self.end_date) <= _aware(self.start_date):
            raise ValueError("end_date must be after start_date")
        return self


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def group_name(lab: str, stack_id: str) -> str:
    """The schedule group of a lab's stack."""
    return physical_name(lab, "schedules", stack_id, GROUP_RULE)


@register
class Schedule(Resource[ScheduleProps]):
    """A schedule in its lab's schedule group. UpdateSchedule replaces every setting, so update
    sends them all; one deleted behind awslab's back is made again."""

    kind = "scheduler.schedule"
    attributes = ("name", "arn", "group")
    sweep_rank = 10  # before its targets
    name_rule = NameRule(max_len=64, allowed="-_.")
    drift_keys = ("schedule_expression", "state", "target_arn", "input")
    drift_shown = frozenset({"schedule_expression", "state"})
    predictable = frozenset({"name"})

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical}

    @property
    def group(self) -> str:
        return group_name(self.ctx.lab, self.ctx.stack_id)

    def _params(self) -> dict[str, Any]:
        cfg = self.props
        params: dict[str, Any] = {
            "Name": self.physical,
            "GroupName": self.group,
            "ScheduleExpression": cfg.schedule_expression,
            "ScheduleExpressionTimezone": cfg.timezone,
            "FlexibleTimeWindow": cfg.flexible_time_window.api(),
            "Target": cfg.target.api(),
            "State": "ENABLED" if cfg.enabled else "DISABLED",
            "Description": cfg.description,
        }
        if cfg.action_after_completion != "NONE":
            params["ActionAfterCompletion"] = cfg.action_after_completion
        if cfg.start_date is not None:
            params["StartDate"] = _aware(cfg.start_date)
        if cfg.end_date is not None:
            params["EndDate"] = _aware(cfg.end_date)
        return params

    def _ensure_group(self) -> None:
        from botocore.exceptions import ClientError

        scheduler = self.ctx.client("scheduler")
        with missing_ok():
            scheduler.get_schedule_group(Name=self.group)
            return
        # awslab's own tags only: the group is every schedule's of the lab, whose user tags may differ
        # (the first one's would stay on it, whatever the spec says after)
        own = {k: v for k, v in self.ctx.tags(self.logical).items() if k not in self.ctx.user_tags}
        tags = [{"Key": k, "Value": v} for k, v in own.items() if k != TAG_LOGICAL]
        try:
            scheduler.create_schedule_group(Name=self.group, Tags=tags)
        except ClientError as exc:  # another schedule of the lab made it meanwhile
            if error_code(exc) != "ConflictException":
                raise

    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self._ensure_group()
        scheduler = self.ctx.client("scheduler")
        try:
            arn = str(scheduler.create_schedule(**self._params())["ScheduleArn"])
        except ClientError as exc:
            # its name carries the stack id and it is in the stack's group: a retried create whose
            # answer was lost, or one an earlier run left
            if error_code(exc) != "ConflictException":
                raise
            arn = str(scheduler.update_schedule(**self._params())["ScheduleArn"])
        return self._attrs(arn)

    def update(self, record: Record) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self._ensure_group()
        try:
            arn = str(self.ctx.client("scheduler").update_schedule(**self._params())["ScheduleArn"])
        except ClientError as exc:
            if not is_not_found(exc):
                raise
            return self.create()
        return self._attrs(arn)

    def _attrs(self, arn: str) -> dict[str, Any]:
        cfg = self.props
        return _schedule_attrs(
            arn, self.physical, self.group, cfg.schedule_expression,
            "ENABLED" if cfg.enabled else "DISABLED", cfg.target.arn, cfg.target.input_text(),
        )  # fmt: skip

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        group = str(record.attrs.get("group") or group_name(ctx.lab, ctx.stack_id))
        s = or_none(lambda: ctx.client("scheduler").get_schedule(Name=record.physical, GroupName=group))
        if s is None:
            return None
        target = s.get("Target") or {}
        return _schedule_attrs(s["Arn"], s["Name"], group, s.get("ScheduleExpression", ""),
                               s.get("State", "ENABLED"), target.get("Arn", ""), target.get("Input"))  # fmt: skip

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        scheduler = ctx.client("scheduler")
        group = str(record.attrs.get("group") or group_name(ctx.lab, ctx.stack_id))
        ignore_missing(scheduler.delete_schedule, Name=record.physical, GroupName=group)
        _delete_group_if_empty(scheduler, group)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """The schedules in schedule groups named awslab-... that carry the awslab tags; each gets
        its group's tags and, as its logical name, the middle of `awslab-<lab>-<logical>-<stack>`."""
        from botocore.exceptions import ClientError

        scheduler = target.client("scheduler")
        out: list[Made] = []
        groups = scheduler.get_paginator("list_schedule_groups").paginate(NamePrefix=f"{NAME_PREFIX}-")
        for page in groups:
            for group in page.get("ScheduleGroups", []):
                try:
                    tags = tag_map(scheduler.list_tags_for_resource(ResourceArn=group["Arn"]).get("Tags"))
                except ClientError as exc:
                    if is_not_found(exc):
                        continue
                    raise
                lab, stack = tags.get(TAG_LAB), tags.get(TAG_STACK)
                if not lab or not stack:
                    continue
                pages = scheduler.get_paginator("list_schedules").paginate(GroupName=group["Name"])
                for s in (s for p in pages for s in p.get("Schedules", [])):
                    logical = _logical(s["Name"], lab, stack)
                    own = {TAG_LAB: lab, TAG_STACK: stack, **({TAG_LOGICAL: logical} if logical else {})}
                    out.append(Made(s["Name"], own, {"group": group["Name"]}, s.get("Arn", "")))
        return out


def _logical(name: str, lab: str, stack: str) -> str:
    head, tail = f"{NAME_PREFIX}-{lab}-", f"-{stack}"
    if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
        return name[len(head) : len(name) - len(tail)]
    return ""


def _delete_group_if_empty(scheduler: Any, group: str) -> None:
    """The last schedule of a lab takes its group with it (DeleteScheduleGroup would delete the
    schedules in it: only an empty one goes)."""
    with missing_ok():
        left = scheduler.list_schedules(GroupName=group, MaxResults=1).get("Schedules", [])
        if not left:
            scheduler.get_schedule_group(Name=group)  # moto fails deleting a group that is not there
            scheduler.delete_schedule_group(Name=group)


def _schedule_attrs(arn: str, name: str, group: str, expression: str, state: str, target_arn: str,
                    input_text: str | None) -> dict[str, Any]:  # fmt: skip
    return {
        "name": name,
        "arn": arn,
        "group": group,
        "schedule_expression": expression,
        "state": state,
        "target_arn": target_arn,
        "input": input_text,
    }
