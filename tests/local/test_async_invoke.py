"""Asynchronous sources are asynchronous, with AWS's semantics: S3 notifications, SNS deliveries and
Invoke(Event) return before the handler has run; a failing handler is retried twice (or
MaximumRetryAttempts times) and then lands in the on-failure destination or the dead-letter queue
with AWS's shapes; events older than MaximumEventAgeInSeconds are given up. The last test runs the
same through a real local cloud process, reset and shutdown included."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from awslab.local.executor import LambdaExecutor
from tests.local.conftest import RunningCloud, make_cloud
from tests.local.lambda_helpers import process_gone, wait_for, zip_of

# Fixtures: lambda_executor, lambda_client, make_lambda, lambda_role.
pytest_plugins = ["tests.local.lambda_fixtures"]

# Notes its start (OUT.started), sleeps SLEEP seconds, then records its request id and event (one
# JSON line in OUT), then fails when FAIL is set: the record is the side effect the tests wait for.
HANDLER = """
import json, os, time
def handler(event, context):
    with open(os.environ["OUT"] + ".started", "a") as started:
        started.write(context.aws_request_id + "\\n")
    time.sleep(float(os.environ.get("SLEEP", "0")))
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps({"request_id": context.aws_request_id, "event": event}) + "\\n")
    if os.environ.get("FAIL"):
        raise RuntimeError("boom: " + json.dumps(event))
    return {"ok": True}
