"""Spec values on the local cloud, through the real CLI: `params:` set by --param and by the
environment, `${lab.name}` / `${aws.region}` / `${aws.account_id}` in fields, outputs and a state
machine's definition, user `tags:` on the resources, and `${ssm:...}` / `${secretsmanager:...}`
values reaching a function's environment, never written to the state file in clear."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import boto3
import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

SECRET = "s3cr3t-Pa55word"
SPEC = dedent("""\
    name: vals
    params:
      greeting: {default: hello, description: what the function says}
      memory: {default: 128}
      team: {default: core}
    tags:
      project: awslab-tests
      team: ${param.team}
    resources:
      role:
        type: iam.role
        service: lambda
      fn:
        type: lambda.function
        code: code
        handler: app.handler
        role: ${role.arn}
        memory: ${param.memory}
        tags: {team: functions, owner: "${lab.name}"}
        environment:
          GREETING: ${param.greeting}
          WHERE: ${aws.region}/${aws.account_id}/${lab.name}
          PLAIN: ${ssm:/vals/plain}
          PASSWORD: ${ssm:/vals/password}
          API_KEY: ${secretsmanager:vals/creds:api_key}
          WHOLE: ${secretsmanager:vals/token}
      queue:
        type: sqs.queue
      sm-role:
        type: iam.role
        service: states
      machine:
        type: stepfunctions.state_machine
        definition: machine.json
        role: ${sm-role.arn}
    outputs:
      where: ${aws.region}:${aws.account_id}
      token: ${secretsmanager:vals/token}
    """)
MACHINE = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Pass", "Result": {"where": "${aws.region}", "lab": "${lab.name}", "fn": "${fn.arn}"},
              "End": True},
    },
}  # fmt: skip


def _lab(home: Path) -> Path:
    d = home / "vals"
    (d / "code").mkdir(parents=True)
    (d / "code" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    (d / "machine.json").write_text(json.dumps(MACHINE))
    (d / "vals.yaml").write_text(SPEC)
    return d / "vals.yaml"


def test_params_builtins_tags_and_secrets_on_the_local_cloud(local_cli: Cli) -> None:
    cli = local_cli
    spec = str(_lab(cli.home))
    cli("local", "start")
    endpoint = str(cli("local", "status", "--output", "json").json()["endpoint"])
    session = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    )
    ssm = session.client("ssm", endpoint_url=endpoint)
    sm = session.client("secretsmanager", endpoint_url=endpoint)
    ssm.put_parameter(Name="/vals/plain", Value="plain-value", Type="String")
    ssm.put_parameter(Name="/vals/password", Value=SECRET, Type="SecureString")
    sm.create_secret(Name="vals/creds", SecretString=json.dumps({"api_key": "key-1234567", "other": "x"}))

    # a secret that does not exist: one error naming the reference and where the spec has it
    missing = cli("up", spec, "--yes", check=False)
    assert missing.code != 0
    assert "${secretsmanager:vals/token}" in missing.stderr and "no secret 'vals/token'" in missing.stderr
    assert "vals.yaml:" in missing.stderr and "Traceback" not in missing.stderr
    sm.create_secret(Name="vals/token", SecretString="tok-ABCDEFGH")

    env = {**cli.env, "AWSLAB_PARAM_MEMORY": "256"}
    up = Cli(env, cli.home)("up", spec, "--yes", "--param", "greeting=hola", "--output", "json")
    outputs = up.json()["outputs"]
    assert outputs["where"] == "us-east-1:123456789012"
    assert outputs["token"] == "${secretsmanager:vals/token}"  # a secret is shown as its reference

    lam = session.client("lambda", endpoint_url=endpoint)
    state = json.loads(next((cli.home / "state").rglob("*.json")).read_text())
    fn_name = state["labs"]["vals"]["resources"]["fn"]["physical"]
    config = lam.get_function_configuration(FunctionName=fn_name)
    assert config["MemorySize"] == 256  # from the environment
    assert config["Environment"]["Variables"] == {
        "GREETING": "hola",  # from --param
        "WHERE": "us-east-1/123456789012/vals",
        "PLAIN": "plain-value",
        "PASSWORD": SECRET,
        "API_KEY": "key-1234567",
        "WHOLE": "tok-ABCDEFGH",
    }
    tags = lam.list_tags(Resource=config["FunctionArn"])["Tags"]
    assert tags["project"] == "awslab-tests" and tags["team"] == "functions" and tags["owner"] == "vals"
    assert tags["awslab:lab"] == "vals" and tags["awslab:logical"] == "fn"
    queue_url = state["labs"]["vals"]["resources"]["queue"]["attrs"]["url"]
    queue_tags = session.client("sqs", endpoint_url=endpoint).list_queue_tags(QueueUrl=queue_url)["Tags"]
    assert queue_tags["team"] == "core" and queue_tags["project"] == "awslab-tests"

    sfn = session.client("stepfunctions", endpoint_url=endpoint)
    machine_arn = state["labs"]["vals"]["resources"]["machine"]["attrs"]["arn"]
    result = json.loads(sfn.describe_state_machine(stateMachineArn=machine_arn)["definition"])
    assert result["States"]["P"]["Result"] == {
        "where": "us-east-1",
        "lab": "vals",
        "fn": config["FunctionArn"],
    }

    text = "".join(p.read_text() for p in (cli.home / "state").rglob("*.json"))
    for secret in (SECRET, "key-1234567", "tok-ABCDEFGH"):
        assert secret not in text
        assert secret not in up.stdout + up.stderr
    plan = Cli(env, cli.home)("plan", spec, "--param", "greeting=hola", "--output", "json").json()
    assert plan["counts"]["create"] == plan["counts"]["update"] == plan["counts"]["replace"] == 0, plan
    status = cli("status", "vals", "--output", "json", check=False)
    assert status.code == 0, status.stdout + status.stderr
    assert SECRET not in status.stdout + status.stderr
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
