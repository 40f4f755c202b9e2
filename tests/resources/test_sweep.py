"""Sweep on moto: two labs built with the kinds themselves, some of their resources recorded in
`known`, some not, and lookalike `awslab-...` resources without tags that belong to someone
else. find_orphans returns exactly the unknown awslab ones; sweep deletes them, carrying on
past an injected failure."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from awslab.engine.plan import Progress
from awslab.engine.sweep import LOG_GROUP_KIND, Orphan, find_orphans, owner_of, sweep
from awslab.resources.base import Context, kind_class
from awslab.target import Target

LAB_A, STACK_A = "crud", "aaa111"
LAB_B, STACK_B = "msg", "bbb222"
ASL = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def code(tmp_path: Path) -> Path:
    d = tmp_path / "handler"
    d.mkdir()
    (d / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    return d


def create(ctx: Context, kind: str, logical: str, **props: Any) -> dict[str, Any]:
    cls = kind_class(kind)
    return cls(ctx, logical, cls.props_model.model_validate(props)).create()


def tag_list(ctx: Context, logical: str, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in ctx.tags(logical).items()]


@dataclass
class World:
    target: Target
    known: set[tuple[str, str]]
    expected: dict[tuple[str, str], tuple[str, str, str]]  # (kind, physical) -> (lab, stack, logical)
    lookalikes: dict[str, str]  # kind -> physical
    names: dict[str, str]  # a short handle -> physical


@pytest.fixture
def world(ctx: Context, code: Path) -> World:
    """Lab A (crud): role and table recorded; function, bucket, API not. Lab B (msg): queue and
    bucket recorded; role, function, mapping, topic, state machine, notification and the log
    group of a function deleted behind its back not. Plus untagged lookalikes."""
    a = replace(ctx, lab=LAB_A, stack_id=STACK_A)
    b = replace(ctx, lab=LAB_B, stack_id=STACK_B)
    known: set[tuple[str, str]] = set()
    expected: dict[tuple[str, str], tuple[str, str, str]] = {}
    names: dict[str, str] = {}

    def add(c: Context, kind: str, logical: str, physical: str, *, recorded: bool) -> None:
        names[f"{c.lab}.{logical}"] = physical
        if recorded:
            known.add((kind, physical))
        else:
            expected[kind, physical] = (c.lab, c.stack_id, logical)

    # ---- lab A -------------------------------------------------------------------------------
    role_a = create(
        a, "iam.role", "role", service="lambda", allow=[{"actions": ["dynamodb:GetItem"], "resources": ["*"]}]
    )
    add(a, "iam.role", "role", role_a["name"], recorded=True)
    fn_a = create(a, "lambda.function", "api-fn", code=str(code), role=role_a["arn"])
    add(a, "lambda.function", "api-fn", fn_a["name"], recorded=False)
    table = create(a, "dynamodb.table", "items", key={"id": "S"})
    add(a, "dynamodb.table", "items", table["name"], recorded=True)
    site = create(a, "s3.bucket", "site")
    add(a, "s3.bucket", "site", site["name"], recorded=False)
    a.client("s3").put_object(Bucket=site["name"], Key="index.html", Body=b"<html></html>")
    api = create(
        replace(a, resolved={"api-fn": fn_a}), "apigateway.rest_api", "api", routes={"GET /items": "api-fn"}
    )
    add(a, "apigateway.rest_api", "api", api["name"], recorded=False)

    # ---- lab B -------------------------------------------------------------------------------
    role_b = create(b, "iam.role", "worker-role", service="lambda")
    add(b, "iam.role", "worker-role", role_b["name"], recorded=False)
    queue = create(b, "sqs.queue", "orders")
    add(b, "sqs.queue", "orders", queue["name"], recorded=True)
    worker = create(b, "lambda.function", "worker", code=str(code), role=role_b["arn"])
    add(b, "lambda.function", "worker", worker["name"], recorded=False)
    esm = kind_class("lambda.event_source")
    mapping = esm(
        b, "consume", esm.props_model.model_validate({"function": worker["arn"], "source": queue["arn"]})
    )
    mapping.create()
    add(b, "lambda.event_source", "consume", mapping.physical, recorded=False)
    topic = create(b, "sns.topic", "events", subscriptions=[{"protocol": "sqs", "endpoint": queue["arn"]}])
    add(b, "sns.topic", "events", topic["name"], recorded=False)
    uploads = create(b, "s3.bucket", "uploads", versioning=True)
    add(b, "s3.bucket", "uploads", uploads["name"], recorded=True)
    note = kind_class("s3.notification")
    notification = note(
        b,
        "on-upload",
        note.props_model.model_validate({"bucket": uploads["name"], "function": worker["arn"]}),
    )
    notification.create()
    add(b, "s3.notification", "on-upload", notification.physical, recorded=False)
    sfn = b.client("stepfunctions")
    machine = b.physical_name("flow")
    sfn.create_state_machine(
        name=machine,
        definition=json.dumps(ASL),
        roleArn=role_b["arn"],
        tags=tag_list(b, "flow", "key", "value"),
    )
    add(b, "stepfunctions.state_machine", "flow", machine, recorded=False)
    gone = create(b, "lambda.function", "gone", code=str(code), role=role_b["arn"])
    b.client("lambda").delete_function(FunctionName=gone["name"])  # its tagged log group stays
    add(b, LOG_GROUP_KIND, "gone", f"/aws/lambda/{gone['name']}", recorded=False)

    return World(ctx.target, known, expected, make_lookalikes(ctx, role_b["arn"]), names)


def make_lookalikes(ctx: Context, role_arn: str) -> dict[str, str]:
    """`awslab-...` names without the awslab tags: someone else's, never to be touched."""
    name = "awslab-other-thing-zzz999"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    ctx.client("iam").create_role(
        RoleName=name, AssumeRolePolicyDocument="{}", Tags=[{"Key": "team", "Value": "x"}]
    )
    fn = ctx.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
        Tags={"awslab:lab": "other"},  # half the tags: not enough to claim it
    )
    ctx.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    # a notification named like awslab's on someone else's bucket: not looked at
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"Id": name, "LambdaFunctionArn": fn["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    url = ctx.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    attrs = ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    ctx.client("lambda").create_event_source_mapping(
        FunctionName=fn["FunctionArn"], EventSourceArn=attrs["QueueArn"]
    )
    ctx.client("sns").create_topic(Name=name)
    ctx.client("apigateway").create_rest_api(name=name)
    ctx.client("stepfunctions").create_state_machine(name=name, definition=json.dumps(ASL), roleArn=role_arn)
    ctx.client("logs").create_log_group(logGroupName="/aws/lambda/awslab-other-gone-zzz999")
    return {
        "iam.role": name,
        "lambda.function": name,
        "dynamodb.table": name,
        "s3.bucket": name,
        "sqs.queue": name,
        "sns.topic": name,
        "apigateway.rest_api": name,
        "stepfunctions.state_machine": name,
        LOG_GROUP_KIND: "/aws/lambda/awslab-other-gone-zzz999",
    }


