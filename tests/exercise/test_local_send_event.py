"""`awslab send-event` and the `send-event` check on a real local cloud: PutEvents on a lab's custom
bus reaches the rule's Lambda and SQS targets; the source and detail-type default to what the rule
asks for; an event no rule matches is reported as such and not waited for; a detail that is not a
JSON object is a usage error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from tests.e2e.conftest import Cli, home, local_cli  # noqa: F401  # fixtures

pytestmark = pytest.mark.e2e
BUS = Path(__file__).parent / "bus"


def test_send_event_reaches_the_rules_targets(local_cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli = local_cli
    lab = tmp_path / "bus"
    shutil.copytree(BUS, lab)
    cli("up", str(lab / "bus.yaml"), "--yes")
    report = cli("check", "bus", "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr

    out = cli("send-event", '{"id": "cli-1", "item": "pen"}', "--output", "json").json()
    assert (out["source"], out["detail_type"]) == ("shop.orders", "OrderPlaced")
    assert out["bus"].startswith("awslab-bus-orders-bus-")
    assert out["rules"] == [{"rule": "placed", "matched": True}]
    (row,) = [f["item"] for f in out["effects"]["found"]]
    assert row["id"] == "cli-1"
    EventBridgeModel.model_validate(json.loads(row["event"]))

    endpoint = cli("local", "status", "--output", "json").json()["endpoint"]
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="awslab", aws_secret_access_key="awslab-local")  # fmt: skip
    url = next(u for u in sqs.list_queues()["QueueUrls"] if "-audit-" in u)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
    details = sorted(json.loads(m["Body"])["detail"]["id"] for m in got)
    assert details == ["check-1", "cli-1"]

    missed = cli("send-event", '{"id": "cli-2"}', "--source", "shop.returns", "--output", "json").json()
    assert missed["rules"] == [{"rule": "placed", "matched": False}] and missed["effects"]["found"] == []

    bad = cli("send-event", "[1, 2]", check=False)
    assert bad.code == 2 and "must be a JSON object" in bad.stderr
