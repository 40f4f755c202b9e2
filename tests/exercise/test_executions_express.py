"""start-execution of an EXPRESS state machine: on AWS it runs with StartSyncExecution (AWS keeps no
history of it: DescribeExecution refuses EXPRESS executions), and on the local cloud the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from awslab.exercise.executions import start_execution
from awslab.state import StateStore
from awslab.target import Target
from tests.exercise.conftest import add_lab, rec

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:awslab-lab-flow-abc123"


class SyncOnly:
    """An SFN client that answers StartSyncExecution as AWS does and nothing else."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def start_sync_execution(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return {
            "executionArn": ARN.replace("stateMachine", "express") + ":" + params["name"] + ":1",
            "stateMachineArn": params["stateMachineArn"], "name": params["name"], "status": "SUCCEEDED",
            "startDate": datetime(2026, 1, 1, tzinfo=UTC), "stopDate": datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
            "input": params["input"], "output": '{"ok": true}',
        }  # fmt: skip


def test_express_on_aws_runs_synchronously(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    lab = add_lab(store, "lab", rec("stepfunctions.state_machine", "flow", arn=ARN, type="EXPRESS"))
    target = Target(kind="aws", region="us-east-1")
    client = SyncOnly()
    monkeypatch.setattr(target, "client", lambda service: client)
    res = start_execution(target, lab, {"id": 1})
    assert client.calls[0]["stateMachineArn"] == ARN and client.calls[0]["input"] == '{"id": 1}'
    assert res.ok and res.output == {"ok": True} and res.states == [] and res.duration_ms == 1000.0


def test_express_on_the_local_cloud_runs_synchronously_and_keeps_no_history(
    target: Target, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.config import default_user_config

    # the local cloud's server runs state machines
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    sfn = target.client("stepfunctions")
    role = target.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = (
        '{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": true}, "End": true}}}'
    )
    arn = sfn.create_state_machine(name="flow", definition=definition, roleArn=role, type="EXPRESS")[
        "stateMachineArn"
    ]
    lab = add_lab(store, "lab", rec("stepfunctions.state_machine", "flow", arn=arn, type="EXPRESS"))
    target.kind = "local"  # the local cloud: StartSyncExecution on its own host
    res = start_execution(target, lab, {"id": 1}, timeout=0)
    assert res.ok and res.output == {"ok": True} and res.states == []
    assert res.execution_arn.startswith("arn:aws:states:us-east-1:123456789012:express:flow:")
    # AWS keeps no history of an EXPRESS execution, started either way
    started = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    for arn_asked in (started, res.execution_arn):
        with pytest.raises(ClientError, match="InvalidArn"):
            sfn.describe_execution(executionArn=arn_asked)
        with pytest.raises(ClientError, match="InvalidArn"):
            sfn.get_execution_history(executionArn=arn_asked)
    standard = sfn.create_state_machine(name="std", definition=definition, roleArn=role)["stateMachineArn"]
    with pytest.raises(ClientError, match="StateMachineTypeNotSupported"):
        unprefixed = boto3.client(
            "stepfunctions", region_name="us-east-1", config=Config(inject_host_prefix=False)
        )
        unprefixed.start_sync_execution(stateMachineArn=standard, input="{}")
