"""`send-event` never picks a source only AWS services may put (`aws.*`), and the local cloud's
PutEvents refuses such a source the way EventBridge does (NotAuthorizedForSourceException)."""

from __future__ import annotations

import pytest

from awslab.errors import ExerciseError
from awslab.exercise import put_events
from awslab.state import StateStore
from awslab.target import Target
from tests.exercise.conftest import add_lab, rec


def _rule(source: list[str]) -> object:
    return rec("events.rule", "changes", bus="default",
               pattern={"source": source, "detail-type": ["Object Created"]})  # fmt: skip


def test_the_default_source_is_never_an_aws_one(target: Target, store: StateStore) -> None:
    lab = add_lab(store, "lab", _rule(["aws.s3", "shop.files"]))  # type: ignore[arg-type]
    out = put_events.send_event(target, lab, '{"id": "e-1"}', timeout=0)
    assert (out.source, out.detail_type) == ("shop.files", "Object Created")
    only_aws = add_lab(store, "lab2", _rule(["aws.s3"]))  # type: ignore[arg-type]
    assert put_events.send_event(target, only_aws, '{"id": "e-2"}', timeout=0).source == "awslab"


def test_local_put_events_refuses_an_aws_source(target: Target, store: StateStore) -> None:
    answer = target.client("events").put_events(Entries=[
        {"Source": "aws.s3", "DetailType": "x", "Detail": "{}"},
        {"Source": "shop", "DetailType": "x", "Detail": "{}"},
    ])  # fmt: skip
    first, second = answer["Entries"]
    assert answer["FailedEntryCount"] == 1 and "EventId" not in first and second["EventId"]
    assert first["ErrorCode"] == "NotAuthorizedForSourceException"
    lab = add_lab(store, "lab", _rule(["aws.s3"]))  # type: ignore[arg-type]
    with pytest.raises(ExerciseError, match="NotAuthorizedForSourceException"):
        put_events.send_event(target, lab, '{"id": "e-3"}', source="aws.s3", timeout=0)
