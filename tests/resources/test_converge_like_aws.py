"""awslab converges on AWS's behaviour between calls, not only on moto's at-once answers (issue 8,
item 5), on moto's in-process mock with that behaviour injected (tests/resources/aws_between_calls.py):
IAM propagation windows, functions Pending, tables CREATING, log groups left by DeleteFunction.

Each kind waits for exactly what its next step needs: a create returns once the resource is
named, `wait_ready` waits until it is usable. ARNs are predicted from names, so roles do not wait
for what their policies name."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from awslab.engine.execute import apply_plan
from awslab.engine.plan import plan_changes
from awslab.engine.teardown import teardown_lab
from awslab.resources.awslambda import Function, FunctionProps, log_group_of
from awslab.resources.base import Context, Record, kind_class
from awslab.resources.dynamodb import Table, TableProps
from awslab.resources.iam import Role
from awslab.spec import builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target
from tests.conftest import REPO
from tests.resources.aws_between_calls import AwsBetweenCalls, aws_between_calls
from tests.resources.wiring_helpers import make_role

HANDLER = "handlers/crud"


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def aws(mocked_aws: None) -> Iterator[AwsBetweenCalls]:
    # long enough that the first CreateFunction of a lab meets the window, even on a busy machine;
    # a role's new permissions take longer still, so the event source mapping meets them too
    with aws_between_calls(iam=1.5, permissions=5.0, pending=0.3, creating=0.3) as behaviour:
        yield behaviour


def leftovers() -> dict[str, list[str]]:
    """Everything awslab could have made, on the mock."""
    found = {
        "roles": [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]],
        "functions": [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]],
        "log_groups": [g["logGroupName"] for g in boto3.client("logs").describe_log_groups()["logGroups"]],
        "tables": boto3.client("dynamodb").list_tables()["TableNames"],
        "rest_apis": [a["name"] for a in boto3.client("apigateway").get_rest_apis()["items"]],
        "queues": boto3.client("sqs").list_queues().get("QueueUrls", []),
        "topics": [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]],
        "buckets": [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]],
        "state_machines": [
            m["name"] for m in boto3.client("stepfunctions").list_state_machines()["stateMachines"]
        ],
    }
    return {k: v for k, v in found.items() if v}


# ---- every lab --------------------------------------------------------------------------------
@pytest.mark.parametrize("lab", sorted(builtin_labs()))
def test_every_lab_converges_in_one_up_and_tears_down_to_nothing(
    lab: str, aws: AwsBetweenCalls, tmp_path: Path
) -> None:
    spec = load_spec(builtin_labs()[lab])
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    target = Target(kind="aws", region="us-east-1")
    result = apply_plan(plan_changes(spec, store, target), store, target)
    assert result.counts["create"] == len(spec.resources)
    # AWS's refusals happened, and were waited out (the image lab bundles Pillow first, which
    # takes longer than the window); every function was Pending after its create
    assert aws.refused["CreateFunction"] >= 1 or lab == "image", aws.refused
    if lab == "messaging":  # in AWS's current wording, which awslab did not retry
        assert aws.refused["CreateEventSourceMapping"] >= 1, aws.refused
    functions = sum(r.kind == "lambda.function" for r in spec.resources.values())
    assert aws.calls.count("GetFunctionConfiguration") + aws.calls.count("GetFunction") >= functions
    # every function and table is usable when `up` returns (a check may invoke at once)
    for rec in store.lab(spec.name).resources.values():  # type: ignore[union-attr]
        if rec.kind == "lambda.function":
            state = boto3.client("lambda").get_function_configuration(FunctionName=rec.physical)["State"]
            assert state == "Active", rec.logical
        if rec.kind == "dynamodb.table":
            status = boto3.client("dynamodb").describe_table(TableName=rec.physical)["Table"]["TableStatus"]
            assert status == "ACTIVE", rec.logical
    # a second up has nothing to do
    assert not plan_changes(load_spec(builtin_labs()[lab]), store, target).has_changes
    down = teardown_lab(spec.name, store, target)
    assert down.ok, down.failed
    assert leftovers() == {}


def test_roles_are_made_beside_what_their_policies_name() -> None:
    """Every role of every lab is a root of the graph: the workflow lab's Step Functions role,
    which names the five functions, no longer waits for them (and for its own IAM propagation
    after theirs): one propagation window per lab."""
    for lab, path in builtin_labs().items():
        spec = load_spec(path)
        for r in spec.resources.values():
            if r.kind == "iam.role":
                assert r.depends_on == set(), (lab, r.logical, r.depends_on)
    workflow = load_spec(builtin_labs()["workflow"])
    functions = {n for n, r in workflow.resources.items() if r.kind == "lambda.function"}
    assert workflow.resources["machine-role"].predicted == functions
    assert workflow.resources["machine"].depends_on == {"machine-role", *functions}


# ---- one kind at a time -----------------------------------------------------------------------
def calls_since(aws: AwsBetweenCalls, start: int) -> Counter[str]:
    return Counter(aws.calls[start:])


def test_a_function_is_named_at_once_and_waited_for_only_by_wait_ready(
    aws: AwsBetweenCalls, ctx: Context
) -> None:
    aws.pending_for = 2.0  # long enough to be seen Pending on a busy machine
    role = make_role(ctx, "fn-role")
    aws.trust.clear()  # a role made long ago
    fn = Function(ctx, "fn", FunctionProps(code=HANDLER, role=role))
    start = len(aws.calls)
    attrs = fn.create()
    made = calls_since(aws, start)
    assert made["CreateFunction"] == 1 and made["GetFunction"] + made["GetFunctionConfiguration"] == 0
    lam = ctx.client("lambda")
    assert lam.get_function_configuration(FunctionName=attrs["name"])["State"] == "Pending"
    assert fn.wait_ready() is True
    assert lam.get_function_configuration(FunctionName=attrs["name"])["State"] == "Active"
    assert calls_since(aws, start)["GetFunctionConfiguration"] >= 2
    assert fn.wait_ready() is False  # once ready, no more requests
    assert Function.read(ctx, Record(fn.kind, "fn", attrs["name"], "created", attrs)) == attrs


def test_an_update_of_a_function_still_pending_waits_for_it(aws: AwsBetweenCalls, ctx: Context) -> None:
    """A function left Pending by an interrupted `up`: the update is retried until it may be made."""
    aws.pending_for = 2.0  # the update must meet the window even on a busy machine
    role = make_role(ctx, "fn-role")
    aws.trust.clear()
    attrs = Function(ctx, "fn", FunctionProps(code=HANDLER, role=role)).create()
    changed = Function(ctx, "fn", FunctionProps(code=HANDLER, role=role, memory=256))
    assert changed.update(Record("lambda.function", "fn", attrs["name"], "created", attrs))["memory"] == 256
    assert aws.refused["UpdateFunctionConfiguration"] >= 1


def test_a_table_is_named_at_once_and_waited_for_only_where_needed(
    aws: AwsBetweenCalls, ctx: Context
) -> None:
    table = Table(ctx, "items", TableProps(key={"id": "S"}))
    start = len(aws.calls)
    attrs = table.create()
    assert calls_since(aws, start) == Counter({"CreateTable": 1})
    assert attrs["arn"].endswith(f":table/{attrs['name']}") and attrs["billing_mode"] == "PAY_PER_REQUEST"
    assert table.wait_ready() is True
    ddb = ctx.client("dynamodb")
    assert ddb.describe_table(TableName=attrs["name"])["Table"]["TableStatus"] == "ACTIVE"
    assert Table.read(ctx, Record(table.kind, "items", attrs["name"], "created", attrs)) == attrs
    # TTL is set once the table is ACTIVE (UpdateTimeToLive refuses a table still CREATING)
    with_ttl = Table(ctx, "sessions", TableProps(key={"id": "S"}, ttl="expires"))
    ttl_attrs = with_ttl.create()
    assert "UpdateTimeToLive" not in aws.calls
    assert with_ttl.wait_ready() is True
    assert ttl_attrs["ttl"] == "expires" and aws.refused["UpdateTimeToLive"] == 0
    assert (
        ddb.describe_time_to_live(TableName=ttl_attrs["name"])["TimeToLiveDescription"]["AttributeName"]
        == "expires"
    )


PREDICTED = {
    "lambda.function": {"code": HANDLER, "role": "${role}"},
    "dynamodb.table": {"key": {"id": "S"}},
    "iam.role": {"service": "lambda"},
    "sqs.queue": {},
    "sqs.queue/fifo": {"fifo": True},
    "sns.topic": {},
    "s3.bucket": {},
    "stepfunctions.state_machine": {
        "definition": "handlers/workflow/statemachine.asl.json",
        "role": "${role}",
    },
}


@pytest.mark.parametrize("case", sorted(PREDICTED))
def test_a_predicted_arn_is_the_one_aws_gives(case: str, ctx: Context) -> None:
    kind = case.split("/")[0]
    cls = kind_class(kind)
    role = make_role(ctx, "sfn-role", service="states" if kind.startswith("step") else "lambda")
    fields: dict[str, Any] = {k: role if v == "${role}" else v for k, v in PREDICTED[case].items()}
    if kind.startswith("step"):  # its definition names five functions
        arns = {n: {"arn": f"arn:aws:lambda:us-east-1:123456789012:function:{n}"} for n in _workflow_tasks()}
        ctx = Context(ctx.target, ctx.lab, ctx.stack_id, ctx.base_dir, arns)
    resource = cls(ctx, "thing", cls.props_model.model_validate(fields))
    predicted = cls.predict(ctx.target, resource.physical)
    assert set(predicted) == cls.predictable
    made = resource.create()
    assert {k: made[k] for k in predicted} == predicted


def _workflow_tasks() -> list[str]:
    spec = load_spec(builtin_labs()["workflow"])
    return [n for n, r in spec.resources.items() if r.kind == "lambda.function"]


def test_every_kind_that_others_name_in_policies_is_predictable() -> None:
    """What a role's `allow` can name by ARN in a built-in lab is predictable."""
    named = {
        spec.resources[n].kind
        for spec in map(load_spec, builtin_labs().values())
        for r in spec.resources.values()
        for n in r.predicted
    }
    assert named == {"lambda.function", "dynamodb.table", "sqs.queue", "sns.topic", "s3.bucket"}
    assert Role.predictable == {"name", "arn"} and Role.name_only_fields == {"allow"}


