"""moto, patched process-wide so that every Lambda invoke runs in awslab's LambdaExecutor.

Every invoke path of moto (the Invoke API, SQS event source mappings, SNS, S3 notifications,
DynamoDB streams, Step Functions) ends in `LambdaFunction._invoke_lambda`; `install` replaces it
with `LambdaExecutor.invoke` (awslab/local/executor.py) and makes that executor the active one
(awslab/local/active_executor.py). The other patches give the Invoke API
AWS's response headers, retire workers when a function's code or configuration changes, when it
is deleted or its backend reset, give SNS-subscribed Lambdas AWS's event (sns_events.py) and S3
notifications AWS's records (s3_events.py).

Asynchronous sources are asynchronous, as on AWS: Invoke with InvocationType=Event, S3 notifications
and SNS deliveries to Lambda queue the event in the executor's AsyncInvoker (async_invoke.py) and
return at once. moto forgets a function's DeadLetterConfig and appends every
PutFunctionEventInvokeConfig instead of replacing the configuration; the patches keep the
DeadLetterConfig (GetFunctionConfiguration shows it) and make Put replace and Update merge, as AWS
does.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from pathlib import Path
from typing import Any

from awslab.local import active_executor
from awslab.local.active_executor import invoke_async
from awslab.local.executor import LambdaExecutor, Result
from awslab.local.sns_events import deliver_to_lambda

__all__ = ["install", "invoke_async", "uninstall"]

# The executor's logger: these patches are part of its invoke paths.
log = logging.getLogger("awslab.local.executor")

_active_args: tuple[Any, ...] = ()
_originals: dict[tuple[type, str], tuple[bool, Any]] = {}
_install_lock = threading.Lock()


def install(work_dir: Path, endpoint_url: str, **options: Any) -> LambdaExecutor:
    """Route every moto Lambda invoke in this process through a LambdaExecutor (idempotent: the
    same arguments give the same executor; other ones replace it)."""
    global _active_args
    args = (Path(work_dir), endpoint_url, tuple(sorted(options.items())))
    with _install_lock:
        active = active_executor.current()
        if active is not None and _active_args == args:
            return active
        if active is not None:
            active.shutdown()
        executor = LambdaExecutor(Path(work_dir), endpoint_url, **options)
        active_executor.set_active(executor)
        _active_args = args
        _patch_moto()
        return executor


def uninstall() -> None:
    """Undo `install`: moto's own code back, every worker killed."""
    global _active_args
    with _install_lock:
        for (owner, name), (own, original) in _originals.items():
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        _originals.clear()
        active = active_executor.current()
        if active is not None:
            active.shutdown()
        active_executor.set_active(None)
        _active_args = ()


def _replace(owner: type, name: str, new: Any) -> None:
    if (owner, name) not in _originals:
        _originals[(owner, name)] = (name in owner.__dict__, getattr(owner, name))
    setattr(owner, name, new)


def _original(owner: type, name: str) -> Any:
    return _originals[(owner, name)][1]


