"""The stream's consumer: one audit row per record it gets. An order whose item is "poison" makes
it fail, so that Lambda retries the batch, halves it (bisect) and reports the record it gives up
on to the on-failure queue."""

import os

import boto3

AUDIT = boto3.resource("dynamodb").Table(os.environ["AUDIT_TABLE"])


def handler(event, context):
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage", {})
        item = image.get("item", {}).get("S")
        if item == "poison":
            raise ValueError(f"cannot audit order {image['id']['S']}")
        AUDIT.put_item(
            Item={
                "id": record["dynamodb"]["Keys"]["id"]["S"],
                "event": record["eventName"],
                "item": item,
                "sequence": record["dynamodb"]["SequenceNumber"],
            }
        )
    return {"audited": len(event["Records"])}
