"""Tags follow the spec: each kind with tags of its own retags in place (`retag`): the spec's user
tags put on (new and changed values), the dropped ones taken off, awslab's own kept. On moto, one
test per taggable kind, each read back through the service's own tag listing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from awslab.resources.base import Context, Record, kind_class, load_kinds
from awslab.resources.idempotent import tag_map
from awslab.resources.stepfunctions_logging import ROLE_ACTIONS

LOG_DELIVERY = [{"actions": list(ROLE_ACTIONS), "resources": ["*"]}]  # what a logging machine's role needs

BEFORE = {"team": "orders", "cost-center": "42"}
AFTER = {"team": "payments", "owner": "ada"}  # one changed, one new, cost-center dropped
ASL = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


@pytest.fixture
def code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    d = tmp_path / "handler"
    d.mkdir()
    (d / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    return d


def create(ctx: Context, kind: str, logical: str, **props: Any) -> Record:
    cls = kind_class(kind)
    resource = cls(ctx, logical, cls.props_model.model_validate(props))
    attrs = resource.create()
    resource.wait_ready()
    resource.link()
    return Record(kind, logical, resource.physical, "created", attrs, tags=dict(ctx.user_tags))


def function(ctx: Context, code: Path) -> Record:
    role = create(replace(ctx, user_tags={}), "iam.role", "fn-role", service="lambda")
    return create(ctx, "lambda.function", "fn", code=str(code), role=role.attrs["arn"])


def state_machine(ctx: Context, code: Path) -> Record:
    (code / "flow.json").write_text(json.dumps(ASL))
    role = create(replace(ctx, user_tags={}), "iam.role", "sfn-role", service="states", allow=LOG_DELIVERY)
    return create(ctx, "stepfunctions.state_machine", "flow", definition=str(code / "flow.json"),
                  role=role.attrs["arn"], logging={"level": "ERROR"})  # fmt: skip


def event_source(ctx: Context, code: Path) -> Record:
    untagged = replace(ctx, user_tags={})
    fn = function(untagged, code)
    queue = create(untagged, "sqs.queue", "in")
    return create(ctx, "lambda.event_source", "consume", function=fn.attrs["arn"], source=queue.attrs["arn"])


def rest_api(ctx: Context, code: Path) -> Record:
    fn = function(replace(ctx, user_tags={}), code)
    return create(
        replace(ctx, resolved={"fn": fn.attrs}), "apigateway.rest_api", "api", routes={"GET /x": "fn"}
    )


def http_api(ctx: Context, code: Path) -> Record:
    fn = function(replace(ctx, user_tags={}), code)
    return create(
        replace(ctx, resolved={"fn": fn.attrs}), "apigateway.http_api", "http", routes={"GET /x": "fn"}
    )


def rule(ctx: Context, code: Path) -> Record:
    return create(ctx, "events.rule", "hourly", schedule="rate(1 hour)")


MAKE: dict[str, Callable[[Context, Path], Record]] = {
    "iam.role": lambda ctx, _: create(ctx, "iam.role", "role", service="lambda"),
    "lambda.function": function,
    "lambda.event_source": event_source,
    "dynamodb.table": lambda ctx, _: create(ctx, "dynamodb.table", "items", key={"id": "S"}),
    "sqs.queue": lambda ctx, _: create(ctx, "sqs.queue", "orders"),
    "sns.topic": lambda ctx, _: create(ctx, "sns.topic", "events"),
    "stepfunctions.state_machine": state_machine,
    "apigateway.rest_api": rest_api,
    "apigateway.http_api": http_api,
    "events.bus": lambda ctx, _: create(ctx, "events.bus", "bus"),
    "events.rule": rule,
    "s3.bucket": lambda ctx, _: create(ctx, "s3.bucket", "site"),
}


def live_tags(ctx: Context, rec: Record) -> dict[str, str]:
    """The resource's tags as its service lists them."""
    c, a = ctx.client, rec.attrs
    read: dict[str, Callable[[], Any]] = {
        "iam.role": lambda: c("iam").list_role_tags(RoleName=rec.physical)["Tags"],
        "lambda.function": lambda: c("lambda").list_tags(Resource=a["arn"])["Tags"],
        "lambda.event_source": lambda: c("lambda").list_tags(Resource=a["arn"])["Tags"],
        "dynamodb.table": lambda: c("dynamodb").list_tags_of_resource(ResourceArn=a["arn"])["Tags"],
        "sqs.queue": lambda: c("sqs").list_queue_tags(QueueUrl=a["url"]).get("Tags", {}),
        "sns.topic": lambda: c("sns").list_tags_for_resource(ResourceArn=a["arn"])["Tags"],
        "stepfunctions.state_machine": lambda: c("stepfunctions").list_tags_for_resource(resourceArn=a["arn"])["tags"],
        "apigateway.rest_api": lambda: c("apigateway").get_rest_api(restApiId=a["id"]).get("tags", {}),
        "apigateway.http_api": lambda: c("apigatewayv2").get_api(ApiId=a["id"]).get("Tags", {}),
        "events.bus": lambda: c("events").list_tags_for_resource(ResourceARN=a["arn"])["Tags"],
        "events.rule": lambda: c("events").list_tags_for_resource(ResourceARN=a["arn"])["Tags"],
        "s3.bucket": lambda: c("s3").get_bucket_tagging(Bucket=rec.physical)["TagSet"],
    }  # fmt: skip
    return tag_map(read[rec.kind]())


