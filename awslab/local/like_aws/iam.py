"""IAM propagation: a role just created or changed is not usable by other services for seconds.

AWS: "Changes that you make in IAM ... take time to become visible ... replicated across servers
globally" (IAM User Guide, "Troubleshoot IAM" / eventual consistency); services that assume the
role meanwhile fail. Two windows per role (IAM role names are case-insensitive):
- trust: after CreateRole or UpdateAssumeRolePolicy the service cannot assume the role yet:
  - Lambda CreateFunction / UpdateFunctionConfiguration naming it: 400
    InvalidParameterValueException "The role defined for the function cannot be assumed by Lambda."
    (retried by the Terraform AWS provider's lambda function resource and by CDK, same text);
  - Step Functions CreateStateMachine / UpdateStateMachine naming it: 400 AccessDeniedException
    "Neither the global service principal states.amazonaws.com, nor the regional one is authorized
    to assume the provided role." (retried by the Terraform provider's sfn state machine).
- permissions: after PutRolePolicy / AttachRolePolicy / DeleteRolePolicy / DetachRolePolicy the
  new permissions are not visible yet. Lambda checks the execution role's permissions (not only
  its trust) for an SQS event source: CreateEventSourceMapping from SQS while the function's role
  is in either window fails with 400 InvalidParameterValueException "The function execution role
  does not have permissions to call ReceiveMessage on SQS" (AWS's current wording; older: "The
  provided execution role does not have permissions to call ReceiveMessage on SQS"; the Terraform
  provider retries "execution role does not have permissions").
A permission change does not stop Lambda or Step Functions from assuming the role, so it does not
fail CreateFunction or CreateStateMachine. Default window: 8 s (AWSLAB_LIKE_AWS_IAM_SECONDS); AWS's
is usually 5-15 s, sometimes more.
"""

from __future__ import annotations

from awslab.local.like_aws.answers import Answer, Forward, json_error, rest_json_error
from awslab.local.like_aws.base import Behaviour, Proceed, name_from_arn
from awslab.local.like_aws.calls import Call
from awslab.local.like_aws.clock import Clock, Windows
from awslab.local.like_aws.settings import LikeAws

LAMBDA_CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."
STATES_CANNOT_ASSUME = ("Neither the global service principal states.amazonaws.com, nor the regional one is "
                        "authorized to assume the provided role.")  # fmt: skip
NO_RECEIVE_MESSAGE = "The function execution role does not have permissions to call ReceiveMessage on SQS"
_TRUST_CHANGES = ("CreateRole", "UpdateAssumeRolePolicy")
_POLICY_CHANGES = ("PutRolePolicy", "AttachRolePolicy", "DeleteRolePolicy", "DetachRolePolicy")
_LAMBDA = ("CreateFunction", "UpdateFunctionConfiguration", "CreateEventSourceMapping", "DeleteFunction")
_STATES = ("CreateStateMachine", "UpdateStateMachine")


class IamPropagation(Behaviour):
    operations = frozenset([("iam", op) for op in (*_TRUST_CHANGES, *_POLICY_CHANGES, "DeleteRole")]
                           + [("lambda", op) for op in _LAMBDA] + [("states", op) for op in _STATES])  # fmt: skip

    def __init__(self, settings: LikeAws, clock: Clock) -> None:
        super().__init__(settings, clock)
        self.trust = Windows(clock)  # role name (lower case)
        self.permissions = Windows(clock)
        self.function_roles: dict[tuple[str, str], str] = {}  # (region, function name) -> role name

    def reset(self) -> None:
        self.trust.clear()
        self.permissions.clear()
        self.function_roles.clear()

    def handle(self, call: Call, proceed: Proceed, moto: Forward) -> Answer:
        if call.service == "iam":
            return self._iam(call, proceed)
        if call.service == "states":
            role = _role(call.params().get("roleArn"))
            if role and self.trust.active(role):
                return json_error("AccessDeniedException", STATES_CANNOT_ASSUME)
            return proceed()
        return self._lambda(call, proceed)

    def _iam(self, call: Call, proceed: Proceed) -> Answer:
        arrived = self.clock()  # propagation counts from the change, not from moto's answer
        answer = proceed()
        role = str(call.params().get("RoleName", "")).lower()
        if not answer.ok or not role:
            return answer
        if call.operation == "DeleteRole":
            self.trust.close(role)
            self.permissions.close(role)
        elif call.operation in _TRUST_CHANGES:
            self.trust.open(role, self.settings.delay("iam"), since=arrived)
        else:
            self.permissions.open(role, self.settings.delay("iam"), since=arrived)
        return answer

    def _lambda(self, call: Call, proceed: Proceed) -> Answer:
        op = call.operation
        if op in ("CreateFunction", "UpdateFunctionConfiguration"):
            role = _role(call.params().get("Role"))
            if role and self.trust.active(role):
                return rest_json_error(
                    400, "InvalidParameterValueException", LAMBDA_CANNOT_ASSUME, lambda_type=True
                )
            answer = proceed()
            doc = answer.json() if answer.ok else {}
            if doc.get("FunctionName") and doc.get("Role"):
                self.function_roles[(call.region, doc["FunctionName"])] = _role(doc["Role"])
            return answer
        if op == "CreateEventSourceMapping":
            params = call.params()
            role = self.function_roles.get(
                (call.region, name_from_arn(str(params.get("FunctionName", "")), "function")), ""
            )
            from_sqs = str(params.get("EventSourceArn", "")).startswith("arn:aws:sqs:")
            if from_sqs and role and (self.trust.active(role) or self.permissions.active(role)):
                return rest_json_error(
                    400, "InvalidParameterValueException", NO_RECEIVE_MESSAGE, lambda_type=True
                )
            return proceed()
        answer = proceed()  # DeleteFunction
        if answer.ok and not call.query.get("Qualifier"):
            self.function_roles.pop(
                (call.region, name_from_arn(call.path_params.get("FunctionName", ""), "function")), None
            )
        return answer


def _role(arn: object) -> str:
    return name_from_arn(str(arn), "role").lower() if arn else ""
