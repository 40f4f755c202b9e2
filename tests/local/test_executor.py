"""The Docker-free Lambda executor on moto's in-process mock: environment and context, AWS's error
shapes, timeouts, CloudWatch logs, warm reuse and every way a worker is reaped."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from awslab.local import moto_patches
from awslab.local.executor import LambdaExecutor
from awslab.local.worker_process import WorkerProcess
from awslab.local.worker_template import Template
from awslab.target import LOCAL_ACCESS_KEY
from tests.local.lambda_helpers import ENDPOINT, invoke, process_gone, wait_for, zip_of

# Fixtures: lambda_executor, lambda_client, make_lambda, lambda_role.
pytest_plugins = ["tests.local.lambda_fixtures"]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")

PID_COUNTER = """
import os
count = 0
def handler(event, context):
    global count
    count += 1
    return {"pid": os.getpid(), "count": count, "marker": os.environ.get("MARKER"),
            "version": globals().get("VERSION", 1)}
"""


def log_messages(name: str) -> dict[str, list[str]]:
    logs = boto3.client("logs", region_name="us-east-1")
    group = f"/aws/lambda/{name}"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    return {
        s["logStreamName"]: [
            e["message"]
            for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
        ]
        for s in streams
    }


def test_environment_and_context(
    lambda_executor: LambdaExecutor,
    lambda_client: Any,
    make_lambda: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "server-token")  # the server's own AWS variables stay out
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    code = """
import os
def handler(event, context):
    env = dict(os.environ)
    return {"env": env, "cwd": os.getcwd(), "files": sorted(os.listdir(".")), "event": event,
            "ctx": {k: getattr(context, k) for k in ("function_name", "function_version",
                    "invoked_function_arn", "memory_limit_in_mb", "aws_request_id", "log_group_name",
                    "log_stream_name")},
            "remaining": context.get_remaining_time_in_millis()}
"""
    arn = make_lambda(
        "envfn", code, MemorySize=256, Timeout=7, Environment={"Variables": {"TABLE": "orders"}}
    )
    out, resp = invoke(lambda_client, "envfn", {"hello": "world"}, LogType="Tail")

    env, ctx = out["env"], out["ctx"]
    assert out["event"] == {"hello": "world"}
    assert env["TABLE"] == "orders"
    assert env["AWS_ENDPOINT_URL"] == ENDPOINT
    assert env["AWS_ACCESS_KEY_ID"] == LOCAL_ACCESS_KEY and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envfn"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/envfn"
    assert STREAM.match(env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["LAMBDA_TASK_ROOT"] == out["cwd"] and "app.py" in out["files"]
    # The server's own token stays out; Lambda's (a dummy one here) comes with the credentials.
    assert env["AWS_SESSION_TOKEN"] != "server-token" and "AWS_MAX_ATTEMPTS" not in env
    assert ctx["function_name"] == "envfn" and ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == arn
    assert ctx["memory_limit_in_mb"] == "256"  # a string, as in the AWS runtime
    assert UUID.match(ctx["aws_request_id"])
    assert ctx["log_group_name"] == "/aws/lambda/envfn"
    assert ctx["log_stream_name"] == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert 0 < out["remaining"] <= 7000
    tail = base64.b64decode(resp["LogResult"]).decode()
    assert f"START RequestId: {ctx['aws_request_id']} Version: $LATEST" in tail


def test_uncaught_exception_is_unhandled_with_aws_shape(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda(
        "boom", "import os\ndef handler(event, context):\n    raise ValueError('boom ' + str(os.getpid()))\n"
    )
    out, resp = invoke(lambda_client, "boom", LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "ValueError" and out["errorMessage"].startswith("boom ")
    assert UUID.match(out["requestId"])
    assert len(out["stackTrace"]) == 1 and 'app.py", line 3, in handler' in out["stackTrace"][0]
    assert "[ERROR] ValueError: boom" in base64.b64decode(resp["LogResult"]).decode()
    # The environment survives a handler error, as on AWS.
    again, _ = invoke(lambda_client, "boom")
    assert again["errorMessage"] == out["errorMessage"]


@pytest.mark.parametrize(
    ("code", "error_type", "message"),
    [
        ("import not_a_module_anywhere\ndef handler(e, c): pass\n", "Runtime.ImportModuleError",
         "Unable to import module 'app': No module named 'not_a_module_anywhere'"),
        ("import moto\ndef handler(e, c): pass\n", "Runtime.ImportModuleError",
         "Unable to import module 'app': No module named 'moto'"),
        ("def other(e, c): pass\n", "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'app'"),
        ("def handler(e, c)\n    pass\n", "Runtime.UserCodeSyntaxError", "Syntax error in module 'app'"),
        ("def handler(e, c):\n    return object()\n", "Runtime.MarshalError", "Unable to marshal response"),
        ("import sys\ndef handler(e, c):\n    sys.exit(3)\n", "Runtime.ExitError", "Runtime exited with error: exit status 3"),
    ],
)  # fmt: skip
def test_runtime_errors_have_aws_shapes(
    lambda_executor: LambdaExecutor,
    lambda_client: Any,
    make_lambda: Callable[..., str],
    code: str,
    error_type: str,
    message: str,
) -> None:
    make_lambda("broken", code)
    out, resp = invoke(lambda_client, "broken")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == error_type
    assert message in out["errorMessage"]


def test_boto3_is_importable_like_in_the_aws_runtime(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("b3", "import boto3\ndef handler(e, c):\n    return boto3.__name__\n")
    assert invoke(lambda_client, "b3")[0] == "boto3"


def test_timeout_kills_the_worker_and_its_children(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str], tmp_path: Path
) -> None:
    code = """
