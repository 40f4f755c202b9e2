"""HTTP API direct service integrations (AWS_PROXY with an integration subtype): the request's
parameter mappings evaluated, the AWS call made for real, its answer shaped as API Gateway returns it.

Served: SQS-SendMessage / -ReceiveMessage / -DeleteMessage / -PurgeQueue,
StepFunctions-StartExecution / -StopExecution, EventBridge-PutEvents. Mapping values are what AWS
accepts: `$request.body` (the whole body) or `$request.body.a.b[0]` (a JSONPath into it; objects
as JSON text), `$request.header.name`, `$request.querystring.name`, `$request.path.name`,
`$context.requestId` (and the other context variables the event carries), `$stageVariables.name`,
the same forms embedded in text as `${request.body.name}`, and static text. A value the request
lacks maps to "".

The call goes to the local cloud itself (boto3, signed with the local credentials), so the
message, execution or event goes through everything a call from a client goes through: an SQS
event source mapping then consumes it, a rule's targets then get the event. The role
(`credentialsArn`) must exist and trust apigateway.amazonaws.com, as API Gateway must assume it;
its policy is not evaluated (the local cloud evaluates no IAM policy).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from awslab.local.apigw_proxy import HttpRequest, header_value
from awslab.local.http_api_events import query_parameters

# subtype -> (boto3 service, operation, parameters that are numbers, parameters that are JSON)
SUBTYPES: dict[str, tuple[str, str, frozenset[str], frozenset[str]]] = {
    "SQS-SendMessage": ("sqs", "SendMessage", frozenset({"DelaySeconds"}),
                        frozenset({"MessageAttributes", "MessageSystemAttributes"})),
    "SQS-ReceiveMessage": ("sqs", "ReceiveMessage",
                           frozenset({"MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds"}),
                           frozenset({"AttributeNames", "MessageAttributeNames"})),
    "SQS-DeleteMessage": ("sqs", "DeleteMessage", frozenset(), frozenset()),
    "SQS-PurgeQueue": ("sqs", "PurgeQueue", frozenset(), frozenset()),
    "StepFunctions-StartExecution": ("stepfunctions", "StartExecution", frozenset(), frozenset()),
    "StepFunctions-StopExecution": ("stepfunctions", "StopExecution", frozenset(), frozenset()),
    "EventBridge-PutEvents": ("events", "PutEvents", frozenset(), frozenset({"Resources"})),
}  # fmt: skip
_WHOLE = re.compile(
    r"^\$(request\.(?:body|header|querystring|path)(?:\.\S*)?|context\.\S+|stageVariables\.\S+)\Z"
)
_EMBEDDED = re.compile(
    r"\$\{(request\.(?:body|header|querystring|path)(?:\.[^}]*)?|context\.[^}]+|stageVariables\.[^}]+)\}"
)
_JSON_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


class ServiceError(Exception):
    """An AWS call answered with an error: its HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


# (service, operation, params, region) -> the answer (botocore's parsed response)
ServiceCaller = Callable[[str, str, dict[str, Any], str], dict[str, Any]]


@dataclass(frozen=True)
class MappingSource:
    """What parameter mappings can read."""

    req: HttpRequest
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)  # requestId, apiId, stage, ...


def _json_path(body: bytes, path: str) -> str:
    try:
        value: Any = json.loads(body)
    except ValueError:
        return ""
    for key, index in _JSON_STEP.findall(path):
        if key and isinstance(value, dict):
            value = value.get(key)
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return ""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _variable(name: str, src: MappingSource) -> str:
    head, _, rest = name.partition(".")
    if head == "context":
        value = src.context.get(rest)
        return "" if value is None else str(value)
    if head == "stageVariables":
        return src.stage_variables.get(rest, "")
    where, _, key = rest.partition(".")
    if where == "body":
        body = src.req.body
        return body.decode("utf-8", "replace") if not key else _json_path(body, "." + key)
    if where == "header":
        return header_value(src.req.headers, key) or ""
    if where == "querystring":
        return query_parameters(src.req.query_string).get(key, "") if key else src.req.query_string
    return src.path_parameters.get(key, "") if key else src.req.path


