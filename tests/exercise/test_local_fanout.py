"""Exercising a lab with several queues and topics on a real local cloud, through the CLI: checks
and commands pick them (`topic:`/`--topic`, `queue:`/`--queue`), message attributes route through
SNS filter policies, and what the handler gets has AWS's shape (Powertools' models), attributes
included; `awslab event` output goes straight into `invoke --payload @-`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SnsModel, SqsModel

from tests.e2e.conftest import Cli, home, local_cli  # noqa: F401  # fixtures

pytestmark = pytest.mark.e2e
FANOUT = Path(__file__).parent / "fanout"


def rows(cli: Cli) -> list[dict[str, Any]]:
    endpoint = cli("local", "status", "--output", "json").json()["endpoint"]
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="awslab", aws_secret_access_key="awslab-local")  # fmt: skip
    name = next(t for t in ddb.list_tables()["TableNames"] if t.startswith("awslab-fanout-rows-"))
    items = ddb.scan(TableName=name)["Items"]
    return [{k: v.get("S") for k, v in item.items()} for item in items]  # NULL: None


def test_fan_out_with_attributes_on_the_local_cloud(local_cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli = local_cli
    lab = tmp_path / "fanout"
    shutil.copytree(FANOUT, lab)
    cli("up", str(lab / "fanout.yaml"), "--yes")
    report = cli("check", "fanout", "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr

    # the CLI: two topics, so --topic; attributes route to the blue queue and the function
    out = cli("publish", '{"id": "cli-1"}', "--topic", "orders", "-a", "colour=blue", "-a", "size:Number=5",
              "--output", "json").json()  # fmt: skip
    delivered = {s["resource"]: s["delivered"] for s in out["subscribers"]}
    assert delivered == {"red": False, "blue": True, "recorder": True}
    assert out["effects"]["complete"] and len(out["effects"]["found"]) == 2
    result = cli("send-message", "hi", "--output", "json", check=False)
    assert result.code == 2 and "several queues with a consumer: blue, red" in result.stderr
    out = cli("send-message", '{"id": "cli-2"}', "--queue", "red", "--attribute", "colour=red",
              "--output", "json").json()  # fmt: skip
    assert out["queue"] == "red" and out["messages"][0]["effects"]

    found = {(r["order"], r["via"], r["queue"]): r for r in rows(cli)}
    assert ("check-red", "sqs", "blue") not in found and ("check-red", "sns", None) not in found
    # SNS -> SQS: a record whose body is SNS's envelope, attributes in it as SNS shows them
    via_queue = found[("cli-1", "sqs", "blue")]
    SqsModel.model_validate({"Records": [json.loads(via_queue["record"])]})
    assert json.loads(via_queue["envelope"])["MessageAttributes"] == {
        "colour": {"Type": "String", "Value": "blue"},
        "size": {"Type": "Number", "Value": "5"},
    }
    # SNS -> Lambda: the attributes in the record
    via_sns = SnsModel.model_validate({"Records": [json.loads(found[("cli-1", "sns", None)]["record"])]})
    attributes = via_sns.Records[0].Sns.MessageAttributes or {}
    assert {k: (v.Type, v.Value) for k, v in attributes.items()} == {"colour": ("String", "blue"),
                                                                   "size": ("Number", "5")}  # fmt: skip
    # SQS directly: the message attributes in Lambda's form
    direct = SqsModel.model_validate({"Records": [json.loads(found[("cli-2", "sqs", "red")]["record"])]})
    colour = direct.Records[0].messageAttributes["colour"]
    assert (colour.dataType, colour.stringValue) == ("String", "red")

    # a sample event, piped into invoke
    event = cli("event", "sqs", "--body", '{"id": "sample-1"}').stdout
    out = cli("invoke", "fanout", "--function", "recorder", "--payload", "@-", "--output", "json",
              input=event).json()  # fmt: skip
    assert out["payload"] == {"records": 1}
    assert any(r["order"] == "sample-1" for r in rows(cli))
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
