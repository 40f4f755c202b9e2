"""`teardown --sweep` is a loop over the registry: every registered kind says how to find what
awslab made of it (`list_made`) and where it goes in the delete order (`sweep_rank`); a kind
registered later (here, by the test) is found and deleted through its own `delete`; the kinds the
hand-written sweep skipped (EventBridge rules and buses, schedules, HTTP APIs, function URLs) are
found and deleted; what a state records is not even asked for its tags."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from awslab.engine.sweep import find_orphans, sweep
from awslab.resources.base import (
    REGISTRY,
    TAG_LAB,
    TAG_STACK,
    Context,
    Made,
    Props,
    Record,
    Resource,
    Survey,
    kind_class,
    load_kinds,
)
from awslab.resources.stepfunctions_logging import ROLE_ACTIONS
from awslab.target import Target
from tests.resources.wiring_helpers import ACCOUNT, record_calls

SCHEDULER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler-role"


def test_every_registered_kind_lists_what_awslab_made_and_has_a_place_in_the_order() -> None:
    kinds = load_kinds()
    assert len(kinds) >= 16
    # a kind that does not override it inherits Resource's, which raises
    missing = [k for k, cls in kinds.items() if "list_made" not in _own_attributes(cls)]
    assert missing == []
    unranked = [k for k, cls in kinds.items() if not isinstance(getattr(cls, "sweep_rank", None), int)]
    assert unranked == []
    # dependents before what they depend on
    rank = {k: cls.sweep_rank for k, cls in kinds.items()}
    for first, then in [
        ("lambda.event_source", "lambda.function"), ("s3.notification", "s3.bucket"),
        ("events.rule", "events.bus"), ("events.rule", "lambda.function"), ("scheduler.schedule", "sqs.queue"),
        ("apigateway.http_api", "sqs.queue"), ("apigateway.http_api", "events.bus"),
        ("lambda.url", "lambda.function"), ("apigateway.rest_api", "lambda.function"),
        ("sns.topic", "sqs.queue"), ("lambda.function", "iam.role"), ("s3.files", "s3.bucket"),
    ]:  # fmt: skip
        assert rank[first] < rank[then], (first, then)


def _own_attributes(cls: type) -> set[str]:
    """What the class or its bases below Resource define."""
    return {name for c in cls.__mro__ if issubclass(c, Resource) and c is not Resource for name in vars(c)}


# ---- a kind registered after the fact ------------------------------------------------------------
class _NoProps(Props):
    pass


class Swept(Resource[_NoProps]):
    """A kind the sweep has never heard of: one thing of it "lives" in `LIVE`."""

    kind = "test.swept"
    sweep_rank = 5
    LIVE: ClassVar[dict[str, dict[str, str]]] = {}
    deleted: ClassVar[list[Record]] = []

    def create(self) -> dict[str, Any]:
        raise AssertionError("not created here")

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        return None

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        cls.deleted.append(record)
        cls.LIVE.pop(record.physical, None)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        survey = survey or Survey(target)
        return [
            Made(name, tags, {"id": f"id-{name}"}, "a test thing")
            for name, tags in cls.LIVE.items()
            if not survey.known(cls.kind, name)
        ]


class Unswept(Resource[_NoProps]):
    kind = "test.unswept"
    sweep_rank = 5

    def create(self) -> dict[str, Any]:
        raise AssertionError("not created here")

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        return None

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        pass


@pytest.fixture
def registered() -> Iterator[type[Swept]]:
    load_kinds()
    REGISTRY[Swept.kind] = Swept
    Swept.LIVE.clear()
    Swept.deleted.clear()
    yield Swept
    REGISTRY.pop(Swept.kind, None)
    REGISTRY.pop(Unswept.kind, None)


def test_a_kind_registered_later_is_found_and_deleted_through_its_delete(
    ctx: Context, registered: type[Swept]
) -> None:
    own = {TAG_LAB: "lost", TAG_STACK: "zzz999"}
    registered.LIVE.update({
        "awslab-lost-thing-zzz999": own,
        "awslab-lost-kept-zzz999": own,  # recorded by a state: not an orphan
        "awslab-other-zzz999": {"team": "x"},  # no awslab tags: someone else's
    })  # fmt: skip
    known = {(Swept.kind, "awslab-lost-kept-zzz999")}
    [orphan] = find_orphans(ctx.target, known)
    assert (orphan.kind, orphan.physical, orphan.lab, orphan.stack_id, orphan.logical) == (
        Swept.kind, "awslab-lost-thing-zzz999", "lost", "zzz999", "thing",
    )  # fmt: skip
    assert sweep(ctx.target, [orphan]).deleted == ["awslab-lost-thing-zzz999"]
    [record] = registered.deleted
    assert (record.kind, record.status, record.attrs) == (
        Swept.kind,
        "creating",
        {"id": "id-awslab-lost-thing-zzz999"},
    )
    assert find_orphans(ctx.target, known) == []


def test_a_registered_kind_that_cannot_list_stops_the_sweep(ctx: Context, registered: type[Swept]) -> None:
    """Rather than skipping it silently: a sweep that leaves a kind out would report "nothing left"."""
    REGISTRY[Unswept.kind] = Unswept
    with pytest.raises(NotImplementedError, match=r"test\.unswept"):
        find_orphans(ctx.target, set())


# ---- the kinds the hand-written sweep did not know ------------------------------------------------
def create(ctx: Context, kind: str, logical: str, **props: Any) -> dict[str, Any]:
    cls = kind_class(kind)
    return cls(ctx, logical, cls.props_model.model_validate(props)).create()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    d = tmp_path / "handler"
    d.mkdir()
    (d / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    return d


@pytest.fixture
def newer_kinds(ctx: Context, code: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A lab whose state is lost: a function with a URL, an HTTP API, a bus with a rule, a rule on a
    schedule, a Scheduler schedule. Returns kind -> physical name of each."""
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    role = create(ctx, "iam.role", "role", service="lambda")
    fn = create(ctx, "lambda.function", "fn", code=str(code), role=role["arn"])
    bus = create(ctx, "events.bus", "bus")
    on_bus = create(
        ctx, "events.rule", "on-bus", bus=bus["name"], pattern={"source": ["x"]}, targets=[{"arn": fn["arn"]}]
    )
    create(ctx, "events.rule", "hourly", schedule="rate(1 hour)", targets=[{"arn": fn["arn"]}])
    with_fn = replace(ctx, resolved={"fn": fn})
    api = create(with_fn, "apigateway.http_api", "api", routes={"GET /items": "fn"})
    create(with_fn, "lambda.url", "url", function="fn")
    nightly = create(ctx, "scheduler.schedule", "nightly", schedule_expression="rate(1 day)",
                     target={"arn": fn["arn"], "role_arn": SCHEDULER_ROLE})  # fmt: skip
    return {
        "iam.role": role["name"],
        "lambda.function": fn["name"],
        "events.bus": bus["name"],
        "events.rule": on_bus["name"],
        "events.rule/hourly": ctx.physical_name("hourly"),
        "apigateway.http_api": api["name"],
        "lambda.url": fn["name"],
        "scheduler.schedule": nightly["name"],
    }


