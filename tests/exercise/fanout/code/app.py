"""Records every record it gets (from SQS or from SNS) as a row, with the record itself, so that a
test can check the shape of what the local cloud delivered."""

import json
import os
import uuid

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def _order(body):
    try:
        data = json.loads(body)
    except ValueError:
        return body, None
    if isinstance(data, dict) and data.get("Type") == "Notification":  # SNS's envelope in a queue
        return _order(data["Message"])[0], data
    return (data.get("id") if isinstance(data, dict) else body), None


def handler(event, context):
    for record in event.get("Records", []):
        if record.get("eventSource") == "aws:sqs":
            order, envelope = _order(record["body"])
            queue = record["eventSourceARN"].split("-")[-2]  # awslab-fanout-<queue>-<stack id>
            via = "sqs"
        else:
            order, envelope = _order(record["Sns"]["Message"])
            queue, via = None, "sns"
        table.put_item(
            Item={
                "id": str(uuid.uuid4()),
                "order": str(order),
                "via": via,
                "queue": queue,
                "record": json.dumps(record),
                "envelope": json.dumps(envelope),
            }
        )
    return {"records": len(event.get("Records", []))}
