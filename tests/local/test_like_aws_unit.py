"""The AWS-like layer in front of moto, on a clock the tests move: each behaviour seen through boto3
with AWS's exact code, HTTP status and message, and gone once its time has passed."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from awslab.local.like_aws import apigw_quotas, dynamodb, iam, lambda_states, names
from awslab.local.like_aws.settings import DEFAULT_SECONDS, LikeAws
from tests.local.apis import ACCOUNT, zip_of
from tests.local.like_aws_server import LikeAwsServer, like_aws_server

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}]})  # fmt: skip
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
)
MACHINE = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
IAM_S, PENDING_S, UPDATE_S = (
    DEFAULT_SECONDS["iam"],
    DEFAULT_SECONDS["lambda_pending"],
    DEFAULT_SECONDS["lambda_update"],
)


@pytest.fixture
def srv() -> Iterator[LikeAwsServer]:
    with like_aws_server() as server:
        try:
            yield server
        finally:  # moto's backends live in this process: leave them empty
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                urllib.request.Request(server.endpoint + "/moto-api/reset", method="POST", data=b"")
            ).read()


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response: Any = exc.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def role(srv: LikeAwsServer, name: str) -> str:
    return str(srv.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"])


def function(srv: LikeAwsServer, name: str, role_arn: str) -> dict[str, Any]:
    return dict(srv.client("lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role_arn,
                Handler="app.handler", Code={"ZipFile": zip_of({"app.py": "def handler(e, c): return 1\n"})}))  # fmt: skip


def active_function(srv: LikeAwsServer, name: str) -> dict[str, Any]:
    arn = role(srv, f"{name}-role")
    srv.clock.advance(IAM_S)
    created = function(srv, name, arn)
    srv.clock.advance(PENDING_S)
    return created


# ---- IAM propagation ------------------------------------------------------------------------------
def test_a_new_role_cannot_be_assumed_by_lambda_for_a_while(srv: LikeAwsServer) -> None:
    arn = role(srv, "fresh")
    with pytest.raises(ClientError) as exc:
        function(srv, "fn", arn)
    assert error(exc) == (400, "InvalidParameterValueException", iam.LAMBDA_CANNOT_ASSUME)
    srv.clock.advance(IAM_S - 0.5)
    with pytest.raises(ClientError):
        function(srv, "fn", arn)
    srv.clock.advance(0.5)
    assert function(srv, "fn", arn)["FunctionName"] == "fn"
    srv.clock.advance(PENDING_S)
    # a role changed again (its trust policy) is not usable in UpdateFunctionConfiguration either
    srv.client("iam").update_assume_role_policy(RoleName="fresh", PolicyDocument=TRUST)
    with pytest.raises(ClientError) as exc:
        srv.client("lambda").update_function_configuration(FunctionName="fn", Role=arn)
    assert error(exc) == (400, "InvalidParameterValueException", iam.LAMBDA_CANNOT_ASSUME)
    srv.client("lambda").update_function_configuration(FunctionName="fn", Timeout=9)  # no role named: fine


def test_a_new_role_cannot_be_assumed_by_step_functions_for_a_while(srv: LikeAwsServer) -> None:
    arn = role(srv, "sfn-role")
    sfn = srv.client("stepfunctions")
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="m", definition=MACHINE, roleArn=arn)
    assert error(exc) == (400, "AccessDeniedException", iam.STATES_CANNOT_ASSUME)
    srv.clock.advance(IAM_S)
    machine = sfn.create_state_machine(name="m", definition=MACHINE, roleArn=arn)["stateMachineArn"]
    srv.client("iam").update_assume_role_policy(RoleName="sfn-role", PolicyDocument=TRUST)
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=machine, roleArn=arn)
    assert error(exc)[1] == "AccessDeniedException"


def test_new_permissions_of_the_role_are_not_seen_by_an_sqs_event_source_for_a_while(
    srv: LikeAwsServer,
) -> None:
    active_function(srv, "consumer")
    queue = srv.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = srv.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    srv.client("iam").put_role_policy(RoleName="consumer-role", PolicyName="sqs", PolicyDocument=POLICY)
    lam = srv.client("lambda")
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=queue_arn)
    assert error(exc) == (400, "InvalidParameterValueException", iam.NO_RECEIVE_MESSAGE)
    # a permission change does not stop Lambda from assuming the role
    lam.update_function_configuration(
        FunctionName="consumer", Role=f"arn:aws:iam::{ACCOUNT}:role/consumer-role"
    )
    srv.clock.advance(IAM_S)
    mapping = lam.create_event_source_mapping(FunctionName=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:consumer",
                                              EventSourceArn=queue_arn)  # fmt: skip
    assert mapping["UUID"]


# ---- Lambda states --------------------------------------------------------------------------------
def test_a_new_function_is_pending_and_refuses_invokes_and_updates(srv: LikeAwsServer) -> None:
    arn = role(srv, "r")
    srv.clock.advance(IAM_S)
    created = function(srv, "fn", arn)
    assert (created["State"], created["StateReason"], created["StateReasonCode"]) == (
        "Pending", "The function is being created.", "Creating")  # fmt: skip
    assert "LastUpdateStatus" not in created
    lam = srv.client("lambda")
    assert lam.get_function(FunctionName="fn")["Configuration"]["State"] == "Pending"
    assert lam.get_function_configuration(FunctionName=created["FunctionArn"])["State"] == "Pending"
    assert "State" not in lam.list_functions()["Functions"][0]  # ListFunctions never shows it
    for attempt in (
        lambda: lam.invoke(FunctionName="fn"),
        lambda: lam.update_function_code(FunctionName="fn", ZipFile=zip_of({"app.py": "x = 1\n"})),
        lambda: lam.update_function_configuration(FunctionName="fn", Timeout=5),
        lambda: lam.publish_version(FunctionName="fn"),
    ):
        with pytest.raises(ClientError) as exc:
            attempt()
        assert error(exc) == (409, "ResourceConflictException", lambda_states.PENDING_MESSAGE)
    srv.clock.advance(PENDING_S)
    config = lam.get_function_configuration(FunctionName="fn")
    assert (config["State"], config["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in config
    lam.get_waiter("function_active_v2").wait(FunctionName="fn", WaiterConfig={"Delay": 1, "MaxAttempts": 1})


def test_an_update_is_in_progress_for_a_while_and_refuses_further_updates(srv: LikeAwsServer) -> None:
    fn_arn = active_function(srv, "fn")["FunctionArn"]
    lam = srv.client("lambda")
    updated = lam.update_function_configuration(FunctionName="fn", Timeout=5)
    assert (updated["State"], updated["LastUpdateStatus"], updated["LastUpdateStatusReasonCode"]) == (
        "Active", "InProgress", "Creating")  # fmt: skip
    assert lam.get_function(FunctionName="fn")["Configuration"]["LastUpdateStatus"] == "InProgress"
    expected = (409, "ResourceConflictException", lambda_states.UPDATING_MESSAGE.format(arn=fn_arn))
    for attempt in (
        lambda: lam.update_function_code(FunctionName="fn", ZipFile=zip_of({"app.py": "x = 1\n"})),
        lambda: lam.update_function_configuration(FunctionName="fn", Timeout=6),
        lambda: lam.publish_version(FunctionName="fn"),
    ):
        with pytest.raises(ClientError) as exc:
            attempt()
        assert error(exc) == expected
    srv.clock.advance(UPDATE_S)
    lam.get_waiter("function_updated_v2").wait(FunctionName="fn", WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    assert lam.update_function_code(FunctionName="fn", ZipFile=zip_of({"app.py": "x = 2\n"}))[
        "LastUpdateStatus"
    ] == ("InProgress")
    srv.clock.advance(UPDATE_S)
    assert lam.publish_version(FunctionName="fn")["Version"] == "1"


def test_a_deleted_and_recreated_function_starts_pending_again(srv: LikeAwsServer) -> None:
    arn = active_function(srv, "fn")["Role"]
    lam = srv.client("lambda")
    lam.delete_function(FunctionName="fn")
    function(srv, "fn", arn)
    assert lam.get_function(FunctionName="fn")["Configuration"]["State"] == "Pending"


# ---- DynamoDB -------------------------------------------------------------------------------------
TABLE: dict[str, Any] = {"KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                         "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}  # fmt: skip


def test_a_new_table_is_creating_and_refuses_items_and_changes(srv: LikeAwsServer) -> None:
    ddb = srv.client("dynamodb")
    assert ddb.create_table(TableName="t", **TABLE)["TableDescription"]["TableStatus"] == "CREATING"
    assert ddb.describe_table(TableName="t")["Table"]["TableStatus"] == "CREATING"
    in_use = (
        400,
        "ResourceInUseException",
        "Attempt to change a resource which is still in use: Table is being created: t",
    )
    for attempt, expected in (
        (lambda: ddb.put_item(TableName="t", Item={"k": {"S": "a"}}), (400, "ResourceNotFoundException", dynamodb.NOT_FOUND)),
        (lambda: ddb.get_item(TableName="t", Key={"k": {"S": "a"}}), (400, "ResourceNotFoundException", dynamodb.NOT_FOUND)),
        (lambda: ddb.batch_write_item(RequestItems={"t": [{"PutRequest": {"Item": {"k": {"S": "a"}}}}]}),
         (400, "ResourceNotFoundException", dynamodb.NOT_FOUND)),
        (lambda: ddb.update_time_to_live(TableName="t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "x"}),
         (400, "ResourceNotFoundException", "Requested resource not found: Table: t not found")),
        (lambda: ddb.update_table(TableName="t", BillingMode="PAY_PER_REQUEST"), in_use),
        (lambda: ddb.delete_table(TableName="t"), in_use),
        (lambda: ddb.create_table(TableName="t", **TABLE), in_use),
    ):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            attempt()
        assert error(exc) == expected
    srv.clock.advance(DEFAULT_SECONDS["dynamodb_creating"])
    ddb.get_waiter("table_exists").wait(TableName="t", WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    ddb.put_item(TableName="t", Item={"k": {"S": "a"}})


def test_a_deleted_table_is_deleting_for_a_while(srv: LikeAwsServer) -> None:
    ddb = srv.client("dynamodb")
    ddb.create_table(TableName="t", **TABLE)
    srv.clock.advance(DEFAULT_SECONDS["dynamodb_creating"])
    assert ddb.delete_table(TableName="t")["TableDescription"]["TableStatus"] == "DELETING"
    assert ddb.describe_table(TableName="t")["Table"]["TableStatus"] == "DELETING"
    for attempt, message in (
        (lambda: ddb.create_table(TableName="t", **TABLE), "Table already exists: t"),
        (lambda: ddb.delete_table(TableName="t"), "Attempt to change a resource which is still in use: Table is being deleted: t"),
    ):  # fmt: skip
        with pytest.raises(ClientError) as exc:
            attempt()
        assert error(exc) == (400, "ResourceInUseException", message)
    srv.clock.advance(DEFAULT_SECONDS["dynamodb_deleting"])
    ddb.get_waiter("table_not_exists").wait(TableName="t", WaiterConfig={"Delay": 1, "MaxAttempts": 1})
    assert ddb.create_table(TableName="t", **TABLE)["TableDescription"]["TableStatus"] == "CREATING"


# ---- API Gateway quotas ---------------------------------------------------------------------------
def test_api_gateway_control_plane_quotas(srv: LikeAwsServer) -> None:
    apigw = srv.client("apigateway")
    regional = {"endpointConfiguration": {"types": ["REGIONAL"]}}
    apigw.create_rest_api(name="a", **regional)
    with pytest.raises(ClientError) as exc:
        apigw.create_rest_api(name="b", **regional)
    assert error(exc) == (429, "TooManyRequestsException", apigw_quotas.TOO_MANY)
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "3"
    srv.clock.advance(3)
    apigw.create_rest_api(name="b", **regional)
    srv.clock.advance(3)
    apigw.create_rest_api(name="edge")  # edge-optimized, AWS's default: 1 every 30 s
    srv.clock.advance(3)
    with pytest.raises(ClientError) as exc:
        apigw.create_rest_api(name="edge2")
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "27"
    # every operation: 10 per second with a burst of 40
    srv.clock.advance(30)
    for _ in range(40):
        apigw.get_rest_apis()
    with pytest.raises(ClientError) as exc:
        apigw.get_rest_apis()
    assert error(exc)[:2] == (429, "TooManyRequestsException")
    srv.clock.advance(0.1)
    apigw.get_rest_apis()


def test_quotas_can_be_turned_off() -> None:
    with like_aws_server(LikeAws(apigw_quotas=False)) as srv:
        apigw = srv.client("apigateway")
        ids = [apigw.create_rest_api(name=f"api{i}")["id"] for i in range(3)]
        for api_id in ids:
            apigw.delete_rest_api(restApiId=api_id)


# ---- names taken after a delete -------------------------------------------------------------------
def test_a_deleted_queue_name_cannot_be_reused_for_60_seconds(srv: LikeAwsServer) -> None:
    sqs = srv.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName="jobs")["QueueUrl"])
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName="jobs")
    assert error(exc) == (400, "AWS.SimpleQueueService.QueueDeletedRecently", names.QUEUE_DELETED_RECENTLY)
    sqs.create_queue(QueueName="jobs-2")  # other names are free
    srv.clock.advance(60)
    sqs.create_queue(QueueName="jobs")


def test_query_protocol_clients_get_the_query_error(srv: LikeAwsServer) -> None:
    """Older SDKs call SQS with the query protocol: the same error in query XML."""
    from werkzeug.test import EnvironBuilder

    sqs = srv.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName="old")["QueueUrl"])
    environ = EnvironBuilder(method="POST", path="/", data="Action=CreateQueue&QueueName=old",
                             content_type="application/x-www-form-urlencoded",
                             headers={"Authorization": "AWS4-HMAC-SHA256 Credential=a/20250101/us-east-1/sqs/aws4_request, "
                                                       "SignedHeaders=host, Signature=x"}).get_environ()  # fmt: skip
    seen: list[str] = []
    body = b"".join(srv.app(environ, lambda status, headers: seen.append(status)))
    assert seen == ["400 Bad Request"]
    assert b"<Code>AWS.SimpleQueueService.QueueDeletedRecently</Code>" in body


def test_a_deleted_state_machine_is_deleting_for_a_while(srv: LikeAwsServer) -> None:
    arn = role(srv, "sfn")
    srv.clock.advance(IAM_S)
    sfn = srv.client("stepfunctions")
    machine = sfn.create_state_machine(name="flow", definition=MACHINE, roleArn=arn)["stateMachineArn"]
    sfn.delete_state_machine(stateMachineArn=machine)
    described = sfn.describe_state_machine(stateMachineArn=machine)
    assert (described["status"], described["name"]) == ("DELETING", "flow")
    for attempt in (
        lambda: sfn.create_state_machine(name="flow", definition=MACHINE, roleArn=arn),
        lambda: sfn.start_execution(stateMachineArn=machine, name="run"),
    ):
        with pytest.raises(ClientError) as exc:
            attempt()
        assert error(exc) == (400, "StateMachineDeleting", names.STATE_MACHINE_DELETING)
    srv.clock.advance(DEFAULT_SECONDS["sfn_deleting"])
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=machine)
    assert error(exc)[1] == "StateMachineDoesNotExist"
    sfn.create_state_machine(name="flow", definition=MACHINE, roleArn=arn)


# ---- the layer itself -----------------------------------------------------------------------------
def test_a_reset_forgets_every_window(srv: LikeAwsServer) -> None:
    srv.client("dynamodb").create_table(TableName="t", **TABLE)
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        urllib.request.Request(srv.endpoint + "/moto-api/reset", method="POST", data=b"")
    ).read()
    assert srv.client("dynamodb").create_table(TableName="t", **TABLE)["TableDescription"]["TableName"] == "t"
    srv.clock.advance(DEFAULT_SECONDS["dynamodb_creating"])
    assert srv.client("dynamodb").describe_table(TableName="t")["Table"]["TableStatus"] == "ACTIVE"


def test_scale_multiplies_every_delay() -> None:
    with like_aws_server(LikeAws(scale=0.1)) as srv:
        ddb = srv.client("dynamodb")
        ddb.create_table(TableName="scaled", **TABLE)
        srv.clock.advance(DEFAULT_SECONDS["dynamodb_creating"] * 0.1)
        assert ddb.describe_table(TableName="scaled")["Table"]["TableStatus"] == "ACTIVE"
        ddb.delete_table(TableName="scaled")
        srv.clock.advance(DEFAULT_SECONDS["dynamodb_deleting"])
