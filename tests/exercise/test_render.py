"""Text rendering: each view shows the effect downstream (rows, thumbnail, state tree)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from awslab.exercise import render as view
from awslab.exercise.checks import CheckReport, CheckResult
from awslab.exercise.effects import Effects, Found
from awslab.exercise.executions import ExecutionResult, StateNode
from awslab.exercise.http import CallResult
from awslab.exercise.invoke import InvokeResult
from awslab.exercise.messages import PublishResult, SendResult, SentMessage, Subscriber
from awslab.exercise.upload import UploadResult


def text(renderable: Any) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_call_view() -> None:
    res = CallResult(
        "POST",
        "http://h/dev/items",
        201,
        "Created",
        {"Content-Type": "application/json"},
        '{"id": "1"}',
        {"id": "1"},
        12.3,
    )
    out = text(view.call_view(res))
    assert "HTTP 201 Created" in out and "POST http://h/dev/items (12 ms)" in out
    assert "Content-Type: application/json" in out and '"id": "1"' in out


def test_invoke_view_shows_error_and_log() -> None:
    res = InvokeResult(
        "lab",
        "fn",
        "awslab-lab-fn-abc123",
        200,
        "Unhandled",
        {"errorType": "KeyError"},
        "START\n[ERROR] KeyError\nEND\n",
        "$LATEST",
        40.0,
    )
    out = text(view.invoke_view(res))
    assert "fn failed (Unhandled)" in out and "KeyError" in out and "log (last 4 KB)" in out


def test_send_view_shows_rows_and_their_absence() -> None:
    item = {"id": "o-1", "body": {"item": "book"}, "status": "received"}
    found = {"table": "orders", "table_name": "t", "matched_on": "id", "matched_id": "o-1", "item": item}
    res = SendResult(
        "messaging",
        "queue",
        "u",
        "consumer",
        [SentMessage("m-1", '{"id": "o-1"}', ["m-1", "o-1"], [found]), SentMessage("m-2", "hi", ["m-2"])],
        Effects([], False, 15000.0, ["orders"]),
    )
    out = text(view.send_view(res))
    assert (
        "sent m-1 to queue queue" in out and "row in orders (matched id)" in out and '"item": "book"' in out
    )
    assert "no row written within 15.0s" in out and "awslab logs messaging consumer" in out


def test_publish_view_one_entry_per_subscriber() -> None:
    row = {
        "table": "notifications",
        "table_name": "n",
        "matched_on": "order_id",
        "matched_id": "o",
        "item": {"id": "x", "order_id": "o"},
    }
    subs = [
        Subscriber("sqs", "arn:q", "arn:s1", "queue", ["consumer"], ["orders"]),
        Subscriber("lambda", "arn:f", "arn:s2", "notifier", ["notifier"], ["notifications"], [row]),
    ]
    res = PublishResult(
        "messaging",
        "topic",
        "arn:t",
        "mid",
        None,
        "{}",
        ["mid"],
        subs,
        Effects([], False, 2000.0, ["orders"]),
    )
    out = text(view.publish_view(res))
    assert "published mid to topic topic" in out
    assert "subscriber sqs queue → consumer" in out and "no row written within 2.0s" in out
    assert "subscriber lambda notifier → notifier" in out and "row in notifications (matched order_id)" in out


def test_execution_view_is_a_tree() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    child = StateNode(
        "CheckAddress",
        "Task",
        "SUCCEEDED",
        started=t0,
        ended=t0 + timedelta(seconds=1),
        attempts=3,
        error="TransientError",
    )
    checks = StateNode(
        "Checks", "Parallel", "SUCCEEDED", started=t0, ended=t0 + timedelta(seconds=2), children=[child]
    )
    fail = StateNode(
        "Failed", "Fail", "FAILED", started=t0, ended=t0, error="ApplicationFailed", cause="a step failed"
    )
    res = ExecutionResult(
        "workflow",
        "machine",
        "arn:sm",
        "arn:ex",
        "awslab-1",
        "FAILED",
        {},
        None,
        "ApplicationFailed",
        "a step failed",
        t0,
        t0 + timedelta(seconds=3),
        [checks, fail],
    )
    out = text(view.execution_view(res))
    assert "machine execution awslab-1 FAILED (3000 ms)" in out
    assert "Checks succeeded (Parallel, 2000 ms)" in out
    assert "CheckAddress succeeded (Task, 1000 ms, 2 retries)" in out
    assert "after TransientError" in out  # a retried error is history, not the outcome
    assert "Failed failed (Fail, 0 ms)" in out and "ApplicationFailed: a step failed" in out
    assert out.index("Checks") < out.index("CheckAddress") < out.index("Failed failed")


def test_upload_view_shows_the_lab_s_summary_of_the_row() -> None:
    rec = {
        "id": "uploads/p.jpg",
        "status": "done",
        "width": 640,
        "height": 480,
        "thumbnail_width": 256,
        "thumbnail_height": 192,
        "thumbnail_size": 8123,
        "thumbnail_bucket": "out",
        "thumbnail_key": "thumbnails/p.jpg",
    }
    res = UploadResult(
        "image", "s3", "p.jpg", 5000, "image/jpeg", "uploads/p.jpg", "in", None, None, rec, "images", 80.0
    )
    out = text(view.upload_view(res))
    assert "put s3://in/uploads/p.jpg (5000 bytes, image/jpeg)" in out and "thumbnail 256x192" not in out
    # the line about the row is the lab's (its upload check's summary), not the exercise code's
    out = text(view.upload_view(res, ["thumbnail 256x192 (8123 bytes) at s3://out/thumbnails/p.jpg"]))
    assert "thumbnail 256x192 (8123 bytes) at s3://out/thumbnails/p.jpg" in out
    res = UploadResult(
        "upload", "api", "a.txt", 3, "text/plain", "", None, 413, {"message": "too large"}, None, None, 5.0,
        "POST /up",
    )  # fmt: skip
    out = text(view.upload_view(res))
    assert "HTTP 413 POST /up" in out and "too large" in out


def test_checks_table_and_summary() -> None:
    report = CheckReport(
        "crud",
        [
            CheckResult(1, "create", "call", True, "", 12.0),
            CheckResult(2, "read", "call", False, "status 404, expected 200", 8.0),
        ],
    )
    out = text(view.checks_table(report))
    assert "create" in out and "pass" in out and "FAIL" in out and "status 404, expected 200" in out
    assert text(view.checks_summary(report)).strip() == "1 of 2 checks failed."
    assert "All 1 checks passed" in text(view.checks_summary(CheckReport("x", report.results[:1])))
    assert "✗ FAIL 2. read" in text(view.check_line(report.results[1]))


def test_found_to_dict_round_trip() -> None:
    f = Found("orders", "t", {"id": "1"}, "id", "1")
    assert f.to_dict() == {
        "table": "orders",
        "table_name": "t",
        "matched_on": "id",
        "matched_id": "1",
        "item": {"id": "1"},
    }
