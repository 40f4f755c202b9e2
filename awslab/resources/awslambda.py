"""Lambda: `lambda.function`, a Python function bundled from a handler directory, with its own
`/aws/lambda/<name>` log group (created first, so awslab owns it and removes it on delete)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field, field_validator

from awslab.build import Bundle, build_bundle, code_files
from awslab.lambda_env import RESERVED_ENV
from awslab.resources.base import (
    LOG_GROUP_KIND,
    NAME_PREFIX,
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
    fingerprint_of,
    ignore_missing,
    or_none,
    register,
    tagged_made,
)
from awslab.resources.fanout import together
from awslab.resources.idempotent import adopt_or_raise, is_ours
from awslab.resources.lambda_event_source import awslab_functions
from awslab.resources.listing import orphan_log_groups
from awslab.resources.report import observe
from awslab.resources.retry import POLL_SPACING, poll_until, retry_propagation

if TYPE_CHECKING:
    from awslab.target import Target

LOG_RETENTION_DAYS = 7
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\Z")  # \Z: `$` accepts a trailing newline
# A new function is Pending for seconds; five minutes covers a cold account.
_WAIT_SECONDS = 300.0


class FunctionFailed(Exception):
    """Lambda could not make or update the function (its State or LastUpdateStatus is Failed)."""


class FunctionProps(Props):
    code: str
    handler: str = Field(default="app.handler", pattern=r"^[^\s]+\.[^\s.]+$", max_length=128)
    runtime: str = Field(default="python3.12", pattern=r"^python3\.\d{1,2}$")
    role: str
    environment: dict[str, str] = Field(default_factory=dict)
    timeout: int = Field(default=10, ge=1, le=900)
    memory: int = Field(default=128, ge=128, le=10240)
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    description: str = Field(default="", max_length=256)
    exclude: list[str] = Field(default_factory=list)

    @field_validator("environment")
    @classmethod
    def _env_keys(cls, env: dict[str, str]) -> dict[str, str]:
        for key in env:
            if not _ENV_KEY.match(key):
                raise ValueError(
                    f"environment variable '{key}' must be letters, digits and '_', starting with a letter"
                )
            if key in RESERVED_ENV:
                raise ValueError(f"environment variable '{key}' is set by Lambda itself and cannot be set")
        return env


def log_group_of(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


@register
class Function(Resource[FunctionProps]):
    kind = "lambda.function"
    attributes = ("name", "arn", "code_sha256")
    name_rule: ClassVar[NameRule] = NameRule(max_len=64, allowed="-_")
    drift_keys = (
        "arn", "code_sha256", "memory", "timeout", "environment",
        "handler", "runtime", "architecture", "role", "description",
    )  # fmt: skip
    drift_labels = {"code_sha256": "code"}
    drift_shown = frozenset({"memory", "timeout", "handler", "runtime", "architecture"})
    predictable = frozenset({"name", "arn"})
    # an environment variable is a string: Lambda does not look for the topic or table it names,
    # so a function is made beside them (a queue's URL is not predicted: that one is waited for)
    name_only_fields = frozenset({"environment"})

    delete_needs_dependencies = False  # its role, table or queue may go at the same time
    sweep_rank = 40  # after what invokes it, before its role, queues and tables
    _settling = False  # AWS is still making or updating it: `wait_ready` waits

    @classmethod
    def local_files(cls, props: FunctionProps, spec_dir: Path) -> Iterable[tuple[str, Path]]:
        return code_files(spec_dir / props.code, spec_dir, props.exclude)

    @cached_property
    def bundle(self) -> Bundle:
        """Built once per instance: fingerprint, create and update share the same zip."""
        return build_bundle(
            self.ctx.path(self.props.code),
            exclude=list(self.props.exclude),
            # The local cloud installs requirements itself; real Lambda needs them in the zip.
            bundle_requirements=self.ctx.target.kind != "local",
            runtime=self.props.runtime,
            architecture=self.props.architecture,
            spec_dir=self.ctx.base_dir,  # symlinks may point anywhere in the spec's project
        )

    def fingerprint(self) -> str:
        return fingerprint_of(self.kind, self.props.model_dump(mode="json"), self.bundle.sha256)

    def _configuration(self) -> dict[str, Any]:
        p = self.props
        return {
            "Role": p.role,
            "Handler": p.handler,
            "Runtime": p.runtime,
            "Timeout": p.timeout,
            "MemorySize": p.memory,
            "Description": p.description,
            "Environment": {"Variables": dict(p.environment)},
        }

    def _ensure_log_group(self, name: str) -> None:
        """The function's log group, made by awslab (so it is tagged and removed with the
        function) and kept for a week. Nothing invokes the function before `up` ends, so it is
        made alongside the function, not before it."""
        logs = self.ctx.client("logs")
        group = log_group_of(name)
        try:
            logs.create_log_group(logGroupName=group, tags=self.ctx.tags(self.logical))
        except Exception as exc:
            # Left by an earlier, interrupted attempt of this same stack: the name is ours.
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "lambda", f"function:{physical}")}

    # ---- calls ----------------------------------------------------------------------------------
    def create(self) -> dict[str, Any]:
        """Returns as soon as Lambda has the function: a new one is Pending for seconds, which
        only an invoke or an update must wait for (`wait_ready`)."""
        from botocore.exceptions import ClientError

        lam = self.ctx.client("lambda")
        name = self.physical
        made: list[dict[str, Any]] = []

        def create_function() -> None:
            # A role created seconds ago is not yet assumable by Lambda: retried, with a deadline;
            # the functions of one role take turns (one probe, not one zip upload per function)
            try:
                made.append(retry_propagation(lambda: lam.create_function(
                    FunctionName=name,
                    Code={"ZipFile": self.bundle.zip_bytes},
                    Architectures=[self.props.architecture],
                    Tags=self.ctx.tags(self.logical),
                    Publish=False,
                    **self._configuration(),
                ), role_arn=self.props.role, group="lambda"))  # fmt: skip
            except ClientError as exc:
                # a retried create whose first answer was lost, or one an earlier run left:
                # adopted (and brought in line) when its tags say it is this function
                made.append(adopt_or_raise(exc, ("ResourceConflictException",), self._adopt,
                                           fragment="already exist"))  # fmt: skip

        together(lambda: self._ensure_log_group(name), create_function)
        fn = made[0]
        if "FunctionArn" not in fn:  # adopted: `update` returned the attributes
            return fn
        self._settling = not _usable(fn)
        return _attrs(fn)

    def wait_ready(self) -> bool:
        """Until the function is Active with no update in progress (it may be invoked, updated)."""
        if not self._settling:
            return False
        _wait_usable(self.ctx.client("lambda"), self.physical)
        self._settling = False
        return True

    def _adopt(self) -> dict[str, Any] | None:
        lam = self.ctx.client("lambda")
        if not is_ours(lam.get_function(FunctionName=self.physical).get("Tags"), self.ctx, self.logical):
            return None
        _wait_usable(lam, self.physical)  # it may be Pending, and update needs it Active
        return self.update(Record(self.kind, self.logical, self.physical, "creating"))

    def update(self, record: Record) -> dict[str, Any]:
        """Change only what differs from the live function: configuration, then code. The second
        update waits for the first; `wait_ready` waits for the last."""
        lam = self.ctx.client("lambda")
        name = record.physical
        self._ensure_log_group(name)
        live = lam.get_function(FunctionName=name)["Configuration"]
        wanted = self._configuration()
        code_differs = live.get("CodeSha256") != self.bundle.sha256 or live.get(
            "Architectures", ["x86_64"]
        ) != [self.props.architecture]
        if _config_differs(live, wanted):
            # a function Pending or still updating refuses it: retried until it may be updated
            live = retry_propagation(lambda: lam.update_function_configuration(FunctionName=name, **wanted))
            if code_differs:
                _wait_usable(lam, name)
        if code_differs:
            live = retry_propagation(
                lambda: lam.update_function_code(
                    FunctionName=name, ZipFile=self.bundle.zip_bytes, Architectures=[self.props.architecture]
                )
            )
        self._settling = not _usable(live)
        return _attrs(live)

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        live = or_none(
            lambda: ctx.client("lambda").get_function(FunctionName=record.physical)["Configuration"]
        )
        if live is None:
            return None
        return _attrs(live)

    reads_many = True

    @classmethod
    def read_many(cls, ctx: Context, records: list[Record]) -> dict[str, dict[str, Any] | None]:
        """One ListFunctions: each function's configuration, with every field `_attrs` reads."""
        from awslab.resources.listing import read_listed

        pages = ctx.client("lambda").get_paginator("list_functions").paginate()
        return read_listed(
            records, pages, items="Functions", name="FunctionName", attrs=_attrs,
            read_one=lambda r: cls.read(ctx, r),
        )  # fmt: skip

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """The function and its log group: Lambda leaves the group, and it costs while it holds
        logs."""
        name = record.physical
        if record.kind == LOG_GROUP_KIND:  # a sweep's: the group of a function already gone
            ignore_missing(ctx.client("logs").delete_log_group, logGroupName=name)
            return
        # together: an invocation still running may write its group again after either, and a
        # teardown looks for such groups last (`remove_log_groups`)
        together(
            partial(ignore_missing, ctx.client("lambda").delete_function, FunctionName=name),
            partial(ignore_missing, ctx.client("logs").delete_log_group, logGroupName=log_group_of(name)),
        )

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        """The function's tags, and its log group's (made with the same ones)."""
        lam, logs = ctx.client("lambda"), ctx.client("logs")
        arn = str(record.attrs.get("arn") or arn_of(ctx.target, "lambda", f"function:{record.physical}"))
        group = arn_of(ctx.target, "logs", f"log-group:{log_group_of(record.physical)}")
        # untag first, so that no dropped key takes off a put one (see iam.Role.retag); the log
        # group may be gone (deleted by hand): Lambda makes none again, and there is nothing to tag
        if dropped:
            lam.untag_resource(Resource=arn, TagKeys=list(dropped))
            ignore_missing(logs.untag_resource, resourceArn=group, tagKeys=list(dropped))
        if tags:
            lam.tag_resource(Resource=arn, Tags=dict(tags))
            ignore_missing(logs.tag_resource, resourceArn=group, tags=dict(tags))

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """Functions named awslab-... with their tags; and the `/aws/lambda/awslab-*` log groups
        whose function is gone and not recorded (a recorded function's teardown removes its
        group), shown as LOG_GROUP_KIND and deleted last."""
        survey = survey or Survey(target)
        lam, logs = target.client("lambda"), target.client("logs")
        functions = awslab_functions(survey)
        candidates: list[Candidate] = [
            (f["FunctionName"], partial(_function_tags, lam, f["FunctionArn"]), {}, f["FunctionArn"])
            for f in functions
        ]
        made = tagged_made(survey, cls.kind, candidates)
        live = {f["FunctionName"] for f in functions}
        prefix = log_group_of(f"{NAME_PREFIX}-")
        return made + orphan_log_groups(
            survey, logs, prefix=prefix, kind=cls.kind, owner_of=_function_of, live=live, what="function"
        )


