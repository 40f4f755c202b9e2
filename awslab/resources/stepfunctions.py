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
from collections.abc import Callable, Collection, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import ValidationInfo, field_validator

from awslab.errors import SpecError
from awslab.resources import stepfunctions_logging as sfn_logging
from awslab.resources.base import (
    LOG_GROUP_KIND,
    NAME_PREFIX,
    ArnRef,
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    UpdateNotSupported,
    arn_of,
    error_code,
    fingerprint_of,
    ignore_missing,
    or_none,
    pages,
    register,
    tagged_made,
)
from awslab.resources.idempotent import adopt_or_raise, is_ours, tag_map
from awslab.resources.listing import orphan_log_groups
from awslab.resources.retry import is_propagation_error, retry_propagation
from awslab.resources.stepfunctions_logging import LoggingProps
from awslab.resources.tagging import retag_resource

if TYPE_CHECKING:
    from awslab.target import Target

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
REFERENCE = re.compile(r"^([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)$")


def _retryable(exc: BaseException) -> bool:
    # a new role is not yet assumable by states.amazonaws.com (is_propagation_error knows AWS's
    # wording), nor its log-delivery permissions visible ("The state machine IAM Role is not
    # authorized to access the Log Destination"); a machine of this name deleted a moment ago is
    # still DELETING
    return (
        is_propagation_error(exc)
        or error_code(exc) == "StateMachineDeleting"
        or (error_code(exc) == "AccessDeniedException" and "access the Log Destination" in str(exc))
    )


class StateMachineProps(Props):
    definition: str  # ASL JSON file, relative to the spec's directory
    role: ArnRef
    # the machine's own type, which needs the kind given as `kind:` (with `type:` as the kind, the
    # spec loader takes that key for the kind)
    type: Literal["STANDARD", "EXPRESS"] = "STANDARD"
    logging: LoggingProps | None = None  # to a log group the machine makes (stepfunctions_logging.py)

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


# `.sync` / `.sync:2` (run a job) and `.waitForTaskToken` (callback) service integrations
_WAITING_PATTERN = re.compile(r"\.(sync(:\d+)?|waitForTaskToken)$")


