"""Checks AWS makes on requests that moto 5.2.5 does not, so that the local cloud refuses what AWS
refuses (installed process-wide by moto_fidelity.install):

- CreateEventSourceMapping / UpdateEventSourceMapping with a FilterCriteria pattern EventBridge's
  syntax does not allow: AWS answers InvalidParameterValueException "Invalid filter pattern
  definition." (moto stores it, and the stream poller then fails on it at every poll).
- CreateEventSourceMapping from a DynamoDB stream when the function's execution role is not allowed
  dynamodb:GetRecords, GetShardIterator, DescribeStream and ListStreams on the stream: AWS answers
  InvalidParameterValueException "Cannot access stream <arn>. Please ensure the role can perform
  the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
  (AWS Lambda Developer Guide, "Execution role permissions" for DynamoDB). The role's inline and
  attached policies are read; conditions are not evaluated. On AWS a role's new permissions reach
  this check some seconds late, so awslab retries it as propagation (retry.py) until its deadline.
- CreateStateMachine / UpdateStateMachine logging to a log group when the machine's role is not
  allowed, on "*", the log-delivery actions Step Functions needs (stepfunctions_logging.ROLE_ACTIONS):
  AWS answers AccessDeniedException "The state machine IAM Role is not authorized to access the
  Log Destination" (a propagation error too, retried by the state machine's kind).
- PutEvents entries whose Source starts with `aws.` (reserved for AWS services): AWS fails the
  entry with NotAuthorizedForSourceException (EventBridge API reference, PutEventsResultEntry).
"""

from __future__ import annotations

import functools
from typing import Any

from awslab.local import esm_filters, iam_match

STREAM_ACTIONS = ("dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream",
                  "dynamodb:ListStreams")  # fmt: skip


@functools.cache  # patch once: a second install would wrap the wrappers
def install() -> None:
    """Patch moto's Lambda and EventBridge backends (idempotent)."""
    from moto.awslambda.models import LambdaBackend
    from moto.events.models import EventsBackend
    from moto.stepfunctions.models import StepFunctionBackend

    create = LambdaBackend.create_event_source_mapping
    update = LambdaBackend.update_event_source_mapping
    put_events = EventsBackend.put_events
    create_machine = StepFunctionBackend.create_state_machine
    update_machine = StepFunctionBackend.update_state_machine

    def create_state_machine(self: Any, *args: Any, **kwargs: Any) -> Any:
        check_log_delivery(self.account_id, kwargs.get("roleArn"), kwargs.get("loggingConfiguration"))
        return create_machine(self, *args, **kwargs)

    def update_state_machine(self: Any, arn: str, *args: Any, **kwargs: Any) -> Any:
        logging = kwargs.get("logging_configuration")
        if logging:
            role = kwargs.get("role_arn") or self.describe_state_machine(arn).roleArn
            check_log_delivery(self.account_id, role, logging)
        return update_machine(self, arn, *args, **kwargs)

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        check_filters(spec.get("FilterCriteria"))
        source = str(spec.get("EventSourceArn") or "")
        if source.split(":")[2:3] == ["dynamodb"] and spec.get("FunctionName"):
            fn = self.get_function(spec["FunctionName"])
            missing = missing_actions(self.account_id, fn.role, source)
            if missing:
                from moto.awslambda.exceptions import InvalidParameterValueException

                raise InvalidParameterValueException(
                    f"Cannot access stream {source}. Please ensure the role can perform the GetRecords, "
                    "GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
                )
        return create(self, spec)

    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        check_filters(spec.get("FilterCriteria"))
        return update(self, uuid, spec)

    def checked_put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        allowed = [e for e in events if not str(e.get("Source") or "").startswith("aws.")]
        answers = iter(put_events(self, allowed) if allowed else [])
        return [next(answers) if e in allowed else REFUSED_SOURCE for e in events]

    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]
    LambdaBackend.update_event_source_mapping = update_event_source_mapping  # type: ignore[method-assign]
    EventsBackend.put_events = checked_put_events  # type: ignore[method-assign]
    StepFunctionBackend.create_state_machine = create_state_machine  # type: ignore[method-assign]
    StepFunctionBackend.update_state_machine = update_state_machine  # type: ignore[method-assign]


REFUSED_SOURCE = {
    "ErrorCode": "NotAuthorizedForSourceException",
    "ErrorMessage": "Not authorized for the source.",
}


def check_filters(criteria: Any) -> None:
    """InvalidParameterValueException, as Lambda, for a pattern EventBridge's syntax refuses."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    from awslab.resources.event_source_rules import pattern_problem

    for item in (criteria or {}).get("Filters") or []:
        text = item.get("Pattern") if isinstance(item, dict) else None
        if not text:
            continue
        try:  # parsed as the pollers will (esm_filters caches it for them)
            pattern = esm_filters.parse(text).get_pattern()
        except Exception:  # moto's InvalidEventPatternException, or not JSON
            raise InvalidParameterValueException("Invalid filter pattern definition.") from None
        if pattern_problem(pattern) is not None:
            raise InvalidParameterValueException("Invalid filter pattern definition.")


def check_log_delivery(account: str, role_arn: Any, logging: Any) -> None:
    """AccessDeniedException, as Step Functions, for logging the machine's role cannot deliver."""
    from moto.core.exceptions import AWSError

    from awslab.resources.stepfunctions_logging import ROLE_ACTIONS

    destinations = (logging or {}).get("destinations") or []
    if (logging or {}).get("level", "OFF") == "OFF" or not destinations:
        return
    if missing_actions(account, str(role_arn or ""), "*", ROLE_ACTIONS):
        raise AWSError(
            "The state machine IAM Role is not authorized to access the Log Destination",
            "AccessDeniedException",
        )


def missing_actions(account: str, role_arn: str, resource: str,
                    actions: tuple[str, ...] = STREAM_ACTIONS) -> list[str]:  # fmt: skip
    """Which of `actions` the role's policies do not allow on `resource` (all of them for a role
    that does not exist)."""
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["global"].get_role_by_arn(role_arn)
    except Exception:  # moto's IAMNotFoundException: a role not there grants nothing
        return list(actions)
    documents = list(role.policies.values())
    for policy in role.managed_policies.values():
        documents += [v.document for v in policy.versions if v.is_default]
    statements = [s for doc in documents for s in iam_match.statements(doc)]
    return [a for a in actions if not iam_match.allowed(statements, a, resource)]
