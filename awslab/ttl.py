"""`up --ttl`: a lab that deletes itself when its time runs out, with or without this machine.

The reaper is made of the lab's own kinds, added to its spec as four resources of the lab (so the
plan shows them, the state records them and `teardown` removes them with the rest):

- `reaper-role`: the function's role, allowed only the lists and deletes the reaper makes, on
  resources named `awslab-<lab>-*-<stack>` and, where IAM can test it, tagged with the lab's stack
  (the reaper deletes its policy last and leaves it: `teardown` deletes it);
- `reaper`: the function (awslab/reaper/app.py, boto3 only);
- `reaper-invoke-role`: the role EventBridge Scheduler assumes to invoke it;
- `reaper-schedule`: a one-time `at(...)` schedule at the expiry, in UTC, deleted by Scheduler
  once it has fired (ActionAfterCompletion DELETE).

The TTL and its expiry are recorded in the lab's state. `up` without `--ttl` keeps a recorded one
(same expiry: nothing changes); `--ttl DURATION` sets a new expiry from now (the schedule moves);
`--ttl off` removes the reaper. An expiry already past is dropped by the next `up`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awslab.durations import human, utc_now
from awslab.durations import parse as parse_duration
from awslab.errors import UsageError
from awslab.graph import topological_order
from awslab.references import references
from awslab.resources.base import TAG_LAB, TAG_STACK, arn_of, kind_class, physical_name
from awslab.resources.scheduler import group_name
from awslab.spec import LabSpec, ResourceSpec
from awslab.state import LabState, StateStore
from awslab.target import Target
from awslab.ttl_names import FUNCTION, INVOKE_ROLE, LOGICALS, ROLE, SCHEDULE

REAPER_CODE = Path(__file__).resolve().parent / "reaper"
OFF = ("off", "none", "0")
MIN_AWS_SECONDS = 120
_HINT = "give a duration such as 30m, 4h, 1d or 1h30m; --ttl off removes the TTL"


def ttl_seconds(text: str) -> int:
    """'4h' -> 14400; '1h30m', '90s', '2d' (at most 366 days). UsageError for anything else."""
    return parse_duration(text, "--ttl", hint=_HINT)


@dataclass(frozen=True)
class Ttl:
    """A lab's TTL as given (`4h`) and the time it expires (UTC, whole seconds)."""

    text: str
    expires_at: dt.datetime

    def to_dict(self) -> dict[str, str]:
        return {"ttl": self.text, "expires_at": self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ttl:
        at = dt.datetime.fromisoformat(str(d["expires_at"]).replace("Z", "+00:00"))
        return cls(str(d.get("ttl", "")), at if at.tzinfo else at.replace(tzinfo=dt.UTC))

    def seconds_left(self, now: dt.datetime | None = None) -> float:
        return (self.expires_at - (now or utc_now())).total_seconds()

    def expression(self) -> str:
        return f"at({self.expires_at.strftime('%Y-%m-%dT%H:%M:%S')})"

    def when(self) -> str:
        return self.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")

    def describe(self, now: dt.datetime | None = None) -> str:
        """'expires in 3h 12m (2026-12-01 08:15:00 UTC)' or 'expired 4m ago, reaper due'."""
        left = self.seconds_left(now)
        if left > 0:
            return f"expires in {human(left)} ({self.when()})"
        return f"expired {human(-left)} ago ({self.when()}), reaper due"


@dataclass(frozen=True)
class Decision:
    ttl: Ttl | None  # the TTL `up` applies (None: no reaper)
    message: str  # what to tell the user ("" when there is nothing to say)
    expired: bool = False  # the TTL recorded before has expired: its reaper has run (or is about to)


def check_option(option: str | None) -> None:
    """UsageError for a `--ttl` that is neither a duration nor `off`."""
    if option is not None and option.strip().lower() not in OFF:
        ttl_seconds(option)


def decide(option: str | None, recorded: dict[str, Any] | None, now: dt.datetime | None = None) -> Decision:
    """The TTL of this `up`, from `--ttl` and the TTL the state recorded."""
    now = now or utc_now()
    before = Ttl.from_dict(recorded) if recorded else None
    expired = before is not None and before.seconds_left(now) <= 0
    if option is None:
        if before is None:
            return Decision(None, "")
        if expired:
            return Decision(None, f"The TTL set before expired at {before.when()}: the lab is made again "
                                  "without one (give --ttl to set one).", expired)  # fmt: skip
        return Decision(before, f"Keeping the TTL set before: the lab {before.describe(now)}; "
                                "--ttl DURATION sets a new one, --ttl off removes it.")  # fmt: skip
    if option.strip().lower() in OFF:
        return Decision(None, "TTL removed: the reaper goes." if before else "", expired)
    seconds = ttl_seconds(option)
    # at(...) takes whole seconds (AWS fires it within the minute after; the local cloud on the
    # second): the next whole second, so that the lab never goes before its TTL
    at = (now + dt.timedelta(seconds=seconds)).replace(microsecond=0) + dt.timedelta(seconds=1)
    ttl = Ttl(option.strip(), at)
    return Decision(ttl, f"TTL {ttl.text}: the lab {ttl.describe(now)}; a reaper on the target deletes it "
                         "then, whether or not this machine is on.", expired)  # fmt: skip


def add_reaper(spec: LabSpec, stack_id: str, target: Target, ttl: Ttl) -> LabSpec:
    """`spec` with the reaper's four resources (see the module doc)."""
    taken = sorted(set(LOGICALS) & set(spec.resources))
    if taken:
        raise UsageError(
            f"--ttl adds resources named {', '.join(LOGICALS)}; the spec already has {', '.join(taken)}",
            hint="rename them in the spec to use --ttl",
        )
    lab = spec.name
    schedule = physical_name(lab, SCHEDULE, stack_id, kind_class("scheduler.schedule").name_rule)
    role = physical_name(lab, ROLE, stack_id, kind_class("iam.role").name_rule)
    group = group_name(lab, stack_id)
    fields: dict[str, dict[str, Any]] = {
        ROLE: {
            "service": "lambda",
            "description": f"awslab reaper of lab {lab}: deletes its stack {stack_id}",
            "allow": reaper_policy(lab, stack_id, target),
        },
        FUNCTION: {
            "code": str(REAPER_CODE),
            "handler": "app.handler",
            "runtime": "python3.12",
            "role": f"${{{ROLE}.arn}}",
            "timeout": 900,  # API Gateway allows one API delete per 30 s: a lab of several waits
            "description": f"awslab reaper: deletes lab {lab} (stack {stack_id}) when its TTL runs out",
            "environment": {
                "AWSLAB_LAB": lab, "AWSLAB_STACK": stack_id, "AWSLAB_REAPER_ROLE": role,
                "AWSLAB_REAPER_GROUP": group, "AWSLAB_REAPER_SCHEDULE": schedule,
            },
        },
        INVOKE_ROLE: {
            "service": "scheduler",
            "description": f"EventBridge Scheduler invokes the reaper of lab {lab}",
            "allow": [{"actions": ["lambda:InvokeFunction"], "resources": [f"${{{FUNCTION}.arn}}"]}],
        },
        SCHEDULE: {
            "schedule_expression": ttl.expression(),
            "timezone": "UTC",
            "description": f"awslab TTL {ttl.text} of lab {lab}: its reaper runs at {ttl.when()}",
            "action_after_completion": "DELETE",
            "target": {
                "arn": f"${{{FUNCTION}.arn}}",
                "role_arn": f"${{{INVOKE_ROLE}.arn}}",
                "input": {"lab": lab, "stack": stack_id},
            },
        },
    }  # fmt: skip
    kinds = {
        ROLE: "iam.role",
        FUNCTION: "lambda.function",
        INVOKE_ROLE: "iam.role",
        SCHEDULE: "scheduler.schedule",
    }
    added: dict[str, ResourceSpec] = {}
    for logical, f in fields.items():
        cls = kind_class(kinds[logical])
        deps = {name for name, _ in references(f)}
        named = {name for name, _ in references({k: v for k, v in f.items() if k in cls.name_only_fields})}
        predicted = named - {name for name, _ in references({k: v for k, v in f.items()
                                                             if k not in cls.name_only_fields})}  # fmt: skip
        added[logical] = ResourceSpec(
            logical, kinds[logical], cls, f, deps - predicted, 0, predicted=predicted
        )
    resources = {**spec.resources, **added}
    order = topological_order({name: r.depends_on for name, r in resources.items()})
    return dataclasses.replace(spec, resources=resources, order=order)


def reaper_policy(lab: str, stack: str, target: Target) -> list[dict[str, Any]]:
    """The reaper role's statements: the lists it makes, and its deletes on the lab's names
    (`awslab-<lab>-*-<stack>`), with the stack's tag required where IAM evaluates it for the action
    (and where the ARN has no name: API Gateway's are ids)."""
    name = f"awslab-{lab}-*-{stack}"
    tagged = {"StringEquals": {f"aws:ResourceTag/{TAG_STACK}": stack, f"aws:ResourceTag/{TAG_LAB}": lab}}

    def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return arn_of(target, service, resource, regional=region, account=account)

    return [
        {"actions": ["tag:GetResources", "iam:ListRoles", "lambda:ListEventSourceMappings",
                     "scheduler:ListScheduleGroups", "scheduler:ListSchedules", "events:ListRules"],
         "resources": ["*"]},  # these take no resource ARN
        {"actions": ["apigateway:GET"],
         "resources": [arn("apigateway", "/restapis", account=False), arn("apigateway", "/apis", account=False)]},
        {"actions": ["apigateway:DELETE"],
         "resources": [arn("apigateway", "/restapis/*", account=False), arn("apigateway", "/apis/*", account=False)],
         "condition": tagged},
        {"actions": ["lambda:DeleteFunction"], "resources": [arn("lambda", f"function:{name}")],
         "condition": tagged},
        {"actions": ["lambda:DeleteEventSourceMapping"], "resources": [arn("lambda", "event-source-mapping:*")],
         "condition": {"ArnLike": {"lambda:FunctionArn": arn("lambda", f"function:{name}")}}},
        {"actions": ["s3:ListBucketVersions", "s3:PutBucketNotification", "s3:DeleteBucket"],
         "resources": [arn("s3", name, region=False, account=False)]},
        {"actions": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
         "resources": [arn("s3", f"{name}/*", region=False, account=False)]},
        {"actions": ["sqs:GetQueueUrl", "sqs:DeleteQueue"],
         "resources": [arn("sqs", name), arn("sqs", f"{name}.fifo")]},
        {"actions": ["sns:DeleteTopic"], "resources": [arn("sns", name), arn("sns", f"{name}.fifo")]},
        {"actions": ["states:DeleteStateMachine"], "resources": [arn("states", f"stateMachine:{name}")],
         "condition": tagged},
        {"actions": ["dynamodb:DeleteTable"], "resources": [arn("dynamodb", f"table/{name}")],
         "condition": tagged},
        {"actions": ["events:ListTagsForResource", "events:ListTargetsByRule", "events:RemoveTargets",
                     "events:DeleteRule"],
         "resources": [arn("events", f"rule/{name}"), arn("events", f"rule/{name}/{name}")]},
        {"actions": ["events:DeleteEventBus"], "resources": [arn("events", f"event-bus/{name}")]},
        {"actions": ["scheduler:ListTagsForResource", "scheduler:DeleteScheduleGroup"],
         "resources": [arn("scheduler", f"schedule-group/{name}")]},
        {"actions": ["scheduler:DeleteSchedule"], "resources": [arn("scheduler", f"schedule/{name}/*")]},
        {"actions": ["iam:ListRoleTags", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"],
         "resources": [arn("iam", f"role/{name}", region=False)]},
        {"actions": ["iam:DetachRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole"],
         "resources": [arn("iam", f"role/{name}", region=False)], "condition": tagged},
        {"actions": ["logs:DeleteLogGroup"],
         "resources": [arn("logs", f"log-group:/aws/lambda/{name}"),
                       arn("logs", f"log-group:/aws/lambda/{name}:*")]},
        # the log groups awslab makes under names of the user's choosing (a state machine's)
        {"actions": ["logs:DeleteLogGroup"], "resources": [arn("logs", "log-group:*")], "condition": tagged},
    ]  # fmt: skip


# ---- `up`, `plan` and `status` ------------------------------------------------------------------
def apply_option(spec: LabSpec, store: StateStore, target: Target, option: str | None,
                 now: dt.datetime | None = None) -> tuple[LabSpec, Decision]:  # fmt: skip
    """For `up`, under the state lock: the spec with the reaper this `up` applies, and what to
    say. The caller records `decision.ttl` once the plan is applied (`record`)."""
    duration = None if option is None or option.strip().lower() in OFF else ttl_seconds(option)
    if target.kind == "aws" and duration is not None and duration < MIN_AWS_SECONDS:
        # `up` may take longer on AWS (a role propagates for seconds): a schedule made after its
        # time never fires, and the lab would stay
        raise UsageError(f"--ttl {option}: at least 2m on an AWS account",
                         hint="give 2m or more; the local cloud takes seconds")  # fmt: skip
    lab_state = store.ensure_lab(spec.name, str(spec.path))
    decision = decide(option, lab_state.ttl, now)
    if decision.expired and lab_state.resources:
        # its reaper has run (or is about to): `up` makes the lab again, whose age counts from now
        lab_state.created_at = (now or utc_now()).isoformat(timespec="seconds")
    return _with_reaper(spec, lab_state, target, decision), decision


def record(store: StateStore, lab: str, decision: Decision, *, applied: bool = True) -> None:
    """Once `up` has applied the plan: the TTL it applied. After a failed apply, only what the target
    now holds: the new TTL when the reaper's schedule exists, none when it does not (else the TTL
    recorded before stays, with the reaper that is still there)."""
    state = store.lab(lab)
    has_reaper = state is not None and SCHEDULE in state.resources
    if applied or has_reaper == (decision.ttl is not None):
        store.set_ttl(lab, decision.ttl.to_dict() if decision.ttl else None)


def with_recorded(spec: LabSpec, store: StateStore, target: Target) -> LabSpec:
    """For `plan` and redeploys without `--ttl`: the spec with the reaper of the lab's recorded TTL
    (as `up` without `--ttl` keeps it), so that they do not plan to delete it."""
    lab_state = store.lab(spec.name)
    return _with_reaper(spec, lab_state, target, decide(None, lab_state.ttl if lab_state else None))


def _with_reaper(spec: LabSpec, lab_state: LabState | None, target: Target, decision: Decision) -> LabSpec:
    """`spec` with the reaper of `decision`'s TTL, if it keeps or sets one."""
    if decision.ttl is None or lab_state is None:
        return spec
    return add_reaper(spec, lab_state.stack_id, target, decision.ttl)


@dataclass(frozen=True)
class TtlStatus:
    """A lab's TTL as `status` shows it: `state` is "running" (not expired), "due" (expired, the
    reaper has not finished) or "reaped" (expired, nothing left but the reaper's own role, without
    its policy: a role cannot delete itself, awslab/reaper/app.py)."""

    ttl: Ttl
    state: str
    seconds_left: int
    said: str  # the clause of the lab's status line

    def to_dict(self) -> dict[str, Any]:
        return {**self.ttl.to_dict(), "seconds_left": self.seconds_left, "state": self.state}


def status_of(
    lab: str, recorded: dict[str, Any], healths: Mapping[str, str], now: dt.datetime | None = None
) -> TtlStatus:
    """A lab's TTL for `status` (`healths`: each resource's health by logical name)."""
    ttl = Ttl.from_dict(recorded)
    left = ttl.seconds_left(now)
    others = [h for logical, h in healths.items() if logical != ROLE]
    state = "running" if left > 0 else "reaped" if others and all(h == "missing" for h in others) else "due"
    if state != "reaped":
        said = f"TTL {ttl.text}, {ttl.describe(now)}"
    elif healths.get(ROLE, "missing") != "missing":
        said = (f"TTL {ttl.text} expired at {ttl.when()}; its reaper deleted the lab but its own role (IAM "
                f"withdrew the right first): 'awslab teardown {lab}' deletes it")  # fmt: skip
    else:
        said = (f"TTL {ttl.text} expired at {ttl.when()}; its reaper deleted the lab: "
                f"'awslab teardown {lab}' forgets it")  # fmt: skip
    return TtlStatus(ttl, state, max(0, int(left)), said)
