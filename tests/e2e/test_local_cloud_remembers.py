"""The local cloud remembers, through the real CLI against a real local cloud (on a free port, its
files in a temporary directory): `local stop` then `local start` brings every lab back with its
data (table items, objects, queue messages with their attributes, a message in flight visible
again once its timeout has passed, working functions, APIs and event source mappings); after a
kill -9 the next start restores the last snapshot and says so; `local reset` wipes it all; a
teardown after a restore leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e


def client(cli: Cli, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{cli.env['AWSLAB_LOCAL_PORT']}",
        region_name="us-east-1",
        aws_access_key_id="awslab",
        aws_secret_access_key="awslab-local",
    )


def outputs(cli: Cli, lab: str) -> dict[str, Any]:
    state = cli.home / "state" / "state" / f"local-{cli.env['AWSLAB_LOCAL_PORT']}.json"
    return dict(json.loads(state.read_text())["labs"][lab]["outputs"])


def items(cli: Cli) -> str:
    listed = cli("call", "crud", "GET", "/items", "--output", "json").json()
    assert listed["status"] == 200, listed
    return str(listed["body"])


def local_status(cli: Cli) -> dict[str, Any]:
    return dict(cli("local", "status", "--output", "json").json())


def test_stop_then_start_brings_back_every_lab_and_its_data(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", "crud", "--yes")
    cli("up", "messaging", "--yes")
    cli("call", "crud", "POST", "/items", "--json", '{"id": "kept-1", "name": "pen"}')
    bucket = outputs(cli, "crud")["website_url"].rstrip("/").rsplit("/", 1)[-1]
    client(cli, "s3").put_object(Bucket=bucket, Key="notes/kept.txt", Body=b"kept across restarts")
    sqs = client(cli, "sqs")
    dlq = outputs(cli, "messaging")["dead_letter_queue_url"]  # no consumer: messages stay
    attributes = {"kind": {"DataType": "String", "StringValue": "note"}}
    sqs.send_message(QueueUrl=dlq, MessageBody="waiting", MessageAttributes=attributes)
    sqs.send_message(QueueUrl=dlq, MessageBody="in flight")
    received = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=2)["Messages"]
    assert len(received) == 2
    for message in received:  # "in flight" stays invisible for 2 s; "waiting" is visible at once
        if message["Body"] == "waiting":
            sqs.change_message_visibility(
                QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )

    stopped = cli("local", "stop")
    assert "its resources (labs crud, messaging) are kept in" in stopped.stdout
    assert "come back at the next start" in stopped.stdout
    started = cli("local", "start")
    assert "Restored the local cloud's resources and data as it left them when it stopped" in started.stdout

    status = cli("status", check=False)
    assert status.code == 0, status.stdout + status.stderr
    assert "gone" not in status.stdout and "missing" not in status.stdout
    assert "kept-1" in items(cli)
    body = client(cli, "s3").get_object(Bucket=bucket, Key="notes/kept.txt")["Body"].read()
    assert body == b"kept across restarts"
    sqs = client(cli, "sqs")
    bodies: dict[str, Any] = {}
    deadline = time.monotonic() + 20  # "in flight" is back once its 2 s have passed, not before
    while len(bodies) < 2 and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"]).get("Messages", [])  # fmt: skip
        bodies.update({m["Body"]: m for m in got})
    assert set(bodies) == {"waiting", "in flight"}
    assert bodies["waiting"]["MessageAttributes"] == {"kind": {"DataType": "String", "StringValue": "note"}}
    # The functions, the API, the topic's subscriptions and the queue's event source mapping work
    report = cli("check", "messaging", "--output", "json", check=False)
    assert report.code == 0 and all(r["passed"] for r in report.json()["results"]), report.stdout

    endpoint = local_status(cli)["endpoint"]
    client(cli, "s3").delete_object(Bucket=bucket, Key="notes/kept.txt")
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
    log = (cli.home / "state" / "local" / cli.env["AWSLAB_LOCAL_PORT"] / "server.log").read_text()
    assert "restored" in log and "snapshot of the local cloud failed" not in log  # every one was taken
    stopped = cli("local", "stop")  # after a full teardown, no lab's resources are said to be kept
    assert "no lab is deployed in it" in stopped.stdout and "its resources" not in stopped.stdout


def test_after_a_kill_the_next_start_restores_the_last_snapshot_and_says_so(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", "crud", "--yes")
    cli("call", "crud", "POST", "/items", "--json", '{"id": "kept-2", "name": "ink"}')
    deadline = time.monotonic() + 20  # the snapshot follows the change within a second
    while (running := local_status(cli))["snapshot"]["pending"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running["snapshot"]["pending"] and running["snapshot"]["saved"] >= 1
    os.killpg(running["pid"], signal.SIGKILL)  # the server and its Lambda workers, without a word

    status = cli("status", check=False)  # starts the local cloud again: its snapshot holds the lab
    assert status.code == 0, status.stdout + status.stderr
    assert "to look at the resources its snapshot keeps (it was stopped)" in status.stderr  # says why
    assert (
        "The local cloud did not stop cleanly (killed or crashed): restored its last snapshot, taken"
        in status.stderr
    )
    assert "kept-2" in items(cli)
    assert local_status(cli)["restored"]["clean"] is False


def test_reset_asks_then_wipes_a_running_or_a_stopped_local_cloud(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", "crud", "--yes")
    refused = cli("local", "reset", check=False)  # no terminal to ask in
    assert refused.code != 0 and "Delete every resource in the local cloud" in refused.stderr
    assert "labs crud with it" in refused.stderr and "--yes" in refused.stderr
    assert "crud" in cli("status").stdout

    wiped = cli("local", "reset", "--yes")
    assert "The local cloud is empty now" in wiped.stdout
    gone = cli("status", check=False)
    assert gone.code == 1 and "its resources are gone" in gone.stdout

    cli("up", "crud", "--yes")
    cli("local", "stop")
    snapshot = cli.home / "state" / "local" / cli.env["AWSLAB_LOCAL_PORT"] / "snapshot.bin"
    assert snapshot.exists()
    assert "The stopped local cloud's snapshot is deleted" in cli("local", "reset", "--yes").stdout
    assert not snapshot.exists()
    started = cli("local", "start")
    assert "Restored" not in started.stdout
    assert cli("status", check=False).code == 1
