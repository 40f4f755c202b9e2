"""The baseline for bench/up_vs_script.py: what a person would write by hand with boto3 to build
and remove the crud and messaging labs, one call after another, no waiters, no retries.

    python bench/handwritten.py {crud,messaging} {up,down} --endpoint-url URL --state FILE

It makes the same resources awslab makes (names, CORS preflights, gateway responses, the
website policy, the uploaded frontend), so the two can be timed against the same server. `up`
writes what it created to FILE (JSON) and `down` deletes exactly that. It is a yardstick, not
a tool: on a real account it would trip over IAM propagation and Pending functions, which is
precisely what awslab handles and this script does not.
"""

from __future__ import annotations

import argparse
import io
import json
import mimetypes
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
CORS = {
    "Origin": "*",
    "Methods": "GET,POST,PUT,DELETE,OPTIONS",
    "Headers": "Content-Type,Authorization,X-Amz-Date,X-Api-Key,X-Amz-Security-Token",
    "Max-Age": "600",
}
ASSUME_LAMBDA = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


class Script:
    def __init__(self, endpoint_url: str, prefix: str) -> None:
        self.session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        self.endpoint_url = endpoint_url
        self.prefix = prefix
        self.made: dict[str, Any] = {}
        self._clients: dict[str, Any] = {}

    def c(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    # ---- building blocks, as a person writes them ----------------------------------------
    def table(self, name: str) -> str:
        t = self.c("dynamodb").create_table(
            TableName=f"{self.prefix}-{name}",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.made.setdefault("tables", []).append(t["TableDescription"]["TableName"])
        return str(t["TableDescription"]["TableArn"])

    def role(self, name: str, statements: list[tuple[list[str], list[str]]]) -> str:
        iam, role_name = self.c("iam"), f"{self.prefix}-{name}"
        arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=ASSUME_LAMBDA)["Role"]["Arn"]
        doc = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in statements],
        }
        iam.put_role_policy(RoleName=role_name, PolicyName="access", PolicyDocument=json.dumps(doc))
        self.made.setdefault("roles", []).append(role_name)
        return str(arn)

    def function(self, name: str, code: bytes, handler: str, role: str, env: dict[str, str]) -> str:
        fn = self.c("lambda").create_function(
            FunctionName=f"{self.prefix}-{name}",
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=10,
            Environment={"Variables": env},
        )
        self.made.setdefault("functions", []).append(fn["FunctionName"])
        return str(fn["FunctionArn"])

    def api(self, name: str, routes: dict[str, str]) -> str:
        """REST API: Lambda proxy routes, OPTIONS preflights, CORS on gateway errors, a stage."""
        apigw = self.c("apigateway")
        api_id = apigw.create_rest_api(
            name=f"{self.prefix}-{name}", endpointConfiguration={"types": ["REGIONAL"]}
        )["id"]
        self.made["api"] = api_id
        ids = {"/": apigw.get_resources(restApiId=api_id)["items"][0]["id"]}
        for key in routes:
            path = key.split(" ")[1]
            parent = ""
            for seg in path.strip("/").split("/"):
                here = f"{parent}/{seg}"
                if here not in ids:
                    ids[here] = apigw.create_resource(
                        restApiId=api_id, parentId=ids[parent or "/"], pathPart=seg
                    )["id"]
                parent = here
        for key, fn_arn in routes.items():
            method, path = key.split(" ")
            apigw.put_method(
                restApiId=api_id, resourceId=ids[path], httpMethod=method, authorizationType="NONE"
            )
            apigw.put_integration(
                restApiId=api_id,
                resourceId=ids[path],
                httpMethod=method,
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn_arn}/invocations",
            )
        for path in sorted({k.split(" ")[1] for k in routes}):
            common = {"restApiId": api_id, "resourceId": ids[path], "httpMethod": "OPTIONS"}
            names = {
                h: "method.response.header.Access-Control-" + ("Max-Age" if h == "Max-Age" else f"Allow-{h}")
                for h in CORS
            }
            apigw.put_method(**common, authorizationType="NONE")
            apigw.put_method_response(
                **common, statusCode="200", responseParameters={n: False for n in names.values()}
            )
            apigw.put_integration(
                **common, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'}
            )
            apigw.put_integration_response(
                **common,
                statusCode="200",
                responseTemplates={"application/json": ""},
                responseParameters={names[h]: f"'{v}'" for h, v in CORS.items()},
            )
        for rtype in ("DEFAULT_4XX", "DEFAULT_5XX"):
            apigw.put_gateway_response(
                restApiId=api_id,
                responseType=rtype,
                responseParameters={
                    f"gatewayresponse.header.Access-Control-Allow-{h}": f"'{CORS[h]}'"
                    for h in ("Origin", "Methods", "Headers")
                },
            )
        for fn_arn in sorted(set(routes.values())):
            self.c("lambda").add_permission(
                FunctionName=fn_arn,
                StatementId=f"apigw-{api_id}",
                Action="lambda:InvokeFunction",
                Principal="apigateway.amazonaws.com",
                SourceArn=f"arn:aws:execute-api:{REGION}:123456789012:{api_id}/*",
            )
        apigw.create_deployment(restApiId=api_id, stageName="dev")
        return f"{self.endpoint_url}/restapis/{api_id}/dev/_user_request_"

    def website(self, name: str, source: Path, config_js: str) -> None:
        s3, bucket = self.c("s3"), f"{self.prefix}-{name}"
        s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerEnforced")
        self.made["bucket"] = bucket
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False,
            },
        )
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
        for f in sorted(source.iterdir()):
            ctype = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
            s3.put_object(Bucket=bucket, Key=f.name, Body=f.read_bytes(), ContentType=ctype)
        s3.put_object(Bucket=bucket, Key="config.js", Body=config_js.encode(), ContentType="text/javascript")

    # ---- the labs -------------------------------------------------------------------------
    def crud_up(self) -> None:
        table = self.table("items")
        role = self.role(
            "role",
            [
                (
                    [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:Scan",
                    ],
                    [table],
                )
            ],
        )
        fn = self.function(
            "items-fn",
            zipped(REPO / "handlers" / "crud", ["app.py"]),
            "app.handler",
            role,
            {"TABLE_NAME": f"{self.prefix}-items", "ALLOW_ORIGIN": "*"},
        )
        routes = {
            k: fn
            for k in ("GET /items", "POST /items", "GET /items/{id}", "PUT /items/{id}", "DELETE /items/{id}")
        }
        url = self.api("api", routes)
        self.website("site", REPO / "handlers" / "crud" / "site", f"window.API_URL = {json.dumps(url)};\n")

    def messaging_up(self) -> None:
        sqs, sns, lam = self.c("sqs"), self.c("sns"), self.c("lambda")
        orders = self.table("orders")
        notifications = self.table("notifications")
        dlq = sqs.create_queue(QueueName=f"{self.prefix}-dead-letters")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue = sqs.create_queue(
            QueueName=f"{self.prefix}-queue",
            Attributes={
                "VisibilityTimeout": "5",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.made["queues"] = [queue, dlq]
        topic = sns.create_topic(Name=f"{self.prefix}-topic")["TopicArn"]
        self.made["topic"] = topic
        consumer_role = self.role(
            "consumer-role",
            [
                (
                    [
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ChangeMessageVisibility",
                    ],
                    [queue_arn],
                ),
                (["dynamodb:PutItem"], [orders]),
            ],
        )
        notifier_role = self.role("notifier-role", [(["dynamodb:PutItem"], [notifications])])
        api_role = self.role(
            "api-role",
            [
                (["sqs:SendMessage"], [queue_arn]),
                (["sns:Publish"], [topic]),
                (["dynamodb:Scan", "dynamodb:GetItem"], [orders]),
            ],
        )
        code = zipped(REPO / "handlers" / "messaging", ["api.py", "consumer.py", "notifier.py"])
        consumer = self.function(
            "consumer", code, "consumer.handler", consumer_role, {"TABLE_NAME": f"{self.prefix}-orders"}
        )
        notifier = self.function(
            "notifier",
            code,
            "notifier.handler",
            notifier_role,
            {"NOTIFICATIONS_TABLE": f"{self.prefix}-notifications"},
        )
        api_fn = self.function(
            "orders-api-fn",
            code,
            "api.handler",
            api_role,
            {
                "QUEUE_URL": queue,
                "TOPIC_ARN": topic,
                "TABLE_NAME": f"{self.prefix}-orders",
                "ALLOW_ORIGIN": "*",
            },
        )
        # the topic may send to the queue, and invoke the notifier
        queue_policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(queue_policy)})
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        lam.add_permission(
            FunctionName=notifier,
            StatementId="sns",
            Action="lambda:InvokeFunction",
            Principal="sns.amazonaws.com",
            SourceArn=topic,
        )
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=notifier)
        mapping = lam.create_event_source_mapping(
            FunctionName=consumer,
            EventSourceArn=queue_arn,
            BatchSize=10,
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        self.made["mapping"] = mapping["UUID"]
        self.api("api", {k: api_fn for k in ("POST /orders", "GET /orders", "GET /orders/{id}")})

    def down(self) -> None:
        m = self.made
        if "mapping" in m:
            self.c("lambda").delete_event_source_mapping(UUID=m["mapping"])
        if "api" in m:
            self.c("apigateway").delete_rest_api(restApiId=m["api"])
        if "topic" in m:
            self.c("sns").delete_topic(TopicArn=m["topic"])
        for fn in m.get("functions", []):
            self.c("lambda").delete_function(FunctionName=fn)
        for q in m.get("queues", []):
            self.c("sqs").delete_queue(QueueUrl=q)
        for t in m.get("tables", []):
            self.c("dynamodb").delete_table(TableName=t)
        if "bucket" in m:
            s3 = self.c("s3")
            keys = [{"Key": o["Key"]} for o in s3.list_objects_v2(Bucket=m["bucket"]).get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=m["bucket"], Delete={"Objects": keys})
            s3.delete_bucket(Bucket=m["bucket"])
        for r in m.get("roles", []):
            self.c("iam").delete_role_policy(RoleName=r, PolicyName="access")
            self.c("iam").delete_role(RoleName=r)


def zipped(root: Path, names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n in names:
            z.write(root / n, n)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("lab", choices=["crud", "messaging"])
    p.add_argument("action", choices=["up", "down"])
    p.add_argument("--endpoint-url", required=True)
    p.add_argument("--state", type=Path, required=True)
    p.add_argument("--prefix", default="byhand")
    a = p.parse_args(argv)
    script = Script(a.endpoint_url, f"{a.prefix}-{a.lab}")
    if a.action == "up":
        getattr(script, f"{a.lab}_up")()
        a.state.write_text(json.dumps(script.made))
    else:
        script.made = json.loads(a.state.read_text())
        script.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
