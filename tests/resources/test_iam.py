"""iam.role on moto: trust, least-privilege inline policy, managed policies, update, teardown."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from awslab.resources.base import Context, Record, kind_class
from awslab.resources.iam import INLINE_POLICY, Role, RoleProps


def make(ctx: Context, logical: str = "role", **props: Any) -> Role:
    return Role(ctx, logical, RoleProps(**props))


def record_of(res: Role, attrs: dict[str, Any] | None = None, status: str = "created") -> Record:
    return Record(
        kind=res.kind,
        logical=res.logical,
        physical=res.physical,
        status=status,  # type: ignore[arg-type]
        attrs=attrs or {},
    )


def inline(ctx: Context, name: str) -> dict[str, Any]:
    return ctx.client("iam").get_role_policy(RoleName=name, PolicyName=INLINE_POLICY)["PolicyDocument"]


def attached(ctx: Context, name: str) -> list[str]:
    return sorted(p["PolicyArn"] for p in ctx.client("iam").list_attached_role_policies(RoleName=name)
                  ["AttachedPolicies"])  # fmt: skip


def customer_policy(ctx: Context, name: str) -> str:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
    }
    return ctx.client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]


def test_registered() -> None:
    assert kind_class("iam.role") is Role


def test_create_read_delete_cycle(ctx: Context) -> None:
    items_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/items"
    managed = customer_policy(ctx, "extra")
    res = make(
        ctx,
        service="lambda",
        description="crud role",
        managed_policies=[managed],
        allow=[{"actions": ["dynamodb:GetItem", "dynamodb:PutItem"], "resources": [items_arn]}],
    )
    attrs = res.create()
    assert attrs["name"] == "awslab-test-role-abc123" == res.physical
    assert attrs["arn"].endswith(":role/awslab-test-role-abc123")

    iam = ctx.client("iam")
    role = iam.get_role(RoleName=res.physical)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    assert role["Description"] == "crud role"
    tags = {t["Key"]: t["Value"] for t in role["Tags"]}
    assert tags == {"awslab:lab": "test", "awslab:stack": "abc123", "awslab:logical": "role"}

    statements = inline(ctx, res.physical)["Statement"]
    assert statements[0] == {
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
        "Resource": [items_arn],
    }
    logs = statements[1]
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]  # awslab makes the group
    # scoped to this lab's functions, never "*"
    assert all(
        r.startswith("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/awslab-test-")
        for r in logs["Resource"]
    )
    assert attached(ctx, res.physical) == [managed]

    # what is put on it is recorded too, so that a delete need not list it
    assert attrs["inline_policy"] is True and attrs["managed_policies"] == [managed]
    rec = record_of(res, attrs)
    assert Role.read(ctx, rec) == {"name": attrs["name"], "arn": attrs["arn"]}
    Role.delete(ctx, rec)
    assert Role.read(ctx, rec) is None
    Role.delete(ctx, rec)  # already gone: a no-op
    # the customer managed policy itself is not ours to delete
    assert iam.get_policy(PolicyArn=managed)["Policy"]["Arn"] == managed


def test_delete_from_creating_record_with_empty_attrs(ctx: Context) -> None:
    """Everything IAM refuses to delete a role over is removed first, found by the name alone."""
    res = make(
        ctx,
        service=["states", "lambda"],
        allow=[
            {"actions": ["lambda:InvokeFunction"], "resources": ["arn:aws:lambda:us-east-1:1:function:f"]}
        ],
    )
    res.create()
    iam = ctx.client("iam")
    name = res.physical
    iam.put_role_policy(
        RoleName=name,
        PolicyName="added-by-hand",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
            }
        ),
    )
    iam.attach_role_policy(RoleName=name, PolicyArn=customer_policy(ctx, "by-hand"))
    iam.create_instance_profile(InstanceProfileName="profile")
    iam.add_role_to_instance_profile(InstanceProfileName="profile", RoleName=name)

    rec = record_of(res, status="creating")
    assert rec.attrs == {}
    Role.delete(ctx, rec)
    assert Role.read(ctx, rec) is None
    assert iam.get_instance_profile(InstanceProfileName="profile")["InstanceProfile"]["Roles"] == []


def test_delete_of_never_created_role_is_a_noop(ctx: Context) -> None:
    res = make(ctx, service="lambda")
    Role.delete(ctx, record_of(res, status="creating"))
    assert Role.read(ctx, record_of(res)) is None


def test_update_changes_trust_policy_and_attachments_in_place(ctx: Context) -> None:
    keep, drop, add = (customer_policy(ctx, n) for n in ("keep", "drop", "add"))
    res = make(
        ctx,
        service="lambda",
        managed_policies=[keep, drop],
        allow=[{"actions": ["sqs:SendMessage"], "resources": ["arn:aws:sqs:us-east-1:1:q"]}],
    )
    attrs = res.create()
    iam = ctx.client("iam")
    role_id = iam.get_role(RoleName=res.physical)["Role"]["RoleId"]

    new = make(
        ctx,
        service=["states", "events.amazonaws.com"],
        managed_policies=[keep, add],
        description="changed",
        allow=[{"actions": ["sns:Publish"], "resources": ["arn:aws:sns:us-east-1:1:t"]}],
    )
    assert new.fingerprint() != res.fingerprint()
    assert new.update(record_of(res, attrs)) == {**attrs, "managed_policies": [keep, add]}

    role = iam.get_role(RoleName=res.physical)["Role"]
    assert role["RoleId"] == role_id  # not replaced
    assert role["Description"] == "changed"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": ["events.amazonaws.com", "states.amazonaws.com"]
    }
    # no lambda principal any more: no log statement either
    assert inline(ctx, res.physical)["Statement"] == [
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ["arn:aws:sns:us-east-1:1:t"]}
    ]
    assert attached(ctx, res.physical) == sorted([keep, add])

    # no statements left at all: the inline policy goes
    bare = make(ctx, service="states")
    bare.update(record_of(res, attrs))
    assert iam.list_role_policies(RoleName=res.physical)["PolicyNames"] == []
    assert attached(ctx, res.physical) == []
    Role.delete(ctx, record_of(res, attrs))


def test_role_without_statements_has_no_inline_policy(ctx: Context) -> None:
    res = make(ctx, service="apigateway")
    res.create()
    iam = ctx.client("iam")
    assert iam.list_role_policies(RoleName=res.physical)["PolicyNames"] == []
    principal = iam.get_role(RoleName=res.physical)["Role"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Principal"
    ]
    assert principal == {"Service": "apigateway.amazonaws.com"}
    Role.delete(ctx, record_of(res))


def test_long_names_fit_iams_limit(ctx: Context) -> None:
    long_ctx = replace(ctx, lab="a-twenty-char-lab-xx")
    one = make(
        long_ctx, logical="a-very-long-logical-name-for-the-execution-role-of-a-function", service="lambda"
    )
    two = make(
        long_ctx, logical="a-very-long-logical-name-for-the-execution-role-of-a-function2", service="lambda"
    )
    assert len(one.physical) <= 64 and one.physical.endswith("-abc123")
    assert one.physical != two.physical
    assert one.create()["name"] == one.physical
    assert two.create()["name"] == two.physical
    for r in (one, two):
        Role.delete(long_ctx, record_of(r))
        assert Role.read(long_ctx, record_of(r)) is None


@pytest.mark.parametrize("actions", [["*"], ["s3:*"], ["dynamodb:GetItem", "dynamodb:*"], ["GetItem"], []])
def test_wildcard_and_malformed_actions_are_rejected(actions: list[str]) -> None:
    with pytest.raises(ValidationError):
        RoleProps(service="lambda", allow=[{"actions": actions, "resources": ["arn:aws:s3:::b/*"]}])


def test_validation_of_other_fields() -> None:
    ok = RoleProps(
        service="lambda",
        allow=[{"actions": ["s3:Get*"], "resources": ["${bucket.arn}/*"]}],
        managed_policies=["${policy.arn}"],
    )
    assert ok.services == ["lambda"]
    for bad in (
        {"service": "lambda", "unknown": 1},
        {"service": []},
        {"service": "Lambda Service"},
        {"service": "lambda", "managed_policies": ["AdministratorAccess"]},
        {"service": "lambda", "allow": [{"actions": ["s3:GetObject"], "resources": []}]},
        {"service": "lambda", "allow": [{"actions": ["s3:GetObject"], "resources": ["*"], "effect": "Deny"}]},
    ):
        with pytest.raises(ValidationError):
            RoleProps(**bad)
