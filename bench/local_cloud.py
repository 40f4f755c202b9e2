"""Benchmark of the local cloud (prints figures; not a test).

    .venv/bin/python bench/local_cloud.py [--requests 300] [--threads 8]

Starts a local cloud on a free port with its state in a temporary directory, measures start
time and memory, deploys role + table + Lambda (reads DynamoDB) + REST API with boto3, then
measures cold and warm invokes, API request latency through the warm Lambda (target: p50 < 20 ms)
and concurrent throughput. The local cloud is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
from startup import free_port  # bench/ is the script's directory: on sys.path

from awslab.local.daemon import LocalCloud
from awslab.local.urls import api_url

HANDLER = """
import json, os
import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])

def handler(event, context):
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    return {"statusCode": 200 if item else 404, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(item or {"message": "not found"})}
"""
TARGET_P50_MS = 20.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def zipped(code: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", code)
    return buf.getvalue()


def deploy(client: Any, name: str) -> tuple[str, str]:
    """Role, table with one item, function, REST API GET /items/{id}: (function ARN, stage URL)."""
    iam, ddb, lam, apigw = client("iam"), client("dynamodb"), client("lambda"), client("apigateway")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=name, Item={"id": {"S": "1"}, "name": {"S": "apple"}})
    fn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zipped(HANDLER)},
        Timeout=10,
        Environment={"Variables": {"TABLE": name}},
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    api = apigw.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api)["items"] if r["path"] == "/")
    items = apigw.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api, parentId=items, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api, resourceId=item, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api,
        resourceId=item,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn}/invocations",
    )
    lam.add_permission(
        FunctionName=name,
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api}/*",
    )
    apigw.create_deployment(restApiId=api, stageName="prod")
    return fn, api_url(client.endpoint, api, "prod")  # type: ignore[attr-defined]


def timed_get(conn: http.client.HTTPConnection, path: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    return (time.perf_counter() - start) * 1000, resp.status, body


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="awslab-bench-") as tmp:
        with mock.patch.dict(os.environ, {"AWSLAB_STATE_DIR": tmp}):
            cloud = LocalCloud(free_port())
        t0 = time.perf_counter()
        status = cloud.start(timeout=60)
        start_s = time.perf_counter() - t0
        try:
            return run(cloud, status, start_s, args)
        finally:
            cloud.stop()


def run(cloud: LocalCloud, status: Any, start_s: float, args: argparse.Namespace) -> int:
    print(
        f"local cloud started in {start_s * 1000:.0f} ms (pid {status.pid}, moto {status.moto_version}, "
        f"Lambda executor: {status.lambda_executor})"
    )
    idle = cloud.status()
    print(f"idle RSS: {idle.rss_mb} MB")  # type: ignore[union-attr]

    session = boto3.Session(
        aws_access_key_id="awslab", aws_secret_access_key="awslab-local", region_name="us-east-1"
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=cloud.endpoint)

    client.endpoint = cloud.endpoint  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    fn_arn, url = deploy(client, "bench")
    print(f"deploy (role, table, function, API, 14 calls): {(time.perf_counter() - t0) * 1000:.0f} ms")

    lam = client("lambda")
    event = json.dumps({"pathParameters": {"id": "1"}}).encode()
    t0 = time.perf_counter()
    lam.invoke(FunctionName=fn_arn, Payload=event)["Payload"].read()
    print(f"cold invoke (Invoke API; new worker, imports boto3): {(time.perf_counter() - t0) * 1000:.0f} ms")
    warm = []
    for _ in range(50):
        t0 = time.perf_counter()
        lam.invoke(FunctionName=fn_arn, Payload=event)["Payload"].read()
        warm.append((time.perf_counter() - t0) * 1000)
    print(
        f"warm invoke (Invoke API, DynamoDB read): p50 {statistics.median(warm):.1f} ms, "
        f"p95 {percentile(warm, 95):.1f} ms"
    )

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path + "/items/1"
    first, code, body = timed_get(conn, path)
    assert code == 200 and json.loads(body)["name"] == "apple", (code, body)
    latencies = []
    for _ in range(args.requests):
        ms, code, _ = timed_get(conn, path)
        assert code == 200
        latencies.append(ms)
    conn.close()
    p50, p95 = statistics.median(latencies), percentile(latencies, 95)
    print(
        f"API request through the warm Lambda ({args.requests} sequential, keep-alive): "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms (first {first:.1f} ms)"
    )

    errors: list[str] = []
    done = [0]
    lock = threading.Lock()

    def worker() -> None:
        c = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        for _ in range(args.requests // args.threads):
            _, status_code, _ = timed_get(c, path)
            with lock:
                done[0] += 1
                if status_code != 200:
                    errors.append(str(status_code))
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    print(
        f"{args.threads} threads: {done[0]} requests in {elapsed:.2f} s = {done[0] / elapsed:.0f} req/s, "
        f"{len(errors)} errors"
    )
    loaded = cloud.status()
    print(f"RSS after load (server + {loaded.lambda_workers} Lambda workers): {loaded.rss_mb} MB")  # type: ignore[union-attr]
    verdict = "met" if p50 < TARGET_P50_MS else "NOT met"
    print(f"target warm API p50 < {TARGET_P50_MS:.0f} ms: {verdict}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
