"""DynamoDB table status: CREATING after CreateTable, DELETING after DeleteTable.

AWS (DynamoDB API reference, CreateTable: "CreateTable is an asynchronous operation. Upon receiving
a CreateTable request, DynamoDB immediately returns a response with a TableStatus of CREATING.
After the table is created, DynamoDB sets the TableStatus to ACTIVE. You can perform read and write
operations only on an ACTIVE table."; DeleteTable: "the specified table is in the DELETING state
until DynamoDB completes the deletion"). Codes from botocore's dynamodb model (400
ResourceNotFoundException, 400 ResourceInUseException); messages as AWS sends them (the Terraform
AWS provider's dynamodb table resource retries on these texts):
- while CREATING: item calls (GetItem ... TransactWriteItems) -> ResourceNotFoundException
  "Requested resource not found"; UpdateTimeToLive -> ResourceNotFoundException "Requested resource
  not found: Table: NAME not found"; CreateTable of the name, UpdateTable, DeleteTable, TagResource
  -> ResourceInUseException "Attempt to change a resource which is still in use: Table is being
  created: NAME".
- while DELETING: DescribeTable shows the table with TableStatus DELETING (then
  ResourceNotFoundException, which botocore's `table_not_exists` waiter waits for); UpdateTable,
  DeleteTable -> ResourceInUseException "Attempt to change a resource which is still in use: Table
  is being deleted: NAME"; CreateTable of the name -> ResourceInUseException "Table already exists:
  NAME".
Defaults 5 s CREATING (on-demand tables take about 5-10 s) and 4 s DELETING.
"""

from __future__ import annotations

from typing import Any

from awslab.local.like_aws.answers import Answer, Forward, json_error
from awslab.local.like_aws.base import Behaviour, Proceed, name_from_arn
from awslab.local.like_aws.calls import Call
from awslab.local.like_aws.clock import Clock, Windows
from awslab.local.like_aws.settings import LikeAws

NAMESPACE = "com.amazonaws.dynamodb.v20120810"
NOT_FOUND = "Requested resource not found"
IN_USE = "Attempt to change a resource which is still in use: Table is being {state}: {name}"
_SINGLE = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
_BATCH = ("BatchGetItem", "BatchWriteItem")
_TRANSACT = ("TransactGetItems", "TransactWriteItems")
_CHANGES = ("UpdateTable", "DeleteTable", "TagResource")


class DynamoDbTables(Behaviour):
    operations = frozenset(("dynamodb", op) for op in ("CreateTable", "DescribeTable", "UpdateTimeToLive",
                                                        *_CHANGES, *_SINGLE, *_BATCH, *_TRANSACT))  # fmt: skip

    def __init__(self, settings: LikeAws, clock: Clock) -> None:
        super().__init__(settings, clock)
        self.creating = Windows(clock)  # (region, table name)
        self.deleting = Windows(clock)  # (region, table name) -> its description when deleted

    def reset(self) -> None:
        self.creating.clear()
        self.deleting.clear()

    def handle(self, call: Call, proceed: Proceed, moto: Forward) -> Answer:
        op = call.operation or ""
        arrived = self.clock()  # CREATING and DELETING count from the call, not from moto's answer
        params = call.params()
        names = _tables(op, params)
        creating = [n for n in names if self.creating.active((call.region, n))]
        deleting = [n for n in names if self.deleting.active((call.region, n))]
        if op == "CreateTable":
            return self._create(call, names[0] if names else "", creating, deleting, proceed, arrived)
        if op in _CHANGES and (creating or deleting):
            state, name = ("created", creating[0]) if creating else ("deleted", deleting[0])
            return _error("ResourceInUseException", IN_USE.format(state=state, name=name))
        if op == "UpdateTimeToLive" and creating:
            return _error("ResourceNotFoundException", f"{NOT_FOUND}: Table: {creating[0]} not found")
        if creating and op != "DescribeTable":
            return _error("ResourceNotFoundException", NOT_FOUND)
        answer = proceed()
        if op == "DescribeTable":
            return self._describe(call.region, names[0] if names else "", answer)
        if op == "DeleteTable" and answer.ok:
            doc = answer.json()
            description = doc.get("TableDescription", {})
            description["TableStatus"] = "DELETING"
            self.creating.close((call.region, names[0]))
            self.deleting.open(
                (call.region, names[0]), self.settings.delay("dynamodb_deleting"), description, since=arrived
            )
            return answer.with_json(doc)
        return answer

    def _create(
        self,
        call: Call,
        name: str,
        creating: list[str],
        deleting: list[str],
        proceed: Proceed,
        arrived: float,
    ) -> Answer:
        if creating:
            return _error("ResourceInUseException", IN_USE.format(state="created", name=name))
        if deleting:
            return _error("ResourceInUseException", f"Table already exists: {name}")
        answer = proceed()
        if not answer.ok:
            return answer
        self.creating.open((call.region, name), self.settings.delay("dynamodb_creating"), since=arrived)
        doc = answer.json()
        _set_creating(doc.get("TableDescription", {}))
        return answer.with_json(doc)

    def _describe(self, region: str, name: str, answer: Answer) -> Answer:
        if answer.ok and self.creating.active((region, name)):
            doc = answer.json()
            _set_creating(doc.get("Table", {}))
            return answer.with_json(doc)
        gone = self.deleting.get((region, name))
        if not answer.ok and gone is not None:
            return Answer(200, [("Content-Type", "application/x-amz-json-1.0")]).with_json({"Table": gone[1]})
        return answer


def _tables(op: str, params: dict[str, Any]) -> list[str]:
    """The table names a call acts on (a TableName may be the table's ARN)."""
    if op in _BATCH:
        names = list(params.get("RequestItems", {}))
    elif op in _TRANSACT:
        names = [part.get("TableName", "") for item in params.get("TransactItems", [])
                 for part in item.values() if isinstance(part, dict)]  # fmt: skip
    elif op == "TagResource":
        names = [params.get("ResourceArn", "")]
    else:
        names = [params.get("TableName", "")]
    return [name_from_arn(str(n), "table") for n in names if n]


def _set_creating(description: dict[str, Any]) -> None:
    description["TableStatus"] = "CREATING"
    for index in description.get("GlobalSecondaryIndexes", []):
        index["IndexStatus"] = "CREATING"


def _error(code: str, message: str) -> Answer:
    return json_error(code, message, namespace=NAMESPACE)
