"""Every lab of the week on the local cloud, through the real CLI: up, the lab's own checks,
the lab's exercise command (showing the effect downstream), teardown, and then nothing of the
lab is left in any service."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e
SAMPLES = REPO / "configs" / "samples"


def endpoint_of(cli: Cli) -> str:
    return str(cli("local", "status", "--output", "json").json()["endpoint"])


def up_and_check(cli: Cli, lab: str) -> None:
    cli("up", lab, "--yes")
    report = cli("check", lab, "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr
    results = report.json()["results"]
    assert results and all(r["passed"] for r in results), results


def teardown_leaves_nothing(cli: Cli) -> None:
    endpoint = endpoint_of(cli)
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}


def test_upload_lab(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, "upload")
    result = cli("upload", str(SAMPLES / "hello.txt"), "--output", "json").json()
    record = result["record"]
    assert record["filename"] == "hello.txt" and record["size"] == (SAMPLES / "hello.txt").stat().st_size
    assert record["sha256"] == "12defb385081436e06b21c1e3b0bdb966c9aed669d33e0539d265c98b6b9d07e"
    listed = cli("call", "upload", "GET", "/files", "--output", "json").json()
    assert record["id"] in json.dumps(listed)
    teardown_leaves_nothing(cli)


def test_image_lab(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, "image")
    text = cli("upload", str(SAMPLES / "photo.jpg"), "--lab", "image")
    assert "thumbnail 256x192" in text.stdout
    record = cli("upload", str(SAMPLES / "photo.jpg"), "--lab", "image", "--output", "json").json()["record"]
    assert (record["width"], record["height"], record["thumbnail_width"], record["thumbnail_height"]) == (
        640,
        480,
        256,
        192,
    )
    assert record["status"] == "done"
    teardown_leaves_nothing(cli)


def test_messaging_lab(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, "messaging")
    sent = cli("send-message", "hi", "--output", "json").json()
    [message] = sent["messages"]
    [effect] = message["effects"]
    assert effect["table"] == "orders" and effect["item"]["body"] == {"text": "hi"}
    text = cli("send-message")  # a sample order, as typed by a learner
    assert "row in orders" in text.stdout and "book" in text.stdout
    published = cli("publish", "--output", "json").json()
    tables = {f["table"] for f in published["effects"]["found"]}
    assert tables == {"orders", "notifications"}  # the queue's consumer and the notifier
    orders = cli("call", "messaging", "GET", "/orders", "--output", "json").json()
    assert "hi" in json.dumps(orders)

    # a poison message is retried (visibility timeout 5 s) and ends in the dead-letter queue
    poison = cli(
        "send-message", json.dumps({"id": "poison-1", "poison": True}), "--wait", "1", "--output", "json"
    )
    assert poison.json()["messages"][0]["effects"] == []
    outputs = cli("outputs", "messaging", "--output", "json").json()
    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint_of(cli),
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    dead: list[dict] = []
    deadline = time.monotonic() + 60
    while not dead and time.monotonic() < deadline:
        dead = sqs.receive_message(QueueUrl=outputs["dead_letter_queue_url"], WaitTimeSeconds=1).get(
            "Messages", []
        )
    assert [json.loads(m["Body"]) for m in dead] == [{"id": "poison-1", "poison": True}]
    teardown_leaves_nothing(cli)


def test_workflow_lab(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, "workflow")
    ok = cli("start-execution", "--input", json.dumps({"name": "Ada Lovelace", "address": "12 Main Street"}))
    assert "SUCCEEDED" in ok.stdout and "Approve" in ok.stdout and "CheckAddress" in ok.stdout
    failed = cli(
        "start-execution",
        "--input",
        json.dumps({"name": "Ada", "address": "1 Main St", "simulate_transient": 9}),
        "--output",
        "json",
        check=False,
    )
    assert failed.code == 1
    result = failed.json()
    assert result["status"] == "FAILED" and result["error"] == "ApplicationFailed"
    names = json.dumps(result["states"])
    assert "RecordFailure" in names
    teardown_leaves_nothing(cli)


def test_the_state_file_tracks_every_lab_and_teardown_removes_them_all(local_cli: Cli, home: Path) -> None:
    cli = local_cli
    for lab in ("crud", "workflow"):
        cli("up", lab, "--yes")
    status = cli("status", "--output", "json").json()
    assert set(status["labs"]) == {"crud", "workflow"}
    teardown_leaves_nothing(cli)
    state = json.loads(next((home / "state" / "state").glob("local-*.json")).read_text())
    assert state["labs"] == {}


def test_teardown_sweep_finds_what_a_lost_state_file_forgot(local_cli: Cli, home: Path) -> None:
    cli = local_cli
    cli("up", "crud", "--yes")
    cli("up", "workflow", "--yes")
    endpoint = endpoint_of(cli)
    state_file = next((home / "state" / "state").glob("local-*.json"))
    state = json.loads(state_file.read_text())
    crud_stack = state["labs"]["crud"]["stack_id"]
    del state["labs"]["crud"]  # crud's state is lost; workflow's is kept
    state_file.write_text(json.dumps(state))

    plain = cli("teardown", "crud", "--yes", "--output", "json").json()
    assert plain["labs"] == {} and any(
        n.startswith("awslab-crud-") for n in json.dumps(inventory(endpoint)).split('"')
    )

    swept = cli("teardown", "crud", "--sweep", "--yes", "--output", "json").json()
    # the site's files go with their bucket: 5 resources for crud's 6 records
    assert swept["ok"] and sorted(swept["swept"]["deleted"]) == sorted(
        f"awslab-crud-{n}-{crud_stack}" for n in ("api", "items-fn", "items", "site", "role")
    )
    left = json.dumps(inventory(endpoint))
    assert "awslab-crud-" not in left and "awslab-workflow-" in left  # only the lost lab was swept
    teardown_leaves_nothing(cli)