def evaluate(expression: str, src: MappingSource) -> str:
    """One parameter mapping's value for this request."""
    whole = _WHOLE.match(expression)
    if whole:
        return _variable(whole.group(1), src)
    return _EMBEDDED.sub(lambda m: _variable(m.group(1), src), expression)


def service_request(
    subtype: str, parameters: Mapping[str, str]
) -> tuple[str, str, dict[str, Any], str | None]:
    """(service, operation, boto3 parameters, region) of a subtype's call from evaluated mappings."""
    service, operation, numbers, structured = SUBTYPES[subtype]
    params: dict[str, Any] = {}
    region = parameters.get("Region") or None
    for name, value in parameters.items():
        if name == "Region" or value == "":
            continue
        if name in numbers:
            params[name] = int(value) if value.lstrip("-").isdigit() else value
        elif name in structured:
            params[name] = _structured(value)
        else:
            params[name] = value
    if operation == "PutEvents":  # one entry, as API Gateway sends it
        params = {"Entries": [params]}
    return service, operation, params, region


def _structured(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:  # a list given as "a,b"
        return [v.strip() for v in value.split(",") if v.strip()]


def response_body(subtype: str, answer: Mapping[str, Any]) -> dict[str, Any]:
    """What API Gateway returns for a successful call: SQS's answer wrapped as its query API names
    it ({"SendMessageResponse": {"SendMessageResult": ..., "ResponseMetadata": ...}}), the JSON
    services' answers as they are."""
    service, operation, _, _ = SUBTYPES[subtype]
    result = {k: _jsonable(v) for k, v in answer.items() if k != "ResponseMetadata"}
    if service != "sqs":
        return result
    request_id = (answer.get("ResponseMetadata") or {}).get("RequestId", "")
    if operation == "SendMessage":
        result = {
            "MD5OfMessageAttributes": result.get("MD5OfMessageAttributes"),
            "MD5OfMessageBody": result.get("MD5OfMessageBody"),
            "MD5OfMessageSystemAttributes": result.get("MD5OfMessageSystemAttributes"),
            "MessageId": result.get("MessageId"),
            "SequenceNumber": result.get("SequenceNumber"),
        }
    wrapped: dict[str, Any] = {"ResponseMetadata": {"RequestId": request_id}}
    if operation in ("SendMessage", "ReceiveMessage"):
        wrapped[f"{operation}Result"] = result
    return {f"{operation}Response": wrapped}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def trusts_apigateway(role: Mapping[str, Any]) -> bool:
    """Whether a role's trust policy lets API Gateway assume it."""
    doc = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return False
    stmts = doc.get("Statement") or []
    for st in stmts if isinstance(stmts, list) else [stmts]:
        principal = (st.get("Principal") or {}) if isinstance(st, dict) else {}
        services = principal.get("Service") if isinstance(principal, dict) else None
        services = services if isinstance(services, list) else [services]
        if st.get("Effect", "Allow") == "Allow" and "apigateway.amazonaws.com" in services:
            return True
    return False


class LocalCaller:
    """Calls the local cloud's own AWS APIs with boto3 (one client per service and region)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        with self._lock:  # building clients is not thread-safe; calls are
            found = self._clients.get((service, region))
            if found is None:
                import boto3
                from botocore.config import Config

                from awslab.target import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

                found = self._clients[(service, region)] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.endpoint,
                    region_name=region,
                    aws_access_key_id=LOCAL_ACCESS_KEY,
                    aws_secret_access_key=LOCAL_SECRET_KEY,
                    config=Config(retries={"max_attempts": 1}),
                )
            return found

    def __call__(self, service: str, operation: str, params: dict[str, Any], region: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError, ParamValidationError

        client = self.client(service, region)
        method = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
        try:
            answer: dict[str, Any] = getattr(client, method)(**params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            raise ServiceError(status, str(error.get("Code", "")), str(error.get("Message", ""))) from exc
        except ParamValidationError as exc:  # what the service would refuse with a 400
            raise ServiceError(400, "ValidationException", str(exc)) from exc
        return answer
