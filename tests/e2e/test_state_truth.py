"""What the state says, checked against the local cloud through the real CLI: after the local
cloud stopped or restarted without its resources (reset), `status` and `teardown` say its resources are gone (instead of
"deleted outside awslab"), and `teardown --sweep` spares what another state file records,
lists first, and asks on the local cloud too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e

SPEC = "name: {name}\ndescription: one table, one queue\nresources:\n  items: {{type: dynamodb.table, key: {{id: S}}}}\n  jobs: {{type: sqs.queue}}\n"


def spec(cli: Cli, name: str) -> str:
    path = cli.home / f"{name}.yaml"
    path.write_text(SPEC.format(name=name))
    return str(path)


def default_state(cli: Cli) -> Path:
    return cli.home / "state" / "state" / f"local-{cli.env['AWSLAB_LOCAL_PORT']}.json"


def local_running(cli: Cli) -> bool:
    return cli("local", "status", "--output", "json").json() != {"running": False}


def test_after_the_local_cloud_stopped_or_restarted_its_labs_are_gone(local_cli: Cli) -> None:
    cli = local_cli
    tiny = spec(cli, "tiny")
    cli("up", tiny, "--yes")
    deployed_at = json.loads(default_state(cli).read_text())["labs"]["tiny"]["updated_at"]
    cli("local", "stop")
    cli("local", "reset", "--yes")  # a stop alone keeps the resources (test_local_cloud_remembers.py)

    status = cli("status", check=False)
    assert status.code == 1, status.stdout + status.stderr
    port = cli.env["AWSLAB_LOCAL_PORT"]
    assert (
        f"lab 'tiny' was deployed at {deployed_at} in the local cloud on port {port}, which has "
        f"stopped since: its resources are gone — run 'awslab up {tiny}' to deploy it again" in status.stdout
    )
    assert "deleted outside awslab" not in status.stdout
    assert not local_running(cli)  # status started nothing

    cli("local", "start")
    as_json = cli("status", "--output", "json", check=False)
    assert as_json.code == 1
    lab = as_json.json()["labs"]["tiny"]
    assert "which was restarted since: its resources are gone" in lab["gone"]
    assert {r["status"] for r in lab["resources"]} == {"gone"}
    send = cli("send-message", "hi", "--lab", "tiny", check=False)  # exercising it says so too
    assert send.code == 1 and "which was restarted since: its resources are gone" in send.stderr
    assert f"hint: run 'awslab up {tiny}' to deploy it again" in send.stderr
    labs = {row["name"]: row for row in cli("labs", "--output", "json").json()}
    assert [d["gone"] for d in labs["tiny"]["deployed"]] == [True]

    down = cli("teardown")
    assert "which was restarted since: its resources are gone; forgot it (nothing to delete)" in down.stderr
    assert json.loads(default_state(cli).read_text())["labs"] == {}
    assert cli("status").stdout.startswith("Nothing deployed")


def test_teardown_with_the_local_cloud_stopped_forgets_and_starts_nothing(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", spec(cli, "tiny"), "--yes")
    cli("local", "stop")
    cli("local", "reset", "--yes")  # its snapshot gone: nothing to start for
    down = cli("teardown", "--output", "json").json()
    assert down["ok"] and list(down["forgotten"]) == ["tiny"] and down["labs"] == {}
    assert json.loads(default_state(cli).read_text())["labs"] == {}
    assert not local_running(cli)


def test_sweep_spares_another_state_file_and_asks_first(local_cli: Cli) -> None:
    cli = local_cli
    other = cli.home / "elsewhere" / "other.json"
    cli("up", spec(cli, "keep"), "--yes", "--state", str(other))
    cli("up", spec(cli, "lost"), "--yes")
    state = json.loads(default_state(cli).read_text())
    lost_stack = state["labs"].pop("lost")["stack_id"]
    default_state(cli).write_text(json.dumps(state))  # the default state forgot 'lost'
    keep_stack = json.loads(other.read_text())["labs"]["keep"]["stack_id"]
    endpoint = cli("local", "status", "--output", "json").json()["endpoint"]
    before = inventory(endpoint)

    dry = cli("teardown", "--sweep", "--dry-run")
    assert "Dry run: nothing was deleted." in dry.stderr
    assert f"awslab-lost-items-{lost_stack}" in dry.stderr and keep_stack not in dry.stderr

    refused = cli("teardown", "--sweep", check=False)  # no terminal to answer in, no --yes
    assert (
        refused.code == 2 and "error: not confirmed: Delete all this from the local cloud" in refused.stderr
    )
    assert inventory(endpoint) == before

    swept = cli("teardown", "--sweep", "--yes", "--output", "json").json()
    assert swept["ok"] and sorted(swept["swept"]["deleted"]) == sorted(
        f"awslab-lost-{n}-{lost_stack}" for n in ("items", "jobs")
    )
    left = json.dumps(inventory(endpoint))
    assert f"awslab-keep-items-{keep_stack}" in left and f"awslab-keep-jobs-{keep_stack}" in left
    assert "awslab-lost-" not in left
    kept = cli("status", "--state", str(other), "--output", "json").json()
    assert {r["status"] for r in kept["labs"]["keep"]["resources"]} == {"present"}
    cli("teardown", "--state", str(other), "--yes")