def inventory(target: Target) -> set[tuple[str, str]]:
    """Every awslab- named resource left, whoever owns it."""
    c = target.client
    found = {
        ("iam.role", r["RoleName"])
        for p in c("iam").get_paginator("list_roles").paginate()
        for r in p["Roles"]
    }
    found |= {("lambda.function", f["FunctionName"]) for f in c("lambda").list_functions()["Functions"]}
    found |= {("dynamodb.table", t) for t in c("dynamodb").list_tables()["TableNames"]}
    found |= {("s3.bucket", b["Name"]) for b in c("s3").list_buckets()["Buckets"]}
    found |= {("sqs.queue", u.rsplit("/", 1)[-1]) for u in c("sqs").list_queues().get("QueueUrls", [])}
    found |= {("sns.topic", t["TopicArn"].rsplit(":", 1)[-1]) for t in c("sns").list_topics()["Topics"]}
    found |= {("apigateway.rest_api", a["name"]) for a in c("apigateway").get_rest_apis()["items"]}
    found |= {
        ("stepfunctions.state_machine", m["name"])
        for m in c("stepfunctions").list_state_machines()["stateMachines"]
    }
    found |= {(LOG_GROUP_KIND, g["logGroupName"]) for g in c("logs").describe_log_groups()["logGroups"]}
    found |= {
        ("lambda.event_source", m["UUID"])
        for m in c("lambda").list_event_source_mappings()["EventSourceMappings"]
    }
    return {
        (k, n)
        for k, n in found
        if n.startswith(("awslab-", "/aws/lambda/awslab-")) or k == "lambda.event_source"
    }


def as_map(orphans: list[Orphan]) -> dict[tuple[str, str], tuple[str, str, str]]:
    return {(o.kind, o.physical): (o.lab, o.stack_id, o.logical) for o in orphans}


