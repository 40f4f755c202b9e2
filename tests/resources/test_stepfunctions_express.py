"""stepfunctions.state_machine on moto: an EXPRESS machine, logging to a log group the machine makes
and deletes, logging changes and drift; and in a spec, `kind:` names the kind so that `type:` is
the machine's own (old specs' `type:` as the kind still load)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from awslab.errors import SpecError
from awslab.resources.base import Context
from awslab.resources.stepfunctions import StateMachine, StateMachineProps, _retryable
from awslab.resources.stepfunctions_logging import ROLE_ACTIONS
from awslab.spec import load_spec
from tests.resources.wiring_helpers import created_record, make_role

PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


@pytest.fixture
def asl(tmp_path: Path) -> Path:
    path = tmp_path / "flow.asl.json"
    path.write_text(json.dumps(PASS))
    return path


def machine(ctx: Context, asl: Path, role: str, **fields: Any) -> StateMachine:
    props = StateMachineProps.model_validate({"definition": str(asl), "role": role, **fields})
    return StateMachine(ctx, "flow", props)


def logging_role(ctx: Context, name: str = "flow-role") -> str:
    """A states role with what Step Functions needs to deliver logs (AWS documents "*")."""
    role = make_role(ctx, name, service="states")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(ROLE_ACTIONS), "Resource": "*"}],
    }
    ctx.client("iam").put_role_policy(RoleName=name, PolicyName="logs", PolicyDocument=json.dumps(policy))
    return role


def log_groups(ctx: Context) -> list[str]:
    return [g["logGroupName"] for g in ctx.client("logs").describe_log_groups()["logGroups"]]


def test_express_machine_logging_to_its_own_log_group(ctx: Context, asl: Path) -> None:
    role = logging_role(ctx)
    sm = machine(ctx, asl, role, type="EXPRESS", logging={"level": "ALL", "include_execution_data": True})
    attrs = sm.create()
    group = f"/aws/vendedlogs/states/{sm.physical}"
    assert attrs["type"] == "EXPRESS" and attrs["log_group"] == group and attrs["logging_level"] == "ALL"
    live = ctx.client("stepfunctions").describe_state_machine(stateMachineArn=attrs["arn"])
    assert live["type"] == "EXPRESS"
    assert live["loggingConfiguration"]["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"] == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
    )
    assert group in log_groups(ctx)
    record = created_record(StateMachine.kind, "flow", sm.physical, attrs)
    assert StateMachine.read(ctx, record) == attrs  # what drift compares with

    # a level change is an update; a log group no longer used goes
    quieter = machine(ctx, asl, role, type="EXPRESS", logging={"level": "ERROR", "log_group": "/custom/flow"})
    updated = quieter.update(record)
    assert (updated["logging_level"], updated["log_group"]) == ("ERROR", "/custom/flow")
    assert log_groups(ctx) == ["/custom/flow"]

    # a sweep knows only the ARN: delete finds the log group on the live machine
    StateMachine.delete(ctx, created_record(StateMachine.kind, "flow", sm.physical, {"arn": attrs["arn"]}))
    assert log_groups(ctx) == []


def test_a_log_group_made_by_hand_stays(ctx: Context, asl: Path) -> None:
    ctx.client("logs").create_log_group(logGroupName="/mine")
    sm = machine(ctx, asl, logging_role(ctx), logging={"log_group": "/mine"})
    attrs = sm.create()
    StateMachine.delete(ctx, created_record(StateMachine.kind, "flow", sm.physical, attrs))
    assert log_groups(ctx) == ["/mine"]


def _spec(tmp_path: Path, body: str) -> Path:
    (tmp_path / "flow.asl.json").write_text(json.dumps(PASS))
    path = tmp_path / "lab.yaml"
    path.write_text("name: flows\nresources:\n  role: {kind: iam.role, service: states}\n" + body)
    return path


def test_kind_key_leaves_type_to_the_state_machine(tmp_path: Path) -> None:
    spec = load_spec(str(_spec(tmp_path, (
        "  flow:\n    kind: stepfunctions.state_machine\n    type: EXPRESS\n"
        "    definition: flow.asl.json\n    role: ${role.arn}\n    logging: {level: ERROR}\n"
        "  table:\n    type: dynamodb.table\n    key: {id: S}\n"  # an old spec's `type:` still names the kind
    ))))  # fmt: skip
    assert spec.resources["flow"].fields["type"] == "EXPRESS"
    assert spec.resources["flow"].kind == "stepfunctions.state_machine"
    assert spec.resources["table"].kind == "dynamodb.table"


def test_a_machine_type_taken_for_the_kind_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(str(_spec(tmp_path, "  flow:\n    type: EXPRESS\n    definition: flow.asl.json\n")))
    assert "unknown kind 'EXPRESS'" in info.value.problems[0]
    assert "give the kind as 'kind:'" in info.value.problems[0]


def test_local_step_functions_refuses_logging_the_role_cannot_deliver(ctx: Context) -> None:
    sfn, logs = ctx.client("stepfunctions"), ctx.client("logs")
    logs.create_log_group(logGroupName="/aws/vendedlogs/states/flow")
    logging = {"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {
        "logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/flow:*"}}]}  # fmt: skip
    bare = make_role(ctx, "bare-role", service="states")
    with pytest.raises(ClientError) as refused:
        sfn.create_state_machine(
            name="flow", definition=json.dumps(PASS), roleArn=bare, loggingConfiguration=logging
        )
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "not authorized to access the Log Destination" in refused.value.response["Error"]["Message"]
    assert _retryable(refused.value)  # on AWS the role's new permissions take a moment to count
    plain = sfn.create_state_machine(name="flow", definition=json.dumps(PASS), roleArn=bare)[
        "stateMachineArn"
    ]
    with pytest.raises(ClientError, match="Log Destination"):
        sfn.update_state_machine(stateMachineArn=plain, loggingConfiguration=logging)
    granted = logging_role(ctx, "logs-role")
    sfn.update_state_machine(stateMachineArn=plain, roleArn=granted, loggingConfiguration=logging)
    assert sfn.describe_state_machine(stateMachineArn=plain)["loggingConfiguration"]["level"] == "ALL"


WAITING = {"StartAt": "Both", "States": {
    "Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Job", "States": {"Job": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "End": True}}},
        {"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": True, "ItemProcessor": {
            "StartAt": "Ask", "States": {"Ask": {
                "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": True}}}}}},
        {"StartAt": "Work", "States": {"Work": {
            "Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:work", "End": True}}},
        {"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}}},
    ]},
}}  # fmt: skip


def test_an_express_machine_refuses_what_aws_refuses_in_its_definition(tmp_path: Path) -> None:
    def load(machine_type: str) -> Any:
        path = _spec(tmp_path, f"  flow:\n    kind: stepfunctions.state_machine\n    type: {machine_type}\n"
                               "    definition: flow.asl.json\n    role: ${role.arn}\n")  # fmt: skip
        (tmp_path / "flow.asl.json").write_text(json.dumps(WAITING))
        return load_spec(str(path))

    assert load("STANDARD").resources["flow"].fields["type"] == "STANDARD"
    with pytest.raises(SpecError) as info:
        load("EXPRESS")
    text = " ".join(info.value.problems)
    assert (
        "/States/Both/Branches[0]/States/Job/Resource: an EXPRESS state machine does not support the '.sync'"
        in text
    )
    assert (
        "Branches[1]/States/Each/ItemProcessor/States/Ask/Resource" in text and "'.waitForTaskToken'" in text
    )
    assert "Branches[2]/States/Work/Resource: an EXPRESS state machine does not support activities" in text
    assert "Call" not in text
