"""stepfunctions.state_machine: a state machine whose definition is an ASL JSON file.

The file may name other resources of the lab with `${logical.attribute}` placeholders inside
its strings (`"Resource": "${check-name.arn}"`). The engine resolves references in props only;
the file's placeholders are this kind's: `dependencies()` reports the resources they name (so
they are created first) and create / update substitute their attributes. A string that is one
placeholder takes the attribute's value as is (a number stays a number).

The role (an iam.role with `service: states`) needs lambda:InvokeFunction on the task functions'
ARNs; the spec grants that, nothing here does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import ValidationInfo, field_validator

from awslab.errors import SpecError
from awslab.resources.base import (
    ArnRef,
    Context,
    NameRule,
    Props,
    Record,
    Resource,
    UpdateNotSupported,
    arn_of,
    error_code,
    fingerprint_of,
    is_not_found,
    register,
)
from awslab.resources.idempotent import adopt_or_raise, is_ours
from awslab.resources.retry import is_propagation_error, retry_propagation

if TYPE_CHECKING:
    from awslab.target import Target

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
REFERENCE = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)$")


def _retryable(exc: BaseException) -> bool:
    # a new role is not yet assumable by states.amazonaws.com (is_propagation_error knows AWS's
    # wording); a machine of this name deleted a moment ago is still DELETING
    return is_propagation_error(exc) or error_code(exc) == "StateMachineDeleting"


class StateMachineProps(Props):
    definition: str  # ASL JSON file, relative to the spec's directory
    role: ArnRef
    type: Literal["STANDARD", "EXPRESS"] = "STANDARD"

    @field_validator("definition")
    @classmethod
    def _definition_file(cls, value: str, info: ValidationInfo) -> str:
        """With the spec's directory in the validation context ({"base_dir": ...}), the path is
        made absolute and the file checked here, so errors point at the spec's key."""
        base = (info.context or {}).get("base_dir")
        if base is None or "${" in value:
            return value
        path = Path(value)
        if not path.is_absolute():
            path = (Path(base) / path).resolve()
        try:
            placeholders(load_definition(path))
        except SpecError as exc:
            raise ValueError("; ".join(exc.problems)) from None
        return str(path)


def load_definition(path: Path) -> Any:
    """The definition file, parsed (SpecError when it is missing or not JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(
            [f"state machine definition {path}: cannot read it ({exc.strerror})"], file=str(path)
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            [f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"], file=str(path)
        ) from None


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def placeholders(definition: Any) -> list[tuple[str, str]]:
    """(logical, attribute) of every `${logical.attribute}` in the definition's strings."""
    found: list[tuple[str, str]] = []
    for s in _strings(definition):
        for m in PLACEHOLDER.finditer(s):
            ref = REFERENCE.match(m.group(1).strip())
            if not ref:
                raise SpecError(
                    [
                        f"placeholder {m.group(0)} in the state machine definition is not "
                        "of the form ${logical.attribute}"
                    ]
                )
            found.append((ref.group(1), ref.group(2)))
    return found


def render(definition: Any, lookup: Callable[[str, str], Any]) -> Any:
    """The definition with every placeholder replaced by lookup(logical, attribute)."""
    if isinstance(definition, dict):
        return {render(k, lookup): render(v, lookup) for k, v in definition.items()}
    if isinstance(definition, list):
        return [render(v, lookup) for v in definition]
    if not isinstance(definition, str) or "${" not in definition:
        return definition

    def value(m: re.Match[str]) -> Any:
        ref = REFERENCE.match(m.group(1).strip())
        if not ref:
            raise SpecError([f"placeholder {m.group(0)} is not of the form ${{logical.attribute}}"])
        return lookup(ref.group(1), ref.group(2))

    whole = PLACEHOLDER.fullmatch(definition)
    if whole:
        return value(whole)
    return PLACEHOLDER.sub(lambda m: str(value(m)), definition)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@register
