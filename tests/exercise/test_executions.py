"""Execution trees from Step Functions histories: hand-built ones in AWS's documented event
shapes (HistoryEvent: id, previousEventId, type, timestamp, <type>EventDetails), and a real run
on moto's state machine interpreter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from awslab.errors import UsageError
from awslab.exercise.executions import StateNode, build_tree, execution_name, start_execution
from awslab.state import StateStore
from awslab.target import Target

from .conftest import add_lab, rec

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DETAILS = {
    "ExecutionStarted": "executionStartedEventDetails",
    "ExecutionSucceeded": "executionSucceededEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails",
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "TaskFailed": "taskFailedEventDetails",
}


def ev(id: int, prev: int, type: str, ms: int, **details: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "id": id,
        "previousEventId": prev,
        "type": type,
        "timestamp": T0 + timedelta(milliseconds=ms),
    }
    if type.endswith("StateEntered"):
        e["stateEnteredEventDetails"] = details
    elif type.endswith("StateExited"):
        e["stateExitedEventDetails"] = details
    elif details:
        e[DETAILS[type]] = details
    return e


def lambda_task(
    first_id: int,
    prev: int,
    name: str,
    ms: int,
    output: dict[str, Any],
    fail_first: bool = False,
) -> list[dict[str, Any]]:
    """TaskStateEntered, LambdaFunctionScheduled/Started/(Failed, Scheduled/Started)/Succeeded, TaskStateExited."""
    i = first_id
    events = [ev(i, prev, "TaskStateEntered", ms, name=name, input="{}")]
    events.append(ev(i + 1, i, "LambdaFunctionScheduled", ms + 1, resource="arn:fn", input="{}"))
    events.append(ev(i + 2, i + 1, "LambdaFunctionStarted", ms + 2))
    i += 2
    if fail_first:
        events.append(ev(i + 1, i, "LambdaFunctionFailed", ms + 5, error="TransientError", cause="try again"))
        events.append(ev(i + 2, i + 1, "LambdaFunctionScheduled", ms + 1005, resource="arn:fn", input="{}"))
        events.append(ev(i + 3, i + 2, "LambdaFunctionStarted", ms + 1006))
        i += 3
    events.append(ev(i + 1, i, "LambdaFunctionSucceeded", ms + 1010, output=json.dumps(output)))
    events.append(ev(i + 2, i + 1, "TaskStateExited", ms + 1012, name=name, output=json.dumps(output)))
    return events


def workflow_history() -> list[dict[str, Any]]:
    """The workflow lab's happy path: Prepare (Pass) -> Checks (Parallel: CheckName,
    CheckAddress with one retry) -> Decide (Choice) -> Approve (Task) -> Approved (Succeed)."""
    e = [
        ev(1, 0, "ExecutionStarted", 0, input='{"name": "Ann"}', roleArn="arn:role"),
        ev(2, 0, "PassStateEntered", 1, name="Prepare", input='{"name": "Ann"}'),
        ev(3, 2, "PassStateExited", 2, name="Prepare", output='{"application": {"name": "Ann"}}'),
        ev(4, 3, "ParallelStateEntered", 3, name="Checks", input="{}"),
        ev(5, 4, "ParallelStateStarted", 4),
    ]
    # the branches interleave: CheckName's events and CheckAddress's are mixed by time
    name = lambda_task(6, 5, "CheckName", 5, {"name_ok": True})
    address = lambda_task(20, 5, "CheckAddress", 6, {"address_ok": True}, fail_first=True)
    branch_events = sorted(name + address, key=lambda x: (x["timestamp"], x["id"]))
    e += branch_events
    last = address[-1]["id"]
    e += [
        ev(40, last, "ParallelStateSucceeded", 2100),
        ev(41, last, "ParallelStateExited", 2101, name="Checks", output='{"checks": {}}'),
        ev(42, 41, "ChoiceStateEntered", 2102, name="Decide", input="{}"),
        ev(43, 42, "ChoiceStateExited", 2103, name="Decide", output="{}"),
    ]
    approve = lambda_task(44, 43, "Approve", 2104, {"status": "approved"})
    e += approve
    e += [
        ev(60, approve[-1]["id"], "SucceedStateEntered", 3200, name="Approved", input="{}"),
        ev(61, 60, "SucceedStateExited", 3201, name="Approved", output='{"decision": "approved"}'),
        ev(62, 61, "ExecutionSucceeded", 3202, output='{"decision": "approved"}'),
    ]
    return e


def shape(nodes: list[StateNode]) -> list[Any]:
    return [
        (n.name, n.type, n.status, shape(n.children)) if n.children else (n.name, n.type, n.status)
        for n in nodes
    ]


def test_tree_of_the_happy_path() -> None:
    tree = build_tree(workflow_history(), "SUCCEEDED")
    assert shape(tree) == [
        ("Prepare", "Pass", "SUCCEEDED"),
        (
            "Checks",
            "Parallel",
            "SUCCEEDED",
            [("CheckName", "Task", "SUCCEEDED"), ("CheckAddress", "Task", "SUCCEEDED")],
        ),
        ("Decide", "Choice", "SUCCEEDED"),
        ("Approve", "Task", "SUCCEEDED"),
        ("Approved", "Succeed", "SUCCEEDED"),
    ]
    checks = tree[1]
    name, address = checks.children
    assert (name.attempts, address.attempts) == (1, 2)  # CheckAddress was retried once
    assert address.duration_ms == 1012 - 0  # entered at 6 ms, exited at 1018 ms
    assert address.output == {"address_ok": True} and address.error == "TransientError"
    assert tree[0].input == {"name": "Ann"} and tree[0].output == {"application": {"name": "Ann"}}
    assert checks.duration_ms == 2101 - 3


def test_uncaught_task_failure() -> None:
    e = [
        ev(1, 0, "ExecutionStarted", 0, input="{}"),
        ev(2, 0, "TaskStateEntered", 1, name="Approve", input="{}"),
        ev(3, 2, "LambdaFunctionScheduled", 2, resource="arn:fn"),
        ev(4, 3, "LambdaFunctionStarted", 3),
        ev(5, 4, "LambdaFunctionFailed", 50, error="KeyError", cause='{"errorMessage": "TABLE_NAME"}'),
        ev(6, 5, "ExecutionFailed", 51, error="KeyError", cause='{"errorMessage": "TABLE_NAME"}'),
    ]
    [node] = build_tree(e, "FAILED")
    assert (node.status, node.error, node.attempts) == ("FAILED", "KeyError", 1)
    assert node.duration_ms == 49  # from entry to its last event


def test_caught_failure_and_fail_state() -> None:
    """A branch fails, the Parallel's Catch moves on to RecordFailure, then a Fail state."""
    e = [
        ev(1, 0, "ExecutionStarted", 0, input="{}"),
        ev(2, 0, "ParallelStateEntered", 1, name="Checks", input="{}"),
        ev(3, 2, "ParallelStateStarted", 2),
        ev(4, 3, "TaskStateEntered", 3, name="CheckName", input="{}"),
        ev(5, 3, "TaskStateEntered", 3, name="CheckAddress", input="{}"),
        ev(6, 4, "TaskFailed", 10, error="States.TaskFailed", cause="boom"),
        ev(7, 6, "ParallelStateFailed", 11),
        ev(8, 7, "ParallelStateExited", 12, name="Checks", output='{"error": {}}'),
        ev(9, 8, "TaskStateEntered", 13, name="RecordFailure", input="{}"),
        ev(10, 9, "TaskScheduled", 14),
        ev(11, 10, "TaskSucceeded", 20),
        ev(12, 11, "TaskStateExited", 21, name="RecordFailure", output="{}"),
        ev(13, 12, "FailStateEntered", 22, name="Failed", input="{}"),
        ev(14, 13, "ExecutionFailed", 23, error="ApplicationFailed", cause="A step failed"),
    ]
    tree = build_tree(e, "FAILED")
    assert shape(tree) == [
        (
            "Checks",
            "Parallel",
            "CAUGHT",
            [("CheckName", "Task", "FAILED"), ("CheckAddress", "Task", "ABORTED")],
        ),
        ("RecordFailure", "Task", "SUCCEEDED"),
        ("Failed", "Fail", "FAILED"),
    ]
    assert tree[0].children[0].error == "States.TaskFailed" and tree[0].children[0].cause == "boom"
    assert (tree[2].error, tree[2].cause) == ("ApplicationFailed", "A step failed")
    assert tree[1].attempts == 1


