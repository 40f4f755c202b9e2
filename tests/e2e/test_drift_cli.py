"""Drift through the real CLI against a moto server (issue 7, item 10): `plan` then `up` in
separate processes use the same names; settings changed behind awslab's back are named by
`status`, planned by `plan` and restored by `up`."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


def _state(home: Path) -> dict:
    (path,) = list((home / "state" / "state").glob("endpoint-*.json"))
    return json.loads(path.read_text())


def test_plan_and_up_agree_on_names_and_drift_is_repaired(cli_endpoint: Cli, moto_server: str) -> None:
    import boto3

    cli = cli_endpoint
    planned = cli("plan", "crud", "--output", "json").json()
    cli("up", "crud", "--yes")
    resources = _state(cli.home)["labs"]["crud"]["resources"]
    assert {c["logical"]: c["physical"] for c in planned["changes"]} == {
        n: r["physical"] for n, r in resources.items()
    }

    kw = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    lam, ddb = boto3.client("lambda", **kw), boto3.client("dynamodb", **kw)
    fn, table = resources["items-fn"]["physical"], resources["items"]["physical"]
    spec_config = lam.get_function_configuration(FunctionName=fn)
    lam.update_function_configuration(FunctionName=fn, MemorySize=1024, Timeout=3)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 500}\n")
    lam.update_function_code(FunctionName=fn, ZipFile=buf.getvalue())
    ddb.update_table(
        TableName=table,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )

    text = cli("status", "crud", check=False)
    assert text.code == 1 and "changed outside awslab" in text.stdout
    rows = {
        r["logical"]: r for r in cli("status", "crud", "--output", "json").json()["labs"]["crud"]["resources"]
    }
    assert rows["items-fn"]["status"] == "changed"
    assert "code, memory 128 -> 1024, timeout 10 -> 3" in rows["items-fn"]["detail"]
    assert "billing mode PAY_PER_REQUEST -> PROVISIONED" in rows["items"]["detail"]

    plan = {c["logical"]: c for c in cli("plan", "crud", "--output", "json").json()["changes"]}
    assert plan["items-fn"]["action"] == "update"
    assert plan["items-fn"]["reason"] == "drift: code, memory 128 -> 1024, timeout 10 -> 3"
    assert plan["items"]["drift"] == ["billing mode PAY_PER_REQUEST -> PROVISIONED"]
    assert {c["action"] for n, c in plan.items() if n not in ("items-fn", "items")} == {"keep"}

    counts = cli("up", "crud", "--yes", "--output", "json").json()["counts"]
    assert counts["update"] == 2
    live = lam.get_function_configuration(FunctionName=fn)
    assert (live["MemorySize"], live["Timeout"], live["CodeSha256"]) == (
        spec_config["MemorySize"],
        spec_config["Timeout"],
        spec_config["CodeSha256"],
    )
    assert (
        ddb.describe_table(TableName=table)["Table"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    )
    assert {c["action"] for c in cli("plan", "crud", "--output", "json").json()["changes"]} == {"keep"}
    cli("teardown", "--yes")


def test_a_lab_only_planned_is_not_deployed(cli_endpoint: Cli) -> None:
    cli = cli_endpoint
    planned = cli("plan", "crud", "--output", "json").json()
    assert "crud" in _state(cli.home)["labs"]  # the stack id is reserved for `up`
    assert "Nothing deployed" in cli("status").stdout
    assert cli("status", "--output", "json").json()["labs"] == {}
    missing = cli("status", "crud", check=False)
    assert missing.code == 2 and "not deployed" in missing.stderr
    assert "nothing to tear down" in cli("teardown", "--yes").stdout
    # the reservation survives: `up` still creates the names the plan showed
    again = cli("plan", "crud", "--output", "json").json()
    assert [c["physical"] for c in again["changes"]] == [c["physical"] for c in planned["changes"]]
