"""The script `awslab explain LAB` writes, run with the AWS CLI against a real local cloud process,
builds what `awslab up LAB` builds there: same resources and configuration (the API's routes and
methods, the table's key, the functions' settings, the bucket's website, the state machine)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from .conftest import Cli

SCRIPT_STACK = "scr0pt"  # the script's copy, beside the one `up` makes


def client(cli: Cli, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{cli.env['AWSLAB_LOCAL_PORT']}",
        region_name="us-east-1",
        aws_access_key_id="awslab",
        aws_secret_access_key="awslab-local",
    )


def run_script(cli: Cli, lab: str) -> None:
    script = cli.home / f"{lab}.sh"
    cli("explain", lab, "-o", str(script))
    env = {
        **cli.env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{cli.env.get('PATH', '')}",  # the venv's `aws`
        "AWS_ACCESS_KEY_ID": "awslab",
        "AWS_SECRET_ACCESS_KEY": "awslab-local",
        "STACK": SCRIPT_STACK,
        "IAM_PROPAGATION_SECONDS": "0",
    }
    endpoint = f"http://127.0.0.1:{cli.env['AWSLAB_LOCAL_PORT']}"
    proc = subprocess.run(["bash", str(script), "--endpoint-url", endpoint], env=env, cwd=cli.home,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]


def by_copy(names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """awslab's names and the script's, each keyed by the name without its stack suffix."""
    ours = {n.removesuffix(f"-{SCRIPT_STACK}"): n for n in names if n.endswith(f"-{SCRIPT_STACK}")}
    theirs = {re.sub(r"-[0-9a-f]{6}$", "", n): n for n in names if not n.endswith(f"-{SCRIPT_STACK}")}
    return theirs, ours


def same_functions(cli: Cli) -> None:
    lam = client(cli, "lambda")
    theirs, ours = by_copy([f["FunctionName"] for f in lam.list_functions()["Functions"]])
    assert theirs and theirs.keys() == ours.keys()
    for key in theirs:
        a, b = (lam.get_function_configuration(FunctionName=n) for n in (theirs[key], ours[key]))
        for setting in ("Runtime", "Handler", "Timeout", "MemorySize", "Architectures"):
            assert a.get(setting) == b.get(setting), (key, setting)
        assert a["Role"].split("/")[-1].rsplit("-", 1)[0] == b["Role"].split("/")[-1].rsplit("-", 1)[0]
        assert (
            a.get("Environment", {}).get("Variables", {}).keys()
            == b.get("Environment", {}).get("Variables", {}).keys()
        )


def same_roles(cli: Cli) -> None:
    iam = client(cli, "iam")
    theirs, ours = by_copy([r["RoleName"] for r in iam.list_roles()["Roles"]])
    assert theirs and theirs.keys() == ours.keys()
    for key in theirs:
        a, b = (iam.get_role(RoleName=n)["Role"] for n in (theirs[key], ours[key]))
        assert a["AssumeRolePolicyDocument"] == b["AssumeRolePolicyDocument"]
        assert (
            iam.list_role_policies(RoleName=theirs[key])["PolicyNames"]
            == iam.list_role_policies(RoleName=ours[key])["PolicyNames"]
        )


def test_the_crud_script_builds_what_up_builds(local_cli: Cli) -> None:
    local_cli("up", "crud")
    run_script(local_cli, "crud")

    apigw = client(local_cli, "apigateway")
    apis = {a["name"]: a["id"] for a in apigw.get_rest_apis()["items"]}
    theirs, ours = by_copy(list(apis))
    assert theirs.keys() == ours.keys() == {"awslab-crud-api"}

    def routes(api_id: str) -> dict[tuple[str, str], str]:
        out = {}
        for r in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]:
            for method in r.get("resourceMethods", {}):
                integration = apigw.get_integration(restApiId=api_id, resourceId=r["id"], httpMethod=method)
                out[(r["path"], method)] = integration["type"]
        return out

    awslab_routes = routes(apis[theirs["awslab-crud-api"]])
    assert awslab_routes and routes(apis[ours["awslab-crud-api"]]) == awslab_routes
    assert {s["stageName"] for s in apigw.get_stages(restApiId=apis[ours["awslab-crud-api"]])["item"]} == {
        "dev"
    }

    ddb = client(local_cli, "dynamodb")
    theirs, ours = by_copy(ddb.list_tables()["TableNames"])
    assert theirs.keys() == ours.keys() == {"awslab-crud-items"}
    a, b = (
        ddb.describe_table(TableName=n)["Table"]
        for n in (theirs["awslab-crud-items"], ours["awslab-crud-items"])
    )
    assert a["KeySchema"] == b["KeySchema"] and a["AttributeDefinitions"] == b["AttributeDefinitions"]
    assert a["BillingModeSummary"] == b["BillingModeSummary"]

    s3 = client(local_cli, "s3")
    theirs, ours = by_copy([b["Name"] for b in s3.list_buckets()["Buckets"]])
    assert theirs.keys() == ours.keys() == {"awslab-crud-site"}
    site_a, site_b = theirs["awslab-crud-site"], ours["awslab-crud-site"]
    website = s3.get_bucket_website(Bucket=site_a)
    website.pop("ResponseMetadata")
    assert {
        k: v for k, v in s3.get_bucket_website(Bucket=site_b).items() if k != "ResponseMetadata"
    } == website
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=site_a)["Contents"]}
    assert keys and {o["Key"] for o in s3.list_objects_v2(Bucket=site_b)["Contents"]} == keys

    same_functions(local_cli)
    same_roles(local_cli)


@pytest.mark.parametrize("lab", ["workflow"])
def test_another_labs_script_builds_what_up_builds(local_cli: Cli, lab: str) -> None:
    local_cli("up", lab)
    run_script(local_cli, lab)
    sfn = client(local_cli, "stepfunctions")
    theirs, ours = by_copy([m["name"] for m in sfn.list_state_machines()["stateMachines"]])
    assert theirs and theirs.keys() == ours.keys()
    arns = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    for key in theirs:
        a, b = (sfn.describe_state_machine(stateMachineArn=arns[n]) for n in (theirs[key], ours[key]))
        assert a["type"] == b["type"]
        states = re.compile(r'"Type"\s*:\s*"(\w+)"')
        assert states.findall(a["definition"]) == states.findall(b["definition"])
    same_functions(local_cli)
    same_roles(local_cli)