def test_every_kind_with_tags_is_tested_here() -> None:
    tagged = {k for k, cls in load_kinds().items() if cls.has_tags()}
    assert tagged == set(MAKE)
    # no tags of their own: a URL is its function's, a notification its bucket's, a schedule its group's
    assert {k for k, cls in load_kinds().items() if not cls.has_tags()} >= {"lambda.url", "s3.notification"}


@pytest.mark.parametrize("kind", sorted(MAKE))
def test_retag_puts_new_and_changed_tags_and_removes_dropped_ones(
    ctx: Context, code: Path, kind: str
) -> None:
    before = replace(ctx, user_tags=BEFORE)
    rec = MAKE[kind](before, code)
    made = live_tags(ctx, rec)
    assert {k: made.get(k) for k in BEFORE} == BEFORE
    own = {k: v for k, v in made.items() if k.startswith("awslab:")}
    assert set(own) >= {"awslab:lab", "awslab:stack", "awslab:logical"}

    after = replace(ctx, user_tags=AFTER)
    kind_class(kind).retag(after, rec, AFTER, ["cost-center"])
    assert live_tags(ctx, rec) == {**own, **AFTER}

    groups = {
        "lambda.function": f"/aws/lambda/{rec.physical}",
        "stepfunctions.state_machine": rec.attrs.get("log_group"),
    }
    if kind in groups:  # the log group awslab made for it follows
        group = ctx.client("logs").list_tags_log_group(logGroupName=groups[kind])["tags"]
        assert {k: v for k, v in group.items() if not k.startswith("awslab:")} == AFTER


SERVICES = ("iam", "lambda", "logs", "dynamodb", "sqs", "sns", "stepfunctions", "apigateway", "apigatewayv2",
            "events", "s3")  # fmt: skip


@pytest.mark.parametrize("kind", sorted(MAKE))
def test_retag_untags_before_it_tags(ctx: Context, code: Path, kind: str) -> None:
    """IAM's tag keys ignore case: `Team` becoming `team` is TagRole(team), which overwrites Team,
    and UntagRole(Team), which after it would take team off. Every kind untags first."""
    rec = MAKE[kind](replace(ctx, user_tags={"Team": "orders"}), code)
    calls: list[tuple[str, str]] = []

    def record(model: Any, **_: Any) -> None:
        calls.append((model.service_model.service_name, model.name))

    for service in SERVICES:
        ctx.client(service).meta.events.register("before-call", record)
    kind_class(kind).retag(replace(ctx, user_tags={"team": "payments"}), rec, {"team": "payments"}, ["Team"])
    for service in {s for s, _ in calls}:  # each resource (a function's log group is one more)
        names = [name for s, name in calls if s == service]
        untags = [i for i, name in enumerate(names) if name.startswith("Untag")]
        tags = [i for i, name in enumerate(names) if name.startswith("Tag")]
        assert not untags or not tags or max(untags) < min(tags), calls
    assert {k: v for k, v in live_tags(ctx, rec).items() if not k.startswith("awslab:")} == {
        "team": "payments"
    }


