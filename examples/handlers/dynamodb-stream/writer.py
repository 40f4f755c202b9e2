"""Writes an order ({"id", "item"}) to the orders table: an INSERT, or a MODIFY of an existing id."""

import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    TABLE.put_item(Item={"id": event["id"], "item": event.get("item", "tea")})
    return {"written": event["id"]}