class StateMachine(Resource):
    """A Step Functions state machine from an ASL file with `${logical.attribute}` placeholders.
    Its role (iam.role, service: states) needs lambda:InvokeFunction on the task functions' ARNs:
    the spec grants that in the role's `allow`."""

    kind = "stepfunctions.state_machine"
    Props = StateMachineProps
    attributes = ("name", "arn")
    replace_fields = frozenset({"type"})
    name_rule = NameRule(max_len=80)
    drift_keys = ("role", "definition_sha256")
    predictable = frozenset({"name", "arn"})
    delete_needs_dependencies = False  # its role and task functions may go at the same time

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "states", f"stateMachine:{physical}")}

    @property
    def cfg(self) -> StateMachineProps:
        return cast(StateMachineProps, self.props)

    @classmethod
    def dependencies(cls, props: Props) -> set[str]:
        """The resources the definition file's placeholders name. A relative path is read from
        the current directory unless the spec loader made it absolute (validation context)."""
        path = Path(cast(StateMachineProps, props).definition)
        return {logical for logical, _ in placeholders(load_definition(path))}

    def rendered_definition(self) -> str:
        path = self.ctx.path(self.cfg.definition)
        template = load_definition(path)

        def lookup(logical: str, attr: str) -> Any:
            try:
                attrs = self.ctx.attrs_of(logical)
            except KeyError:
                raise SpecError(
                    [
                        f"{path}: placeholder ${{{logical}.{attr}}}: no resource '{logical}' "
                        "in this lab (or it is not created yet)"
                    ],
                    file=str(path),
                ) from None
            if attr not in attrs:
                known = ", ".join(sorted(attrs)) or "none"
                raise SpecError(
                    [
                        f"{path}: placeholder ${{{logical}.{attr}}}: '{logical}' has no attribute "
                        f"'{attr}' (it has: {known})"
                    ],
                    file=str(path),
                )
            return attrs[attr]

        return json.dumps(render(template, lookup), indent=2)

    def fingerprint(self) -> str:
        try:
            definition = self.rendered_definition()
        except SpecError:
            # the resources it names are not created yet (a plan before the first up)
            return fingerprint_of(self.kind, self.cfg.model_dump(mode="json"))
        return fingerprint_of(self.kind, _sha(definition), self.cfg.role, self.cfg.type)

    def _attrs(self, arn: str, definition: str) -> dict[str, Any]:
        return {
            "name": self.physical,
            "arn": arn,
            "role": self.cfg.role,
            "type": self.cfg.type,
            "definition_sha256": _sha(definition),
        }

    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        sfn = self.ctx.client("stepfunctions")
        definition = self.rendered_definition()
        tags = [{"key": k, "value": v} for k, v in self.ctx.tags(self.logical).items()]
        try:
            arn = retry_propagation(
                lambda: sfn.create_state_machine(
                    name=self.physical,
                    definition=definition,
                    roleArn=self.cfg.role,
                    type=self.cfg.type,
                    tags=tags,
                )["stateMachineArn"],
                is_retryable=_retryable,
            )
        except ClientError as exc:
            # AWS answers an identical create with the machine it made (a retry whose first answer
            # was lost); another definition of ours is a create that died before its state was
            # written: adopted, when its tags say it is this machine, and brought in line
            arn = adopt_or_raise(exc, ("StateMachineAlreadyExists",), lambda: self._adopt(definition))
        return self._attrs(arn, definition)

    def _adopt(self, definition: str) -> str | None:
        sfn = self.ctx.client("stepfunctions")
        arn = _find(sfn, self.physical)
        if arn is None:
            return None
        if not is_ours(sfn.list_tags_for_resource(resourceArn=arn).get("tags"), self.ctx, self.logical):
            return None
        self._update_machine(arn, definition)
        return arn

    def update(self, record: Record) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        sfn = self.ctx.client("stepfunctions")
        arn = record.attrs.get("arn") or _find(sfn, self.physical)
        if not arn:
            return self.create()
        try:
            live = sfn.describe_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            if is_not_found(exc):
                return self.create()
            raise
        if live.get("type", self.cfg.type) != self.cfg.type:
            raise UpdateNotSupported(f"{self.kind}: the type of a state machine cannot change")
        definition = self.rendered_definition()
        if live.get("definition") != definition or live.get("roleArn") != self.cfg.role:
            self._update_machine(arn, definition)
        tags = [{"key": k, "value": v} for k, v in self.ctx.tags(self.logical).items()]
        sfn.tag_resource(resourceArn=arn, tags=tags)
        return self._attrs(arn, definition)

    def _update_machine(self, arn: str, definition: str) -> None:
        sfn = self.ctx.client("stepfunctions")
        retry_propagation(
            lambda: sfn.update_state_machine(
                stateMachineArn=arn, definition=definition, roleArn=self.cfg.role
            ),
            is_retryable=_retryable,
        )

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        sfn = ctx.client("stepfunctions")
        arn = record.attrs.get("arn") or _find(sfn, record.physical)
        if not arn:
            return None
        try:
            live = sfn.describe_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            raise
        if live.get("status") == "DELETING":
            return None
        return {
            "name": live["name"],
            "arn": arn,
            "role": live["roleArn"],
            "type": live.get("type"),
            "definition_sha256": _sha(live["definition"]),
        }

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        from botocore.exceptions import ClientError

        sfn = ctx.client("stepfunctions")
        arn = record.attrs.get("arn") or _find(sfn, record.physical)
        if not arn:
            return
        try:
            sfn.delete_state_machine(stateMachineArn=arn)
        except ClientError as exc:
            if not is_not_found(exc):
                raise


def _find(sfn: Any, name: str) -> str | None:
    for page in sfn.get_paginator("list_state_machines").paginate():
        for m in page.get("stateMachines", []):
            if m["name"] == name:
                return str(m["stateMachineArn"])
    return None