def test_map_iterations_and_a_running_execution() -> None:
    e = [
        ev(1, 0, "ExecutionStarted", 0, input="[1,2]"),
        ev(2, 0, "MapStateEntered", 1, name="Each", input="[1,2]"),
        ev(3, 2, "MapStateStarted", 2),
        {
            **ev(4, 3, "MapIterationStarted", 3),
            "mapIterationStartedEventDetails": {"name": "Each", "index": 0},
        },
        {
            **ev(5, 3, "MapIterationStarted", 3),
            "mapIterationStartedEventDetails": {"name": "Each", "index": 1},
        },
        ev(6, 4, "PassStateEntered", 4, name="Item", input="1"),
        ev(7, 5, "PassStateEntered", 4, name="Item", input="2"),
        ev(8, 6, "PassStateExited", 5, name="Item", output="1"),
        {
            **ev(9, 8, "MapIterationSucceeded", 6),
            "mapIterationSucceededEventDetails": {"name": "Each", "index": 0},
        },
    ]
    [each] = build_tree(e, "RUNNING")
    assert shape([each]) == [
        (
            "Each",
            "Map",
            "RUNNING",
            [
                ("Each #0", "Iteration", "SUCCEEDED", [("Item", "Pass", "SUCCEEDED")]),
                ("Each #1", "Iteration", "RUNNING", [("Item", "Pass", "RUNNING")]),
            ],
        )
    ]
    assert each.children[1].children[0].input == 2


