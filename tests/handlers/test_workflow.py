"""The workflow lab: each step's handler, the state machine's structure, and the state machine
run for real by moto's Step Functions interpreter with the five handlers as its Lambdas."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from awslab.resources.retry import retry_propagation
from tests.handlers.events import HANDLERS, load_handler

TABLE = "lab-applications"
ASL = HANDLERS / "workflow" / "statemachine.asl.json"
FUNCTIONS = {  # placeholder logical name -> handler, as in configs/workflow.yaml
    "check-name": "check_name.handler",
    "check-address": "check_address.handler",
    "approve": "decide.approve",
    "flag": "decide.flag",
    "record-failure": "record_failure.handler",
}
GOOD = {"name": "Nguyễn Văn An", "address": "12 Lê Lợi, Quận 1, Hồ Chí Minh"}


@pytest.fixture
def table(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("TABLE_NAME", TABLE)
    return boto3.resource("dynamodb").Table(TABLE)


# --- the steps, invoked directly ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ok", "reason"),
    [
        ("Ann", True, "ok"),
        ("Mary-Jane O'Neil", True, "ok"),
        ("Nguyễn Văn An", True, "ok"),
        ("Nguye\u0302\u0303n  An", True, "ok"),  # combining accents, double space
        ("", False, "required"),
        (None, False, "required"),
        (42, False, "string"),
        ("A", False, "2-64"),
        ("x" * 65, False, "2-64"),
        ("R2D2", False, "only letters"),
        ("Bob!", False, "only letters"),
        ("-Bob", False, "start with a letter"),
    ],
)
def test_check_name(name: Any, ok: bool, reason: str) -> None:
    step = load_handler("workflow", "check_name")
    out = step.handler({"name": name, "address": "1 Main St", "id": "a1"}, None)
    assert out["name_ok"] is ok and reason in out["name_reason"]
    assert (out["address"], out["id"]) == ("1 Main St", "a1")  # the input passes through


def test_check_name_reads_state_machine_shape() -> None:
    step = load_handler("workflow", "check_name")
    state = {"application": {"name": "R2D2"}, "execution": "run-1"}
    assert step.handler(state, None) == state | {
        "name_ok": False,
        "name_reason": step.validate_name("R2D2")[1],
    }


@pytest.mark.parametrize(
    ("address", "ok", "reason"),
    [
        ("12 Lê Lợi, Quận 1", True, "ok"),
        ("221B Baker Street", True, "ok"),
        ("Baker Street", False, "house number"),
        ("12 3 4", False, "street"),
        ("1 A", False, "5-200"),
        ("9 " + "x" * 200, False, "5-200"),
        (None, False, "required"),
        (["12 Main St"], False, "string"),
    ],
)
def test_check_address(address: Any, ok: bool, reason: str) -> None:
    step = load_handler("workflow", "check_address")
    out = step.handler({"name": "Ann", "address": address}, None)
    assert out["address_ok"] is ok and reason in out["address_reason"]


def test_transient_counter_fails_first_n_attempts(table: Any) -> None:
    step = load_handler("workflow", "check_address")
    event = {"application": {"id": "app-7", "simulate_transient": 2, **GOOD}, "execution": "run-a"}
    for attempt in (1, 2):
        with pytest.raises(step.TransientError, match=f"attempt {attempt}"):
            step.handler(event, None)
    out = step.handler(event, None)
    assert out["address_ok"] is True and out["address_attempts"] == 3
    counter = table.get_item(Key={"id": "attempts#app-7#run-a"})["Item"]
    assert counter["attempts"] == 3 and counter["kind"] == "attempts"
    # A new execution of the same application starts counting again.
    with pytest.raises(step.TransientError):
        step.handler({**event, "execution": "run-b"}, None)
    assert type(step.TransientError("x")).__name__ == "TransientError"  # what Retry matches


def test_transient_counter_without_id_or_execution_is_deterministic(table: Any) -> None:
    step = load_handler("workflow", "check_address")
    app = {**GOOD, "simulate_transient": 1}
    with pytest.raises(step.TransientError):
        step.handler(dict(app), None)
    assert step.handler(dict(app), None)["address_ok"] is True  # same content, same counter
    with pytest.raises(step.TransientError):
        step.handler({**app, "name": "Someone Else"}, None)


def test_simulate_transient_must_be_a_count(table: Any) -> None:
    step = load_handler("workflow", "check_address")
    with pytest.raises(ValueError, match="non-negative"):
        step.handler({**GOOD, "simulate_transient": "two"}, None)
    assert table.scan()["Count"] == 0


CHECKS_BAD_NAME = {
    "name_ok": False,
    "name_reason": "name is required",
    "address_ok": True,
    "address_reason": "ok",
}
CHECKS_OK = {"name": {"ok": True, "reason": "ok"}, "address": {"ok": True, "reason": "ok"}}


def test_approve_writes_approved(table: Any) -> None:
    step = load_handler("workflow", "decide")
    state = {"application": {**GOOD, "score": 0.5}, "execution": "run-1", "checks": CHECKS_OK}
    out = step.approve(state, None)
    item = table.get_item(Key={"id": "run-1"})["Item"]  # no id in the input: the execution's name
    assert item["status"] == out["status"] == "approved"
    assert item["reasons"] == ["name: ok", "address: ok"]
    assert (item["name"], item["address"], item["execution"]) == (GOOD["name"], GOOD["address"], "run-1")
    assert item["checks"] == CHECKS_OK and item["decided_at"]
    assert out["application"]["score"] == 0.5  # the return value stays JSON (no Decimal)


def test_flag_lists_failed_checks(table: Any) -> None:
    step = load_handler("workflow", "decide")
    out = step.flag({"id": "app-9", "address": GOOD["address"], **CHECKS_BAD_NAME}, None)  # direct shape
    item = table.get_item(Key={"id": "app-9"})["Item"]
    assert item["status"] == out["status"] == "flagged_for_review"
    assert item["reasons"] == ["name: name is required"]
    assert item["checks"]["name"] == {"ok": False, "reason": "name is required"}
    assert "name_ok" not in item["application"]


def test_record_failure_writes_error_and_cause(table: Any) -> None:
    step = load_handler("workflow", "record_failure")
    cause = json.dumps({"errorMessage": "address service down", "errorType": "TransientError"})
    state = {
        "application": {"id": "app-5", **GOOD},
        "execution": "r",
        "error": {"Error": "TransientError", "Cause": cause},
    }
    out = step.handler(state, None)
    item = table.get_item(Key={"id": "app-5"})["Item"]
    assert item["status"] == out["status"] == "failed"
    assert (item["error"], item["cause"], item["cause_detail"]) == (
        "TransientError",
        "address service down",
        cause,
    )
    assert item["failed_at"]


# --- the state machine's structure --------------------------------------------------------------


def walk_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, state, the States map it is in), branches included."""
    for name, state in states.items():
        yield name, state, states
        for branch in state.get("Branches", []):
            yield from walk_states(branch["States"])
        if "ItemProcessor" in state:
            yield from walk_states(state["ItemProcessor"]["States"])


