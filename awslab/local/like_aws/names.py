"""Names that stay taken for a while after a delete: SQS queues and Step Functions state machines.

SQS (DeleteQueue in the SQS API reference: "After you delete a queue, you must wait at least 60
seconds before creating a queue with the same name"): CreateQueue of the name within 60 s fails
with 400 QueueDeletedRecently (botocore's sqs model: "You must wait 60 seconds after deleting a
queue before you can create another queue with the same name."). AWS's message is "You must wait
60 seconds after deleting a queue before you can create another with the same name."; SQS speaks
JSON now but keeps its query error code in `x-amzn-query-error`, so botocore reports the code
AWS.SimpleQueueService.QueueDeletedRecently (older SDKs get the same code in query XML).

Step Functions (DeleteStateMachine in the Step Functions API reference: "This is an asynchronous
operation. It sets the state machine's status to DELETING and begins the deletion process."):
meanwhile DescribeStateMachine shows `status: DELETING`, and CreateStateMachine of the name,
UpdateStateMachine and StartExecution fail with 400 StateMachineDeleting (botocore's
stepfunctions model: "The specified state machine is being deleted.") "State Machine is being
deleted". Default 5 s (AWSLAB_LIKE_AWS_SFN_DELETING_SECONDS).
"""

from __future__ import annotations

from awslab.local.like_aws.answers import Answer, Forward, json_error, protocol_error
from awslab.local.like_aws.base import Behaviour, Proceed, name_from_arn
from awslab.local.like_aws.calls import Call
from awslab.local.like_aws.clock import Clock, Windows
from awslab.local.like_aws.settings import LikeAws

QUEUE_DELETED_RECENTLY = ("You must wait 60 seconds after deleting a queue before you can create another "
                          "with the same name.")  # fmt: skip
SQS_QUERY_CODE = "AWS.SimpleQueueService.QueueDeletedRecently"
STATE_MACHINE_DELETING = "State Machine is being deleted"
_USES_MACHINE = ("UpdateStateMachine", "StartExecution", "StartSyncExecution")


class SqsNameReuse(Behaviour):
    operations = frozenset({("sqs", "CreateQueue"), ("sqs", "DeleteQueue")})

    def __init__(self, settings: LikeAws, clock: Clock) -> None:
        super().__init__(settings, clock)
        self.deleted = Windows(clock)  # (region, queue name)

    def reset(self) -> None:
        self.deleted.clear()

    def handle(self, call: Call, proceed: Proceed, moto: Forward) -> Answer:
        params = call.params()
        if call.operation == "CreateQueue":
            if self.deleted.active((call.region, str(params.get("QueueName", "")))):
                return protocol_error(call, "QueueDeletedRecently", QUEUE_DELETED_RECENTLY,
                                      namespace="com.amazonaws.sqs", query_code=SQS_QUERY_CODE)  # fmt: skip
            return proceed()
        arrived = self.clock()  # the 60 s count from the DeleteQueue call, as every window here
        answer = proceed()
        if answer.ok:
            name = str(params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
            self.deleted.open((call.region, name), self.settings.delay("sqs_name_reuse"), since=arrived)
        return answer


class StateMachineDeleting(Behaviour):
    operations = frozenset(("states", op) for op in ("CreateStateMachine", "DeleteStateMachine",
                                                      "DescribeStateMachine", *_USES_MACHINE))  # fmt: skip

    def __init__(self, settings: LikeAws, clock: Clock) -> None:
        super().__init__(settings, clock)
        self.deleting = Windows(clock)  # (region, name) -> its description, status DELETING

    def reset(self) -> None:
        self.deleting.clear()

    def handle(self, call: Call, proceed: Proceed, moto: Forward) -> Answer:
        params = call.params()
        arn = str(params.get("stateMachineArn", ""))
        creating = call.operation == "CreateStateMachine"
        key = (call.region, str(params.get("name", "")) if creating else name_from_arn(arn, "stateMachine"))
        if call.operation in ("CreateStateMachine", *_USES_MACHINE) and self.deleting.active(key):
            return json_error("StateMachineDeleting", STATE_MACHINE_DELETING)
        if call.operation == "DeleteStateMachine":
            arrived = self.clock()
            before = moto(call.sibling("DescribeStateMachine", {"stateMachineArn": arn}))
            answer = proceed()
            if answer.ok and before.ok:
                self.deleting.open(key, self.settings.delay("sfn_deleting"),
                                   {**before.json(), "status": "DELETING"}, since=arrived)  # fmt: skip
            return answer
        answer = proceed()
        gone = self.deleting.get(key) if call.operation == "DescribeStateMachine" else None
        if not answer.ok and gone is not None:
            return Answer(200, [("Content-Type", "application/x-amz-json-1.0")]).with_json(gone[1])
        return answer
