"""AWS's behaviour between calls, injected into moto's in-process mock (which has none of it), with
short windows: what awslab must converge on.

- IAM propagation: for `iam` seconds after CreateRole, Lambda's CreateFunction naming the role
  fails with 400 InvalidParameterValueException "The role defined for the function cannot be
  assumed by Lambda." and Step Functions' CreateStateMachine with 400 AccessDeniedException
  "Neither the global service principal states.amazonaws.com, nor the regional one is authorized
  to assume the provided role."; for `permissions` seconds after a change of the role's policies,
  CreateEventSourceMapping from SQS for a function using it fails with 400
  InvalidParameterValueException "The function execution role does not have permissions to call
  ReceiveMessage on SQS" (AWS's current wording).
- Lambda states: a new function is Pending for `pending` seconds (CreateFunction and
  GetFunction(Configuration) say so); Invoke and updates meanwhile fail with 409
  ResourceConflictException "The operation cannot be performed at this time. The function is
  currently in the following state: Pending".
- DynamoDB: a new table is CREATING for `creating` seconds; UpdateTable, UpdateTimeToLive and
  DeleteTable meanwhile fail with 400 ResourceInUseException, item calls with 400
  ResourceNotFoundException.
- CloudWatch Logs: DeleteFunction leaves the function's log group (moto does too).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote

from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

LAMBDA_CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."
STATES_CANNOT_ASSUME = (
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
    "to assume the provided role."
)
NO_RECEIVE_MESSAGE = "The function execution role does not have permissions to call ReceiveMessage on SQS"
PENDING = (
    "The operation cannot be performed at this time. "
    "The function is currently in the following state: Pending"
)
_FUNCTION_PATH = re.compile(r"/functions/([^/?]+)")
_ITEM_CALLS = ("PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan")


class AwsBetweenCalls:
    def __init__(
        self, iam: float = 0.3, pending: float = 0.3, creating: float = 0.3, permissions: float | None = None
    ) -> None:
        self.iam, self.pending_for, self.creating_for = iam, pending, creating
        self.permissions_for = iam if permissions is None else permissions
        self.trust: dict[str, float] = {}  # role name -> when it becomes assumable
        self.permissions: dict[str, float] = {}  # role name -> when its policies are visible
        self.function_roles: dict[str, str] = {}
        self.pending: dict[str, float] = {}  # function name -> when it becomes Active
        self.creating: dict[str, float] = {}  # table name -> when it becomes ACTIVE
        self.refused: Counter[str] = Counter()  # operation -> refusals
        self.calls: list[str] = []  # operations, in order
        self._lock = threading.Lock()

    # ---- the request ---------------------------------------------------------------------
    @staticmethod
    def _params(request: Any) -> dict[str, Any]:
        body = request.body or b""
        text = body.decode() if isinstance(body, bytes) else str(body)
        if not text:
            return {}
        if text.lstrip().startswith("{"):
            return dict(json.loads(text))
        return {k: v[0] for k, v in parse_qs(text).items()}

    @staticmethod
    def _function(request: Any, params: dict[str, Any]) -> str:
        found = _FUNCTION_PATH.search(request.url)
        name = unquote(found.group(1)) if found else str(params.get("FunctionName", ""))
        return name.split(":")[6] if name.startswith("arn:") else name

    @staticmethod
    def _active(windows: dict[str, float], key: str) -> bool:
        return windows.get(key, 0.0) > time.monotonic()

    # ---- before moto: AWS's refusals ----------------------------------------------------------
    def before(self, service: str, op: str, request: Any) -> AWSResponse | None:
        params = self._params(request)
        with self._lock:
            self.calls.append(op)
            refusal = self._refusal(service, op, request, params)
            if refusal is not None:
                self.refused[op] += 1
        if refusal is None:
            return None
        status, code, message = refusal
        if service in ("dynamodb", "sfn"):
            body = {"__type": code, "message": message}
            headers = {"Content-Type": "application/x-amz-json-1.0"}
        else:
            body = {"message": message, "Type": "User"}
            headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
        return AWSResponse(request.url, status, headers, MockRawResponse(json.dumps(body).encode()))

    def _refusal(
        self, service: str, op: str, request: Any, params: dict[str, Any]
    ) -> tuple[int, str, str] | None:
        role = str(params.get("Role") or params.get("roleArn") or "").rsplit("/", 1)[-1]
        if service == "lambda" and op == "CreateFunction" and self._active(self.trust, role):
            return 400, "InvalidParameterValueException", LAMBDA_CANNOT_ASSUME
        if (
            service == "sfn"
            and op in ("CreateStateMachine", "UpdateStateMachine")
            and self._active(self.trust, role)
        ):
            return 400, "AccessDeniedException", STATES_CANNOT_ASSUME
        if service == "lambda" and op == "CreateEventSourceMapping":
            fn_role = self.function_roles.get(self._function(request, params), "")
            if self._active(self.trust, fn_role) or self._active(self.permissions, fn_role):
                return 400, "InvalidParameterValueException", NO_RECEIVE_MESSAGE
        blocked = service == "lambda" and op in (
            "Invoke",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
        )
        if blocked and self._active(self.pending, self._function(request, params)):
            return 409, "ResourceConflictException", PENDING
        if service == "dynamodb":
            table = str(params.get("TableName", ""))
            if self._active(self.creating, table):
                if op in ("UpdateTable", "UpdateTimeToLive", "DeleteTable"):
                    msg = (
                        f"Attempt to change a resource which is still in use: Table is being created: {table}"
                    )
                    return 400, "com.amazonaws.dynamodb.v20120810#ResourceInUseException", msg
                if op in _ITEM_CALLS:
                    return (
                        400,
                        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                        "Requested resource not found",
                    )
        return None

    # ---- after moto: what AWS says meanwhile -------------------------------------------------------
    def after(self, service: str, op: str, request: Any, response: AWSResponse) -> AWSResponse:
        if response.status_code >= 300:
            return response
        params = self._params(request)
        now = time.monotonic()
        with self._lock:
            if service == "iam" and op == "CreateRole":
                self.trust[params["RoleName"]] = now + self.iam
            elif service == "iam" and op in ("PutRolePolicy", "AttachRolePolicy"):
                self.permissions[params["RoleName"]] = now + self.permissions_for
            elif service == "lambda" and op == "CreateFunction":
                self.function_roles[params["FunctionName"]] = str(params["Role"]).rsplit("/", 1)[-1]
                self.pending[params["FunctionName"]] = now + self.pending_for
            elif service == "dynamodb" and op == "CreateTable":
                self.creating[params["TableName"]] = now + self.creating_for
            state = self._shown_state(service, op, request, params)
        if state is None:
            return response
        doc = json.loads(response.content)
        if service == "lambda":
            config = doc["Configuration"] if op == "GetFunction" else doc
            config["State"] = state
        else:
            doc["TableDescription" if op == "CreateTable" else "Table"]["TableStatus"] = state
        # the body changed: its checksum (DynamoDB's x-amz-crc32) no longer holds
        headers = {k: v for k, v in response.headers.items() if k.lower() != "x-amz-crc32"}
        return AWSResponse(request.url, response.status_code, headers, MockRawResponse(json.dumps(doc)))

    def _shown_state(self, service: str, op: str, request: Any, params: dict[str, Any]) -> str | None:
        if service == "lambda" and op in ("CreateFunction", "GetFunction", "GetFunctionConfiguration"):
            return "Pending" if self._active(self.pending, self._function(request, params)) else None
        if service == "dynamodb" and op in ("CreateTable", "DescribeTable"):
            return "CREATING" if self._active(self.creating, str(params.get("TableName", ""))) else None
        return None


@contextmanager
def aws_between_calls(**windows: float) -> Iterator[AwsBetweenCalls]:
    """Inside moto's mock (the `mocked_aws` fixture): AWS's behaviour between calls, injected."""
    behaviour = AwsBetweenCalls(**windows)
    call = BotocoreStubber.__call__

    def hooked(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        if not self.enabled:
            return call(self, event_name, request, **kwargs)
        _, service, op = event_name.split(".", 2)
        refused = behaviour.before(service, op, request)
        if refused is not None:
            return refused
        response = call(self, event_name, request, **kwargs)
        return behaviour.after(service, op, request, response) if response is not None else None

    BotocoreStubber.__call__ = hooked  # type: ignore[method-assign]
    try:
        yield behaviour
    finally:
        BotocoreStubber.__call__ = call  # type: ignore[method-assign]
