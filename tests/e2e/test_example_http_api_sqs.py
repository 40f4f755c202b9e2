"""examples/http-api-sqs.yaml on the local cloud, through the real CLI: `up`, its checks (an HTTP API
route that sends to SQS by itself, the queue's consumer, a Lambda route reading the order back),
`call`, `status`, `teardown`, and then no HTTP API or anything else of it is left."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.examples import local_client, status_then_teardown, up_and_check

pytestmark = pytest.mark.e2e
SPEC = str(REPO / "examples" / "http-api-sqs.yaml")


def test_http_api_sqs_example(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, SPEC, 4)

    sent = cli(
        "call", "http-api-sqs", "POST", "/orders", "--json", '{"id": "cli-1"}', "--output", "json"
    ).json()
    assert sent["status"] == 200 and sent["json"]["SendMessageResponse"]["SendMessageResult"]["MessageId"]

    endpoint = status_then_teardown(cli, "http-api-sqs")
    assert local_client(endpoint, "apigatewayv2").get_apis()["Items"] == []