# ---- finding -------------------------------------------------------------------------------------
def test_find_returns_exactly_the_unknown_tagged_resources(world: World) -> None:
    orphans = find_orphans(world.target, world.known)
    assert as_map(orphans) == world.expected
    found = {o.physical for o in orphans}
    assert not found & set(world.lookalikes.values())
    assert not found & {p for _, p in world.known}
    # dependents come first: mappings and notifications, then the API, ... roles, log groups last
    kinds = [o.kind for o in orphans]
    assert (
        kinds.index("lambda.event_source")
        < kinds.index("apigateway.rest_api")
        < kinds.index("lambda.function")
    )
    assert (
        kinds.index("lambda.function")
        < kinds.index("s3.bucket")
        < kinds.index("iam.role")
        < kinds.index(LOG_GROUP_KIND)
    )
    d = orphans[0].to_dict()
    assert set(d) == {"kind", "physical", "lab", "stack_id", "logical", "detail", "created"}
    json.dumps([o.to_dict() for o in orphans])


def test_everything_known_means_no_orphans(world: World) -> None:
    assert find_orphans(world.target, world.known | set(world.expected)) == []


def test_pages_of_one_item_find_the_same(world: World) -> None:
    """Listings forced to one item per page: only paginating finds them all. (Not S3's: moto cuts
    ListBuckets at MaxBuckets without a continuation token; moto ignores the page size of
    Lambda's and API Gateway's listings.)"""
    limits = {
        ("iam", "ListRoles"): "MaxItems",
        ("dynamodb", "ListTables"): "Limit",
        ("sqs", "ListQueues"): "MaxResults",
        ("stepfunctions", "ListStateMachines"): "maxResults",
        ("logs", "DescribeLogGroups"): "limit",
    }
    seen: dict[str, int] = {}
    for (service, op), param in limits.items():
        client = world.target.client(service)

        def one(params: dict[str, Any], p: str = param, key: str = f"{service}.{op}", **_: Any) -> None:
            params[p] = 1
            seen[key] = seen.get(key, 0) + 1

        client.meta.events.register(
            f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}.{op}", one
        )
    assert as_map(find_orphans(world.target, world.known)) == world.expected
    # several requests per listing: the next tokens were followed
    assert all(n > 1 for n in seen.values()), seen


def test_owner_from_tags_and_name() -> None:
    tags = {"awslab:lab": "crud", "awslab:stack": "abc123"}
    assert owner_of(tags, "awslab-crud-items-table-abc123") == ("crud", "abc123", "items-table")
    assert owner_of({**tags, "awslab:logical": "x"}, "whatever") == ("crud", "abc123", "x")
    assert owner_of({"awslab:lab": "crud"}, "awslab-crud-items-abc123") is None
    assert owner_of({}, "awslab-crud-items-abc123") is None


# ---- deleting ------------------------------------------------------------------------------------
def lambda_notifications(world: World, bucket: str) -> list[str]:
    conf = world.target.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    return [e["Id"] for e in conf.get("LambdaFunctionConfigurations", [])]


def queue_statements(world: World) -> list[dict[str, Any]]:
    sqs = world.target.client("sqs")
    url = sqs.get_queue_url(QueueName=world.names["msg.orders"])["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    return list(json.loads(attrs.get("Policy") or '{"Statement": []}')["Statement"])


def log_groups(world: World) -> set[str]:
    return {g["logGroupName"] for g in world.target.client("logs").describe_log_groups()["logGroups"]}


def test_sweep_deletes_every_orphan_and_only_them(world: World) -> None:
    before = inventory(world.target)
    assert lambda_notifications(world, world.names["msg.uploads"]) == [world.names["msg.on-upload"]]
    assert len(queue_statements(world)) == 1  # the topic's grant
    assert f"/aws/lambda/{world.names['crud.api-fn']}" in log_groups(world)
    orphans = find_orphans(world.target, world.known)
    events: list[Progress] = []
    result = sweep(world.target, orphans, on_progress=events.append)
    assert result.failed == {}
    assert sorted(result.deleted) == sorted(p for _, p in world.expected)
    assert result.ok and result.to_dict()["deleted"] == result.deleted
    assert [e.phase for e in events] == ["start", "done"] * len(orphans)
    assert {e.logical for e in events} == {o.physical for o in orphans}
    assert all(e.action == "delete" for e in events)

    assert find_orphans(world.target, world.known) == []
    after = inventory(world.target)
    mappings_before = {n for k, n in before if k == "lambda.event_source"}
    expected_left = {(k, n) for k, n in before if (k, n) in world.known or n in world.lookalikes.values()}
    assert {(k, n) for k, n in after if k != "lambda.event_source"} == expected_left
    # the lookalike's mapping stays; the orphan function's mapping is gone
    assert len({n for k, n in after if k == "lambda.event_source"}) == len(mappings_before) - 1

    # the recorded bucket lost only the orphan notification; the recorded queue only the topic's grant
    assert lambda_notifications(world, world.names["msg.uploads"]) == []
    assert queue_statements(world) == []
    # the orphan function's log group went with it
    assert f"/aws/lambda/{world.names['crud.api-fn']}" not in log_groups(world)
    assert lambda_notifications(world, world.lookalikes["s3.bucket"]) == [world.lookalikes["s3.bucket"]]

    # re-running is harmless
    assert sweep(world.target, orphans).failed == {}


@pytest.fixture
def failing_delete_table(world: World) -> Iterator[list[int]]:
    client = world.target.client("dynamodb")
    calls = [0]

    def hook(**_: Any) -> None:
        calls[0] += 1
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "injected"}}, "DeleteTable")

    client.meta.events.register("before-call.dynamodb.DeleteTable", hook, unique_id="sweep-test-fail")
    yield calls
    client.meta.events.unregister("before-call.dynamodb.DeleteTable", unique_id="sweep-test-fail")


