"""The exercise commands through the CLI (typer's CliRunner) on moto's in-process mock: argument
forms, exit codes, bad JSON options as usage errors, text and JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from awslab.state import StateStore

from .conftest import Api, add_lab, api_rec, fn_rec, make_table, rec


@pytest.fixture
def state_path(mocked_aws: None, tmp_path: Path) -> Path:
    return tmp_path / "state.json"


def cli(state: Path, *args: str) -> Any:
    from awslab.cli.main import app

    return CliRunner().invoke(app, [*args, "--target", "aws", "--state", str(state)])


def store_at(path: Path) -> StateStore:
    return StateStore(path, {"kind": "aws", "region": "us-east-1"})


def test_call_without_and_with_a_lab(state_path: Path, api: Api) -> None:
    add_lab(store_at(state_path), "crud", api_rec("api", api.url))
    result = cli(state_path, "call", "GET", "/echo?x=1")
    assert result.exit_code == 0, result.output
    assert "HTTP 200" in result.stdout and '"path": "/dev/echo?x=1"' in result.stdout
    result = cli(
        state_path,
        "call",
        "crud",
        "post",
        "/echo",
        "--json",
        '{"a": 1}',
        "-H",
        "X-A: 1",
        "-H",
        "X-B: 2",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["lab"] == "crud" and data["api"] == "api" and data["status"] == 200
    assert data["json"]["headers"]["X-A"] == "1" and data["json"]["headers"]["X-B"] == "2"
    assert json.loads(data["json"]["body"]) == {"a": 1}
    result = cli(state_path, "call", "crud", "PUT", "/echo", "--data", "raw text")
    assert result.exit_code == 0 and api.requests[-1]["body"] == "raw text"


def test_call_error_status_exits_1(state_path: Path, api: Api) -> None:
    add_lab(store_at(state_path), "crud", api_rec("api", api.url))
    result = cli(state_path, "call", "GET", "/status/404")
    assert result.exit_code == 1 and "HTTP 404" in result.stdout


def test_call_usage_errors_exit_2(state_path: Path, api: Api) -> None:
    add_lab(store_at(state_path), "crud", api_rec("api", api.url))
    result = cli(state_path, "call", "POST", "/echo", "--json", "{bad")
    assert result.exit_code == 2 and "--json is not valid JSON" in result.stderr
    assert cli(state_path, "call", "GET").exit_code == 2
    result = cli(state_path, "call", "crud", "FETCH", "/x")
    assert result.exit_code == 2 and "unknown HTTP method 'FETCH'" in result.stderr
    result = cli(state_path, "call", "nope", "GET", "/x")
    assert result.exit_code == 2 and "lab 'nope' is not deployed" in result.stderr
    assert not api.requests  # nothing was sent


def test_bad_json_options_name_the_option(state_path: Path) -> None:
    add_lab(store_at(state_path), "lab", fn_rec("fn"))
    result = cli(state_path, "invoke", "lab", "fn", "--payload", "nope")
    assert result.exit_code == 2 and "--payload is not valid JSON" in result.stderr
    result = cli(state_path, "start-execution", "--input", "{'a': 1}")
    assert result.exit_code == 2 and "--input is not valid JSON" in result.stderr
    result = cli(state_path, "logs", "lab", "fn", "--since", "yesterday")
    assert result.exit_code == 2 and "--since 'yesterday'" in result.stderr


def test_no_lab_to_send_to_says_what_to_deploy(state_path: Path) -> None:
    add_lab(store_at(state_path), "crud", api_rec("api", "http://x"))
    result = cli(state_path, "send-message", "hi")
    assert result.exit_code == 2
    assert "no lab deployed on AWS account 123456789012 in us-east-1 has an SQS queue" in result.stderr
    assert "awslab up messaging" in result.stderr
    result = cli(state_path, "publish", "--lab", "crud")
    assert result.exit_code == 2 and "lab 'crud' does not have an SNS topic" in result.stderr


def test_send_message_json_output(state_path: Path) -> None:
    from awslab.target import Target

    from .conftest import make_queue

    target = Target(kind="aws", region="us-east-1")
    add_lab(store_at(state_path), "messaging", make_queue(target, "queue"), make_table(target, "orders"))
    result = cli(state_path, "send-message", "--count", "2", "--wait", "0", "-o", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["messages"]) == 2 and data["queue"] == "queue" and data["effects"]["complete"] is False
    result = cli(state_path, "send-message", "hi", "--wait", "0")
    assert result.exit_code == 0 and "sent" in result.stdout and "no row written" in result.stdout


def test_logs_text_and_json(state_path: Path) -> None:
    add_lab(store_at(state_path), "lab", fn_rec("fn"))
    result = cli(state_path, "logs", "lab", "fn")
    assert result.exit_code == 0 and "no log group yet" in result.stderr
    result = cli(state_path, "logs", "lab", "fn", "-o", "json")
    assert json.loads(result.stdout)["exists"] is False


def test_check_prints_a_table_and_exits_1_on_failure(state_path: Path, api: Api, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    spec = tmp_path / "mini.yaml"
    spec.write_text(
        "name: mini\nresources:\n"
        "  fn: {type: lambda.function, code: code, role: 'arn:aws:iam::123456789012:role/r'}\n"
        "  api: {type: apigateway.rest_api, routes: {'GET /echo': fn}}\n"
        "checks:\n"
        "  - {name: echo works, call: GET /echo, expect: {status: 200, json: {method: GET}}}\n"
        "  - {name: broken route, call: GET /status/500, expect: {status: 200}}\n"
    )
    add_lab(store_at(state_path), "mini", api_rec("api", api.url), spec=str(spec))
    result = cli(state_path, "check", "mini")
    assert result.exit_code == 1, result.output
    assert "echo works" in result.stdout and "broken route" in result.stdout
    assert "status 500, expected 200" in result.stdout
    assert "1 of 2 checks failed" in result.stdout
    result = cli(state_path, "check", "mini", "-o", "json")
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["failed"] == 1 and data["results"][0]["passed"] is True
    # the same spec by path works too; a lab that is not deployed is a usage error
    assert cli(state_path, "check", str(spec)).exit_code == 1
    result = cli(state_path, "check", "crud")
    assert result.exit_code == 2 and "lab 'crud' is not deployed" in result.stderr


def test_start_execution_needs_a_workflow_lab(state_path: Path) -> None:
    add_lab(store_at(state_path), "crud", rec("dynamodb.table", "t"))
    result = cli(state_path, "start-execution")
    assert result.exit_code == 2 and "awslab up workflow" in result.stderr


def test_logs_follow_stops_quietly_on_ctrl_c(state_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from awslab.exercise import logs
    from awslab.exercise.logs import LogEvent

    add_lab(store_at(state_path), "lab", fn_rec("fn"))

    def follow(*args: Any, **kwargs: Any) -> Any:
        yield LogEvent(1_700_000_000_000, "a new line", "s", "e1")
        raise KeyboardInterrupt

    monkeypatch.setattr(logs, "follow", follow)
    result = cli(state_path, "logs", "lab", "fn", "--follow")
    assert result.exit_code == 0, result.output
    assert "a new line" in result.stdout and "following /aws/lambda/" in result.stderr
    assert "interrupted" not in result.stderr


def test_function_queue_topic_and_state_machine_options(
    state_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command picks among several resources of a lab with an option; bodies come inline,
    from a file or from standard input."""
    from awslab.exercise import executions, invoke, messages

    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def fake(name: str) -> Any:
        def run(target: Any, lab: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append((name, args, kwargs))
            raise typer.Exit(0)  # what was asked is all this test looks at

        return run

    monkeypatch.setattr(invoke, "invoke", fake("invoke"))
    monkeypatch.setattr(messages, "send_message", fake("send"))
    monkeypatch.setattr(messages, "publish", fake("publish"))
    monkeypatch.setattr(executions, "start_execution", fake("execution"))
    add_lab(store_at(state_path), "lab", fn_rec("a"), fn_rec("b"), rec("sqs.queue", "q1"), rec("sqs.queue", "q2"),
            rec("sns.topic", "t1"), rec("stepfunctions.state_machine", "m1"))  # fmt: skip
    event = tmp_path / "event.json"
    event.write_text('{"Records": []}')
    result = cli(state_path, "invoke", "lab")
    assert result.exit_code == 2 and "several lambda.function resources: a, b" in result.stderr
    assert "--function a" in result.stderr
    assert cli(state_path, "invoke", "lab", "--function", "b", "--payload", f"@{event}").exit_code == 0
    assert calls[-1] == ("invoke", ("b", {"Records": []}), {})
    from awslab.cli.main import app

    result = CliRunner().invoke(app, ["invoke", "lab", "a", "--payload", "@-", "--target", "aws", "--state",
                                      str(state_path)], input='{"from": "stdin"}')  # fmt: skip
    assert result.exit_code == 0 and calls[-1] == ("invoke", ("a", {"from": "stdin"}), {})
    body = tmp_path / "body.txt"
    body.write_text("from a file")
    assert cli(state_path, "send-message", f"@{body}", "--queue", "q2", "-a", "colour=red").exit_code == 0
    name, args, kwargs = calls[-1]
    assert name == "send" and args == ("from a file", 1) and kwargs["queue"] == "q2"
    assert kwargs["attributes"]["colour"].value == "red"
    assert cli(state_path, "publish", "--topic", "t1", "--attribute", "n:Number=2").exit_code == 0
    assert calls[-1][2]["topic"] == "t1" and calls[-1][2]["attributes"]["n"].data_type == "Number"
    assert cli(state_path, "start-execution", "--state-machine", "m1", "--input", f"@{event}").exit_code == 0
    assert calls[-1][1] == ({"Records": []},) and calls[-1][2]["state_machine"] == "m1"
    result = cli(state_path, "publish", "--attribute", "n:Number=two")
    assert result.exit_code == 2 and "'two' is not a number" in result.stderr
    result = cli(state_path, "invoke", "lab", "--payload", f"@{tmp_path / 'none.json'}")
    assert result.exit_code == 2 and "cannot read the file" in result.stderr


def test_call_reaches_an_http_api_or_a_function_url(state_path: Path, api: Api) -> None:
    add_lab(store_at(state_path), "web", rec("apigateway.http_api", "http", url=api.url),
            rec("lambda.url", "fn-url", url=api.url + "/fn"))  # fmt: skip
    result = cli(state_path, "call", "GET", "/echo")
    assert (
        result.exit_code == 2
        and "several apigateway.rest_api / apigateway.http_api / lambda.url" in result.stderr
    )
    result = cli(state_path, "call", "web", "GET", "/echo", "--api", "fn-url", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["json"]["path"] == "/dev/fn/echo"


def test_check_and_postman_say_the_same_of_a_lab_that_is_not_deployed(state_path: Path) -> None:
    """Both find the lab the one way (awslab.cli.common.deployed_lab): the same line, exit 2."""
    said = [cli(state_path, command, "crud") for command in ("check", "postman")]
    assert [r.exit_code for r in said] == [2, 2]
    assert said[0].stderr == said[1].stderr and "run 'awslab up crud' first" in said[0].stderr.splitlines()[0]
