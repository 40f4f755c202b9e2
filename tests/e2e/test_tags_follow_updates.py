"""Tags follow the spec on the local cloud, through the real CLI: `up`, change the spec's `tags:`
(one changed, one new, one dropped), `plan` shows each tagged resource as an update (no
replacement), `up` again retags them in place (a function and its log group, a REST API, a queue),
awslab's own tags kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

SPEC = """\
name: retag
tags: {TAGS}
resources:
  role:
    type: iam.role
    service: lambda
  fn:
    type: lambda.function
    code: code
    handler: app.handler
    role: ${role.arn}
  api:
    type: apigateway.rest_api
    routes: {"GET /hello": fn}
  queue:
    type: sqs.queue
"""


def write(home: Path, tags: str) -> str:
    d = home / "retag"
    (d / "code").mkdir(parents=True, exist_ok=True)
    (d / "code" / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    (d / "retag.yaml").write_text(SPEC.replace("{TAGS}", tags))
    return str(d / "retag.yaml")


def live_tags(cli: Cli, endpoint: str) -> dict[str, dict[str, str]]:
    session = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    )
    res = json.loads(next((cli.home / "state").rglob("local-*.json")).read_text())["labs"]["retag"][
        "resources"
    ]
    attrs: dict[str, dict[str, Any]] = {k: r["attrs"] for k, r in res.items()}
    logs = session.client("logs", endpoint_url=endpoint)
    group = f"/aws/lambda/{attrs['fn']['name']}"
    return {
        "role": {t["Key"]: t["Value"] for t in session.client("iam", endpoint_url=endpoint)
                 .list_role_tags(RoleName=attrs["role"]["name"])["Tags"]},
        "fn": session.client("lambda", endpoint_url=endpoint).list_tags(Resource=attrs["fn"]["arn"])["Tags"],
        "fn-logs": logs.list_tags_log_group(logGroupName=group)["tags"],
        "api": session.client("apigateway", endpoint_url=endpoint).get_rest_api(restApiId=attrs["api"]["id"])["tags"],
        "queue": session.client("sqs", endpoint_url=endpoint).list_queue_tags(QueueUrl=attrs["queue"]["url"])["Tags"],
    }  # fmt: skip


def user(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith("awslab:")}


def test_up_retags_what_the_spec_retags_on_the_local_cloud(local_cli: Cli) -> None:
    cli = local_cli
    spec = write(cli.home, "{team: orders, cost-center: '42'}")
    cli("up", spec, "--yes")
    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    before = live_tags(cli, endpoint)
    assert {name: user(t) for name, t in before.items()} == {
        name: {"team": "orders", "cost-center": "42"} for name in before
    }

    spec = write(cli.home, "{team: payments, owner: ada}")
    plan = cli("plan", spec, "--output", "json").json()
    assert {c["logical"]: (c["action"], c["reason"]) for c in plan["changes"]} == {
        name: ("update", "changed: tags") for name in ("role", "fn", "api", "queue")
    }
    cli("up", spec, "--yes")
    after = live_tags(cli, endpoint)
    for name, tags in after.items():
        own = {k: v for k, v in before[name].items() if k.startswith("awslab:")}
        assert tags == {**own, "team": "payments", "owner": "ada"}, name
    assert cli("plan", spec, "--output", "json").json()["counts"]["update"] == 0
    cli("teardown", "--yes")