def test_to_dict_is_json() -> None:
    tree = build_tree(workflow_history(), "SUCCEEDED")
    data = json.loads(json.dumps([n.to_dict() for n in tree]))
    assert data[1]["children"][1]["attempts"] == 2
    assert data[0]["started"].startswith("2024-05-01T12:00:00")


def test_execution_names_are_unique() -> None:
    names = {execution_name() for _ in range(50)}
    assert len(names) == 50 and all(len(n) <= 80 for n in names)


DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"application.$": "$"}, "Next": "Checks"},
        "Checks": {
            "Type": "Parallel",
            "ResultPath": "$.checks",
            "Next": "Decide",
            "Branches": [
                {
                    "StartAt": "CheckName",
                    "States": {"CheckName": {"Type": "Pass", "Result": {"ok": True}, "End": True}},
                },
                {
                    "StartAt": "CheckAddress",
                    "States": {"CheckAddress": {"Type": "Pass", "Result": {"ok": True}, "End": True}},
                },
            ],
        },
        "Decide": {
            "Type": "Choice",
            "Default": "Approved",
            "Choices": [{"Variable": "$.application.flag", "IsPresent": True, "Next": "Flagged"}],
        },
        "Approved": {"Type": "Succeed"},
        "Flagged": {"Type": "Fail", "Error": "Flagged", "Cause": "the application was flagged"},
    },
}


def _machine(target: Target, store: StateStore) -> Any:
    sfn = target.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="awslab-wf-flow-abc123",
        definition=json.dumps(DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    return add_lab(
        store, "workflow", rec("stepfunctions.state_machine", "flow", arn=arn, name="awslab-wf-flow-abc123")
    )


def test_start_execution_on_moto(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.json", {})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        target = Target(kind="aws", region="us-east-1")
        lab = _machine(target, store)
        ok = start_execution(target, lab, {"name": "Ann"}, timeout=30)
        bad = start_execution(target, lab, {"name": "Bob", "flag": 1}, timeout=30)
    assert ok.status == "SUCCEEDED" and ok.ok and not ok.waited_out
    assert ok.output["application"] == {"name": "Ann"}
    assert ok.input == {"name": "Ann"} and ok.state_machine == "flow"
    assert [(n.name, n.status) for n in ok.states] == [
        ("Prepare", "SUCCEEDED"),
        ("Checks", "SUCCEEDED"),
        ("Decide", "SUCCEEDED"),
        ("Approved", "SUCCEEDED"),
    ]
    assert sorted(c.name for c in ok.states[1].children) == ["CheckAddress", "CheckName"]
    assert ok.name.startswith("awslab-") and ok.execution_arn.endswith(ok.name)
    assert bad.status == "FAILED" and not bad.ok
    assert (bad.error, bad.cause) == ("Flagged", "the application was flagged")
    assert (bad.states[-1].name, bad.states[-1].status, bad.states[-1].error) == (
        "Flagged",
        "FAILED",
        "Flagged",
    )
    assert json.loads(json.dumps(bad.to_dict()))["states"][-1]["type"] == "Fail"


def test_start_execution_needs_a_state_machine(target: Target, store: StateStore) -> None:
    with pytest.raises(UsageError, match="has no stepfunctions"):
        start_execution(target, add_lab(store, "crud", rec("dynamodb.table", "t")), {})
