"""TestEventPattern in the local cloud (moto answers it with nothing): matched with the matcher
moto's rules use, after AWS's checks of the event."""

from __future__ import annotations

import json

import pytest

from awslab.local.eventbridge_test_pattern import answer

EVENT = {"id": "1", "account": "123456789012", "source": "shop.orders", "time": "2026-01-01T00:00:00Z",
         "region": "us-east-1", "detail-type": "OrderPlaced", "resources": [], "detail": {"amount": 7}}  # fmt: skip


def test_match_and_no_match() -> None:
    pattern = {"source": ["shop.orders"], "detail": {"amount": [{"numeric": [">", 5]}]}}
    assert answer(json.dumps(pattern), json.dumps(EVENT)) == {"Result": True}
    assert answer(json.dumps({"source": ["shop.returns"]}), json.dumps(EVENT)) == {"Result": False}


def test_an_event_without_the_envelope_is_refused() -> None:
    with pytest.raises(ValueError, match="missing field"):
        answer('{"source": ["x"]}', json.dumps({"source": "x"}))
    without_resources = {k: v for k, v in EVENT.items() if k != "resources"}
    with pytest.raises(ValueError, match=r"missing field\(s\) resources"):
        answer('{"source": ["x"]}', json.dumps(without_resources))
    with pytest.raises(ValueError, match="not valid JSON"):
        answer('{"source": ["x"]}', "{")
