"""`awslab status` shows each lab's age and cost (what it would cost on AWS, on the local cloud; an
estimate, on an endpoint), and `awslab teardown --older-than` removes only the old labs and, with
--sweep, only the orphans whose creation tag is old. Labs are made to look old through their state
file and their tags, never by waiting."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


def queue_lab(home: Path, name: str) -> str:
    spec = home / f"{name}.yaml"
    spec.write_text(f"name: {name}\nresources:\n  q: {{type: sqs.queue}}\n")
    return str(spec)


def hours_ago(hours: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).isoformat(timespec="seconds")


def sqs(endpoint: str) -> Any:
    return boto3.client(
        "sqs", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def queues(endpoint: str) -> list[str]:
    return sorted(u.rsplit("/", 1)[-1] for u in sqs(endpoint).list_queues().get("QueueUrls", []))


def test_status_ages_and_prices_labs_and_older_than_removes_only_the_old(local_cli: Cli, home: Path) -> None:
    cli = local_cli
    for name in ("old", "young", "lost", "lost-young"):
        cli("up", queue_lab(home, name), "--yes")
    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])

    status = cli("status", "--output", "json").json()
    young = status["labs"]["young"]
    assert young["age"]["exact"] and 0 <= young["age"]["seconds"] < 600
    assert young["cost"]["basis"] == "what it would cost on AWS (local cloud)"
    assert young["cost"]["monthly_usd"] > 0 and young["cost"]["prices_as_of"]
    assert any("10,000 requests" in a for a in status["cost_assumptions"]["usage"])
    text = cli("status").stdout
    assert (
        "Lab 'young' (stack " in text
        and "Would cost on AWS: " in text
        and " so far (" in text
        and "a month at list price" in text
    )

    # 'old' was created 3 hours ago (its state says so); 'lost' and 'lost-young' lose their state,
    # and 'lost' carries a creation tag of 5 hours ago
    state_file = next((home / "state" / "state").glob("local-*.json"))
    state = json.loads(state_file.read_text())
    state["labs"]["old"]["created_at"] = hours_ago(3)
    stacks = {n: state["labs"].pop(n)["stack_id"] for n in ("lost", "lost-young")}
    state_file.write_text(json.dumps(state))
    lost_queue = f"awslab-lost-q-{stacks['lost']}"
    url = sqs(endpoint).get_queue_url(QueueName=lost_queue)["QueueUrl"]
    sqs(endpoint).tag_queue(QueueUrl=url, Tags={"awslab:created": hours_ago(5)})

    old_status = cli("status", "old").stdout
    assert "Lab 'old' (stack " in old_status and ("up 3h (" in old_status or "up 3h 1m (" in old_status)

    bad = cli("teardown", "--older-than", "2x", check=False)
    assert bad.code == 2 and bad.stderr.splitlines()[0] == "error: --older-than '2x' is not a duration"
    huge = cli("teardown", "--older-than", "99999999999999d", check=False)  # not an OverflowError
    assert huge.code == 2 and huge.stderr.splitlines()[0].endswith("must be more than 0 and at most 3660d")

    dry = cli("teardown", "--older-than", "2h", "--dry-run", "--output", "json").json()
    age = dry["labs"]["old"]["age"]  # the same object as in `status --output json`
    assert age["source"] == "created" and age["exact"] and age["seconds"] >= 3 * 3600

    unasked = cli("teardown", "--older-than", "2h", check=False)  # listed, then refused: no --yes
    assert unasked.code != 0 and "Lab 'old' (stack " in unasked.stderr and "up 3h" in unasked.stderr
    assert "'young'" not in unasked.stderr

    gone = cli("teardown", "--older-than", "2h", "--sweep", "--yes", "--output", "json").json()
    assert gone["ok"] and list(gone["labs"]) == ["old"]
    assert gone["swept"]["deleted"] == [lost_queue] and gone["not_aged"] == []
    left = queues(endpoint)
    assert [q.split("-q-")[0] for q in left] == ["awslab-lost-young", "awslab-young"]
    assert set(cli("status", "--output", "json").json()["labs"]) == {"young"}

    nothing = cli("teardown", "--older-than", "2h")
    assert "Nothing is older than 2h on the local cloud" in nothing.stdout


def test_status_on_an_endpoint_is_an_estimate_for_the_account(cli_endpoint: Cli, home: Path) -> None:
    cli = cli_endpoint
    cli("up", queue_lab(home, "q"), "--yes")
    cost = cli("status", "--output", "json").json()["labs"]["q"]["cost"]
    assert cost["basis"] == "this account (estimate)" and cost["so_far_usd"] >= 0
    assert "Estimated cost: " in cli("status").stdout
    cli("teardown", "--yes")
