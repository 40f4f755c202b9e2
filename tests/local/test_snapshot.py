"""The local cloud's snapshots, in-process: moto's resources taken and put back whole
(awslab.local.snapshot_state), the EventBridge ticker's plans with them, the snapshot file
(awslab.local.snapshot) and the saver's rules (awslab.local.snapshot_saver)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict

from awslab.errors import LocalCloudError
from awslab.local import snapshot, snapshot_saver, snapshot_state
from awslab.local.eventbridge_ticker import ScheduleTicker
from awslab.local.poll_loop import PollLoop
from awslab.local.snapshot_saver import Snapshots, may_change
from awslab.local.state_gate import GATE, Busy, StateGate

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def restart(ticker: Any = None, new_ticker: Any = None) -> int:
    """A stop and a start, as far as moto can tell: taken, everything forgotten, put back."""
    payload, _ = snapshot_state.capture(ticker)
    BackendDict.reset()
    return snapshot_state.restore(payload, new_ticker)


def test_resources_and_data_come_back_whole(aws: None) -> None:
    ddb, s3, sqs, lam, ssm = (client(s) for s in ("dynamodb", "s3", "sqs", "lambda", "ssm"))
    ddb.create_table(TableName="items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")  # fmt: skip
    ddb.put_item(TableName="items", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    s3.create_bucket(Bucket="kept-bucket")
    s3.put_object(Bucket="kept-bucket", Key="k.txt", Body=b"object bytes")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"][0]["Body"] == "in flight"
    sqs.send_message(QueueUrl=url, MessageBody="waiting",
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "note"}})  # fmt: skip
    role = client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = lam.create_function(FunctionName="fn", Runtime="python3.12", Role=role, Handler="app.handler",
                             Code={"ZipFile": handler_zip()})["FunctionArn"]  # fmt: skip
    lam.create_alias(FunctionName="fn", Name="live", FunctionVersion="$LATEST")
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="fn")
    ssm.put_parameter(Name="/lab/setting", Value="v1", Type="String")

    assert restart() > 0

    assert ddb.get_item(TableName="items", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert s3.get_object(Bucket="kept-bucket", Key="k.txt")["Body"].read() == b"object bytes"
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    # the message in flight stays invisible until its timeout has passed, as on AWS
    assert [m["Body"] for m in got] == ["waiting"]
    assert got[0]["MessageAttributes"]["kind"]["StringValue"] == "note"
    # by ARN: moto's weak index of functions
    assert lam.get_function(FunctionName=fn)["Configuration"]["FunctionName"] == "fn"
    assert lam.get_alias(FunctionName="fn", Name="live")["Name"] == "live"
    assert ssm.get_parameter(Name="/lab/setting")["Parameter"]["Value"] == "v1"
    # what two services share is still one object: the queue's event source mapping is Lambda's
    from moto.awslambda.models import lambda_backends
    from moto.sqs.models import sqs_backends

    mapping = next(iter(lambda_backends["123456789012"][REGION]._event_source_mappings.values()))
    queue = sqs_backends["123456789012"][REGION].queues["jobs"]
    assert list(queue.lambda_event_source_mappings.values()) == [mapping]
    assert queue.lambda_event_source_mappings[mapping.function_arn] is mapping
    # and the restored backends take new resources as usual
    ddb.put_item(TableName="items", Item={"id": {"S": "b"}})
    assert ddb.scan(TableName="items")["Count"] == 2


def test_a_scheduled_rule_keeps_its_rhythm_across_a_restart(aws: None) -> None:
    events = client("events")
    events.put_rule(Name="every-5", ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule="every-5", Targets=[{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    created = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    fired: list[Any] = []
    before = ScheduleTicker(fired.append)
    before.tick(created)

    after = ScheduleTicker(fired.append)
    restart(before, after)
    # first firing five minutes after the rule's creation, not five minutes after the restart
    after.tick(created + dt.timedelta(minutes=3))
    assert fired == []
    after.tick(created + dt.timedelta(minutes=5))
    assert len(fired) == 1


def test_the_file_is_written_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "local" / snapshot.FILE_NAME
    info = snapshot.SnapshotInfo("abc123", snapshot.now_iso(), clean=True, moto_version="5.2.5")
    size = snapshot.write(path, info, b"payload bytes")
    assert path.stat().st_mode & 0o777 == 0o600 and path.stat().st_size == size
    read_info, payload = snapshot.read(path)
    assert (read_info.data_id, read_info.clean, payload) == ("abc123", True, b"payload bytes")
    assert [p.name for p in path.parent.iterdir()] == [snapshot.FILE_NAME]  # no temporary file left
    path.write_bytes(b"something else\n")
    with pytest.raises(snapshot.SnapshotFormatError):
        snapshot.read_info(path)


class FakeState:
    """What the saver takes snapshots of: a counter changed by hand."""

    def __init__(self) -> None:
        self.value = 0
        self.restored: list[bytes] = []

    def capture(self) -> tuple[bytes, int]:
        return json.dumps(self.value).encode(), 1

    def restore(self, payload: bytes) -> int:
        self.restored.append(payload)
        return 1


def wait_saved(snapshots: Snapshots, count: int) -> None:
    deadline = time.monotonic() + 10
    while snapshots.saved < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert snapshots.saved == count


def test_a_change_is_saved_soon_a_stop_is_clean_and_a_start_restores(tmp_path: Path) -> None:
    state = FakeState()
    first = Snapshots(tmp_path)
    first.restore(state.restore)
    assert first.restored is None and not first.restoring  # nothing to restore
    first.start(state.capture)
    assert first.marker.exists()
    first.save(clean=False)
    assert first.saved == 0  # nothing ever changed: nothing written
    state.value = 1
    first.changed()
    assert first.pending
    wait_saved(first, 1)
    assert not first.save(clean=False)  # unchanged: not written again
    first.stop()
    assert not first.marker.exists() and first.saved == 2  # the last one, marked clean

    second = Snapshots(tmp_path)
    assert second.data_id == first.data_id and second.restoring
    second.restore(state.restore)
    assert state.restored == [b"1"]
    assert second.restored is not None and second.restored["clean"] is True
    assert snapshot.restore_line(second.restored).startswith("Restored the local cloud's resources and data")


def test_a_start_after_a_kill_restores_and_says_it_was_not_clean(tmp_path: Path) -> None:
    state = FakeState()
    killed = Snapshots(tmp_path)
    killed.start(state.capture)
    state.value = 7
    killed.changed()
    wait_saved(killed, 1)  # then the process dies: no stop, the marker stays

    after = Snapshots(tmp_path)
    after.restore(state.restore)
    assert after.restored is not None and after.restored["clean"] is False and state.restored == [b"7"]
    saved = dt.datetime.fromisoformat(after.restored["saved_at"].replace("Z", "+00:00"))
    now = saved + dt.timedelta(seconds=42)
    assert snapshot.restore_line(after.restored, now) == (
        "The local cloud did not stop cleanly (killed or crashed): restored its last snapshot, taken 42s "
        "ago; a change made in the second before it stopped may be missing."
    )
    killed.stop()


def test_an_unreadable_snapshot_is_set_aside_and_the_start_is_empty(tmp_path: Path) -> None:
    (tmp_path / snapshot.FILE_NAME).write_bytes(b"not a snapshot\n")
    snapshots = Snapshots(tmp_path)
    assert snapshots.restoring
    snapshots.restore(FakeState().restore)
    assert snapshots.restored is not None and "not an awslab snapshot" in snapshots.restored["error"]
    assert not (tmp_path / snapshot.FILE_NAME).exists()
    assert list(tmp_path.glob(snapshot.FILE_NAME + ".unreadable-*"))
    assert "it was set aside" in snapshot.restore_line(snapshots.restored)


def test_a_reset_deletes_the_snapshot_and_starts_a_new_lineage(tmp_path: Path) -> None:
    state = FakeState()
    snapshots = Snapshots(tmp_path)
    snapshots.start(state.capture)
    snapshots.changed()
    wait_saved(snapshots, 1)
    old = snapshots.data_id
    snapshots.reset()
    assert snapshots.data_id != old and not snapshots.path.exists()
    snapshots.stop()
    assert not snapshots.path.exists()  # nothing made since the reset: nothing kept


class _Sent(Exception):
    """Raised by the hook below once botocore has made the request: nothing is sent."""


def _environ(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """The WSGI environ of the request botocore makes for `operation` (its own protocol for the
    service: JSON with X-Amz-Target, query with a form body, REST), as the server would see it."""
    made: list[Any] = []

    def keep(request: Any, **_: Any) -> None:
        made.append(request)
        raise _Sent

    api = boto3.client(service, region_name=REGION, endpoint_url="http://127.0.0.1:9",
                       aws_access_key_id="a", aws_secret_access_key="b")  # fmt: skip
    api.meta.events.register("before-send", keep)
    with pytest.raises(_Sent):
        getattr(api, operation)(**params)
    request = made[0]
    body = request.body or b""
    body = body.read() if hasattr(body, "read") else body
    body = body.encode() if isinstance(body, str) else body
    path, _, query = request.url.split("://", 1)[1].partition("/")[2].partition("?")
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": "/" + path,
        "QUERY_STRING": query,
        "CONTENT_TYPE": headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if "x-amz-target" in headers:
        environ["HTTP_X_AMZ_TARGET"] = headers["x-amz-target"]
    return environ


QUEUE = "http://127.0.0.1:9/123456789012/q"
TABLE = {"TableName": "t"}
KEY = {"TableName": "t", "Key": {"id": {"S": "a"}}}
QUERY = {**TABLE, "KeyConditionExpression": "id = :a", "ExpressionAttributeValues": {":a": {"S": "a"}}}
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:m:e"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
SHARD = {"StreamArn": STREAM, "ShardId": "shardId-" + "0" * 20, "ShardIteratorType": "LATEST"}


@pytest.mark.parametrize(
    ("service", "operation", "params", "changes"),
    [
        # JSON protocol (X-Amz-Target)
        ("dynamodb", "get_item", KEY, False),
        ("dynamodb", "query", QUERY, False),
        ("dynamodb", "scan", TABLE, False),
        ("dynamodb", "put_item", {"TableName": "t", "Item": {"id": {"S": "a"}}}, True),
        ("dynamodb", "delete_item", KEY, True),
        ("sqs", "get_queue_attributes", {"QueueUrl": QUEUE}, False),
        ("sqs", "receive_message", {"QueueUrl": QUEUE}, True),  # it changes the messages' visibility
        ("sqs", "send_message", {"QueueUrl": QUEUE, "MessageBody": "x"}, True),
        ("stepfunctions", "describe_execution", {"executionArn": EXECUTION}, False),
        ("stepfunctions", "start_execution", {"stateMachineArn": MACHINE}, True),
        ("logs", "get_log_events", {"logGroupName": "g", "logStreamName": "s"}, False),
        ("dynamodbstreams", "get_shard_iterator", SHARD, True),  # it makes an iterator
        # query protocol (the Action in a form body)
        ("iam", "list_roles", {}, False),
        ("iam", "get_role", {"RoleName": "r"}, False),
        ("iam", "create_role", {"RoleName": "r", "AssumeRolePolicyDocument": "{}"}, True),
        ("sns", "list_topics", {}, False),
        ("sns", "publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"}, True),
        ("sts", "get_caller_identity", {}, False),
        # REST protocols (the method says)
        ("lambda", "get_function", {"FunctionName": "f"}, False),
        ("lambda", "invoke", {"FunctionName": "f"}, True),
        ("s3", "head_object", {"Bucket": "b", "Key": "k"}, False),
        ("s3", "put_object", {"Bucket": "b", "Key": "k", "Body": b"x"}, True),
    ],
)
def test_which_requests_may_change_something(
    service: str, operation: str, params: dict[str, Any], changes: bool
) -> None:
    environ = _environ(service, operation, params)
    body = environ["wsgi.input"].getvalue()
    assert may_change(environ) is changes
    assert environ["wsgi.input"].read() == body  # a form body read for its Action is there to read again


# ---- consistency: the state gate ------------------------------------------------------------------
def _in_thread(target: Any) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_snapshot_waits_for_a_change_in_flight_and_sees_it_whole(tmp_path: Path) -> None:
    """A change made in two steps (an item moved from one dict to another): the snapshot asked for
    in between is taken after it, never with the item in neither."""
    gate = StateGate()
    state = {"a": {"item": 1}, "b": {}}
    snapshots = Snapshots(tmp_path, gate=gate)
    snapshots._capture = lambda: (json.dumps(state, sort_keys=True).encode(), 1)
    snapshots.changed()
    halfway, go_on = threading.Event(), threading.Event()

    def move() -> None:
        with gate.changing():
            state["b"]["item"] = state["a"].pop("item")  # in two steps, as moto's models do
            halfway.set()
            go_on.wait(10)

    mover = _in_thread(move)
    assert halfway.wait(10)
    saver = _in_thread(lambda: snapshots.save(clean=False))
    saver.join(0.3)
    assert saver.is_alive() and snapshots.saved == 0  # it waits for the change
    go_on.set()
    mover.join(10)
    saver.join(10)
    _, payload = snapshot.read(snapshots.path)
    assert json.loads(payload) == {"a": {}, "b": {"item": 1}}


def test_a_change_waits_only_while_a_snapshot_pickles(tmp_path: Path) -> None:
    gate = StateGate()
    pickling, done = threading.Event(), threading.Event()
    entered = threading.Event()

    def capture() -> tuple[bytes, int]:
        pickling.set()
        done.wait(10)
        return b"x", 1

    snapshots = Snapshots(tmp_path, gate=gate)
    snapshots._capture = capture
    snapshots.changed()
    saver = _in_thread(lambda: snapshots.save(clean=False))
    assert pickling.wait(10)

    def change() -> None:
        with gate.changing():
            entered.set()

    changer = _in_thread(change)
    assert not entered.wait(0.2)  # held off while the state is pickled
    done.set()
    assert entered.wait(10)  # then at once (the hash and the write come after)
    saver.join(10)
    changer.join(10)
    assert snapshots.saved == 1 and snapshots.last_held is not None


def test_a_change_within_a_change_a_snapshot_waits_for_goes_on(tmp_path: Path) -> None:
    """A Lambda function's own call while its invoke is in flight: the snapshot waits for the invoke,
    the call must not wait for the snapshot (or neither would ever end)."""
    gate = StateGate(yield_s=0.05)
    inner_done = threading.Event()
    capture_waiting = threading.Event()

    def invoke() -> None:
        with gate.changing():
            capture_waiting.wait(10)
            with gate.changing():  # the function's PutItem
                inner_done.set()

    invoker = _in_thread(invoke)
    while gate.active == 0:
        time.sleep(0.01)
    captured: list[bool] = []

    def capture() -> None:
        with gate.capturing(timeout=30):
            captured.append(inner_done.is_set())

    capturer = _in_thread(capture)
    while not gate._waiting:
        time.sleep(0.01)
    capture_waiting.set()
    invoker.join(10)
    capturer.join(10)
    assert inner_done.is_set() and captured == [True]


def test_a_snapshot_that_finds_no_quiet_moment_is_put_off_and_taken_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot_saver, "CAPTURE_WAIT", 0.05)
    monkeypatch.setattr(snapshot_saver, "DEBOUNCE", 0.01)
    gate = StateGate()
    state = FakeState()
    snapshots = Snapshots(tmp_path, gate=gate)
    with gate.changing():  # a long invoke in flight
        with pytest.raises(Busy):
            snapshots._capture = state.capture
            snapshots._has_data = True
            snapshots.save(clean=False)
        snapshots.start(state.capture)
        snapshots.changed()
        deadline = time.monotonic() + 10
        while snapshots.busy == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert snapshots.busy >= 1 and snapshots.saved == 0 and snapshots.pending
    wait_saved(snapshots, 1)  # once the invoke has ended
    snapshots.stop()


def test_a_poller_round_is_a_change(tmp_path: Path) -> None:
    seen: list[int] = []

    class Poller(PollLoop):
        def poll_once(self) -> int:
            seen.append(GATE.active)
            return 0

    poller = Poller(30, "test-poller", None).started()
    poller.wake()
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    poller.stop()
    assert seen and seen[0] >= 1


# ---- what is unpickled ------------------------------------------------------------------------------
def _saved_snapshot(directory: Path, moto_version: str) -> Path:
    info = snapshot.SnapshotInfo("abc123", snapshot.now_iso(), clean=True, moto_version=moto_version)
    path = directory / snapshot.FILE_NAME
    snapshot.write(path, info, b"payload")
    return path


def test_a_snapshot_made_by_another_moto_is_set_aside(tmp_path: Path) -> None:
    _saved_snapshot(tmp_path, "4.0.0")
    state = FakeState()
    snapshots = Snapshots(tmp_path, moto_version="5.1.0")
    snapshots.restore(state.restore)
    assert state.restored == []  # never unpickled
    assert snapshots.restored is not None
    assert snapshots.restored["error"] == "made by moto 4.0.0, this is moto 5.1.0"
    assert list(tmp_path.glob(snapshot.FILE_NAME + ".unreadable-*"))
    assert "made by moto 4.0.0, this is moto 5.1.0" in snapshot.restore_line(snapshots.restored)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
@pytest.mark.parametrize("how", ["writable by others", "another user's"])
def test_a_snapshot_someone_else_could_have_written_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = _saved_snapshot(tmp_path, "5.1.0")
    if how == "writable by others":
        path.chmod(0o622)
        expected = "can be written by others (mode 622)"
    else:
        monkeypatch.setattr(os, "getuid", lambda: path.stat().st_uid + 1)
        expected = "belongs to another user"
    state = FakeState()
    snapshots = Snapshots(tmp_path, moto_version="5.1.0")
    with pytest.raises(LocalCloudError) as refused:
        snapshots.restore(state.restore)
    assert state.restored == [] and path.exists()
    assert expected in str(refused.value) and "\n" not in str(refused.value)
    assert refused.value.hint is not None and "awslab local reset" in refused.value.hint


# ---- the CLI, with the local cloud stopped --------------------------------------------------------
@pytest.fixture
def stopped_cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, Path]:
    """A port nothing listens on, and where its local cloud's snapshot goes."""
    import socket

    from awslab.paths import local_cloud_dir

    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    directory = local_cloud_dir(port)
    directory.mkdir(mode=0o700, parents=True)
    return port, directory / snapshot.FILE_NAME


def test_local_status_of_a_stopped_cloud_says_the_snapshot_age_in_words(
    stopped_cloud: tuple[int, Path],
) -> None:
    from typer.testing import CliRunner

    from awslab.cli.main import app

    port, path = stopped_cloud
    taken = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2, seconds=5)
    saved_at = taken.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    snapshot.write(path, snapshot.SnapshotInfo("abc123", saved_at, clean=True), b"payload")
    result = CliRunner().invoke(app, ["local", "status", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert "taken 2m 5s ago" in result.output


def test_a_start_refuses_a_snapshot_others_could_have_written_in_one_line(
    stopped_cloud: tuple[int, Path],
) -> None:
    from typer.testing import CliRunner

    from awslab.cli.main import app

    port, path = stopped_cloud
    snapshot.write(path, snapshot.SnapshotInfo("abc123", snapshot.now_iso(), clean=True), b"payload")
    path.chmod(0o666)
    result = CliRunner().invoke(app, ["local", "start", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert "can be written by others (mode 666): it is not read" in result.output
    assert "Traceback" not in result.output and "awslab local reset" in result.output
    assert not (path.parent / "server.pid").exists()  # nothing was started
