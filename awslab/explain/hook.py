"""Record every request a boto3 client makes, through botocore's own events: the parameters as
the caller gave them (`provide-client-params`), then the response or the error (`after-call`,
`after-call-error`). `Recorder.install(client)` is what a target calls for each client it builds;
each finished call goes to the recorder's callback as a `Call`. Nothing here prints."""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel

from awslab.explain.cli_form import CliCommand, Secrets, describe_result, extension, key_fields, to_cli

_PARAMS_KEY = "awslab_explain"  # where a call's parameters wait in botocore's request context


@dataclass
class Call:
    """One request and what came of it."""

    seq: int  # the order calls were made in
    model: OperationModel
    params: dict[str, Any]
    response: dict[str, Any] | None  # None when it failed
    error: str | None = None  # "Code: message", or the exception for a request that got no answer

    @property
    def service(self) -> str:
        return str(self.model.service_model.service_name)

    @property
    def operation(self) -> str:
        return str(self.model.name)


class Recorder:
    """Collects the calls of the clients it is installed on and hands each, once it is finished,
    to `on_call` (from the thread that made it)."""

    def __init__(self, on_call: Callable[[Call], None]) -> None:
        self._on_call = on_call
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def install(self, client: Any) -> None:
        events = client.meta.events
        events.register("provide-client-params", self._params, unique_id="awslab-explain-params")
        events.register("after-call", self._after, unique_id="awslab-explain-after")
        events.register("after-call-error", self._failed, unique_id="awslab-explain-error")

    def _params(
        self, params: Mapping[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
    ) -> None:
        with self._lock:
            seq = next(self._seq)
        context[_PARAMS_KEY] = (seq, _copy(params), model)

    def _after(
        self,
        parsed: dict[str, Any],
        model: OperationModel,
        context: dict[str, Any],
        http_response: Any,
        **_: Any,
    ) -> None:
        seq, params, _ = context.pop(_PARAMS_KEY, (0, {}, model))
        if http_response is not None and http_response.status_code >= 300:
            err = parsed.get("Error", {})
            error = f"{err.get('Code', http_response.status_code)}: {err.get('Message', '')}".rstrip(": ")
            self._on_call(Call(seq, model, params, None, error))
        else:
            self._on_call(Call(seq, model, params, parsed))

    def _failed(self, exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        if _PARAMS_KEY not in context:
            return
        seq, params, model = context.pop(_PARAMS_KEY)
        self._on_call(Call(seq, model, params, None, f"{type(exception).__name__}: {exception}"))


def _copy(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy that later changes by botocore's handlers do not touch; file-like bodies are kept
    as they are (they cannot be copied, and `cli_form` rewinds them after reading)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        try:
            out[k] = copy.deepcopy(v)
        except (TypeError, ValueError, copy.Error):
            out[k] = v
    return out


class Explainer:
    """`--explain`: each finished call as the AWS CLI command and the response's key fields, in
    lines handed to `emit` in one piece (so that calls from threads never mix)."""

    def __init__(self, emit: Callable[[list[str]], None]) -> None:
        self._emit = emit
        self.secrets = Secrets()
        self.recorder = Recorder(self._explain)

    def install(self, client: Any) -> None:
        self.recorder.install(client)

    def _explain(self, call: Call) -> None:
        self._emit(explain_call(call, self.secrets))


def explain_call(call: Call, secrets: Secrets | None = None) -> list[str]:
    """`$ aws ...` and `  -> key: value, ...` (or the error) for one call."""
    cmd: CliCommand = to_cli(call.model, call.params, blob_name=blob_namer(call.params), secrets=secrets)
    lines = [f"$ {cmd.text()}"]
    if call.response is not None:
        result = describe_result(key_fields(call.model, call.response, secrets))
        lines.append(f"  -> {secrets.scrub(result) if secrets else result}")
    else:
        lines.append(f"  -> error {secrets.scrub(call.error or '') if secrets else call.error}")
    return lines


def blob_namer(params: Mapping[str, Any]) -> Callable[[str, bytes], str]:
    """Names a call's binary arguments after what they belong to: the function's zip is
    `<function>.zip`, an object's body its key's file name."""
    stem = next(
        (
            str(v)
            for k, v in params.items()
            if isinstance(v, str) and k in ("FunctionName", "LayerName", "Key")
        ),
        "",
    )
    stem = stem.rsplit("/", 1)[-1].rsplit(":", 1)[-1]

    def name(member: str, data: bytes) -> str:
        ext = extension(data)
        if stem:
            return stem if stem.endswith(ext) or "." in stem else stem + ext
        return member.lower() + ext

    return name
