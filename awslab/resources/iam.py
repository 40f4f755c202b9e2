"""IAM: `iam.role`, an execution role trusted by one or more AWS services, with one inline
least-privilege policy built from the spec's `allow` statements."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import BaseModel, ConfigDict, Field, field_validator

from awslab.resources.base import (
    Candidate,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    arn_of,
    error_code,
    ignore_missing,
    is_not_found,
    missing_ok,
    or_none,
    pages,
    register,
    tagged_made,
)
from awslab.resources.fanout import together
from awslab.resources.idempotent import adopt_or_raise, is_ours, tag_map
from awslab.resources.tagging import retag_resource

if TYPE_CHECKING:
    from awslab.target import Target

INLINE_POLICY = "awslab-inline"
# \Z, not `$`: `$` also matches before a trailing newline
_SERVICE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*\Z")
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*?]+\Z")


class Statement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: list[str] = Field(min_length=1)
    resources: list[str] = Field(min_length=1)
    # IAM's Condition block as written in a policy ({"StringEquals": {"aws:ResourceTag/k": "v"}})
    condition: dict[str, dict[str, str | list[str]]] | None = None

    @field_validator("actions")
    @classmethod
    def _least_privilege(cls, actions: list[str]) -> list[str]:
        for action in actions:
            if action == "*" or action.endswith(":*"):
                raise ValueError(
                    f"action '{action}' grants every action: name the actions the code needs "
                    "(least privilege)"
                )
            if not _ACTION.match(action):
                raise ValueError(f"action '{action}' is not of the form 'service:Action'")
        return actions


class RoleProps(Props):
    service: str | list[str]
    allow: list[Statement] = Field(default_factory=list)
    managed_policies: list[str] = Field(default_factory=list)
    description: str = Field(default="", max_length=1000)

    @field_validator("service")
    @classmethod
    def _services(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not names:
            raise ValueError("name at least one service (lambda, states, apigateway, ...)")
        for name in names:
            if not _SERVICE.match(name):
                raise ValueError(f"'{name}' is not a service name such as lambda, states or apigateway")
        return value

    @field_validator("managed_policies")
    @classmethod
    def _arns(cls, arns: list[str]) -> list[str]:
        for arn in arns:
            if not arn.startswith(("arn:", "${")):
                raise ValueError(f"managed policy '{arn}' is not an ARN (arn:aws:iam::aws:policy/...)")
        return arns

    @property
    def services(self) -> list[str]:
        return [self.service] if isinstance(self.service, str) else list(self.service)


def principal(service: str) -> str:
    """'lambda' -> 'lambda.amazonaws.com'; a full principal is kept."""
    return service if "." in service else f"{service}.amazonaws.com"


def trust_policy(services: list[str]) -> dict[str, Any]:
    principals = sorted({principal(s) for s in services})
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": principals[0] if len(principals) == 1 else principals},
            "Action": "sts:AssumeRole",
        }],
    }  # fmt: skip


@register
class Role(Resource[RoleProps]):
    kind = "iam.role"
    attributes = ("name", "arn")
    name_rule: ClassVar[NameRule] = NameRule(max_len=64, allowed="+=,.@_-")
    drift_keys = ("arn",)
    predictable = frozenset({"name", "arn"})
    # a policy may name what does not exist yet: granting access to a function, table or queue
    # does not wait for it (nor for the propagation of the role it uses)
    name_only_fields = frozenset({"allow"})
    delete_needs_dependencies = False  # what its policies name may go at the same time
    starts_first = True  # Lambda and Step Functions cannot assume it for seconds after it is made
    sweep_rank = 80  # after everything that assumes it

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        # awslab creates roles with the default path "/"
        return {"name": physical, "arn": arn_of(target, "iam", f"role/{physical}", regional=False)}

    # ---- documents ----------------------------------------------------------------------------
    def inline_policy(self) -> dict[str, Any] | None:
        statements: list[dict[str, Any]] = [
            {
                "Effect": "Allow",
                "Action": list(s.actions),
                "Resource": list(s.resources),
                **({"Condition": s.condition} if s.condition else {}),
            }
            for s in self.props.allow
        ]
        if "lambda" in self.props.services or principal("lambda") in self.props.services:
            # Lambda writes its logs through the role; scoped to this lab's functions only. No
            # logs:CreateLogGroup: awslab makes each function's group, tagged; one Lambda made after
            # a delete (a function still running at teardown, the TTL reaper after its own group)
            # would be untagged, and neither teardown nor sweep would ever claim it.
            t = self.ctx.target
            statements.append({
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    arn_of(t, "logs", f"log-group:/aws/lambda/awslab-{self.ctx.lab}-*"),
                    arn_of(t, "logs", f"log-group:/aws/lambda/awslab-{self.ctx.lab}-*:*"),
                ],
            })  # fmt: skip
        if not statements:
            return None
        return {"Version": "2012-10-17", "Statement": statements}

    # ---- calls ----------------------------------------------------------------------------------
    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        iam = self.ctx.client("iam")
        tags = [{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()]
        try:
            role = iam.create_role(
                RoleName=self.physical,
                AssumeRolePolicyDocument=json.dumps(trust_policy(self.props.services)),
                Description=self.props.description,
                Tags=tags,
            )["Role"]
        except ClientError as exc:
            # a retried create whose first answer was lost, or one an earlier run left: adopted
            # (and brought in line) when its tags say it is this role
            return adopt_or_raise(exc, ("EntityAlreadyExists",), self._adopt)
        policy = self.inline_policy()
        together(
            *([lambda: iam.put_role_policy(RoleName=self.physical, PolicyName=INLINE_POLICY,
                                           PolicyDocument=json.dumps(policy))] if policy else []),
            *(lambda arn=arn: iam.attach_role_policy(RoleName=self.physical, PolicyArn=arn)
              for arn in self.props.managed_policies),
        )  # fmt: skip
        return self._attrs(role)

    def _attrs(self, role: dict[str, Any]) -> dict[str, Any]:
        # what is attached besides: a delete takes them off without listing them first
        return {
            "name": role["RoleName"],
            "arn": role["Arn"],
            "inline_policy": self.inline_policy() is not None,
            "managed_policies": list(self.props.managed_policies),
        }

    def _adopt(self) -> dict[str, Any] | None:
        role = self.ctx.client("iam").get_role(RoleName=self.physical)["Role"]
        if not is_ours(role.get("Tags"), self.ctx, self.logical):
            return None
        return self.update(Record(self.kind, self.logical, self.physical, "creating"))

    def update(self, record: Record) -> dict[str, Any]:
        iam = self.ctx.client("iam")
        name = record.physical
        role = iam.get_role(RoleName=name)["Role"]
        iam.update_assume_role_policy(
            RoleName=name, PolicyDocument=json.dumps(trust_policy(self.props.services))
        )
        if role.get("Description", "") != self.props.description:
            iam.update_role(RoleName=name, Description=self.props.description)
        policy = self.inline_policy()
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(policy))
        else:
            ignore_missing(iam.delete_role_policy, RoleName=name, PolicyName=INLINE_POLICY)
        attached = set(_attached(iam, name))
        wanted = set(self.props.managed_policies)
        for arn in sorted(attached - wanted):
            ignore_missing(iam.detach_role_policy, RoleName=name, PolicyArn=arn)
        for arn in sorted(wanted - attached):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return self._attrs(role)

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        role = or_none(lambda: ctx.client("iam").get_role(RoleName=record.physical)["Role"])
        if role is None:
            return None
        return {"name": role["RoleName"], "arn": role["Arn"]}

    reads_many = True

    @classmethod
    def read_many(cls, ctx: Context, records: list[Record]) -> dict[str, dict[str, Any] | None]:
        """One ListRoles: each role's name and ARN, all that `read` gives."""
        from awslab.resources.listing import read_listed

        pages = ctx.client("iam").get_paginator("list_roles").paginate()
        return read_listed(
            records, pages, items="Roles", name="RoleName",
            attrs=lambda role: {"name": role["RoleName"], "arn": role["Arn"]},
            read_one=lambda r: cls.read(ctx, r),
        )  # fmt: skip

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """Detach managed policies, delete inline ones, leave instance profiles, delete the role:
        IAM refuses to delete a role that still has any of them. What awslab put on it is taken
        off at once; when IAM still refuses (DeleteConflict: something added outside awslab),
        everything is listed and taken off."""
        iam = ctx.client("iam")
        name = record.physical
        if "managed_policies" in record.attrs:  # recorded by this awslab: no listing needed
            together(
                *([partial(ignore_missing, iam.delete_role_policy, RoleName=name, PolicyName=INLINE_POLICY)]
                  if record.attrs.get("inline_policy") else []),
                *(partial(ignore_missing, iam.detach_role_policy, RoleName=name, PolicyArn=arn)
                  for arn in record.attrs["managed_policies"]),
            )  # fmt: skip
            try:
                iam.delete_role(RoleName=name)
                return
            except Exception as exc:
                if is_not_found(exc):
                    return
                if error_code(exc) != "DeleteConflict":
                    raise
        cls._delete_all_of(iam, name)

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        iam = ctx.client("iam")
        ident = {"RoleName": record.physical}
        retag_resource(iam, ident, tags, dropped, pairs=("Key", "Value"), untag="untag_role", tag="tag_role")

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        survey = survey or Survey(target)
        iam = target.client("iam")

        def tags(name: str) -> dict[str, str]:
            return tag_map(t for p in iam.get_paginator("list_role_tags").paginate(RoleName=name)
                           for t in p["Tags"])  # fmt: skip

        roles = pages(iam, "list_roles", "Roles")
        candidates: Iterable[Candidate] = (
            (r["RoleName"], partial(tags, r["RoleName"]), {}, r["Arn"]) for r in roles
        )
        return tagged_made(survey, cls.kind, candidates)

    @classmethod
    def _delete_all_of(cls, iam: Any, name: str) -> None:
        with missing_ok():
            for arn in _attached(iam, name):
                ignore_missing(iam.detach_role_policy, RoleName=name, PolicyArn=arn)
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page["PolicyNames"]:
                    ignore_missing(iam.delete_role_policy, RoleName=name, PolicyName=policy)
            for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
                for profile in page["InstanceProfiles"]:
                    ignore_missing(
                        iam.remove_role_from_instance_profile,
                        InstanceProfileName=profile["InstanceProfileName"],
                        RoleName=name,
                    )
            iam.delete_role(RoleName=name)


def _attached(iam: Any, name: str) -> list[str]:
    arns: list[str] = []
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        arns.extend(p["PolicyArn"] for p in page["AttachedPolicies"])
    return arns
