"""The AWS-like mode in a real local cloud process, driven by boto3 as awslab drives AWS: each
behaviour right after the call that causes it, then gone once botocore's waiter (or a retry, where
botocore has no waiter) gets through. And a local cloud without the mode behaves as before."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from awslab.errors import LocalCloudError
from awslab.local.daemon import LocalCloud
from awslab.local.like_aws import iam, lambda_states, names
from awslab.local.like_aws.settings import DEFAULT_SECONDS, LikeAws
from awslab.local.urls import HEALTH_PATH
from tests.local.apis import zip_of
from tests.local.conftest import RunningCloud, free_port, http

# Long enough that "right after" is always inside the window on a busy machine, short enough to wait.
SETTINGS = LikeAws(seconds={**DEFAULT_SECONDS, "iam": 4.0, "lambda_pending": 3.0, "lambda_update": 2.0,
                            "dynamodb_creating": 3.0, "dynamodb_deleting": 2.0, "sfn_deleting": 2.0})  # fmt: skip
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}]})  # fmt: skip
TABLE: dict[str, Any] = {"KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                         "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}  # fmt: skip
MACHINE = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
FAST = {"Delay": 1, "MaxAttempts": 60}


def cloud_at(state_dir: Path, port: int, like_aws: LikeAws | None) -> LocalCloud:
    with mock.patch.dict(os.environ, {"AWSLAB_STATE_DIR": str(state_dir)}):
        return LocalCloud(port, like_aws=like_aws)


def client(endpoint: str, service: str, *, retries: bool = True) -> Any:
    config = None if retries else Config(retries={"total_max_attempts": 1})
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="awslab",
                        aws_secret_access_key="awslab-local", config=config)  # fmt: skip


@pytest.fixture(scope="module")
def like_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    cloud = cloud_at(tmp_path_factory.mktemp("like-aws"), free_port(), SETTINGS)
    cloud.start(timeout=60)
    try:
        yield cloud
    finally:
        cloud.stop()


def fails(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def until_it_works(call: Callable[[], Any], timeout: float = 60) -> Any:
    """Retry a call that fails while AWS propagates (as awslab and the Terraform provider do)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_lambda_and_iam_behave_as_on_aws(like_cloud: LocalCloud) -> None:
    health = json.loads(http(like_cloud.endpoint + HEALTH_PATH).body)
    assert health["like_aws"] == SETTINGS.to_dict()
    assert like_cloud.status().like_aws == SETTINGS.to_dict()  # type: ignore[union-attr]
    lam, logs = client(like_cloud.endpoint, "lambda", retries=False), client(like_cloud.endpoint, "logs")
    role = client(like_cloud.endpoint, "iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)[
        "Role"
    ]["Arn"]

    def create() -> Any:
        return lam.create_function(FunctionName="fn", Runtime="python3.11", Role=role, Handler="app.handler",
                                   Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return 'v1'\n"})})  # fmt: skip

    assert fails(create) == ("InvalidParameterValueException", iam.LAMBDA_CANNOT_ASSUME)
    assert until_it_works(create)["State"] == "Pending"
    assert fails(lambda: lam.invoke(FunctionName="fn")) == (
        "ResourceConflictException",
        lambda_states.PENDING_MESSAGE,
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="fn", WaiterConfig=FAST)
    assert json.loads(lam.invoke(FunctionName="fn")["Payload"].read()) == "v1"

    new_code = zip_of({"app.py": "def handler(e, c):\n    return 'v2'\n"})
    assert lam.update_function_code(FunctionName="fn", ZipFile=new_code)["LastUpdateStatus"] == "InProgress"
    code, message = fails(lambda: lam.update_function_configuration(FunctionName="fn", Timeout=9))
    assert code == "ResourceConflictException" and message.startswith(
        "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:"
    )
    lam.invoke(FunctionName="fn")  # invokes still run during an update
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn", WaiterConfig=FAST)
    assert lam.update_function_configuration(FunctionName="fn", Timeout=9)["Timeout"] == 9

    # the invokes made the log group; it outlives the function, as on AWS
    lam.delete_function(FunctionName="fn")
    assert [
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/fn")["logGroups"]
    ] == ["/aws/lambda/fn"]


def test_tables_queues_state_machines_and_quotas_behave_as_on_aws(like_cloud: LocalCloud) -> None:
    ddb = client(like_cloud.endpoint, "dynamodb", retries=False)
    assert ddb.create_table(TableName="t", **TABLE)["TableDescription"]["TableStatus"] == "CREATING"
    assert fails(lambda: ddb.put_item(TableName="t", Item={"k": {"S": "a"}})) == (
        "ResourceNotFoundException", "Requested resource not found")  # fmt: skip
    ddb.get_waiter("table_exists").wait(TableName="t", WaiterConfig=FAST)
    ddb.put_item(TableName="t", Item={"k": {"S": "a"}})
    assert ddb.delete_table(TableName="t")["TableDescription"]["TableStatus"] == "DELETING"
    assert fails(lambda: ddb.create_table(TableName="t", **TABLE)) == (
        "ResourceInUseException",
        "Table already exists: t",
    )
    ddb.get_waiter("table_not_exists").wait(TableName="t", WaiterConfig=FAST)

    sqs = client(like_cloud.endpoint, "sqs", retries=False)
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName="jobs")["QueueUrl"])
    assert fails(lambda: sqs.create_queue(QueueName="jobs")) == (
        "AWS.SimpleQueueService.QueueDeletedRecently", names.QUEUE_DELETED_RECENTLY)  # fmt: skip

    role = client(like_cloud.endpoint, "iam").create_role(
        RoleName="sfn-role", AssumeRolePolicyDocument=TRUST
    )["Role"]["Arn"]
    sfn = client(like_cloud.endpoint, "stepfunctions", retries=False)

    def create() -> str:
        return str(sfn.create_state_machine(name="flow", definition=MACHINE, roleArn=role)["stateMachineArn"])

    assert fails(create) == ("AccessDeniedException", iam.STATES_CANNOT_ASSUME)
    machine = until_it_works(create)
    sfn.delete_state_machine(stateMachineArn=machine)
    assert sfn.describe_state_machine(stateMachineArn=machine)["status"] == "DELETING"
    assert fails(create) == ("StateMachineDeleting", names.STATE_MACHINE_DELETING)
    assert until_it_works(create) == machine

    apigw = client(like_cloud.endpoint, "apigateway", retries=False)
    regional = {"endpointConfiguration": {"types": ["REGIONAL"]}}
    apigw.create_rest_api(name="a", **regional)
    assert fails(lambda: apigw.create_rest_api(name="b", **regional)) == (
        "TooManyRequestsException",
        "Too Many Requests",
    )
    # botocore's own retries (3 attempts, backoff of at most 1 + 2 s) may not outlast 1 per 3 s: retry
    assert until_it_works(lambda: apigw.create_rest_api(name="b", **regional))["name"] == "b"


