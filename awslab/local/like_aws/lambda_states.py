"""Lambda function states: a new function is Pending for a while, an updated one InProgress.

AWS (https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html): after CreateFunction the
function is `Pending` ("Lambda does not invoke a function during pending state. Any invocations or
other API actions that operate on the function will fail": Invoke, UpdateFunctionCode,
UpdateFunctionConfiguration, PublishVersion), then `Active`. After an update `LastUpdateStatus` is
`InProgress` (invokes still run, on the previous code and configuration) until `Successful`; a
further update or PublishVersion meanwhile fails. Both fail with 409 ResourceConflictException
(botocore's lambda model) and these messages, as AWS sends them:
  "The operation cannot be performed at this time. The function is currently in the following
   state: Pending"
  "The operation cannot be performed at this time. An update is in progress for resource: <ARN>"
The fields as AWS returns them: CreateFunction answers State Pending, StateReason "The function is
being created.", StateReasonCode Creating and no LastUpdateStatus; an update answers State Active,
LastUpdateStatus InProgress, LastUpdateStatusReason "The function is being created.",
LastUpdateStatusReasonCode Creating (AWS's wording for updates too). botocore's waiters
function_active(_v2) and function_updated(_v2) read them through GetFunctionConfiguration and
GetFunction. ListFunctions leaves the state fields out, as the Lambda API reference says of it.
"""

from __future__ import annotations

from typing import Any

from awslab.local.like_aws.answers import Answer, Forward, rest_json_error
from awslab.local.like_aws.base import Behaviour, Proceed, name_from_arn
from awslab.local.like_aws.calls import Call
from awslab.local.like_aws.clock import Clock, Windows
from awslab.local.like_aws.settings import LikeAws

_CONFLICT = "The operation cannot be performed at this time."
PENDING_MESSAGE = f"{_CONFLICT} The function is currently in the following state: Pending"
UPDATING_MESSAGE = f"{_CONFLICT} An update is in progress for resource: {{arn}}"
BEING_CREATED = "The function is being created."
_STATE_FIELDS = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus", "LastUpdateStatusReason",
                 "LastUpdateStatusReasonCode")  # fmt: skip
_UPDATES = ("UpdateFunctionCode", "UpdateFunctionConfiguration")
_BLOCKED_WHILE_PENDING = ("Invoke", "InvokeAsync", "InvokeWithResponseStream", "PublishVersion", *_UPDATES)
_BLOCKED_WHILE_UPDATING = ("PublishVersion", *_UPDATES)
_SHOWN = ("GetFunction", "GetFunctionConfiguration")


class LambdaStates(Behaviour):
    operations = frozenset(("lambda", op) for op in ("CreateFunction", "DeleteFunction", "ListFunctions",
                                                      *_BLOCKED_WHILE_PENDING, *_SHOWN))  # fmt: skip

    def __init__(self, settings: LikeAws, clock: Clock) -> None:
        super().__init__(settings, clock)
        self.pending = Windows(clock)  # (region, name) -> function ARN
        self.updating = Windows(clock)

    def reset(self) -> None:
        self.pending.clear()
        self.updating.clear()

    def handle(self, call: Call, proceed: Proceed, moto: Forward) -> Answer:
        op = call.operation
        # AWS's Pending and InProgress count from the call; moto's own time to make the function
        # (a tenth of a second or more, one function at a time) is the emulator's, not AWS's
        arrived = self.clock()
        if op == "ListFunctions":
            return _rewrite(proceed(), lambda doc: [_strip(fn) for fn in doc.get("Functions", [])])
        if op == "CreateFunction":
            return self._created(call, proceed(), arrived)
        key = (call.region, name_from_arn(call.path_params.get("FunctionName", ""), "function"))
        if op == "DeleteFunction":
            answer = proceed()
            if answer.ok and not call.query.get("Qualifier"):
                self.pending.close(key)
                self.updating.close(key)
            return answer
        if op in _BLOCKED_WHILE_PENDING and self.pending.active(key):
            return rest_json_error(409, "ResourceConflictException", PENDING_MESSAGE, lambda_type=True)
        updating = self.updating.get(key)
        if op in _BLOCKED_WHILE_UPDATING and updating is not None:
            message = UPDATING_MESSAGE.format(arn=updating[1])
            return rest_json_error(409, "ResourceConflictException", message, lambda_type=True)
        answer = proceed()
        if not answer.ok:
            return answer
        if op in _UPDATES:
            arn = answer.json().get("FunctionArn", "")
            self.updating.open(key, self.settings.delay("lambda_update"), _unqualified(arn), since=arrived)
        if op in _UPDATES or (op in _SHOWN and call.query.get("Qualifier", "$LATEST") == "$LATEST"):
            return self._shown(key, answer, nested=op == "GetFunction")
        return answer  # an invoke, a published version

    def _created(self, call: Call, answer: Answer, arrived: float) -> Answer:
        if not answer.ok:
            return answer
        doc = answer.json()
        key = (call.region, str(doc.get("FunctionName", "")))
        self.updating.close(key)
        self.pending.open(key, self.settings.delay("lambda_pending"), doc.get("FunctionArn"), since=arrived)
        return self._shown(key, answer, nested=False)

    def _shown(self, key: tuple[str, str], answer: Answer, *, nested: bool) -> Answer:
        """moto's configuration with the state fields of this moment."""
        doc = answer.json()
        config = doc.get("Configuration") if nested else doc
        if not isinstance(config, dict):
            return answer
        if self.pending.active(key):
            _strip(config)
            config.update(State="Pending", StateReason=BEING_CREATED, StateReasonCode="Creating")
        elif self.updating.active(key):
            _strip(config)
            config.update(State="Active", LastUpdateStatus="InProgress", LastUpdateStatusReason=BEING_CREATED,
                          LastUpdateStatusReasonCode="Creating")  # fmt: skip
        else:
            _strip(config)
            config.update(State="Active", LastUpdateStatus="Successful")
        return answer.with_json(doc)


def _strip(config: dict[str, Any]) -> dict[str, Any]:
    for name in _STATE_FIELDS:
        config.pop(name, None)
    return config


def _rewrite(answer: Answer, change: Any) -> Answer:
    if not answer.ok:
        return answer
    doc = answer.json()
    change(doc)
    return answer.with_json(doc)


def _unqualified(arn: str) -> str:
    """arn:aws:lambda:r:a:function:name[:qualifier] -> without the qualifier."""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn
