"""moto, patched process-wide so that every Lambda invoke runs in awslab's LambdaExecutor.

Every invoke path of moto (the Invoke API, SQS event source mappings, SNS, S3 notifications,
DynamoDB streams, Step Functions) ends in `LambdaFunction._invoke_lambda`; `install` replaces it
with `LambdaExecutor.invoke` (awslab/local/executor.py). The other patches give the Invoke API
AWS's response headers, retire workers when a function's code or configuration changes, when it
is deleted or its backend reset, and give SNS-subscribed Lambdas AWS's event (sns_events.py).
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from awslab.local.sns_events import deliver_to_lambda

if TYPE_CHECKING:
    from awslab.local.executor import LambdaExecutor, Result

_active: LambdaExecutor | None = None
_active_args: tuple[Any, ...] = ()
_originals: dict[tuple[type, str], tuple[bool, Any]] = {}
_install_lock = threading.Lock()


def install(work_dir: Path, endpoint_url: str, **options: Any) -> LambdaExecutor:
    """Route every moto Lambda invoke in this process through a LambdaExecutor (idempotent: the
    same arguments give the same executor; other ones replace it)."""
    # Imported here: executor.py re-exports install/uninstall, so a module-level import would cycle.
    from awslab.local.executor import LambdaExecutor

    global _active, _active_args
    args = (Path(work_dir), endpoint_url, tuple(sorted(options.items())))
    with _install_lock:
        if _active is not None and _active_args == args:
            return _active
        if _active is not None:
            _active.shutdown()
        _active, _active_args = LambdaExecutor(Path(work_dir), endpoint_url, **options), args
        _patch_moto()
        return _active


def uninstall() -> None:
    """Undo `install`: moto's own code back, every worker killed."""
    global _active, _active_args
    with _install_lock:
        for (owner, name), (own, original) in _originals.items():
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        _originals.clear()
        if _active is not None:
            _active.shutdown()
        _active, _active_args = None, ()


def _executor() -> LambdaExecutor:
    if _active is None:  # only reachable if moto kept a reference across uninstall()
        raise RuntimeError("awslab's Lambda executor is not installed")
    return _active


def _replace(owner: type, name: str, new: Any) -> None:
    if (owner, name) not in _originals:
        _originals[(owner, name)] = (name in owner.__dict__, getattr(owner, name))
    setattr(owner, name, new)


def _original(owner: type, name: str) -> Any:
    return _originals[(owner, name)][1]


def _patch_moto() -> None:
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.sns.models import Subscription

    def invoke_lambda(self: Any, event: Any = None) -> Result:
        return _executor().invoke(self, event)

    def function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
        """moto's LambdaFunction.invoke, with AWS's answers: `Unhandled` for an uncaught error, the
        last 4 KB of the log as LogResult, no body for Event, no run at all for DryRun."""
        inv_type = _header(request_headers, "x-amz-invocation-type") or "RequestResponse"
        if inv_type == "DryRun":
            return ""
        payload, errored, logs = self._invoke_lambda(event=json.loads(body) if body else "{}")
        if inv_type != "RequestResponse":
            return ""
        response_headers["x-amz-executed-version"] = str(self.version)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["x-amz-log-result"] = base64.b64encode(logs.encode()[-4096:]).decode()
        return payload.encode()

    def update_function_code(self: Any, spec: dict[str, Any]) -> Any:
        result = _original(LambdaFunction, "update_function_code")(self, spec)
        _executor().retire_stale(self)
        return result

    def update_configuration(self: Any, updates: dict[str, Any]) -> Any:
        result = _original(LambdaFunction, "update_configuration")(self, updates)
        _executor().retire_stale(self)
        return result

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        _original(LambdaBackend, "delete_function")(self, function_name, qualifier)
        executor = _executor()
        for arn in executor.pool_arns(self.account_id, self.region_name):
            try:
                self.get_function(arn)
            except LambdaClientError:  # gone: its workers go too
                executor.retire_function(arn)

    def reset(self: Any) -> None:
        _executor().retire_region(self.account_id, self.region_name)
        _original(LambdaBackend, "reset")(self)

    def sns_publish(self: Any, message: str, message_id: str, subject: str | None = None,
                    message_attributes: dict[str, Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        if self.protocol != "lambda":
            _original(Subscription, "publish")(
                self, message, message_id, subject, message_attributes, **kwargs
            )
            return
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            message_attributes, message
        ):
            return
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        deliver_to_lambda(self, message, message_id, subject, message_attributes or {})

    _replace(LambdaFunction, "_invoke_lambda", invoke_lambda)
    _replace(LambdaFunction, "invoke", function_invoke)
    _replace(LambdaFunction, "update_function_code", update_function_code)
    _replace(LambdaFunction, "update_configuration", update_configuration)
    _replace(LambdaBackend, "delete_function", delete_function)
    _replace(LambdaBackend, "reset", reset)
    _replace(Subscription, "publish", sns_publish)


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None