import os, subprocess, sys, time
def handler(event, context):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(os.environ["PIDS"], "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    print("about to hang")
    time.sleep(120)
"""
    pids_file = tmp_path / "pids"
    make_lambda("slow", code, Timeout=1, Environment={"Variables": {"PIDS": str(pids_file)}})
    out, resp = invoke(lambda_client, "slow", LogType="Tail")

    assert resp["FunctionError"] == "Unhandled"
    assert set(out) == {"errorMessage"}
    assert re.match(
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ Task timed out after 1\.\d\d seconds$",
        out["errorMessage"],
    )
    worker_pid, child_pid = (int(p) for p in pids_file.read_text().split())
    assert process_gone(worker_pid)
    assert wait_for(lambda: process_gone(child_pid))
    assert lambda_executor.workers() == []
    tail = base64.b64decode(resp["LogResult"]).decode()
    assert "about to hang" in tail and out["errorMessage"] in tail
    # The next invoke gets a fresh environment.
    pids_file.unlink()
    invoke(lambda_client, "slow")
    assert int(pids_file.read_text().split()[0]) != worker_pid


def test_logs_go_to_cloudwatch_with_start_end_report(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    code = """
import logging, os, sys
print("loading module")
logger = logging.getLogger()
logger.setLevel(logging.INFO)
def handler(event, context):
    print("to stdout", event["n"])
    print("to stderr", file=sys.stderr)
    os.write(1, b"raw fd 1\\n")
    logger.info("via logging")
    return context.aws_request_id
"""
    make_lambda("logger", code, MemorySize=192)
    first, _ = invoke(lambda_client, "logger", {"n": 1})
    second, resp = invoke(lambda_client, "logger", {"n": 2}, LogType="Tail")

    streams = log_messages("logger")
    assert len(streams) == 1  # one stream per execution environment
    (stream, messages), = streams.items()  # fmt: skip
    assert STREAM.match(stream)
    start = messages.index(f"START RequestId: {first} Version: $LATEST")
    assert "loading module" in messages[:start]
    assert messages[start + 1 : start + 4] == ["to stdout 1", "to stderr", "raw fd 1"]
    assert re.match(rf"^\[INFO\]\t\S+Z\t{first}\tvia logging$", messages[start + 4])
    assert messages[start + 5] == f"END RequestId: {first}"
    report = messages[start + 6]
    assert re.match(
        rf"^REPORT RequestId: {first}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 192 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms$",
        report,
    )
    second_report = next(m for m in messages if m.startswith(f"REPORT RequestId: {second}"))
    assert "Init Duration" not in second_report  # only the cold start reports it
    tail = base64.b64decode(resp["LogResult"]).decode().splitlines()
    assert tail[0] == f"START RequestId: {second} Version: $LATEST" and "to stdout 2" in tail
    assert tail[-1] == second_report


def test_handler_output_cannot_corrupt_the_protocol(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    code = """
import os, sys
def handler(event, context):
    print('{"type": "result", "id": "x", "ok": true, "payload": "1"}')
    sys.stdout.write("\\x1e" + context.aws_request_id + "\\n")
    os.write(1, b'{"type": "ready"}\\n')
    print(sys.stdin.read())
    return {"real": True}
"""
    make_lambda("noisy", code)
    assert invoke(lambda_client, "noisy")[0] == {"real": True}
    assert invoke(lambda_client, "noisy")[0] == {"real": True}


def test_warm_worker_is_reused_with_module_state(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("warm", PID_COUNTER)
    results = [invoke(lambda_client, "warm")[0] for _ in range(3)]
    assert len({r["pid"] for r in results}) == 1
    assert [r["count"] for r in results] == [1, 2, 3]
    assert [w.pid for w in lambda_executor.workers()] == [results[0]["pid"]]


def test_concurrent_invokes_get_their_own_workers(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str], tmp_path: Path
) -> None:
    # Each invoke waits until two invokes are running at once: serialised invokes would time out.
    code = """
import os, time
def handler(event, context):
    open(os.path.join(os.environ["DIR"], str(os.getpid())), "w").close()
    while len(os.listdir(os.environ["DIR"])) < 2 and context.get_remaining_time_in_millis() > 500:
        time.sleep(0.01)
    return os.getpid()
"""
    (tmp_path / "running").mkdir()
    make_lambda("parallel", code, Timeout=20, Environment={"Variables": {"DIR": str(tmp_path / "running")}})
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(invoke(lambda_client, "parallel"))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("FunctionError" not in resp for _, resp in results)
    assert len({pid for pid, _ in results}) == 2
    assert len(lambda_executor.workers()) == 2


def test_workers_per_function_are_bounded(
    mocked_aws: None, tmp_path: Path, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    ex = moto_patches.install(
        tmp_path / "work", ENDPOINT, deps_cache=tmp_path / "deps", max_workers_per_function=1
    )
    try:
        make_lambda("single", PID_COUNTER)
        results: list[Any] = []
        threads = [
            threading.Thread(target=lambda: results.append(invoke(lambda_client, "single")[0]))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({r["pid"] for r in results}) == 1
        assert sorted(r["count"] for r in results) == [1, 2, 3, 4]
    finally:
        pids = [w.pid for w in ex.workers()]
        moto_patches.uninstall()
    assert all(process_gone(p) for p in pids)


def test_idle_workers_are_reaped(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("idle", PID_COUNTER)
    pid = invoke(lambda_client, "idle")[0]["pid"]
    assert lambda_executor.reap_idle() == 0  # younger than the idle timeout
    assert lambda_executor.reap_idle(max_idle_s=0) == 1
    assert process_gone(pid) and lambda_executor.workers() == []
    again = invoke(lambda_client, "idle")[0]
    assert again["pid"] != pid and again["count"] == 1


def test_background_reaper_uses_the_idle_timeout(
    mocked_aws: None, tmp_path: Path, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    ex = moto_patches.install(tmp_path / "work", ENDPOINT, deps_cache=tmp_path / "deps", idle_timeout_s=0.2)
    try:
        make_lambda("reaped", PID_COUNTER)
        pid = invoke(lambda_client, "reaped")[0]["pid"]
        assert wait_for(lambda: ex.workers() == [] and process_gone(pid))
    finally:
        moto_patches.uninstall()


def test_code_change_starts_a_new_worker(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:

    make_lambda("changing", PID_COUNTER)
    old = invoke(lambda_client, "changing")[0]
    assert old["version"] == 1
    lambda_client.update_function_code(
        FunctionName="changing", ZipFile=zip_of({"app.py": PID_COUNTER + "VERSION = 2\n"})
    )
    assert process_gone(old["pid"])  # reaped by the update itself, not at the next invoke
    new = invoke(lambda_client, "changing")[0]
    assert new["pid"] != old["pid"] and new["count"] == 1 and new["version"] == 2


def test_configuration_change_starts_a_new_worker(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("configured", PID_COUNTER, Environment={"Variables": {"MARKER": "one"}})
    old = invoke(lambda_client, "configured")[0]
    lambda_client.update_function_configuration(
        FunctionName="configured", Environment={"Variables": {"MARKER": "two"}}
    )
    assert process_gone(old["pid"])
    new = invoke(lambda_client, "configured")[0]
    assert new["pid"] != old["pid"] and new["marker"] == "two"


def test_deleting_the_function_kills_its_worker(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("doomed", PID_COUNTER)
    make_lambda("survivor", PID_COUNTER)
    doomed = invoke(lambda_client, "doomed")[0]["pid"]
    survivor = invoke(lambda_client, "survivor")[0]["pid"]
    lambda_client.delete_function(FunctionName="doomed")
    assert process_gone(doomed)
    assert [w.pid for w in lambda_executor.workers()] == [survivor]


def test_invocation_types_event_and_dry_run(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str], tmp_path: Path
) -> None:
    code = "import os\ndef handler(e, c):\n    open(os.environ['OUT'], 'a').write('ran\\n')\n    raise ValueError('x')\n"
    out = tmp_path / "out"
    make_lambda("typed", code, Environment={"Variables": {"OUT": str(out)}})
    dry = lambda_client.invoke(FunctionName="typed", InvocationType="DryRun")
    assert dry["StatusCode"] == 204 and not out.exists()
    event = lambda_client.invoke(FunctionName="typed", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202 and "FunctionError" not in event and event["Payload"].read() == b""
    # run in the background, and retried (tests/local/test_async_invoke.py)
    assert wait_for(lambda: out.exists() and out.read_text().startswith("ran\n"))


def test_sqs_mapping_keeps_messages_the_handler_failed(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    code = "def handler(e, c):\n    if e['Records'][0]['body'] == 'bad':\n        raise RuntimeError('no')\n"
    make_lambda("consumer", code)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lambda_client.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="consumer")
    sqs.send_message(QueueUrl=url, MessageBody="good")
    sqs.send_message(QueueUrl=url, MessageBody="bad")
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in left] == ["bad"]


def test_unsupported_runtime_is_a_clear_error(
    lambda_executor: LambdaExecutor, lambda_client: Any, lambda_role: str
) -> None:
    lambda_client.create_function(FunctionName="node", Runtime="nodejs20.x", Role=lambda_role, Handler="index.handler",
                        Code={"ZipFile": zip_of({"index.js": "exports.handler = async () => 1;"})})  # fmt: skip
    out, resp = invoke(lambda_client, "node")
    assert resp["FunctionError"] == "Unhandled"
    assert out["errorType"] == "LocalCloud.UnsupportedFunction" and "nodejs20.x" in out["errorMessage"]


def test_a_failure_to_start_a_worker_fails_the_invoke_and_is_logged(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Not the user's doing (a bug, a broken machine): the invoke fails as AWS's would, the server's
    log keeps the traceback, and the slot the cold start had reserved is free again."""
    make_lambda("unlucky", "def handler(e, c):\n    return 'ok'\n")
    lambda_client.put_function_concurrency(FunctionName="unlucky", ReservedConcurrentExecutions=1)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("spawning is broken")

    monkeypatch.setattr(WorkerProcess, "spawn", broken)
    monkeypatch.setattr(Template, "fork", broken)  # workers forked from a template, too
    for _ in range(2):  # a leaked slot would make the second invoke wait forever
        out, resp = invoke(lambda_client, "unlucky")
        assert resp["FunctionError"] == "Unhandled"
        assert out["errorType"] == "LocalCloud.StartError" and out["errorMessage"] == "spawning is broken"
    failures = [r for r in caplog.records if r.getMessage().startswith("starting a worker for")]
    assert len(failures) == 2 and failures[0].exc_info is not None
    monkeypatch.undo()
    assert invoke(lambda_client, "unlucky")[0] == "ok"


def test_install_is_idempotent_and_uninstall_restores_moto(mocked_aws: None, tmp_path: Path) -> None:
    from moto.awslambda.models import LambdaFunction

    original = LambdaFunction._invoke_lambda
    first = moto_patches.install(tmp_path, ENDPOINT, deps_cache=tmp_path / "deps")
    try:
        assert moto_patches.install(tmp_path, ENDPOINT, deps_cache=tmp_path / "deps") is first
        assert LambdaFunction._invoke_lambda is not original
    finally:
        moto_patches.uninstall()
    assert LambdaFunction._invoke_lambda is original
    assert "reset" not in vars(__import__("moto.awslambda.models").awslambda.models.LambdaBackend)


def test_decimals_are_marshalled_as_the_aws_runtime_does(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("dec", "from decimal import Decimal\ndef handler(e, c):\n    return {'n': Decimal('1.5')}\n")
    assert invoke(lambda_client, "dec")[0] == {"n": 1.5}


def test_payload_round_trip(
    lambda_executor: LambdaExecutor, lambda_client: Any, make_lambda: Callable[..., str]
) -> None:
    make_lambda("echo", "def handler(e, c):\n    return e\n")
    event = {"text": "héllo \n\u2603", "list": [1, 2.5, None, True], "nested": {"a": {"b": []}}}
    assert invoke(lambda_client, "echo", event)[0] == event
    assert json.loads(lambda_client.invoke(FunctionName="echo")["Payload"].read()) == {}


def test_s3_notifications_and_step_functions_reach_the_executor(tmp_path: Path) -> None:
    from moto import mock_aws

    code = "import os\ndef handler(e, c):\n    open(os.environ['OUT'], 'a').write(str(e.get('n')) + '\\n')\n    return {'n2': (e.get('n') or 0) * 2}\n"
    out = tmp_path / "out"
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        moto_patches.install(tmp_path / "work", ENDPOINT, deps_cache=tmp_path / "deps")
        try:
            iam = boto3.client("iam", region_name="us-east-1")
            role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            lambda_client = boto3.client("lambda", region_name="us-east-1")
            arn = lambda_client.create_function(FunctionName="paths", Runtime="python3.11", Role=role, Handler="app.handler",
                                      Code={"ZipFile": zip_of({"app.py": code})},
                                      Environment={"Variables": {"OUT": str(out)}})["FunctionArn"]  # fmt: skip
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="uploads-bucket")
            s3.put_bucket_notification_configuration(
                Bucket="uploads-bucket",
                NotificationConfiguration={
                    "LambdaFunctionConfigurations": [
                        {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
                    ]
                },
            )
            s3.put_object(Bucket="uploads-bucket", Key="a.txt", Body=b"x")
            assert wait_for(lambda: out.exists() and out.read_text() == "None\n")  # S3 invokes asynchronously

            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
            machine = sfn.create_state_machine(name="m", roleArn=role, definition=json.dumps(definition))
            run = sfn.start_execution(
                stateMachineArn=machine["stateMachineArn"], name="run1", input='{"n": 21}'
            )
            assert wait_for(
                lambda: sfn.describe_execution(executionArn=run["executionArn"])["status"] != "RUNNING"
            )
            described = sfn.describe_execution(executionArn=run["executionArn"])
            assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"n2": 42}
        finally:
            moto_patches.uninstall()


def test_a_cold_start_reads_the_functions_own_environment_once(
    lambda_executor: LambdaExecutor,
    lambda_client: Any,
    make_lambda: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from awslab.local import executor

    read: list[str] = []

    def counting(fn: Any) -> dict[str, str]:
        read.append(fn.function_name)
        return user_environment(fn)

    user_environment = executor.user_environment
    monkeypatch.setattr(executor, "user_environment", counting)
    make_lambda("envonce", PID_COUNTER, Environment={"Variables": {"MARKER": "m"}})
    assert invoke(lambda_client, "envonce")[0]["marker"] == "m"
    assert read == ["envonce"]