def express_problems(definition: Any) -> list[str]:
    """What CreateStateMachine refuses in an EXPRESS machine's definition (InvalidDefinition,
    SCHEMA_VALIDATION_FAILED): Express workflows run at most five minutes and support neither the
    `.sync` nor the `.waitForTaskToken` integration pattern, nor activities (Step Functions
    Developer Guide, "Choosing workflow type" and "Service integration patterns")."""
    found: list[str] = []

    def walk(machine: Any, path: str) -> None:
        states = machine.get("States") if isinstance(machine, dict) else None
        for name, state in (states or {}).items() if isinstance(states, dict) else ():
            if not isinstance(state, dict):
                continue
            where = f"{path}/States/{name}"
            resource = state.get("Resource")
            if state.get("Type") == "Task" and isinstance(resource, str):
                pattern = _WAITING_PATTERN.search(resource)
                if ":activity:" in resource:
                    found.append(f"{where}/Resource: an EXPRESS state machine does not support activities")
                elif pattern is not None:
                    kind = "." + pattern.group(1).split(":")[0]
                    found.append(
                        f"{where}/Resource: an EXPRESS state machine does not support the '{kind}' service "
                        "integration (use a STANDARD machine, or the request-response form of the task)"
                    )
            for index, branch in enumerate(state.get("Branches") or []):
                walk(branch, f"{where}/Branches[{index}]")
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(state.get(key), dict):
                    walk(state[key], f"{where}/{key}")

    walk(definition, "")
    return found


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
class StateMachine(Resource[StateMachineProps]):
    """A Step Functions state machine from an ASL file with `${logical.attribute}` placeholders.
    Its role (iam.role, service: states) needs lambda:InvokeFunction on the task functions' ARNs:
    the spec grants that in the role's `allow`."""

    kind = "stepfunctions.state_machine"
    attributes = ("name", "arn")
    replace_fields = frozenset({"type"})
    name_rule = NameRule(max_len=80)
    drift_keys = ("role", "definition_sha256", "logging_level", "include_execution_data", "log_group")
    drift_shown = frozenset({"logging_level", "include_execution_data", "log_group"})
    predictable = frozenset({"name", "arn"})
    delete_needs_dependencies = False  # its role and task functions may go at the same time
    sweep_rank = 30  # after the rules, schedules and APIs that start it, before its functions

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "states", f"stateMachine:{physical}")}

    @classmethod
    def dependencies(cls, props: StateMachineProps) -> set[str]:
        """The resources the definition file's placeholders name. A relative path is read from
        the current directory unless the spec loader made it absolute (validation context). An
        EXPRESS machine's definition is checked here too, where the loader has the file's path."""
        path = Path(props.definition)
        definition = load_definition(path)
        if props.type == "EXPRESS" and (found := express_problems(definition)):
            raise SpecError([f"{path}: {p}" for p in found], file=str(path))
        return {logical for logical, _ in placeholders(definition)}

    def rendered_definition(self) -> str:
        path = self.ctx.path(self.props.definition)
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
            return fingerprint_of(self.kind, self.props.model_dump(mode="json"))
        logging = self.props.logging.model_dump(mode="json") if self.props.logging else None
        return fingerprint_of(self.kind, _sha(definition), self.props.role, self.props.type, logging)

    def _attrs(self, arn: str, definition: str) -> dict[str, Any]:
        return {
            "name": self.physical,
            "arn": arn,
            "role": self.props.role,
            "type": self.props.type,
            "definition_sha256": _sha(definition),
            **sfn_logging.live_settings(self._logging_configuration()),
        }

    def _logging_configuration(self) -> dict[str, Any]:
        return sfn_logging.configuration(self.ctx, self.props.logging, self.physical)

    def _ensure_log_group(self) -> None:
        if self.props.logging is not None and self.props.logging.level != "OFF":
            name = sfn_logging.log_group_name(self.props.logging, self.physical)
            sfn_logging.ensure_log_group(self.ctx, name, self.ctx.tags(self.logical))

    def create(self) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        sfn = self.ctx.client("stepfunctions")
        definition = self.rendered_definition()
        tags = [{"key": k, "value": v} for k, v in self.ctx.tags(self.logical).items()]
        self._ensure_log_group()
        try:
            arn = retry_propagation(
                lambda: sfn.create_state_machine(
                    name=self.physical,
                    definition=definition,
                    roleArn=self.props.role,
                    type=self.props.type,
                    loggingConfiguration=self._logging_configuration(),
                    tags=tags,
                )["stateMachineArn"],
                is_retryable=_retryable,
                role_arn=self.props.role,
                group="states",
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
        sfn = self.ctx.client("stepfunctions")
        arn = record.attrs.get("arn") or _find(sfn, self.physical)
        if not arn:
            return self.create()
        live = or_none(lambda: sfn.describe_state_machine(stateMachineArn=arn))
        if live is None:
            return self.create()
        if live.get("type", self.props.type) != self.props.type:
            raise UpdateNotSupported(f"{self.kind}: the type of a state machine cannot change")
        definition = self.rendered_definition()
        self._ensure_log_group()
        logging_changed = sfn_logging.live_settings(
            live.get("loggingConfiguration")
        ) != sfn_logging.live_settings(self._logging_configuration())
        if live.get("definition") != definition or live.get("roleArn") != self.props.role or logging_changed:
            self._update_machine(arn, definition)
        if logging_changed:  # a log group the machine no longer writes to goes
            old = sfn_logging.live_settings(live.get("loggingConfiguration"))["log_group"]
            if old != sfn_logging.live_settings(self._logging_configuration())["log_group"]:
                sfn_logging.delete_if_made(self.ctx, old)
        tags = [{"key": k, "value": v} for k, v in self.ctx.tags(self.logical).items()]
        sfn.tag_resource(resourceArn=arn, tags=tags)
        return self._attrs(arn, definition)

    def _update_machine(self, arn: str, definition: str) -> None:
        sfn = self.ctx.client("stepfunctions")
        retry_propagation(
            lambda: sfn.update_state_machine(
                stateMachineArn=arn,
                definition=definition,
                roleArn=self.props.role,
                loggingConfiguration=self._logging_configuration(),
            ),
            is_retryable=_retryable,
        )

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        sfn = ctx.client("stepfunctions")
        arn = record.attrs.get("arn") or _find(sfn, record.physical)
        if not arn:
            return None
        live = or_none(lambda: sfn.describe_state_machine(stateMachineArn=arn))
        if live is None:
            return None
        if live.get("status") == "DELETING":
            return None
        return {
            "name": live["name"],
            "arn": arn,
            "role": live["roleArn"],
            "type": live.get("type"),
            "definition_sha256": _sha(live["definition"]),
            **sfn_logging.live_settings(live.get("loggingConfiguration")),
        }

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        if record.kind == LOG_GROUP_KIND:  # a sweep's: the log group of a machine already gone
            sfn_logging.delete_if_made(ctx, record.physical)
            return
        sfn = ctx.client("stepfunctions")
        arn = record.attrs.get("arn") or _find(sfn, record.physical)
        if not arn:
            return
        # its log group goes with it (found on the live machine: a sweep knows only the ARN)
        live = or_none(lambda: sfn.describe_state_machine(stateMachineArn=arn))
        config = live.get("loggingConfiguration") if live is not None else None
        ignore_missing(sfn.delete_state_machine, stateMachineArn=arn)
        sfn_logging.delete_if_made(
            ctx, sfn_logging.live_settings(config)["log_group"] or record.attrs.get("log_group")
        )

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        sfn = ctx.client("stepfunctions")
        arn = str(record.attrs.get("arn") or arn_of(ctx.target, "states", f"stateMachine:{record.physical}"))
        ident = {"resourceArn": arn}
        retag_resource(sfn, ident, tags, dropped, keys="tagKeys", tags_param="tags", pairs=("key", "value"))
        if record.attrs.get("log_group"):  # the group awslab made for it has its tags; one made by hand stays
            logs = ctx.client("logs")
            group = sfn_logging.log_group_arn(ctx, str(record.attrs["log_group"])).removesuffix(":*")
            if sfn_logging.made_here(ctx, logs.list_tags_for_resource(resourceArn=group).get("tags", {})):
                retag_resource(logs, {"resourceArn": group}, tags, dropped, keys="tagKeys", tags_param="tags")

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """State machines named awslab-... with their tags (attrs: the ARN delete needs); and the
        log groups awslab made for machines that are gone and not recorded (under the default
        /aws/vendedlogs/states/awslab-...: a live machine's delete takes its own), shown as
        LOG_GROUP_KIND and deleted last."""
        survey = survey or Survey(target)
        sfn, logs = target.client("stepfunctions"), target.client("logs")

        def tags(arn: str) -> dict[str, str]:
            return tag_map(sfn.list_tags_for_resource(resourceArn=arn)["tags"])

        machines = list(pages(sfn, "list_state_machines", "stateMachines"))
        candidates = ((m["name"], partial(tags, m["stateMachineArn"]), {"arn": m["stateMachineArn"]},
                       m["stateMachineArn"]) for m in machines)  # fmt: skip
        made = tagged_made(survey, cls.kind, candidates)
        live = {m["name"] for m in machines}
        prefix = sfn_logging.log_group_name(sfn_logging.LoggingProps(), f"{NAME_PREFIX}-")
        return made + orphan_log_groups(
            survey, logs, prefix=prefix, kind=cls.kind, owner_of=_machine_of, live=live, what="state machine"
        )


def _machine_of(log_group: str) -> str:
    return log_group.rsplit("/", 1)[-1]


def _find(sfn: Any, name: str) -> str | None:
    for page in sfn.get_paginator("list_state_machines").paginate():
        for m in page.get("stateMachines", []):
            if m["name"] == name:
                return str(m["stateMachineArn"])
    return None
