"""Enumerate everything awslab could have created on an endpoint, across every service."""

from __future__ import annotations

from typing import Any

import boto3


def inventory(endpoint_url: str, region: str = "us-east-1") -> dict[str, list[str]]:
    """Names of every resource of the services awslab uses (all of them, awslab's or not)."""

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    iam, lam, logs = client("iam"), client("lambda"), client("logs")
    found: dict[str, list[str]] = {
        "roles": [
            r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")
        ],
        "local_policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"]],
        "event_source_mappings": [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]],
        "rest_apis": [a["name"] for a in client("apigateway").get_rest_apis()["items"]],
        "tables": client("dynamodb").list_tables()["TableNames"],
        "buckets": [b["Name"] for b in client("s3").list_buckets()["Buckets"]],
        "log_groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
        "queues": client("sqs").list_queues().get("QueueUrls", []),
        "topics": [t["TopicArn"] for t in client("sns").list_topics()["Topics"]],
        "subscriptions": [s["SubscriptionArn"] for s in client("sns").list_subscriptions()["Subscriptions"]],
        "state_machines": [m["name"] for m in client("stepfunctions").list_state_machines()["stateMachines"]],
    }
    return {k: v for k, v in found.items() if v}