def _function_of(log_group: str) -> str:
    return log_group.removeprefix("/aws/lambda/")


def _function_tags(lam: Any, arn: str) -> dict[str, str]:
    return dict(lam.list_tags(Resource=arn).get("Tags", {}))


def remove_log_groups(ctx: Context, functions: Collection[str]) -> list[str]:
    """Delete the log groups of these deleted functions that are there again, and return them.
    An invocation still running when its function is deleted sends its logs afterwards, and
    Lambda creates the group for them (the role may create log groups). One listing for all."""
    wanted = {log_group_of(name) for name in functions}
    if not wanted:
        return []
    first, last = min(wanted), max(wanted)  # the extremes share the prefix all share
    shared = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))
    logs = ctx.client("logs")
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=first[:shared])
    found = sorted({g["logGroupName"] for page in pages for g in page["logGroups"]} & wanted)
    for group in found:
        ignore_missing(logs.delete_log_group, logGroupName=group)
    return found


def _attrs(cfg: dict[str, Any]) -> dict[str, Any]:
    """A function's attributes and the settings awslab manages, from its configuration (as
    CreateFunction and GetFunction return it): what is recorded and compared for drift."""
    env = (cfg.get("Environment") or {}).get("Variables") or {}
    return {
        "name": cfg["FunctionName"],
        "arn": cfg["FunctionArn"],
        "code_sha256": cfg["CodeSha256"],
        "memory": cfg.get("MemorySize"),
        "timeout": cfg.get("Timeout"),
        # a digest per variable: drift names the variables, the state holds no values
        "environment": {k: fingerprint_of(v) for k, v in sorted(env.items())},
        "handler": cfg.get("Handler"),
        "runtime": cfg.get("Runtime"),
        "architecture": (cfg.get("Architectures") or ["x86_64"])[0],
        "role": cfg.get("Role"),
        "description": cfg.get("Description") or "",
    }


