"""`--explain` and `awslab explain`: SDK calls as AWS CLI commands (checked by parsing them with the
real AWS CLI and comparing the request it would make), the recording hook, and the script built
from a recorded `up`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import threading
import zipfile
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from awslab.explain.cli_form import HIDDEN, Secrets, key_fields, to_cli
from awslab.explain.hook import Call, Explainer, explain_call

REPO = Path(__file__).resolve().parents[2]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def op(service: str, name: str) -> Any:
    return botocore.session.get_session().get_service_model(service).operation_model(name)


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("iam", "CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": '{"Version": "2012-10-17"}',
                           "Tags": [{"Key": "awslab:lab", "Value": "crud"}]}),
    ("lambda", "CreateFunction", {"FunctionName": "fn", "Role": "arn:aws:iam::123456789012:role/r",
                                  "Handler": "app.handler", "Runtime": "python3.12", "Code": {"ZipFile": _zip()},
                                  "Publish": False, "Architectures": ["x86_64"], "Timeout": 10,
                                  "Environment": {"Variables": {"TABLE": "t", "QUOTE": "it's \"x\""}}}),
    ("lambda", "UpdateFunctionCode", {"FunctionName": "fn", "ZipFile": _zip(), "Publish": True}),
    ("dynamodb", "CreateTable", {"TableName": "t", "BillingMode": "PAY_PER_REQUEST",
                                 "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                                 "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}),
    ("apigateway", "CreateRestApi", {"name": "api", "version": "v1", "binaryMediaTypes": [],
                                     "endpointConfiguration": {"types": ["REGIONAL"]}}),
    ("apigateway", "PutIntegration", {"restApiId": "abc", "resourceId": "r1", "httpMethod": "GET",
                                      "type": "AWS_PROXY", "integrationHttpMethod": "POST",
                                      "uri": "arn:aws:apigateway:us-east-1:lambda:path/x"}),
    ("sns", "Subscribe", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Protocol": "sqs",
                          "Endpoint": "arn:aws:sqs:us-east-1:123456789012:q",
                          "Attributes": {"RawMessageDelivery": "true"}}),
    ("sqs", "CreateQueue", {"QueueName": "q", "Attributes": {"VisibilityTimeout": "30"}}),
    ("stepfunctions", "CreateStateMachine", {"name": "sm", "definition": '{"StartAt": "A"}',
                                              "roleArn": "arn:aws:iam::123456789012:role/r", "type": "STANDARD"}),
    ("s3", "PutObject", {"Bucket": "b", "Key": "site/index.html", "Body": b"<html></html>",
                         "ContentType": "text/html", "Metadata": {"a": "b"}}),
]  # fmt: skip


class _Captured(Exception):
    pass


def parsed_by_aws_cli(words: list[str], folder: Path) -> dict[str, Any]:
    """The parameters the AWS CLI would send for `words` (run in `folder`, where the files are)."""
    import os

    from awscli.clidriver import create_clidriver

    driver = create_clidriver()
    got: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        got.update(params)
        raise _Captured

    driver.session.register("provide-client-params", capture)
    here = os.getcwd()
    os.chdir(folder)
    try:
        driver.main(words[1:])
    finally:
        os.chdir(here)
    assert got, f"the AWS CLI did not accept: {' '.join(words)}"
    return got


@pytest.mark.parametrize(("service", "operation", "params"), CASES, ids=[f"{s}-{o}" for s, o, _ in CASES])
def test_the_aws_cli_makes_the_same_request(
    service: str, operation: str, params: dict[str, Any], tmp_path: Path
) -> None:
    cmd = to_cli(op(service, operation), params)
    for blob in cmd.blobs:
        (tmp_path / blob.name).write_bytes(blob.data)
    got = parsed_by_aws_cli(cmd.words(), tmp_path)
    if "Body" in got:  # a streaming body is given to the SDK as an open file
        got["Body"] = got["Body"].read()
    assert got == params


def test_names_as_the_cli_spells_them_blobs_as_files_structures_as_json() -> None:
    cmd = to_cli(op(*CASES[1][:2]), CASES[1][2])
    text = cmd.text()
    assert text.startswith("aws lambda create-function --function-name fn ")
    assert (
        "--zip-file fileb://zip-file.zip" in text
        and "--no-publish" in text
        and "--architectures x86_64" in text
    )
    assert '--environment \'{"Variables": ' in text
    assert to_cli(op("s3", "PutObject"), CASES[-1][2]).words()[:3] == ["aws", "s3api", "put-object"]
    assert "--notification-endpoint" in to_cli(op("sns", "Subscribe"), CASES[6][2]).words()
    assert to_cli(op("lambda", "Invoke"), {"FunctionName": "f"}).words()[-1] == "response.json"  # outfile


def test_secrets_are_never_printed() -> None:
    secrets = Secrets()
    got = {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db", "Name": "db",
           "SecretString": '{"password": "hunter2-very-secret"}'}  # fmt: skip
    fields = key_fields(op("secretsmanager", "GetSecretValue"), got, secrets)
    assert fields == {"ARN": got["ARN"], "Name": "db"}
    env = {
        "FunctionName": "f",
        "Environment": {"Variables": {"DB_PASSWORD": "hunter2-very-secret", "T": "t"}},
    }
    text = to_cli(op("lambda", "UpdateFunctionConfiguration"), env, secrets=secrets).text()
    assert "hunter2" not in text and HIDDEN in text and '"T": "t"' in text
    created = to_cli(op("secretsmanager", "CreateSecret"), {"Name": "s", "SecretString": "pw-1234"}).text()
    assert "pw-1234" not in created and f"--secret-string '{HIDDEN}'" in created


def test_key_fields_of_a_response_top_level_then_nested() -> None:
    response = {"TableDescription": {"TableName": "t", "TableStatus": "CREATING", "ItemCount": 0,
                                     "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t"},
                "ResponseMetadata": {"RequestId": "x"}}  # fmt: skip
    assert key_fields(op("dynamodb", "CreateTable"), response) == {
        "TableDescription.TableName": "t",
        "TableDescription.TableStatus": "CREATING",
        "TableDescription.TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
    }
    call = Call(
        1, op("lambda", "GetFunction"), {"FunctionName": "nope"}, None, "ResourceNotFoundException: no"
    )
    assert explain_call(call) == [
        "$ aws lambda get-function --function-name nope",
        "  -> error ResourceNotFoundException: no",
    ]


def test_the_hook_explains_each_call_of_a_target_whole_even_from_threads(mocked_aws: None) -> None:
    from awslab.target import Target

    blocks: list[list[str]] = []
    target = Target(kind="aws", region="us-east-1")
    target.on_client = Explainer(blocks.append).install
    sqs = target.client("sqs")

    def make(i: int) -> None:
        sqs.create_queue(QueueName=f"q{i}")

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(b[0] for b in blocks) == [f"$ aws sqs create-queue --queue-name q{i}" for i in range(8)]
    assert all(len(b) == 2 and b[1].startswith("  -> QueueUrl: ") for b in blocks)


def test_the_script_of_crud_captures_ids_waits_and_names_each_resource() -> None:
    from awslab.explain.record import record_up
    from awslab.explain.script import build_script
    from awslab.spec import find_lab, load_spec

    recording = record_up(load_spec(find_lab("crud")))
    script = build_script(recording)
    text = script.text
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0  # valid bash
    assert re.search(
        r"^read -r REST_API_ID ROOT_RESOURCE_ID < <\(aws apigateway create-rest-api ", text, re.M
    )
    assert '--rest-api-id "${REST_API_ID}"' in text and '--parent-id "${ROOT_RESOURCE_ID}"' in text
    assert "ROLE_ARN=$(aws iam create-role " in text and '--role "${ROLE_ARN}"' in text
    waits = [line for line in text.splitlines() if " wait " in line or line.startswith("sleep")]
    assert [w.split()[1:4] for w in waits if w.startswith("aws")] == [
        ["iam", "wait", "role-exists"], ["dynamodb", "wait", "table-exists"], ["s3api", "wait", "bucket-exists"],
        ["lambda", "wait", "function-active-v2"],
    ]  # fmt: skip
    assert any(w.startswith('sleep "$IAM_PROPAGATION_SECONDS"') for w in waits)
    for comment in ("# ---- iam.role 'role' ----", "# ---- lambda.function 'items-fn' ----",
                    "# ---- apigateway.rest_api 'api' ----"):  # fmt: skip
        assert comment in text
    # the role comes before the function that uses it, the function before the API that calls it
    assert text.index("create-role") < text.index("create-function") < text.index("put-integration")
    # nothing names this recording's stack, account or region but the variables' defaults
    outside_file_names = re.sub(r"FILES\}?/[\w.-]+", "", text)
    assert outside_file_names.count(recording.stack_id) == 1 and "123456789012" not in text
    assert '"${REGION}"' in text or "${REGION}" in text
    assert '--zip-file "fileb://${FILES}/awslab-crud-items-fn-' in text
    assert any(name.endswith(".zip") and data.startswith(b"PK") for name, data in script.files.items())
    assert "get-function" not in text  # reads whose answers nothing uses are not part of the recipe


def test_explain_on_up_prints_each_request_to_stderr(mocked_aws: None, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from awslab.cli.main import app

    spec = tmp_path / "q.yaml"
    spec.write_text("name: qlab\nresources:\n  jobs:\n    type: sqs.queue\n")
    args = [
        "up",
        str(spec),
        "--target",
        "aws",
        "--yes",
        "--state",
        str(tmp_path / "s.json"),
        "--output",
        "json",
    ]
    result = CliRunner().invoke(app, [*args, "--explain"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^\$ aws sqs create-queue --queue-name awslab-qlab-jobs-\w+ ", result.stderr, re.M)
    assert "  -> QueueUrl: " in result.stderr
    assert json.loads(result.stdout)["lab"] == "qlab"  # stdout stays JSON
    result = CliRunner().invoke(app, ["teardown", "qlab", "--target", "aws", "--yes", "--state",
                                      str(tmp_path / "s.json"), "--explain"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "$ aws sqs delete-queue --queue-url " in result.stderr