"""
FAST = 0.001  # retries after 60 ms and 120 ms instead of AWS's 1 and 2 minutes


def runs(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


@pytest.fixture
def fast_retries(lambda_executor: LambdaExecutor) -> LambdaExecutor:
    lambda_executor.async_events.retry_scale = FAST
    return lambda_executor


@pytest.fixture
def recorder(make_lambda: Callable[..., str], tmp_path: Path) -> Callable[..., tuple[str, Path]]:
    """make(name, sleep=0, fail=False, **options) -> (function ARN, its runs file)."""

    def make(name: str, sleep: float = 0, fail: bool = False, **options: Any) -> tuple[str, Path]:
        out = tmp_path / f"{name}.jsonl"
        env = {"OUT": str(out), "SLEEP": str(sleep), **({"FAIL": "1"} if fail else {})}
        return make_lambda(name, HANDLER, Environment={"Variables": env}, Timeout=10, **options), out

    return make


def queue(name: str) -> tuple[str, str]:
    """A new SQS queue: (url, arn)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive(url: str, timeout: float = 15.0) -> dict[str, Any]:
    """The one message that arrives on the queue, with its attributes."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    got: list[dict[str, Any]] = []

    def arrived() -> bool:
        got.extend(sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"]).get("Messages", []))
        return bool(got)

    assert wait_for(arrived, timeout), "nothing arrived"
    (message,) = got
    return message


# ---- returning at once --------------------------------------------------------------------------
def test_invoke_event_returns_202_before_the_handler_has_run(
    lambda_executor: LambdaExecutor, lambda_client: Any, recorder: Callable[..., tuple[str, Path]]
) -> None:
    _, out = recorder("slow", sleep=2)
    resp = lambda_client.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"n": 1}')
    assert resp["StatusCode"] == 202 and resp["Payload"].read() == b"" and "FunctionError" not in resp
    assert runs(out) == []  # returned while the handler still sleeps
    assert wait_for(lambda: len(runs(out)) == 1)
    assert runs(out)[0]["event"] == {"n": 1}


def test_put_object_returns_before_the_notified_handler_has_run(
    lambda_executor: LambdaExecutor, recorder: Callable[..., tuple[str, Path]]
) -> None:
    arn, out = recorder("thumbnailer", sleep=2)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="photos")
    s3.put_bucket_notification_configuration(
        Bucket="photos",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")
    assert runs(out) == []
    assert wait_for(lambda: len(runs(out)) == 1)
    (record,) = runs(out)[0]["event"]["Records"]
    assert record["s3"]["object"]["key"] == "cat.jpg"


def test_publish_returns_before_the_subscribed_handler_has_run(
    lambda_executor: LambdaExecutor, recorder: Callable[..., tuple[str, Path]]
) -> None:
    arn, out = recorder("notifier", sleep=2)
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    message_id = sns.publish(TopicArn=topic, Message="tea")["MessageId"]
    assert runs(out) == []
    assert wait_for(lambda: len(runs(out)) == 1)
    assert runs(out)[0]["event"]["Records"][0]["Sns"]["MessageId"] == message_id


# ---- retries, destinations, dead letters --------------------------------------------------------
def test_a_failing_handler_runs_three_times_then_its_record_goes_to_the_on_failure_queue(
    fast_retries: LambdaExecutor, lambda_client: Any, recorder: Callable[..., tuple[str, Path]]
) -> None:
    arn, out = recorder("fails", fail=True)
    url, queue_arn = queue("failures")
    lambda_client.put_function_event_invoke_config(
        FunctionName="fails", DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    lambda_client.invoke(FunctionName="fails", InvocationType="Event", Payload=b'{"order": 7}')

    record = json.loads(receive(url)["Body"])
    attempts = runs(out)
    assert len(attempts) == 3  # the first run and AWS's two retries
    assert {a["request_id"] for a in attempts} == {record["requestContext"]["requestId"]}  # one request
    assert set(record) == {"version", "timestamp", "requestContext", "requestPayload", "responseContext",
                           "responsePayload"}  # fmt: skip
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": attempts[0]["request_id"],
        "functionArn": f"{arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"order": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                         "functionError": "Unhandled"}  # fmt: skip
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == 'boom: {"order": 7}'
    assert wait_for(lambda: fast_retries.async_events.pending() == 0)
    assert len(runs(out)) == 3  # no fourth attempt


def test_dead_letter_queue_gets_the_event_with_aws_attributes(
    fast_retries: LambdaExecutor, lambda_client: Any, recorder: Callable[..., tuple[str, Path]]
) -> None:
    url, queue_arn = queue("dead-letters")
    _, out = recorder("fails-dlq", fail=True, DeadLetterConfig={"TargetArn": queue_arn})
    config = lambda_client.get_function_configuration(FunctionName="fails-dlq")
    assert config["DeadLetterConfig"] == {"TargetArn": queue_arn}  # moto alone forgets it
    payload = b'{"order":  8}'  # the body is the event as sent, spacing included
    lambda_client.invoke(FunctionName="fails-dlq", InvocationType="Event", Payload=payload)

    message = receive(url)
    assert message["Body"] == payload.decode()
    request_id = runs(out)[0]["request_id"]
    assert message["MessageAttributes"] == {
        "RequestID": {"StringValue": request_id, "DataType": "String"},
        "ErrorCode": {"StringValue": "200", "DataType": "Number"},
        "ErrorMessage": {"StringValue": 'boom: {"order": 8}', "DataType": "String"},
    }
    assert len(runs(out)) == 3

    lambda_client.update_function_configuration(FunctionName="fails-dlq", DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in lambda_client.get_function_configuration(FunctionName="fails-dlq")


def test_maximum_retry_attempts_zero_gives_up_after_one_run_and_success_goes_on_success(
    fast_retries: LambdaExecutor, lambda_client: Any, recorder: Callable[..., tuple[str, Path]]
) -> None:
    _, failing = recorder("once", fail=True)
    _, working = recorder("works")
    failures_url, failures_arn = queue("once-failures")
    successes_url, successes_arn = queue("successes")
    lambda_client.put_function_event_invoke_config(FunctionName="once", MaximumRetryAttempts=1)
    lambda_client.put_function_event_invoke_config(  # Put replaces: MaximumRetryAttempts 1 is gone
        FunctionName="once", DestinationConfig={"OnFailure": {"Destination": failures_arn}}
    )
    lambda_client.update_function_event_invoke_config(FunctionName="once", MaximumRetryAttempts=0)  # merges
    assert lambda_client.get_function_event_invoke_config(FunctionName="once")["MaximumRetryAttempts"] == 0
    lambda_client.put_function_event_invoke_config(
        FunctionName="works", DestinationConfig={"OnSuccess": {"Destination": successes_arn}}
    )
    lambda_client.invoke(FunctionName="once", InvocationType="Event", Payload=b"{}")
    lambda_client.invoke(FunctionName="works", InvocationType="Event", Payload=b'{"fine": true}')

    failed = json.loads(receive(failures_url)["Body"])
    assert failed["requestContext"]["condition"] == "RetriesExhausted"
    assert failed["requestContext"]["approximateInvokeCount"] == 1 and len(runs(failing)) == 1
    succeeded = json.loads(receive(successes_url)["Body"])
    assert succeeded["requestContext"]["condition"] == "Success"
    assert succeeded["requestContext"]["approximateInvokeCount"] == 1
    assert succeeded["requestPayload"] == {"fine": True} and succeeded["responsePayload"] == {"ok": True}
    assert succeeded["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert len(runs(working)) == 1


def test_an_event_older_than_its_maximum_age_is_given_up(
    fast_retries: LambdaExecutor, lambda_client: Any, recorder: Callable[..., tuple[str, Path]]
) -> None:
    """The first retry comes due a minute after the first run on AWS's clock (whatever the local
    scale), so an event that may live 60 s is given up there: one run, EventAgeExceeded."""
    _, out = recorder("aged", fail=True)
    url, queue_arn = queue("aged-failures")
    lambda_client.put_function_event_invoke_config(
        FunctionName="aged",
        MaximumEventAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    lambda_client.invoke(FunctionName="aged", InvocationType="Event", Payload=b'{"late": true}')
    record = json.loads(receive(url)["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1 and len(runs(out)) == 1
    assert record["responseContext"]["functionError"] == "Unhandled"


def test_sns_and_lambda_destinations_get_the_record(
    fast_retries: LambdaExecutor, lambda_client: Any, recorder: Callable[..., tuple[str, Path]]
) -> None:
    """On success the record goes to an SNS topic (here forwarded to a queue); on failure to another
    function, invoked asynchronously with the record as its event."""
    _, out = recorder("source", fail=True)
    handler_arn, handled = recorder("failure-handler")
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="results")["TopicArn"]
    url, queue_arn = queue("results-copy")
    raw = {"RawMessageDelivery": "true"}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=raw)
    _, ok_out = recorder("ok")
    lambda_client.put_function_event_invoke_config(
        FunctionName="source", MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": handler_arn}},
    )  # fmt: skip
    lambda_client.put_function_event_invoke_config(
        FunctionName="ok", DestinationConfig={"OnSuccess": {"Destination": topic}}
    )
    lambda_client.invoke(FunctionName="source", InvocationType="Event", Payload=b'{"a": 1}')
    lambda_client.invoke(FunctionName="ok", InvocationType="Event", Payload=b'{"b": 2}')

    assert wait_for(lambda: len(runs(handled)) == 1)
    record = runs(handled)[0]["event"]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"a": 1}
    published = json.loads(receive(url)["Body"])
    assert published["requestContext"]["condition"] == "Success" and published["requestPayload"] == {"b": 2}
    assert len(runs(out)) == 1 and len(runs(ok_out)) == 1


# ---- stopping -----------------------------------------------------------------------------------
def test_reset_and_delete_drop_pending_retries_and_shutdown_stops_the_queue(
    lambda_executor: LambdaExecutor, lambda_client: Any, recorder: Callable[..., tuple[str, Path]]
) -> None:
    """Retries wait 1 s (the default scale): a reset or a DeleteFunction meanwhile leaves nothing
    queued, and a shutdown with an event running ends the queue's threads and the worker."""
    from moto.awslambda.models import lambda_backends

    _, deleted = recorder("deleted", fail=True)
    lambda_client.invoke(FunctionName="deleted", InvocationType="Event", Payload=b"{}")
    assert wait_for(lambda: len(runs(deleted)) == 1)
    lambda_client.delete_function(FunctionName="deleted")
    assert lambda_executor.async_events.pending() == 0

    _, reset = recorder("reset", fail=True)
    lambda_client.invoke(FunctionName="reset", InvocationType="Event", Payload=b"{}")
    assert wait_for(lambda: len(runs(reset)) == 1)
    lambda_backends["123456789012"]["us-east-1"].reset()  # what POST /moto-api/reset does
    assert lambda_executor.async_events.pending() == 0

    _, running = recorder("running", sleep=30)
    lambda_client.invoke(FunctionName="running", InvocationType="Event", Payload=b"{}")
    assert wait_for(lambda: Path(f"{running}.started").exists())
    pids = [w.pid for w in lambda_executor.workers()]
    lambda_executor.shutdown()
    assert not any(t.is_alive() for t in lambda_executor.async_events._threads)
    assert all(process_gone(pid) for pid in pids)
    assert lambda_executor.async_events.pending() == 0 and runs(running) == []
    assert len(runs(deleted)) == 1 and len(runs(reset)) == 1  # no retry ran after the drop


