"""`awslab new` for every template, on the local cloud through the real CLI: the lab it writes
validates, and the commands it shows next, run exactly as shown from the same directory (`up`, its
checks, an invoke with the sample event, the template's own tries, `teardown`), all succeed, every
check passes, and afterwards nothing of the lab is left in any service."""

from __future__ import annotations

import shlex

import boto3
import pytest

from awslab.scaffold import templates
from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e


def leftovers(endpoint: str) -> dict[str, list[str]]:
    """Everything `inventory` lists, plus the EventBridge rules and HTTP APIs it does not."""
    session = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    )
    found = inventory(endpoint)
    rules = [r["Name"] for r in session.client("events", endpoint_url=endpoint).list_rules()["Rules"]]
    apis = [a["Name"] for a in session.client("apigatewayv2", endpoint_url=endpoint).get_apis()["Items"]]
    return {**found, **({"rules": rules} if rules else {}), **({"http_apis": apis} if apis else {})}


@pytest.mark.parametrize("template", list(templates()))
def test_a_new_lab_runs_as_its_next_steps_say(local_cli: Cli, template: str) -> None:
    cli = local_cli
    name = f"my-{template}"
    made = cli("new", name, "--from", template, "--output", "json").json()
    steps = [shlex.split(s, comments=True)[1:] for s in made["next_steps"]]  # without "awslab"
    assert steps[0] == ["up", f"./{name}.yaml"] and steps[-1] == ["teardown", name]
    assert "is valid" in cli("validate", f"./{name}.yaml").stdout

    cli(*steps[0])
    report = cli(*steps[1], "--output", "json", check=False)
    assert report.code == 0, report.stdout + report.stderr
    results = report.json()["results"]
    assert results and all(r["passed"] for r in results), results
    invoked = cli(*steps[2], "--output", "json").json()  # the sample event, as a learner sends it
    assert invoked["status_code"] == 200 and not invoked.get("function_error"), invoked
    for step in steps[3:-1]:
        cli(*step)

    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    cli(*steps[-1], "--yes")
    assert leftovers(endpoint) == {}
