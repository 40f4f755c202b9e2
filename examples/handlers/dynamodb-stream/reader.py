"""What the stream did, for the checks: `{"audit": ID}` the audit row of an order, `{"failure":
true}` the next on-failure record (its condition, invoke count and batch info). Each waits up to
20 s: the stream delivers after the write has returned."""

import json
import os
import time

import boto3

AUDIT = boto3.resource("dynamodb").Table(os.environ["AUDIT_TABLE"])
SQS = boto3.client("sqs")
WAIT_S = 20


def _audit_row(order_id):
    deadline = time.monotonic() + WAIT_S
    while True:
        item = AUDIT.get_item(Key={"id": order_id}).get("Item")
        if item is not None or time.monotonic() > deadline:
            return item or {"found": False}
        time.sleep(0.3)


def _failure():
    got = SQS.receive_message(QueueUrl=os.environ["FAILED_QUEUE_URL"], WaitTimeSeconds=WAIT_S)
    for message in got.get("Messages", []):
        SQS.delete_message(QueueUrl=os.environ["FAILED_QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"])
        record = json.loads(message["Body"])
        return {**record["requestContext"], **record["DDBStreamBatchInfo"]}
    return {"found": False}


def handler(event, context):
    if event.get("failure"):
        return _failure()
    return _audit_row(event["audit"])