# ---- through a real local cloud -----------------------------------------------------------------
@pytest.fixture
def own_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    cloud = make_cloud(tmp_path_factory.mktemp("async-cloud"))
    status = cloud.start(timeout=60)
    try:
        yield RunningCloud(cloud, status)
    finally:
        cloud.stop()


def test_the_local_cloud_queues_event_invokes_and_retries_failures(
    own_cloud: RunningCloud, tmp_path: Path
) -> None:
    iam, lam, sqs = own_cloud.client("iam"), own_cloud.client("lambda"), own_cloud.client("sqs")

    def make(name: str, **env: str) -> Path:
        """The recorder as `name` (its role made again when a reset removed it); its runs file."""
        try:
            role = iam.get_role(RoleName="async-role")["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(RoleName="async-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        out = tmp_path / f"{name}.jsonl"
        lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                            Code={"ZipFile": zip_of({"app.py": HANDLER})}, Timeout=60,
                            Environment={"Variables": {"OUT": str(out), **env}})  # fmt: skip
        return out

    slow = make("slow", SLEEP="2")
    resp = lam.invoke(FunctionName="slow", InvocationType="Event", Payload=b'{"n": 1}')
    assert resp["StatusCode"] == 202 and resp["Payload"].read() == b""
    assert runs(slow) == []
    assert wait_for(lambda: len(runs(slow)) == 1)

    url = sqs.create_queue(QueueName="async-failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    failing = make("failing", FAIL="1")
    lam.put_function_event_invoke_config(
        FunctionName="failing", DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    lam.invoke(FunctionName="failing", InvocationType="Event", Payload=b'{"n": 2}')
    got: list[dict[str, Any]] = []
    assert wait_for(lambda: got.extend(sqs.receive_message(QueueUrl=url).get("Messages", [])) or bool(got))
    record = json.loads(got[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted" and len(runs(failing)) == 3

    # A reset drops the retry due 1 s after the fourth run: the marker, which sleeps past that
    # moment, finishes with no fifth run of `failing`.
    lam.invoke(FunctionName="failing", InvocationType="Event", Payload=b'{"n": 3}')
    assert wait_for(lambda: len(runs(failing)) == 4)
    own_cloud.cloud.reset()
    marker = make("marker", SLEEP="1.5")
    lam.invoke(FunctionName="marker", InvocationType="Event", Payload=b"{}")
    assert wait_for(lambda: len(runs(marker)) == 1)
    assert len(runs(failing)) == 4

    # A stop with an event running ends cleanly: the server logs its last line, the run never ends.
    sleeper = make("sleeper", SLEEP="60")
    lam.invoke(FunctionName="sleeper", InvocationType="Event", Payload=b"{}")
    assert wait_for(lambda: Path(f"{sleeper}.started").exists())
    own_cloud.cloud.stop()
    assert own_cloud.cloud.log_path.read_text().rstrip().endswith("stopped")
    assert runs(sleeper) == []