def test_teardown_removes_a_log_group_an_invocation_made_again(
    aws: AwsBetweenCalls, ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invocation still running when its function is deleted sends its logs afterwards, and
    Lambda makes the group again (DeleteFunction never removes it): teardown leaves none."""
    shutil.copytree(REPO / HANDLER, tmp_path / "fn")
    spec_path = tmp_path / "lab.yaml"
    spec_path.write_text(
        "name: logs\nresources:\n"
        "  role: {type: iam.role, service: lambda}\n"
        "  fn: {type: lambda.function, code: fn, role: '${role.arn}'}\n"
    )
    spec = load_spec(spec_path)
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    target = Target(kind="aws", region="us-east-1")
    apply_plan(plan_changes(spec, store, target), store, target)
    name = store.lab("logs").resources["fn"].physical  # type: ignore[union-attr]

    delete = Function.delete.__func__  # type: ignore[attr-defined]
    counter = itertools.count()

    def delete_then_logs_arrive(cls: type[Function], ctx: Context, record: Record) -> None:
        delete(cls, ctx, record)
        if next(counter) == 0:  # the in-flight invocation's logs: the group is back, untagged
            ctx.client("logs").create_log_group(logGroupName=log_group_of(record.physical))

    monkeypatch.setattr(Function, "delete", classmethod(delete_then_logs_arrive))
    down = teardown_lab("logs", store, target)
    assert down.ok, down.failed
    groups = boto3.client("logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups if g["logGroupName"] == log_group_of(name)] == []
    assert leftovers() == {}
