"""`send-event` asks EventBridge's TestEventPattern about one event, the same for every rule: the
envelope `awslab event eventbridge` builds, with the lab's account and region."""

from __future__ import annotations

from typing import Any

import pytest

from awslab.exercise import put_events
from awslab.state import StateStore
from awslab.target import Target
from tests.exercise.conftest import add_lab, rec


def test_every_rule_is_tested_against_the_same_event(
    target: Target, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    tested: list[dict[str, Any]] = []
    real = put_events._matches

    def spy(events: Any, rule: Any, event: dict[str, Any]) -> bool:
        tested.append(event)
        return real(events, rule, event)

    monkeypatch.setattr(put_events, "_matches", spy)
    rules = [
        rec("events.rule", name, bus="default", pattern={"source": ["shop"]})  # type: ignore[no-untyped-call]
        for name in ("first", "second", "third")
    ]
    out = put_events.send_event(target, add_lab(store, "lab", *rules), '{"id": "e-1"}', timeout=0)
    assert [r.rule for r in out.rules] == ["first", "second", "third"]
    assert len(tested) == 3 and len({e["id"] for e in tested}) == 1
    event = tested[0]
    assert (event["source"], event["account"], event["region"]) == ("shop", target.account_id, target.region)
    assert event["detail"] == {"id": "e-1"} and event["resources"] == []
