"""`awslab event KIND`: a sample event of every source awslab supports, each validated by the
parser model of Powertools for AWS Lambda that a handler on AWS would use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    DynamoDBStreamModel,
    EventBridgeModel,
    S3Model,
    SnsModel,
    SqsModel,
)
from pydantic import BaseModel
from typer.testing import CliRunner

from awslab.errors import UsageError
from awslab.exercise.events import KINDS, EventParams, sample_event

MODELS: dict[str, type[BaseModel]] = {
    "api": APIGatewayProxyEventModel,
    "api-v2": APIGatewayProxyEventV2Model,
    "sqs": SqsModel,
    "sns": SnsModel,
    "s3-put": S3Model,
    "s3-delete": S3Model,
    "dynamodb-stream": DynamoDBStreamModel,
    "eventbridge": EventBridgeModel,
    "schedule": EventBridgeModel,
}
NOW = datetime(2024, 5, 1, 12, 30, 45, 123000, tzinfo=UTC)


def test_every_kind_has_a_model() -> None:
    assert set(KINDS) == set(MODELS)


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("body", [None, '{"id": "o-7", "item": "pen"}'])
def test_sample_events_validate_with_powertools(kind: str, body: str | None) -> None:
    event = sample_event(kind, EventParams(body=body, method="POST", key="my photos/a+b.jpg", now=NOW))
    parsed: Any = MODELS[kind].model_validate(json.loads(json.dumps(event)))  # as it travels: JSON
    assert parsed is not None


def test_what_each_event_carries() -> None:
    body = '{"id": "o-7", "item": "pen"}'
    p = EventParams(body=body, method="post", path="/orders", key="my photos/a+b.jpg", now=NOW)
    api = APIGatewayProxyEventModel.model_validate(sample_event("api", p))
    assert (api.httpMethod, api.path, api.body) == ("POST", "/orders", body)
    assert api.requestContext.requestTimeEpoch == NOW.replace(microsecond=123000)
    assert SqsModel.model_validate(sample_event("sqs", p)).Records[0].body == body
    assert SnsModel.model_validate(sample_event("sns", p)).Records[0].Sns.Message == body
    s3 = sample_event("s3-put", p)["Records"][0]
    assert s3["s3"]["object"]["key"] == "my+photos/a%2Bb.jpg"  # AWS's key encoding
    assert s3["eventName"] == "ObjectCreated:Put" and s3["eventTime"] == "2024-05-01T12:30:45.123Z"
    assert "size" not in sample_event("s3-delete", p)["Records"][0]["s3"]["object"]
    stream = DynamoDBStreamModel.model_validate(sample_event("dynamodb-stream", p)).Records[0]
    assert stream.dynamodb.Keys == {"id": "o-7"} and stream.dynamodb.NewImage == {"id": "o-7", "item": "pen"}
    bridge = EventBridgeModel.model_validate(sample_event("eventbridge", p))
    assert bridge.detail == {"id": "o-7", "item": "pen"}
    schedule = EventBridgeModel.model_validate(sample_event("schedule", p))
    assert (schedule.source, schedule.detail_type, schedule.detail) == ("aws.events", "Scheduled Event", {})
    assert sample_event("http-api", p)["routeKey"] == "POST /orders"  # an alias
    with pytest.raises(UsageError, match="unknown event kind 'sq'") as e:
        sample_event("sq")
    assert e.value.hint is not None and e.value.hint.startswith("did you mean 'sqs'?")
    with pytest.raises(UsageError, match="the new item, a JSON object"):
        sample_event("dynamodb-stream", EventParams(body="[1, 2]"))


def test_the_event_command() -> None:
    from awslab.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["event", "sqs", "--body", "@-"], input="from a pipe")
    assert result.exit_code == 0, result.output
    assert SqsModel.model_validate(json.loads(result.stdout)).Records[0].body == "from a pipe"
    result = runner.invoke(app, ["event"])
    assert result.exit_code == 0 and all(kind in result.stdout for kind in KINDS)
    result = runner.invoke(app, ["event", "kinesis"])
    assert result.exit_code == 2 and "unknown event kind 'kinesis'" in result.stderr
