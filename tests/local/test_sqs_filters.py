"""FilterCriteria on an SQS event source mapping in a real local cloud process: as on AWS, the
function gets only the messages a filter matches (a JSON body matched as JSON), and the others are
deleted from the queue unseen."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.local.lambda_helpers import wait_for
from tests.local.test_sqs_poller import WAIT_S, Wiring, wiring  # noqa: F401  # the fixture

PATTERN = {"body": {"kind": ["keep"]}}


def test_only_matching_messages_reach_the_function(wiring: Callable[..., Wiring]) -> None:  # noqa: F811
    w = wiring()
    w.connect(BatchSize=10, FilterCriteria={"Filters": [{"Pattern": json.dumps(PATTERN)}]})
    w.send(json.dumps({"kind": "drop", "n": 1}), "plain text", json.dumps({"kind": "keep", "n": 2}))
    assert wait_for(lambda: w.queue_empty(), WAIT_S)
    assert wait_for(lambda: len(w.records()) >= 1, WAIT_S)
    assert [json.loads(r["body"])["n"] for r in w.records()] == [2]
