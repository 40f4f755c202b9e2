"""examples/http-api-sqs.yaml on the local cloud, through the real CLI: `up`, its checks (an HTTP API
route that sends to SQS by itself, the queue's consumer, a Lambda route reading the order back),
`call`, `status`, `teardown`, and then no HTTP API or anything else of it is left."""

from __future__ import annotations

import boto3
import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e
SPEC = str(REPO / "examples" / "http-api-sqs.yaml")


def test_http_api_sqs_example(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", SPEC, "--yes")
    report = cli("check", SPEC, "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr
    results = report.json()["results"]
    assert len(results) == 4 and all(r["passed"] for r in results), results

    sent = cli(
        "call", "http-api-sqs", "POST", "/orders", "--json", '{"id": "cli-1"}', "--output", "json"
    ).json()
    assert sent["status"] == 200 and sent["json"]["SendMessageResponse"]["SendMessageResult"]["MessageId"]

    status = cli("status", "http-api-sqs", "--output", "json", check=False)
    assert status.code == 0, status.stdout + status.stderr

    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
    apis = boto3.client(
        "apigatewayv2",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="awslab",
        aws_secret_access_key="awslab-local",
    )
    assert apis.get_apis()["Items"] == []
