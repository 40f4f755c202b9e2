"""Drift on moto's in-process mock (issue 7, item 10): settings of a function, a table and a
queue changed with boto3 behind awslab's back are named by `status`, planned as updates by
`plan` and restored by `up`; and the first plan of a lab shows the names `up` creates."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from awslab.engine.execute import apply_plan
from awslab.engine.plan import Plan, plan_changes
from awslab.engine.status import lab_status
from awslab.engine.teardown import teardown_lab
from awslab.spec import LabSpec, builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target

SPEC = """\
name: drifty
resources:
  items:
    type: dynamodb.table
    key: {id: S}
    ttl: expires
  dlq:
    type: sqs.queue
  jobs:
    type: sqs.queue
    visibility_timeout: 30
    dead_letter: {target: "${dlq.arn}", max_receive_count: 3}
  role:
    type: iam.role
    service: lambda
  fn:
    type: lambda.function
    code: handler
    role: "${role.arn}"
    timeout: 10
    memory: 128
    environment: {TABLE_NAME: "${items.name}", MODE: spec}
"""


@pytest.fixture
def store(mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateStore:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    return StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})


@pytest.fixture
def spec(tmp_path: Path) -> LabSpec:
    (tmp_path / "handler").mkdir()
    (tmp_path / "handler" / "app.py").write_text("def handler(event, context):\n    return 'spec'\n")
    (tmp_path / "drifty.yaml").write_text(SPEC)
    return load_spec(tmp_path / "drifty.yaml")


TARGET = Target(kind="aws", region="us-east-1")


def up(spec: LabSpec, store: StateStore) -> tuple[Plan, dict[str, int]]:
    """What `awslab up` does: plan and apply under the state lock."""
    with store.locked():
        plan = plan_changes(spec, store, TARGET)
        return plan, apply_plan(plan, store, TARGET).counts


def physical(store: StateStore, logical: str) -> str:
    return store.labs["drifty"].resources[logical].physical


def other_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 'changed by hand'\n")
    return buf.getvalue()


def live_settings(store: StateStore) -> dict[str, Any]:
    """What boto3 reads back of every setting the test changes."""
    fn = boto3.client("lambda").get_function_configuration(FunctionName=physical(store, "fn"))
    ddb = boto3.client("dynamodb")
    table = ddb.describe_table(TableName=physical(store, "items"))["Table"]
    ttl = ddb.describe_time_to_live(TableName=physical(store, "items"))["TimeToLiveDescription"]
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=physical(store, "jobs"))["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {
        "memory": fn["MemorySize"],
        "timeout": fn["Timeout"],
        "environment": fn.get("Environment", {}).get("Variables", {}),
        "code": fn["CodeSha256"],
        "billing": table["BillingModeSummary"]["BillingMode"],
        "ttl": (ttl["TimeToLiveStatus"], ttl.get("AttributeName")),
        "visibility": queue["VisibilityTimeout"],
        "max_receive_count": json.loads(queue["RedrivePolicy"])["maxReceiveCount"],
    }


def change_behind_awslabs_back(store: StateStore) -> None:
    lam = boto3.client("lambda")
    fn = physical(store, "fn")
    lam.update_function_configuration(
        FunctionName=fn, MemorySize=512, Timeout=60, Environment={"Variables": {"MODE": "hand", "DEBUG": "1"}}
    )
    lam.update_function_code(FunctionName=fn, ZipFile=other_zip())
    ddb = boto3.client("dynamodb")
    table = physical(store, "items")
    ddb.update_table(
        TableName=table,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    ddb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"}
    )
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=physical(store, "jobs"))["QueueUrl"]
    redrive = json.dumps(
        {"deadLetterTargetArn": store.labs["drifty"].resources["dlq"].attrs["arn"], "maxReceiveCount": 7}
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99", "RedrivePolicy": redrive})


def test_status_names_drift_plan_repairs_it_and_up_restores_the_spec(
    spec: LabSpec, store: StateStore
) -> None:
    up(spec, store)
    deployed = live_settings(store)
    assert {c.action for c in plan_changes(spec, store, TARGET).changes} == {"keep"}

    change_behind_awslabs_back(store)
    assert live_settings(store) != deployed

    rows = {r.logical: r for r in lab_status("drifty", store.labs["drifty"], TARGET)}
    assert {n: r.health for n, r in rows.items()} == {
        "items": "changed", "dlq": "present", "jobs": "changed", "role": "present", "fn": "changed",
    }  # fmt: skip
    assert rows["fn"].detail == (
        "changed outside awslab: code, memory 128 -> 512, timeout 10 -> 60, environment (DEBUG, MODE, TABLE_NAME); "
        "'up' restores the spec"
    )
    assert rows["items"].detail.startswith(
        "changed outside awslab: billing mode PAY_PER_REQUEST -> PROVISIONED, ttl expires -> none;"
    )
    assert rows["jobs"].detail.startswith(
        "changed outside awslab: visibility timeout 30 -> 99, max receive count 3 -> 7;"
    )

    plan = plan_changes(spec, store, TARGET)
    reasons = {c.logical: (c.action, c.reason) for c in plan.changes}
    assert reasons == {
        "items": ("update", "drift: billing mode PAY_PER_REQUEST -> PROVISIONED, ttl expires -> none"),
        "dlq": ("keep", "up to date"),
        "jobs": ("update", "drift: visibility timeout 30 -> 99, max receive count 3 -> 7"),
        "role": ("keep", "up to date"),
        "fn": (
            "update",
            "drift: code, memory 128 -> 512, timeout 10 -> 60, environment (DEBUG, MODE, TABLE_NAME)",
        ),
    }

    _, counts = up(spec, store)
    assert counts["update"] == 3 and counts["keep"] == 2
    assert live_settings(store) == deployed
    assert deployed["environment"] == {"TABLE_NAME": physical(store, "items"), "MODE": "spec"}
    assert {c.action for c in plan_changes(spec, store, TARGET).changes} == {"keep"}
    assert {r.health for r in lab_status("drifty", store.labs["drifty"], TARGET)} == {"present"}


def test_the_first_plan_of_a_lab_shows_the_names_up_creates(store: StateStore) -> None:
    spec = load_spec(builtin_labs()["crud"])
    shown = {c.logical: c.physical for c in plan_changes(spec, store, TARGET).changes}  # `awslab plan`

    # `awslab up`, a later process with its own view of the state file
    again = StateStore(store.path, store.target_info)
    with again.locked():
        apply_plan(plan_changes(spec, again, TARGET), again, TARGET)
    assert {n: r.physical for n, r in again.labs["crud"].resources.items()} == shown
    assert boto3.client("dynamodb").list_tables()["TableNames"] == [shown["items"]]
    assert [f["FunctionName"] for f in boto3.client("lambda").list_functions()["Functions"]] == [
        shown["items-fn"]
    ]
    assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == [shown["site"]]
    assert [r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]] == [shown["role"]]
    assert teardown_lab("crud", again, TARGET).ok


@pytest.mark.parametrize("lab", sorted(builtin_labs()))
def test_a_fresh_deploy_of_each_lab_shows_no_drift(lab: str, store: StateStore) -> None:
    """What create records is what read returns: no false drift right after `up`."""
    spec = load_spec(builtin_labs()[lab])
    up(spec, store)
    plan = plan_changes(spec, store, TARGET)
    assert {c.logical: c.reason for c in plan.changes if c.action != "keep"} == {}
    assert {
        r.logical: r.detail for r in lab_status(lab, store.labs[lab], TARGET) if r.health != "present"
    } == {}


def test_the_first_plan_shows_a_fifo_queues_name_with_its_suffix(store: StateStore, tmp_path: Path) -> None:
    """A kind's own name rule (`.fifo`), even when another of its fields waits for `up` (the
    dead-letter queue's ARN)."""
    (tmp_path / "fifo.yaml").write_text(
        "name: fifo\nresources:\n"
        "  dlq: {type: sqs.queue, fifo: true}\n"
        "  jobs: {type: sqs.queue, fifo: true, dead_letter: {target: '${dlq.arn}'}}\n"
    )
    spec = load_spec(tmp_path / "fifo.yaml")
    shown = {c.logical: c.physical for c in plan_changes(spec, store, TARGET).changes}
    assert all(name.endswith(".fifo") for name in shown.values()), shown
    with store.locked():
        apply_plan(plan_changes(spec, store, TARGET), store, TARGET)
    urls = boto3.client("sqs").list_queues()["QueueUrls"]
    assert sorted(u.rsplit("/", 1)[1] for u in urls) == sorted(shown.values())