def test_a_function_whose_log_group_is_gone_is_retagged(ctx: Context, code: Path) -> None:
    rec = function(replace(ctx, user_tags=BEFORE), code)
    from botocore.exceptions import ClientError

    logs = ctx.client("logs")
    logs.delete_log_group(logGroupName=f"/aws/lambda/{rec.physical}")

    def gone(model: Any, **_: Any) -> None:  # what AWS answers for a missing group; moto tags nothing
        error = {"Code": "ResourceNotFoundException", "Message": "The specified log group does not exist."}
        raise ClientError({"Error": error}, model.name)

    logs.meta.events.register("before-call.logs.TagResource", gone)
    logs.meta.events.register("before-call.logs.UntagResource", gone)
    kind_class("lambda.function").retag(replace(ctx, user_tags=AFTER), rec, AFTER, ["cost-center"])
    assert {k: v for k, v in live_tags(ctx, rec).items() if not k.startswith("awslab:")} == AFTER


def test_a_log_group_another_lab_made_is_neither_retagged_nor_deleted(ctx: Context, code: Path) -> None:
    """Two labs' state machines log to the same named group: the first lab made it (its tags);
    the second's retag and teardown leave it to the first."""
    from awslab.resources import stepfunctions_logging as sfn_logging

    (code / "flow.json").write_text(json.dumps(ASL))
    mine = replace(ctx, lab="other", user_tags={"team": "a"})
    theirs = replace(ctx, user_tags={"team": "b"})
    for c in (mine, theirs):
        role = create(replace(c, user_tags={}), "iam.role", "sfn-role", service="states", allow=LOG_DELIVERY)
        rec = create(c, "stepfunctions.state_machine", "flow", definition=str(code / "flow.json"),
                     role=role.attrs["arn"], logging={"level": "ERROR", "log_group": "/shared/flows"})  # fmt: skip
    logs = ctx.client("logs")
    before = logs.list_tags_log_group(logGroupName="/shared/flows")["tags"]
    assert before["awslab:lab"] == "other"
    kind_class("stepfunctions.state_machine").retag(theirs, rec, {"team": "c"}, [])
    sfn_logging.delete_if_made(theirs, "/shared/flows")
    assert logs.list_tags_log_group(logGroupName="/shared/flows")["tags"] == before
    sfn_logging.delete_if_made(mine, "/shared/flows")
    assert logs.describe_log_groups(logGroupNamePrefix="/shared/flows")["logGroups"] == []


def test_the_schedule_group_carries_awslabs_tags_not_the_first_schedules(ctx: Context) -> None:
    """Schedules have no tags; their lab's group is shared by schedules whose user tags differ,
    so it takes none of them (the first schedule's would stay whatever the spec says after)."""
    from awslab.resources.scheduler import group_name

    target = {"arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
              "role_arn": "arn:aws:iam::123456789012:role/r"}  # fmt: skip
    for logical, team in (("hourly", "a"), ("daily", "b")):
        cls = kind_class("scheduler.schedule")
        props = cls.props_model.model_validate({"schedule_expression": "rate(1 hour)", "target": target})
        cls(replace(ctx, user_tags={"team": team}), logical, props).create()
    scheduler = ctx.client("scheduler")
    arn = scheduler.get_schedule_group(Name=group_name(ctx.lab, ctx.stack_id))["Arn"]
    tags = tag_map(scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"])
    assert tags == {"awslab:lab": ctx.lab, "awslab:stack": ctx.stack_id}
