"""examples/sns-fanout.yaml on the local cloud, through the real CLI: `up`, its checks (orders
published with message attributes reach only the queues whose filter policy matches, and the
report sees no other consumer act), a `publish --attribute` from the command line, `status`,
`teardown`, and then nothing of it is left."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.examples import status_then_teardown, up_and_check

pytestmark = pytest.mark.e2e
SPEC = str(REPO / "examples" / "sns-fanout.yaml")


def test_sns_fanout_example(local_cli: Cli) -> None:
    cli = local_cli
    up_and_check(cli, SPEC, 4)

    published = cli(
        "publish",
        '{"id": "cli-1", "item": "pen", "amount": 5}',
        "--lab",
        "sns-fanout",
        "--attribute",
        "region=eu",
        "--attribute",
        "amount:Number=5",
        "--output",
        "json",
    ).json()
    by_queue = {s["resource"]: s for s in published["subscribers"]}
    assert {q: s["delivered"] for q, s in by_queue.items()} == {
        "eu-orders": True,
        "us-orders": False,
        "big-orders": False,
    }
    rows = [e["item"] for e in by_queue["eu-orders"]["effects"]]
    assert [(r["order_id"], r["consumer"], r["region"]) for r in rows] == [("cli-1", "eu", "eu")]
    report_of = cli(
        "invoke", "sns-fanout", "report", "--payload", '{"order_ids": ["cli-1"]}', "--output", "json"
    )
    assert report_of.json()["payload"] == {"cli-1": "eu"}

    status_then_teardown(cli, "sns-fanout")
