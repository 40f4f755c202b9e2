"""One SDK call as the equivalent AWS CLI command, from botocore's own service models: the CLI's
service and operation names, each parameter as the CLI spells it (`--rest-api-id`, `--no-publish`),
structures as JSON, binary arguments as `fileb://` files, sensitive values hidden; and the key
fields of the response (ids, ARNs, states)."""

from __future__ import annotations

import base64
import datetime
import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel, Shape

HIDDEN = "****"
# The AWS CLI's own names where they differ from botocore's (awscli's argrename.py and its lambda
# customization), for the services awslab uses.
SERVICE_COMMANDS = {"s3": "s3api"}  # `aws s3` is the high-level file commands
ARG_RENAMES = {
    ("sns", "Subscribe", "Endpoint"): "notification-endpoint",
    ("apigateway", "CreateRestApi", "version"): "api-version",
    ("apigatewayv2", "CreateApi", "Version"): "api-version",
    ("apigatewayv2", "UpdateApi", "Version"): "api-version",
    ("lambda", "PublishVersion", "CodeSha256"): "code-sha-256",
    ("stepfunctions", "SendTaskSuccess", "Output"): "task-output",
}
# structure member -> blob member the CLI takes as a top-level `--zip-file fileb://...`
HOISTED_BLOBS = {
    ("lambda", "CreateFunction"): ("Code", "ZipFile"),
    ("lambda", "PublishLayerVersion"): ("Content", "ZipFile"),
}
# a sensitive value (botocore's `sensitive` trait) is hidden when its shape is a credential; other
# sensitive shapes (a function's environment, a state machine's definition) are the learner's own
# spec, shown as the spec has them, except the secrets awslab read for it (`Secrets`)
CREDENTIAL_SHAPE = re.compile(r"secret|password|credential|token|privatekey|customerkey", re.IGNORECASE)
KEY_FIELD = re.compile(
    r"(Id|Arn|ARN|Url|URL|Status|State|Name|Version|Endpoint|Account|id|arn|url|status|state)$"
)
KEY_FIELDS_SHOWN = 5


@dataclass(frozen=True)
class Blob:
    """A binary argument, given to the CLI as a file."""

    name: str  # file name, e.g. "awslab-crud-api-fn.zip"
    data: bytes
    flag: str = ""  # the argument that names the file


@dataclass
class CliCommand:
    service: str  # the CLI's service command: "lambda", "s3api"
    operation: str  # "create-function"
    args: list[tuple[str, list[str]]] = field(default_factory=list)  # ("--timeout", ["10"]); "" positional
    blobs: list[Blob] = field(default_factory=list)

    def words(self) -> list[str]:
        out = ["aws", self.service, self.operation]
        for flag, values in self.args:
            out.extend([flag, *values] if flag else values)
        return out

    def text(self) -> str:
        return " ".join(shlex.quote(w) for w in self.words())


