"""Stores each EventBridge event it gets: its detail's id, source and detail-type, the event itself."""

import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    TABLE.put_item(
        Item={
            "id": event["detail"]["id"],
            "source": event["source"],
            "detail_type": event["detail-type"],
            "event": json.dumps(event),
        }
    )