def test_rules_buses_schedules_http_apis_and_urls_are_swept(
    ctx: Context, newer_kinds: dict[str, str]
) -> None:
    orphans = find_orphans(ctx.target, set())
    found = {(o.kind, o.physical) for o in orphans}
    assert found >= {(k.split("/")[0], p) for k, p in newer_kinds.items()}
    assert {(o.lab, o.stack_id) for o in orphans} == {("test", "abc123")}
    kinds = [o.kind for o in orphans]
    assert kinds.index("events.rule") < kinds.index("events.bus") < kinds.index("lambda.function")
    assert kinds.index("lambda.url") < kinds.index("lambda.function")

    result = sweep(ctx.target, orphans)
    assert result.failed == {}
    assert find_orphans(ctx.target, set()) == []
    for kind in ("events.rule", "events.bus", "scheduler.schedule", "apigateway.http_api", "lambda.url"):
        assert kind_class(kind).list_made(ctx.target) == [], kind
    assert ctx.client("events").list_rules()["Rules"] == []


def test_what_a_state_records_is_not_asked_for_its_tags(ctx: Context, newer_kinds: dict[str, str]) -> None:
    """Everything recorded: the listings only, one each (functions listed once for the functions,
    their URLs and their log groups), and no tag read but the buckets' (none here)."""
    known = {(k.split("/")[0], p) for k, p in newer_kinds.items()}
    known.add(("events.rule", newer_kinds["events.rule/hourly"]))
    services = ("iam", "lambda", "events", "scheduler", "apigateway", "apigatewayv2", "dynamodb", "s3",
                "sqs", "sns", "stepfunctions", "logs")  # fmt: skip
    calls = record_calls(ctx, *services)
    assert find_orphans(ctx.target, known) == []
    tag_reads = [c for c in calls if "Tag" in c and c != "scheduler.ListTagsForResource"]
    assert tag_reads == []
    assert calls.count("lambda.ListFunctions") == 1
    # the one tag read: the schedule group's, which holds the lab's tags for its schedules
    assert calls.count("scheduler.ListTagsForResource") == 1


def test_the_log_group_of_a_state_machine_deleted_behind_awslab_is_swept(
    ctx: Context, tmp_path: Path
) -> None:
    definition = tmp_path / "flow.json"
    definition.write_text('{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}')
    role = create(ctx, "iam.role", "role", service="states",
                  allow=[{"actions": list(ROLE_ACTIONS), "resources": ["*"]}])  # fmt: skip
    machine = create(ctx, "stepfunctions.state_machine", "flow", definition=str(definition), role=role["arn"],
                     logging={"level": "ERROR"})  # fmt: skip
    group = f"/aws/vendedlogs/states/{machine['name']}"
    logs = ctx.client("logs")
    logs.create_log_group(logGroupName="/aws/vendedlogs/states/awslab-other-flow-zzz999")  # someone else's
    ctx.client("stepfunctions").delete_state_machine(stateMachineArn=machine["arn"])
    known = {("iam.role", role["name"])}

    [orphan] = find_orphans(ctx.target, known)
    assert (orphan.kind, orphan.physical, orphan.lab, orphan.logical) == (
        "logs.log_group",
        group,
        "test",
        "flow",
    )
    assert sweep(ctx.target, [orphan]).failed == {}
    left = {
        g["logGroupName"]
        for g in logs.describe_log_groups(logGroupNamePrefix="/aws/vendedlogs/")["logGroups"]
    }
    assert left == {"/aws/vendedlogs/states/awslab-other-flow-zzz999"}
