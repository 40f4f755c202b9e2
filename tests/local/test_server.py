"""The server's own settings, seen from outside: Step Functions really executes (and reaches Lambda
on the server's port), and S3 answers CORS from the bucket's configuration, not moto's allow-all."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from tests.local.apis import ACCOUNT, create_function
from tests.local.conftest import RunningCloud, http


def test_step_functions_run_lambda_tasks(running_cloud: RunningCloud, unique: Callable[[str], str]) -> None:
    fn = create_function(running_cloud.client("lambda"), running_cloud.client("iam"), unique("double"),
                         "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n")  # fmt: skip
    sfn = running_cloud.client("stepfunctions")
    definition = {"StartAt": "Double", "States": {"Double": {"Type": "Task", "Resource": fn, "End": True}}}
    machine = sfn.create_state_machine(name=unique("machine"), definition=json.dumps(definition),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]  # fmt: skip
    execution = sfn.start_execution(stateMachineArn=machine, name=unique("run"), input='{"n": 21}')[
        "executionArn"
    ]
    deadline = time.monotonic() + 60
    described = sfn.describe_execution(executionArn=execution)
    while described["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval: no waiter exists for executions
        described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"doubled": 42}


def test_s3_cors_comes_from_the_bucket(running_cloud: RunningCloud, unique: Callable[[str], str]) -> None:
    """Browsers reach S3 with presigned URLs (the control plane refuses them otherwise)."""
    s3 = running_cloud.client("s3")
    bucket = unique("cors")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a.txt"})
    res = http(url, headers={"Origin": "http://elsewhere.example"})
    assert res.status == 200 and res.body == b"a" and "Access-Control-Allow-Origin" not in res.headers
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["http://localhost:4580"], "AllowedMethods": ["GET"]}]})  # fmt: skip
    res = http(url, headers={"Origin": "http://localhost:4580"})
    assert res.headers["Access-Control-Allow-Origin"] == "http://localhost:4580"
    preflight = http(url, method="OPTIONS", headers={"Origin": "http://localhost:4580",
                                                     "Access-Control-Request-Method": "GET"})  # fmt: skip
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:4580"
