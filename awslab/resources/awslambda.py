"""Lambda: `lambda.function`, a Python function bundled from a handler directory, with its own
`/aws/lambda/<name>` log group (created first, so awslab owns it and removes it on delete)."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, ClassVar, Literal

from botocore.exceptions import ClientError
from pydantic import Field, field_validator

from awslab.build import Bundle, build_bundle
from awslab.resources.base import (
    Context,
    NameRule,
    Props,
    Record,
    Resource,
    error_code,
    fingerprint_of,
    is_not_found,
    register,
)
from awslab.resources.idempotent import adopt_or_raise, is_ours
from awslab.resources.retry import retry_propagation

LOG_RETENTION_DAYS = 7
# Lambda sets these itself and refuses them in a function's environment.
RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*\Z")  # \Z: `$` accepts a trailing newline
# Lambda's waiters poll every second or so; a deadline of five minutes covers a cold account.
_WAIT = {"Delay": 1, "MaxAttempts": 300}


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
class Function(Resource):
    kind = "lambda.function"
    Props = FunctionProps
    attributes = ("name", "arn", "code_sha256")
    name_rule: ClassVar[NameRule] = NameRule(max_len=64, allowed="-_")
    drift_keys = (
        "arn", "code_sha256", "memory", "timeout", "environment",
        "handler", "runtime", "architecture", "role", "description",
    )  # fmt: skip
    drift_labels = {"code_sha256": "code"}
    drift_shown = frozenset({"memory", "timeout", "handler", "runtime", "architecture"})

    props: FunctionProps

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
        logs = self.ctx.client("logs")
        group = log_group_of(name)
        try:
            logs.create_log_group(logGroupName=group, tags=self.ctx.tags(self.logical))
        except Exception as exc:
            # Left by an earlier, interrupted attempt of this same stack: the name is ours.
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)

    # ---- calls ----------------------------------------------------------------------------------
    def create(self) -> dict[str, Any]:
        lam = self.ctx.client("lambda")
        name = self.physical
        self._ensure_log_group(name)
        # A role created seconds ago is not yet assumable by Lambda: retried, with a deadline.
        try:
            fn = retry_propagation(lambda: lam.create_function(
                FunctionName=name,
                Code={"ZipFile": self.bundle.zip_bytes},
                Architectures=[self.props.architecture],
                Tags=self.ctx.tags(self.logical),
                Publish=False,
                **self._configuration(),
            ))  # fmt: skip
        except ClientError as exc:
            # a retried create whose first answer was lost, or one an earlier run left: adopted
            # (and brought in line) when its tags say it is this function
            return adopt_or_raise(exc, ("ResourceConflictException",), self._adopt, fragment="already exist")
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
        return _attrs(fn)

    def _adopt(self) -> dict[str, Any] | None:
        lam = self.ctx.client("lambda")
        if not is_ours(lam.get_function(FunctionName=self.physical).get("Tags"), self.ctx, self.logical):
            return None
        lam.get_waiter("function_active_v2").wait(FunctionName=self.physical, WaiterConfig=_WAIT)
        return self.update(Record(self.kind, self.logical, self.physical, "creating"))

    def update(self, record: Record) -> dict[str, Any]:
        """Change only what differs from the live function: configuration, then code."""
        lam = self.ctx.client("lambda")
        name = record.physical
        self._ensure_log_group(name)
        live = lam.get_function(FunctionName=name)["Configuration"]
        wanted = self._configuration()
        if _config_differs(live, wanted):
            retry_propagation(lambda: lam.update_function_configuration(FunctionName=name, **wanted))
            lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
        if live.get("CodeSha256") != self.bundle.sha256 or live.get("Architectures", ["x86_64"]) != [
            self.props.architecture
        ]:
            retry_propagation(
                lambda: lam.update_function_code(
                    FunctionName=name, ZipFile=self.bundle.zip_bytes, Architectures=[self.props.architecture]
                )
            )
            lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
        return _attrs(lam.get_function(FunctionName=name)["Configuration"])

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        try:
            live = ctx.client("lambda").get_function(FunctionName=record.physical)["Configuration"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        return _attrs(live)

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """The function first (so nothing writes a new log stream), then its log group."""
        name = record.physical
        for call in (
            lambda: ctx.client("lambda").delete_function(FunctionName=name),
            lambda: ctx.client("logs").delete_log_group(logGroupName=log_group_of(name)),
        ):
            try:
                call()
            except Exception as exc:
                if not is_not_found(exc):
                    raise


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


def _config_differs(live: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key == "Environment":
            if (live.get("Environment") or {}).get("Variables", {}) != value["Variables"]:
                return True
        elif live.get(key, "" if key == "Description" else None) != value:
            return True
    return False