def _usable(cfg: dict[str, Any]) -> bool:
    """Whether a configuration (as Lambda returns it) says the function may be invoked and
    updated; a failed creation or update is raised with Lambda's reason."""
    state, update = cfg.get("State", "Active"), cfg.get("LastUpdateStatus", "Successful")
    if state == "Failed" or update == "Failed":
        reason = cfg.get("StateReason") or cfg.get("LastUpdateStatusReason") or "no reason given"
        code = cfg.get("StateReasonCode") or cfg.get("LastUpdateStatusReasonCode") or "Failed"
        name = cfg.get("FunctionName")
        raise FunctionFailed(f"function {name} is {state}, its last update {update}: {code}: {reason}")
    observe(state if update != "InProgress" else f"{state}, update InProgress")  # for the progress view
    return bool(state == "Active" and update != "InProgress")


def _wait_usable(lam: Any, name: str) -> None:
    """Poll GetFunction, as the waiters function_active_v2 / function_updated_v2 do: Lambda
    allows it 100 requests per second, GetFunctionConfiguration shares the 15 per second of the
    other control-plane calls. Often: Pending lasts seconds, and `up` ends when it is over; the
    polls of all functions share one pace (`poll_until`'s group), at most a fifth of that rate,
    and past AWS's usual 15 s at most 4 a second together."""
    poll_until(
        lambda: _usable(lam.get_function(FunctionName=name)["Configuration"]),
        f"function {name}",
        deadline=_WAIT_SECONDS,
        first_delay=POLL_SPACING,
        group="lambda:GetFunction",
    )


def _config_differs(live: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key == "Environment":
            if (live.get("Environment") or {}).get("Variables", {}) != value["Variables"]:
                return True
        elif live.get(key, "" if key == "Description" else None) != value:
            return True
    return False