def targets(state: dict[str, Any]) -> list[str]:
    found = [state["Next"]] if "Next" in state else []
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [state["Default"]] if "Default" in state else []
    return found + [c["Next"] for c in state.get("Catch", [])]


def test_asl_is_valid_json_with_the_five_placeholders() -> None:
    text = ASL.read_text()
    json.loads(text)
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == {f"{logical}.arn" for logical in FUNCTIONS}


def test_asl_every_state_reachable_and_every_target_exists() -> None:
    def check(machine: dict[str, Any]) -> None:
        states = machine["States"]
        seen, todo = set(), [machine["StartAt"]]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            assert name in states, f"transition to unknown state {name}"
            seen.add(name)
            todo.extend(targets(states[name]))
            for branch in states[name].get("Branches", []):
                check(branch)
        assert seen == set(states), f"unreachable: {set(states) - seen}"
        for name, state in states.items():
            ends = state["Type"] in ("Succeed", "Fail", "Choice") or state.get("End") is True
            assert ends or "Next" in state, f"{name} neither ends nor continues"

    check(json.loads(ASL.read_text()))


def test_asl_has_choice_retry_catch_and_fail() -> None:
    machine = json.loads(ASL.read_text())
    states = {name: state for name, state, _ in walk_states(machine["States"])}
    assert any(s["Type"] == "Choice" for s in states.values())
    tasks = {n: s for n, s in states.items() if s["Type"] == "Task"}
    assert len(tasks) == 5 and all(s.get("Retry") for s in tasks.values())
    address = next(s for s in tasks.values() if s["Resource"] == "${check-address.arn}")
    retried = {e for r in address["Retry"] for e in r["ErrorEquals"]}
    assert {"TransientError", "Lambda.ServiceException"} <= retried
    catchers = [c for s in machine["States"].values() for c in s.get("Catch", [])]
    assert catchers and all(c["ErrorEquals"] == ["States.ALL"] for c in catchers)
    failure = {c["Next"] for c in catchers}
    assert len(failure) == 1
    (record_failure,) = failure
    assert machine["States"][record_failure]["Resource"] == "${record-failure.arn}"
    assert machine["States"][machine["States"][record_failure]["Next"]]["Type"] == "Fail"


# --- the state machine, executed by moto ---------------------------------------------------------


class StillRunning(Exception):
    pass