def _patch_moto() -> None:
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.s3 import notifications as s3_notifications
    from moto.sns.models import Subscription

    from awslab.local.s3_events import s3_event

    def invoke_lambda(self: Any, event: Any = None) -> Result:
        return active_executor.get().invoke(self, event)

    def function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
        """moto's LambdaFunction.invoke, with AWS's answers: `Unhandled` for an uncaught error, the
        last 4 KB of the log as LogResult, no run at all for DryRun; Event queues the event and
        answers at once with no body (moto's Invoke makes that a 202)."""
        inv_type = _header(request_headers, "x-amz-invocation-type") or "RequestResponse"
        if inv_type == "DryRun":
            return ""
        if inv_type == "Event":
            text = body.decode() if isinstance(body, bytes) else str(body or "")
            invoke_async(self, json.loads(text) if text else {}, raw=text or "{}")
            return ""
        result: Result = self._invoke_lambda(event=json.loads(body) if body else "{}")
        payload, errored, logs = result
        if inv_type != "RequestResponse":
            return ""
        response_headers["x-amz-executed-version"] = str(self.version)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["x-amz-log-result"] = base64.b64encode(logs.encode()[-4096:]).decode()
        return payload.encode()

    def update_function_code(self: Any, spec: dict[str, Any]) -> Any:
        result = _original(LambdaFunction, "update_function_code")(self, spec)
        active_executor.get().retire_stale(self)
        return result

    def function_init(self: Any, account_id: str, spec: dict[str, Any], region: str,
                      version: str | int = 1) -> None:  # fmt: skip
        _original(LambdaFunction, "__init__")(self, account_id, spec, region, version)
        self.dead_letter_config = _dead_letter_config(spec.get("DeadLetterConfig"))

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = _original(LambdaFunction, "get_configuration")(self, on_create)
        dead_letter = getattr(self, "dead_letter_config", None)
        if dead_letter:
            config["DeadLetterConfig"] = dict(dead_letter)
        return config

    def update_configuration(self: Any, updates: dict[str, Any]) -> Any:
        if "DeadLetterConfig" in updates:  # an empty TargetArn removes it, as on AWS
            self.dead_letter_config = _dead_letter_config(updates["DeadLetterConfig"])
        result = _original(LambdaFunction, "update_configuration")(self, updates)
        active_executor.get().retire_stale(self)
        return result

    def delete_function(self: Any, function_name: str, qualifier: str | None = None) -> None:
        _original(LambdaBackend, "delete_function")(self, function_name, qualifier)
        executor = active_executor.get()
        for arn in executor.pool_arns(self.account_id, self.region_name):
            try:
                self.get_function(arn)
            except LambdaClientError:  # gone: its workers go too
                executor.retire_function(arn)
        executor.async_events.drop_deleted()  # and its queued events, as on AWS

    def reset(self: Any) -> None:
        active_executor.get().async_events.drop_region(self.account_id, self.region_name)
        active_executor.get().retire_region(self.account_id, self.region_name)
        _original(LambdaBackend, "reset")(self)

    def put_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        self.get_function(function_name).event_invoke_config = []  # AWS: Put replaces the configuration
        put = _original(LambdaBackend, "put_function_event_invoke_config")
        answer: dict[str, Any] = put(self, function_name, config)
        return answer

    def update_event_invoke_config(self: Any, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
        old = self.get_function(function_name).event_invoke_config
        merged = {**(old[0].config if old else {}), **config}  # AWS: Update changes what it names
        return put_event_invoke_config(self, function_name, merged)

    def s3_invoke_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        """S3 invokes its notified function asynchronously: PutObject returns before it runs."""
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(account_id, region_name).get_function(fn_arn)
        except LambdaClientError:  # AWS delivers asynchronously: a missing function never fails the put
            log.warning("S3 notification: function %s not found", fn_arn)
            return
        invoke_async(fn, event_body)

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
    _replace(LambdaFunction, "__init__", function_init)
    _replace(LambdaFunction, "get_configuration", get_configuration)
    _replace(LambdaBackend, "put_function_event_invoke_config", put_event_invoke_config)
    _replace(LambdaBackend, "update_function_event_invoke_config", update_event_invoke_config)
    _replace(s3_notifications, "_invoke_awslambda", s3_invoke_lambda)  # type: ignore[arg-type]  # a module
    _replace(LambdaBackend, "delete_function", delete_function)
    _replace(LambdaBackend, "reset", reset)
    _replace(Subscription, "publish", sns_publish)
    _replace(s3_notifications, "_get_s3_event", s3_event)  # type: ignore[arg-type]  # a module's function


def _dead_letter_config(value: Any) -> dict[str, str] | None:
    target = value.get("TargetArn") if isinstance(value, dict) else None
    return {"TargetArn": str(target)} if target else None


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None
