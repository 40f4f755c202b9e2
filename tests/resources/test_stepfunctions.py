"""stepfunctions.state_machine on moto: placeholders in the definition file, updates, cleanup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from awslab.errors import SpecError
from awslab.resources.base import REGISTRY, Context, UpdateNotSupported
from awslab.resources.stepfunctions import StateMachine, StateMachineProps
from tests.resources.wiring_helpers import created_record, creating_record, make_role, record_calls

CHECK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:awslab-test-check-name-abc123"
APPROVE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:awslab-test-approve-abc123"


def definition(check: str = "${check-name.arn}", approve: str = "${approve.arn}") -> dict[str, Any]:
    return {
        "Comment": "check, then approve",
        "StartAt": "CheckName",
        "States": {
            "CheckName": {
                "Type": "Task",
                "Resource": check,
                "TimeoutSeconds": "${settings.timeout}",
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2}],
                "Next": "Approve",
            },
            "Approve": {
                "Type": "Task",
                "Resource": approve,
                "Comment": "table ${items.name} of ${approve.name}",
                "End": True,
            },
        },
    }


@pytest.fixture
def asl(tmp_path: Path) -> Path:
    path = tmp_path / "workflow.asl.json"
    path.write_text(json.dumps(definition(), indent=2))
    return path


@pytest.fixture
def wf_ctx(ctx: Context) -> Context:
    ctx.resolved = {
        "check-name": {"name": "awslab-test-check-name-abc123", "arn": CHECK_ARN},
        "approve": {"name": "awslab-test-approve-abc123", "arn": APPROVE_ARN},
        "settings": {"timeout": 30},
        "items": {
            "name": "awslab-test-items-abc123",
            "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/x",
        },
    }
    return ctx


def make(ctx: Context, logical: str, **props: Any) -> StateMachine:
    return StateMachine(ctx, logical, StateMachineProps.model_validate(props))


def live(ctx: Context, arn: str) -> dict[str, Any]:
    return ctx.client("stepfunctions").describe_state_machine(stateMachineArn=arn)


def test_registered() -> None:
    assert REGISTRY["stepfunctions.state_machine"] is StateMachine


def test_dependencies_are_the_placeholders_resources(asl: Path) -> None:
    props = StateMachineProps.model_validate({"definition": str(asl), "role": "${role.arn}"})
    assert StateMachine.dependencies(props) == {"check-name", "approve", "settings", "items"}


def test_create_substitutes_placeholders(wf_ctx: Context, asl: Path) -> None:
    role = make_role(wf_ctx, "sfn-role", service="states")
    sm = make(wf_ctx, "workflow", definition=str(asl), role=role)
    attrs = sm.create()
    assert attrs["name"] == "awslab-test-workflow-abc123" == sm.physical
    assert attrs["arn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:awslab-test-workflow-abc123"
    desc = live(wf_ctx, attrs["arn"])
    assert desc["roleArn"] == role
    assert desc["type"] == "STANDARD"
    body = json.loads(desc["definition"])
    assert body["States"]["CheckName"]["Resource"] == CHECK_ARN
    assert body["States"]["CheckName"]["TimeoutSeconds"] == 30  # a whole-string placeholder keeps its type
    assert body["States"]["Approve"]["Resource"] == APPROVE_ARN
    assert (
        body["States"]["Approve"]["Comment"] == "table awslab-test-items-abc123 of awslab-test-approve-abc123"
    )
    assert "${" not in desc["definition"]
    tags = wf_ctx.client("stepfunctions").list_tags_for_resource(resourceArn=attrs["arn"])["tags"]
    assert {t["key"]: t["value"] for t in tags}["awslab:stack"] == "abc123"


def test_relative_definition_path_and_validation_context(wf_ctx: Context, tmp_path: Path, asl: Path) -> None:
    role = make_role(wf_ctx, "sfn-role", service="states")
    # the spec loader passes the spec's directory: the path becomes absolute and is checked
    props = StateMachineProps.model_validate(
        {"definition": asl.name, "role": role}, context={"base_dir": str(tmp_path)}
    )
    assert props.definition == str(asl)
    assert StateMachine.dependencies(props) == {"check-name", "approve", "settings", "items"}
    with pytest.raises(ValidationError, match="cannot read"):
        StateMachineProps.model_validate(
            {"definition": "missing.json", "role": role}, context={"base_dir": str(tmp_path)}
        )
    (tmp_path / "broken.json").write_text('{"StartAt": ')
    with pytest.raises(ValidationError, match="not valid JSON"):
        StateMachineProps.model_validate(
            {"definition": "broken.json", "role": role}, context={"base_dir": str(tmp_path)}
        )
    # without the context a relative path resolves against the Context's base_dir at create
    rel_ctx = Context(
        target=wf_ctx.target, lab="test", stack_id="abc123", base_dir=tmp_path, resolved=wf_ctx.resolved
    )
    attrs = make(rel_ctx, "workflow", definition=asl.name, role=role).create()
    assert (
        json.loads(live(wf_ctx, attrs["arn"])["definition"])["States"]["Approve"]["Resource"] == APPROVE_ARN
    )


def test_unknown_placeholder_is_a_clear_error(wf_ctx: Context, tmp_path: Path) -> None:
    role = make_role(wf_ctx, "sfn-role", service="states")
    unknown_name = tmp_path / "a.json"
    unknown_name.write_text(json.dumps(definition(check="${check-adress.arn}")))
    with pytest.raises(SpecError, match=r"\$\{check-adress\.arn\}: no resource 'check-adress'"):
        make(wf_ctx, "workflow", definition=str(unknown_name), role=role).create()
    unknown_attr = tmp_path / "b.json"
    unknown_attr.write_text(json.dumps(definition(check="${check-name.url}")))
    with pytest.raises(SpecError, match=r"'check-name' has no attribute 'url' \(it has: arn, name\)"):
        make(wf_ctx, "workflow", definition=str(unknown_attr), role=role).create()
    malformed = tmp_path / "c.json"
    malformed.write_text(json.dumps(definition(check="${check-name}")))
    with pytest.raises(SpecError, match="not of the form"):
        StateMachine.dependencies(
            StateMachineProps.model_validate({"definition": str(malformed), "role": role})
        )
    assert wf_ctx.client("stepfunctions").list_state_machines()["stateMachines"] == []


def test_update_when_definition_or_role_changes(wf_ctx: Context, asl: Path) -> None:
    role = make_role(wf_ctx, "sfn-role", service="states")
    sm = make(wf_ctx, "workflow", definition=str(asl), role=role)
    attrs = sm.create()
    record = created_record(StateMachine.kind, "workflow", sm.physical, attrs)
    before = sm.fingerprint()

    calls = record_calls(wf_ctx, "stepfunctions")
    assert sm.update(record) == attrs  # nothing changed: no UpdateStateMachine
    assert "sfn.UpdateStateMachine" not in calls

    # a referenced resource's attribute changes: the rendered definition, and the fingerprint, change
    wf_ctx.resolved = {**wf_ctx.resolved, "approve": {"name": "n", "arn": APPROVE_ARN + "-v2"}}
    assert sm.fingerprint() != before
    new_attrs = sm.update(record)
    assert "sfn.UpdateStateMachine" in calls
    assert (
        json.loads(live(wf_ctx, attrs["arn"])["definition"])["States"]["Approve"]["Resource"]
        == APPROVE_ARN + "-v2"
    )
    assert new_attrs["definition_sha256"] != attrs["definition_sha256"]

    # the file itself changes
    body = definition()
    body["States"]["Approve"]["Type"] = "Pass"
    del body["States"]["Approve"]["Resource"]
    asl.write_text(json.dumps(body))
    sm.update(record)
    assert json.loads(live(wf_ctx, attrs["arn"])["definition"])["States"]["Approve"]["Type"] == "Pass"

    # the role changes
    role2 = make_role(wf_ctx, "sfn-role-2", service="states")
    make(wf_ctx, "workflow", definition=str(asl), role=role2).update(record)
    assert live(wf_ctx, attrs["arn"])["roleArn"] == role2
    assert StateMachine.read(wf_ctx, record)["role"] == role2  # type: ignore[index]


def test_type_change_needs_replacement(wf_ctx: Context, asl: Path) -> None:
    role = make_role(wf_ctx, "sfn-role", service="states")
    attrs = make(wf_ctx, "workflow", definition=str(asl), role=role).create()
    record = created_record(StateMachine.kind, "workflow", attrs["name"], attrs)
    with pytest.raises(UpdateNotSupported):
        make(wf_ctx, "workflow", definition=str(asl), role=role, type="EXPRESS").update(record)


def test_create_read_delete_cycle(wf_ctx: Context, asl: Path) -> None:
    role = make_role(wf_ctx, "sfn-role", service="states")
    sm = make(wf_ctx, "workflow", definition=str(asl), role=role, type="EXPRESS")
    attrs = sm.create()
    assert live(wf_ctx, attrs["arn"])["type"] == "EXPRESS"
    record = created_record(StateMachine.kind, "workflow", sm.physical, attrs)
    assert StateMachine.read(wf_ctx, record) == attrs
    StateMachine.delete(wf_ctx, record)
    assert StateMachine.read(wf_ctx, record) is None
    StateMachine.delete(wf_ctx, record)


def test_delete_from_a_creating_record(wf_ctx: Context, asl: Path) -> None:
    role = make_role(wf_ctx, "sfn-role", service="states")
    sm = make(wf_ctx, "workflow", definition=str(asl), role=role)
    attrs = sm.create()
    record = creating_record(StateMachine.kind, "workflow", sm.physical)
    assert StateMachine.read(wf_ctx, record) == attrs
    StateMachine.delete(wf_ctx, record)
    assert wf_ctx.client("stepfunctions").list_state_machines()["stateMachines"] == []
    assert StateMachine.read(wf_ctx, record) is None
    StateMachine.delete(wf_ctx, record)


def test_props_are_strict(asl: Path) -> None:
    with pytest.raises(ValidationError):
        StateMachineProps.model_validate({"definition": str(asl), "role": "my-role"})
    with pytest.raises(ValidationError):
        StateMachineProps.model_validate({"definition": str(asl), "role": "${r.arn}", "type": "FAST"})
    with pytest.raises(ValidationError):
        StateMachineProps.model_validate({"definition": str(asl), "role": "${r.arn}", "logging": True})
