"""Helpers for the messaging / image / workflow kind tests: prerequisites made with plain boto3,
a log of the API calls the kinds make (botocore event hooks), and injected AWS errors."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from botocore.awsrequest import AWSResponse

from awslab.resources.base import Context, Record

ACCOUNT = "123456789012"  # moto's default account


def make_role(ctx: Context, name: str = "test-role", service: str = "lambda") -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": f"{service}.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = ctx.client("iam")
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def make_function(ctx: Context, name: str, role_arn: str | None = None) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {}\n")
    role = role_arn or make_role(ctx, f"{name}-role")
    fn = ctx.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": buf.getvalue()},
    )
    return str(fn["FunctionArn"])


def make_queue(ctx: Context, name: str) -> tuple[str, str]:
    sqs = ctx.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def queue_policy(ctx: Context, url: str) -> dict[str, Any] | None:
    attrs = (
        ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    )
    return json.loads(attrs["Policy"]) if attrs.get("Policy") else None


def function_policy(ctx: Context, function: str) -> list[dict[str, Any]]:
    lam = ctx.client("lambda")
    try:
        return list(json.loads(lam.get_policy(FunctionName=function)["Policy"])["Statement"])
    except lam.exceptions.ResourceNotFoundException:
        return []


def record_calls(ctx: Context, *services: str) -> list[str]:
    """Every API call the given services' clients make from now on, in order, as
    'service.Operation'. Failures injected by `fail_first` are not in it: its hook answers first
    (botocore runs an operation's own handlers before the generic ones) and ends the event."""
    calls: list[str] = []

    def hook(event_name: str, model: Any, **_: Any) -> None:
        calls.append(f"{event_name.split('.')[1]}.{model.name}")

    for service in services:
        ctx.client(service).meta.events.register("before-call", hook)
    return calls


def fail_first(
    ctx: Context, service: str, operation: str, code: str, message: str, times: int = 1
) -> list[int]:
    """Make the next `times` calls of `operation` fail with the AWS error (code, message), as AWS
    would while something propagates. Returns a one-item list counting the injected failures."""
    client = ctx.client(service)
    failed = [0]

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if failed[0] >= times:
            return None
        failed[0] += 1
        parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://example.invalid", 400, {}, None), parsed

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service_id}.{operation}", hook)
    return failed


def creating_record(kind: str, logical: str, physical: str) -> Record:
    """What the state holds when the process died between the create call and the state write."""
    return Record(kind=kind, logical=logical, physical=physical, status="creating", attrs={})


def created_record(kind: str, logical: str, physical: str, attrs: dict[str, Any]) -> Record:
    return Record(kind=kind, logical=logical, physical=physical, status="created", attrs=dict(attrs))


def grant_stream_read(ctx: Context, role_arn: str, resource: str = "*") -> None:
    """What Lambda's CreateEventSourceMapping checks a stream's mapping's role for."""
    statement = {"Effect": "Allow", "Resource": resource, "Action": [
        "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream", "dynamodb:ListStreams"]}  # fmt: skip
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    name = role_arn.rsplit("/", 1)[1]
    ctx.client("iam").put_role_policy(RoleName=name, PolicyName="stream", PolicyDocument=policy)
