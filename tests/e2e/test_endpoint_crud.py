"""The crud lab through the real CLI against a plain moto server (the `endpoint` target)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e


def _state(home: Path) -> dict:
    files = list((home / "state" / "state").glob("endpoint-*.json"))
    assert len(files) == 1, files
    path = files[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text())


def test_crud_lifecycle_on_a_moto_server(cli_endpoint: Cli, moto_server: str) -> None:
    cli = cli_endpoint
    first = cli("up", "crud", "--yes", "--output", "json").json()
    assert first["counts"]["create"] == 6
    assert first["outputs"]["api_url"].startswith(moto_server)
    state = _state(cli.home)
    assert state["schema_version"] == 1
    lab = state["labs"]["crud"]
    assert {r["status"] for r in lab["resources"].values()} == {"created"}
    assert all(r["physical"].startswith("awslab-crud-") for r in lab["resources"].values())
    secretish = json.dumps(state).lower()
    assert "secret" not in secretish and "testing" not in secretish

    again = cli("up", "crud", "--yes", "--output", "json").json()
    assert again["counts"]["create"] == 0 and again["counts"]["keep"] == 6

    plan = cli("plan", "crud", "--output", "json").json()
    assert {c["action"] for c in plan["changes"]} == {"keep"}

    status = cli("status", "--output", "json").json()
    rows = status["labs"]["crud"]["resources"]
    assert len(rows) == 6 and {r["status"] for r in rows} == {"present"}

    outputs = cli("outputs", "crud", "--output", "json").json()
    assert set(outputs) >= {"api_url", "website_url"}

    found = inventory(moto_server)
    assert len(found["functions"]) == 1 and len(found["rest_apis"]) == 1 and len(found["tables"]) == 1

    down = cli("teardown", "--yes", "--output", "json").json()
    assert down["ok"] and len(down["labs"]["crud"]["deleted"]) == 6
    assert inventory(moto_server) == {}
    assert _state(cli.home)["labs"] == {}
    # teardown is re-runnable
    assert cli("teardown", "crud", "--yes").code == 0


def test_a_resource_deleted_behind_awslabs_back_is_reported_and_recreated(
    cli_endpoint: Cli, moto_server: str
) -> None:
    import boto3

    cli = cli_endpoint
    cli("up", "crud", "--yes")
    table = _state(cli.home)["labs"]["crud"]["resources"]["items"]["physical"]
    boto3.client("dynamodb", endpoint_url=moto_server, region_name="us-east-1").delete_table(TableName=table)

    status = cli("status", "crud", "--output", "json", check=False)
    assert status.code == 0  # JSON output reports, it does not fail
    health = {r["logical"]: r["status"] for r in status.json()["labs"]["crud"]["resources"]}
    assert health["items"] == "missing"
    text = cli("status", "crud", check=False)
    assert text.code == 1 and "missing" in text.stdout

    plan = cli("plan", "crud", "--output", "json").json()
    actions = {c["logical"]: c["action"] for c in plan["changes"]}
    assert actions["items"] == "create"
    cli("up", "crud", "--yes")
    rows = cli("status", "crud", "--output", "json").json()["labs"]["crud"]["resources"]
    assert {r["status"] for r in rows} == {"present"}, rows
    cli("teardown", "crud", "--yes")
    assert inventory(moto_server) == {}
