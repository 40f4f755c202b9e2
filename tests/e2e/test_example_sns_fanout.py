"""examples/sns-fanout.yaml on the local cloud, through the real CLI: `up`, its checks (orders
published with message attributes reach only the queues whose filter policy matches, and the
report sees no other consumer act), a `publish --attribute` from the command line, `status`,
`teardown`, and then nothing of it is left."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e
SPEC = str(REPO / "examples" / "sns-fanout.yaml")


def test_sns_fanout_example(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", SPEC, "--yes")
    report = cli("check", SPEC, "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr
    results = report.json()["results"]
    assert len(results) == 4 and all(r["passed"] for r in results), results

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

    status = cli("status", "sns-fanout", "--output", "json", check=False)
    assert status.code == 0, status.stdout + status.stderr

    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