def test_without_the_mode_nothing_waits(running_cloud: RunningCloud, unique: Callable[[str], str]) -> None:
    assert json.loads(http(running_cloud.endpoint + HEALTH_PATH).body)["like_aws"] is None
    iam_client, lam = running_cloud.client("iam"), running_cloud.client("lambda")
    name = unique("plain")
    role = iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    created = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                                  Code={"ZipFile": zip_of({"app.py": "def handler(e, c):\n    return 1\n"})})  # fmt: skip
    assert created["State"] == "Active"
    assert lam.invoke(FunctionName=name)["StatusCode"] == 200
    lam.update_function_configuration(FunctionName=name, Timeout=5)
    assert lam.update_function_configuration(FunctionName=name, Timeout=6)["LastUpdateStatus"] == "Successful"
    lam.delete_function(FunctionName=name)  # the log group the invoke made stays in this mode too
    groups = running_cloud.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")[
        "logGroups"
    ]
    assert [g["logGroupName"] for g in groups] == [f"/aws/lambda/{name}"]
    ddb = running_cloud.client("dynamodb")
    assert ddb.create_table(TableName=name, **TABLE)["TableDescription"]["TableStatus"] == "ACTIVE"
    sqs = running_cloud.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName=name)["QueueUrl"])
    sqs.create_queue(QueueName=name)


def test_a_cloud_running_in_another_mode_is_not_reused(
    running_cloud: RunningCloud, like_cloud: LocalCloud, tmp_path: Path
) -> None:
    plain = cloud_at(tmp_path, running_cloud.cloud.port, LikeAws())
    with pytest.raises(LocalCloudError) as exc:
        plain.ensure_running()
    assert "runs without the AWS-like mode" in exc.value.message and "awslab local stop" in str(
        exc.value.hint
    )
    other = cloud_at(tmp_path, like_cloud.port, LikeAws(scale=0.1))
    with pytest.raises(LocalCloudError) as exc:
        other.ensure_running()
    assert (
        "runs with other AWS-like settings (scale 1, " in exc.value.message
        and "asked: scale 0.1" in exc.value.message
    )
    # asking for nothing reuses either; asking for the same settings reuses the AWS-like one
    assert cloud_at(tmp_path, running_cloud.cloud.port, None).ensure_running()[1] is False
    assert cloud_at(tmp_path, like_cloud.port, SETTINGS).ensure_running()[1] is False