def run_in_process(handlers: dict[str, ModuleType]) -> Any:
    """Stands in for moto's Docker-based LambdaFunction._invoke_lambda: call the handler named by
    the function's Handler setting, in this process, and answer as Lambda does (an uncaught
    exception becomes a function error whose payload names the exception's class)."""

    def invoke(fn: Any, event: Any = None) -> tuple[str, bool, str]:
        module, func = fn.handler.split(".")
        try:
            return json.dumps(getattr(handlers[module], func)(event, None)), False, ""
        except Exception as exc:
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}), True, ""

    return invoke


@pytest.fixture
def machine(table: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    from moto.awslambda.models import LambdaFunction
    from moto.core.config import default_user_config

    # Must be switched on before the machine is created (executions use another backend).
    monkeypatch.setitem(default_user_config["stepfunctions"], "execute_state_machine", True)
    handlers = {h.split(".")[0]: load_handler("workflow", h.split(".")[0]) for h in FUNCTIONS.values()}
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", run_in_process(handlers))

    role = boto3.client("iam").create_role(
        RoleName="wf", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as zf:
        for path in sorted(Path(HANDLERS / "workflow").glob("*.py")):
            zf.write(path, path.name)
    awslambda = boto3.client("lambda")
    definition = ASL.read_text()
    for logical, handler in FUNCTIONS.items():
        arn = awslambda.create_function(
            FunctionName=f"wf-{logical}",
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": bundle.getvalue()},
            Environment={"Variables": {"TABLE_NAME": TABLE}},
        )["FunctionArn"]
        definition = definition.replace("${" + logical + ".arn}", arn)
    return boto3.client("stepfunctions").create_state_machine(name="wf", definition=definition, roleArn=role)[
        "stateMachineArn"
    ]


def execute(machine: str, payload: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=machine, name=f"run-{uuid.uuid4().hex[:12]}", input=json.dumps(payload)
    )["executionArn"]

    def finished() -> dict[str, Any]:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] == "RUNNING":
            raise StillRunning
        return desc

    desc = retry_propagation(
        finished,
        deadline=60,
        first_delay=0.05,
        max_delay=0.5,
        is_retryable=lambda e: isinstance(e, StillRunning),
    )
    return desc, sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def test_execution_approves_good_application(machine: str, table: Any) -> None:
    desc, history = execute(machine, {"id": "app-1", **GOOD})
    assert desc["status"] == "SUCCEEDED"
    output = json.loads(desc["output"])
    assert output["checks"] == CHECKS_OK
    assert output["decision"]["status"] == "approved"
    states = entered(history)
    assert states[:2] == ["Prepare", "Checks"] and set(states[2:4]) == {"CheckName", "CheckAddress"}
    assert states[4:] == ["Decide", "Approve", "Approved"]
    item = table.get_item(Key={"id": "app-1"})["Item"]
    assert (item["status"], item["checks"], item["execution"]) == ("approved", CHECKS_OK, desc["name"])


def test_execution_flags_bad_name(machine: str, table: Any) -> None:
    desc, history = execute(machine, {"id": "app-2", "name": "R2D2", "address": GOOD["address"]})
    assert desc["status"] == "SUCCEEDED"
    assert "Flag" in entered(history) and "Approve" not in entered(history)
    item = table.get_item(Key={"id": "app-2"})["Item"]
    assert item["status"] == "flagged_for_review" and item["reasons"][0].startswith("name: ")


def test_execution_retries_transient_errors_then_approves(machine: str, table: Any) -> None:
    desc, history = execute(machine, {**GOOD, "simulate_transient": 2})  # no id: the execution name
    assert desc["status"] == "SUCCEEDED"
    failures = [e for e in history if e["type"] == "LambdaFunctionFailed"]
    assert len(failures) == 2 and all(
        e["lambdaFunctionFailedEventDetails"]["error"] == "TransientError" for e in failures
    )
    name = desc["name"]
    assert table.get_item(Key={"id": name})["Item"]["status"] == "approved"
    assert table.get_item(Key={"id": f"attempts#{name}#{name}"})["Item"]["attempts"] == 3


def test_execution_exhausting_retries_records_failure(machine: str, table: Any) -> None:
    desc, history = execute(machine, {"id": "app-3", **GOOD, "simulate_transient": 10})
    assert desc["status"] == "FAILED"
    assert desc.get("error") == "ApplicationFailed"
    assert entered(history)[-2:] == ["RecordFailure", "Failed"]
    assert len([e for e in history if e["type"] == "LambdaFunctionFailed"]) == 4  # 1 + MaxAttempts 3
    item = table.get_item(Key={"id": "app-3"})["Item"]
    assert (item["status"], item["error"]) == ("failed", "TransientError")
    assert "simulated transient failure: attempt 4" in item["cause"]