def test_a_failed_delete_is_reported_and_the_rest_still_goes(
    world: World, failing_delete_table: list[int]
) -> None:
    c = world.target.client
    # an orphan table, in the middle of the order (after functions and queues, before buckets)
    ctx = Context(world.target, LAB_A, STACK_A, Path.cwd())
    table = create(ctx, "dynamodb.table", "extra", key={"id": "S"})["name"]
    # create() above waited through describe_table only: the hook has not run yet
    assert failing_delete_table == [0]

    orphans = find_orphans(world.target, world.known)
    assert ("dynamodb.table", table) in as_map(orphans)
    events: list[Progress] = []
    result = sweep(world.target, orphans, on_progress=events.append)

    assert set(result.failed) == {table}
    assert "AccessDenied" in result.failed[table] and "dynamodb.table" in result.failed[table]
    assert sorted(result.deleted) == sorted(p for _, p in world.expected)
    failed = [e for e in events if e.phase == "failed"]
    assert [(e.logical, e.kind) for e in failed] == [(table, "dynamodb.table")]
    assert failing_delete_table[0] >= 1
    assert table in c("dynamodb").list_tables()["TableNames"]
    # buckets and roles after it in the order were still deleted
    assert world.names["crud.site"] in result.deleted and world.names["msg.worker-role"] in result.deleted

    # only the failed one is left to find; once the failure is gone it goes too
    assert [(o.kind, o.physical) for o in find_orphans(world.target, world.known)] == [
        ("dynamodb.table", table)
    ]
    c("dynamodb").meta.events.unregister("before-call.dynamodb.DeleteTable", unique_id="sweep-test-fail")
    retry = sweep(world.target, find_orphans(world.target, world.known))
    assert retry.deleted == [table] and retry.failed == {}
    assert find_orphans(world.target, world.known) == []


def test_untagged_mapping_of_an_orphan_function_is_swept(ctx: Context, code: Path) -> None:
    """An endpoint without tags on mappings: the mapping is claimed through its function."""
    role = create(ctx, "iam.role", "role", service="lambda")
    fn = create(ctx, "lambda.function", "fn", code=str(code), role=role["arn"])
    q = create(ctx, "sqs.queue", "q")
    uuid = ctx.client("lambda").create_event_source_mapping(FunctionName=fn["arn"], EventSourceArn=q["arn"])[
        "UUID"
    ]
    known = {("iam.role", role["name"]), ("sqs.queue", q["name"])}
    orphans = find_orphans(ctx.target, known)
    mappings = [o for o in orphans if o.kind == "lambda.event_source"]
    assert len(mappings) == 1 and (mappings[0].lab, mappings[0].stack_id) == ("test", "abc123")
    assert uuid in mappings[0].detail
    assert {o.kind for o in orphans} == {"lambda.event_source", "lambda.function"}
    assert sweep(ctx.target, orphans).failed == {}
    assert ctx.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert find_orphans(ctx.target, known) == []


def test_a_bucket_of_another_region_belongs_to_that_region(ctx: Context) -> None:
    """Bucket names are global: a tagged awslab bucket in eu-west-1 is not an orphan of us-east-1."""
    eu = Target(kind="aws", region="eu-west-1")
    create(Context(eu, "crud", "abc123", Path.cwd()), "s3.bucket", "site")
    assert find_orphans(ctx.target, set()) == []
    assert [(o.kind, o.physical) for o in find_orphans(eu, set())] == [
        ("s3.bucket", "awslab-crud-site-abc123")
    ]