class Secrets:
    """Values known to be secret (sensitive values AWS returned, a secret's JSON fields): hidden
    wherever they appear afterwards. Shorter than 4 characters they protect nothing and would
    garble unrelated text."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        if len(value) >= 4:
            self._values.add(value)
        try:
            doc = json.loads(value)
        except ValueError:
            return
        if isinstance(doc, dict):  # ${secretsmanager:name:key} uses one field of it
            for v in doc.values():
                if isinstance(v, str | int | float) and len(str(v)) >= 4:
                    self._values.add(str(v))

    def scrub(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, HIDDEN)
        return text


def service_command(service_name: str) -> str:
    return SERVICE_COMMANDS.get(service_name, service_name)


def operation_command(operation: str) -> str:
    return str(xform_name(operation, "-"))


def to_cli(
    model: OperationModel,
    params: Mapping[str, Any],
    *,
    blob_name: Callable[[str, bytes], str] | None = None,
    secrets: Secrets | None = None,
) -> CliCommand:
    """The AWS CLI command that makes the same request as `client.<op>(**params)`. `blob_name`
    names the file of a binary argument (member name, bytes) -> file name."""
    service = model.service_model.service_name
    cmd = CliCommand(service_command(service), operation_command(model.name))
    name_of = blob_name or _default_blob_name
    shape = model.input_shape
    members = shape.members if shape is not None else {}
    hoisted = HOISTED_BLOBS.get((service, model.name))
    for member, value in params.items():
        mshape = members.get(member)
        if mshape is None:  # botocore would refuse it; shown as given
            cmd.args.append((f"--{xform_name(member, '-')}", [str(value)]))
            continue
        flag = "--" + ARG_RENAMES.get((service, model.name, member), xform_name(member, "-"))
        if hoisted and member == hoisted[0] and isinstance(value, Mapping) and hoisted[1] in value:
            blob = Blob(
                name_of(hoisted[1], _bytes(value[hoisted[1]])), _bytes(value[hoisted[1]]), "--zip-file"
            )
            cmd.blobs.append(blob)
            cmd.args.append(("--zip-file", [f"fileb://{blob.name}"]))
            value = {k: v for k, v in value.items() if k != hoisted[1]}
            if not value:
                continue
        cmd.args.extend(_arg(flag, member, mshape, value, cmd, name_of, secrets))
    if model.has_streaming_output:  # the CLI writes the payload to a file it is given
        cmd.args.append(("", [_outfile(model)]))
    return cmd


def _arg(
    flag: str,
    member: str,
    shape: Shape,
    value: Any,
    cmd: CliCommand,
    name_of: Callable[[str, bytes], str],
    secrets: Secrets | None,
) -> Iterator[tuple[str, list[str]]]:
    kind = shape.type_name
    if _hidden(shape):
        yield flag, [HIDDEN]
    elif kind == "boolean":
        # the CLI's top-level booleans are flags: --publish / --no-publish
        yield (flag if value else "--no-" + flag[2:]), []
    elif kind == "blob":
        data = _bytes(value)
        blob = Blob(name_of(member, data), data, flag)
        cmd.blobs.append(blob)
        # a streaming body is read from a path; other binary arguments from fileb://
        yield flag, [blob.name if shape.serialization.get("streaming") else f"fileb://{blob.name}"]
    elif kind == "list" and value and all(_is_scalar(v) for v in value):
        member_shape = shape.member
        yield flag, [_scrub(_scalar(v, member_shape), secrets) for v in value]
    elif kind in ("structure", "map", "list"):
        yield flag, [_scrub(json.dumps(_plain(value, shape)), secrets)]
    else:
        yield flag, [_scrub(_scalar(value, shape), secrets)]


def _hidden(shape: Shape) -> bool:
    return bool(
        shape.serialization.get("sensitive") or getattr(shape, "metadata", {}).get("sensitive")
    ) and bool(CREDENTIAL_SHAPE.search(shape.name))


def _sensitive(shape: Shape) -> bool:
    return bool(getattr(shape, "metadata", {}).get("sensitive"))


def _scrub(text: str, secrets: Secrets | None) -> str:
    return secrets.scrub(text) if secrets else text


def _is_scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


def _scalar(value: Any, shape: Shape | None) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _plain(value: Any, shape: Shape | None) -> Any:
    """A parameter as the CLI's JSON input has it: member names as in the API, sensitive
    credentials hidden, binary values base64 (the CLI cannot take a nested file)."""
    if shape is not None and _hidden(shape):
        return HIDDEN
    if isinstance(value, Mapping):
        members = getattr(shape, "members", None) if shape is not None else None
        if shape is not None and shape.type_name == "map":
            vshape = shape.value
            return {k: _plain(v, vshape) for k, v in value.items()}
        return {k: _plain(v, members.get(k) if members else None) for k, v in value.items()}
    if isinstance(value, list | tuple):
        item = shape.member if shape is not None and shape.type_name == "list" else None
        return [_plain(v, item) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # Decimal and the like: as their text


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    read = getattr(value, "read", None)
    if callable(read):  # a file-like body: read it, then rewind for the SDK
        data = read()
        seek = getattr(value, "seek", None)
        if callable(seek):
            seek(0)
        return data if isinstance(data, bytes) else str(data).encode()
    return str(value).encode()


def _default_blob_name(member: str, data: bytes) -> str:
    return f"{xform_name(member, '-')}{extension(data)}"


def extension(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return ".zip"
    try:
        json.loads(data)
        return ".json"
    except ValueError:
        return ".bin"


def _outfile(model: OperationModel) -> str:
    return "response.json" if model.service_model.service_name == "lambda" else "response.out"


# ---- responses --------------------------------------------------------------------------------
def key_fields(
    model: OperationModel, response: Mapping[str, Any], secrets: Secrets | None = None
) -> dict[str, Any]:
    """The fields of a response that say what was made or found (ids, ARNs, names, states), top
    level first, then one level down; sensitive values are never among them (and, with `secrets`,
    are remembered as secrets)."""
    found: dict[str, Any] = {}
    shape = model.output_shape
    if secrets is not None and shape is not None:
        _learn(shape, response, secrets)
    members = shape.members if shape is not None else {}
    nested: list[tuple[str, Mapping[str, Any], Shape | None]] = []
    for key, value in response.items():
        if key == "ResponseMetadata":
            continue
        mshape = members.get(key)
        if mshape is not None and _sensitive(mshape):
            continue
        if isinstance(value, Mapping):
            nested.append((key, value, mshape))
        elif isinstance(value, str | int) and not isinstance(value, bool) and KEY_FIELD.search(key):
            found[key] = value
    for parent, value, pshape in nested:
        sub = getattr(pshape, "members", {}) if pshape is not None else {}
        for key, v in value.items():
            if sub.get(key) is not None and _sensitive(sub[key]):
                continue
            if isinstance(v, str | int) and not isinstance(v, bool) and KEY_FIELD.search(key):
                found.setdefault(f"{parent}.{key}", v)
    return dict(list(found.items())[:KEY_FIELDS_SHOWN])


def _learn(shape: Shape, value: Any, secrets: Secrets) -> None:
    """Every sensitive string of a response becomes a known secret."""
    if _sensitive(shape):
        if isinstance(value, str):
            secrets.add(value)
        return
    if isinstance(value, Mapping):
        members = getattr(shape, "members", None)
        if members is not None:
            for k, v in value.items():
                if k in members:
                    _learn(members[k], v, secrets)
        elif shape.type_name == "map":
            for v in value.values():
                _learn(shape.value, v, secrets)
    elif isinstance(value, list) and shape.type_name == "list":
        for v in value:
            _learn(shape.member, v, secrets)


def describe_result(fields: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in fields.items()) or "ok"
