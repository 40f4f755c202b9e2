"""AWS's windows (Pending, IAM propagation, CREATING) count from the call that opens them: the
time moto takes to answer it is the emulator's own, and must not lengthen them."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from awslab.local.like_aws.settings import DEFAULT_SECONDS
from tests.local.like_aws_server import LikeAwsServer, like_aws_server
from tests.local.test_like_aws_unit import TRUST, function

MOTO_SECONDS = 1.0  # what a slow moto takes to answer each call that opens a window


@pytest.fixture
def slow() -> Iterator[LikeAwsServer]:
    """The AWS-like layer in front of a moto that moves the clock while it answers."""
    with like_aws_server() as server:
        moto = server.app.app

        def slow_moto(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("REQUEST_METHOD") in ("POST", "PUT"):  # the calls that change something
                server.clock.advance(MOTO_SECONDS)
            return moto(environ, start_response)

        server.app.app = slow_moto
        try:
            yield server
        finally:
            server.app.app = moto
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                urllib.request.Request(server.endpoint + "/moto-api/reset", method="POST", data=b"")
            ).read()


def test_windows_count_from_the_call_not_from_motos_answer(slow: LikeAwsServer) -> None:
    arn = slow.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    table = {"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
             "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}  # fmt: skip
    slow.client("dynamodb").create_table(TableName="t", **table)  # 1 s after the role's call
    # 8 s after CreateRole arrived (the POSTs since moved the clock 2 s): the role is assumable
    slow.clock.advance(DEFAULT_SECONDS["iam"] - 2 * MOTO_SECONDS)
    function(slow, "f", arn)  # arrives at 8 s, answered at 9 s
    ddb = slow.client("dynamodb")
    assert ddb.describe_table(TableName="t")["Table"]["TableStatus"] == "ACTIVE"  # CREATING: 5 s from 1 s
    slow.clock.advance(DEFAULT_SECONDS["lambda_pending"] - MOTO_SECONDS)  # 3 s after CreateFunction arrived
    lam = slow.client("lambda")
    assert lam.get_function(FunctionName="f")["Configuration"]["State"] == "Active"
    lam.update_function_configuration(FunctionName="f", Timeout=30)
    slow.clock.advance(DEFAULT_SECONDS["lambda_update"] - MOTO_SECONDS)  # InProgress: 2 s from the call
    assert lam.get_function(FunctionName="f")["Configuration"]["LastUpdateStatus"] == "Successful"


def test_a_window_still_lasts_its_whole_length_from_the_call(slow: LikeAwsServer) -> None:
    arn = slow.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    slow.clock.advance(DEFAULT_SECONDS["iam"] - MOTO_SECONDS - 0.5)  # 0.5 s before the window closes
    with pytest.raises(ClientError, match="cannot be assumed by Lambda"):
        function(slow, "f", arn)


def test_a_queue_name_is_free_again_60_s_after_the_delete_call(slow: LikeAwsServer) -> None:
    sqs = slow.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)  # arrives at t, answered at t + 1 s
    slow.clock.advance(DEFAULT_SECONDS["sqs_name_reuse"] - MOTO_SECONDS)  # t + 60 s
    assert sqs.create_queue(QueueName="q")["QueueUrl"].endswith("/q")
