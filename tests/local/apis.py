"""Builders for the gateway tests: REST APIs, roles and functions made with boto3 against a running
local cloud (the way awslab's resource kinds make them)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from awslab.local.urls import api_url

ACCOUNT = "123456789012"


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def create_function(
    lam: Any, iam: Any, name: str, code: str, *, env: dict[str, str] | None = None, timeout: int = 10
) -> str:
    role = iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    fn = lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": code})},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return str(fn["FunctionArn"])


def allow_api(lam: Any, fn_arn: str, api_id: str) -> None:
    lam.add_permission(
        FunctionName=fn_arn,
        StatementId=f"apigw-{api_id}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api_id}/*",
    )


class RestApi:
    """A REST API built resource by resource; `deploy()` creates the stage."""

    def __init__(self, apigw: Any, name: str, *, binary_media_types: list[str] | None = None) -> None:
        self.apigw = apigw
        self.id = apigw.create_rest_api(name=name)["id"]
        for media in binary_media_types or []:
            apigw.update_rest_api(
                restApiId=self.id,
                patchOperations=[
                    {"op": "add", "path": "/binaryMediaTypes/" + media.replace("/", "~1"), "value": media}
                ],
            )
        root = next(r for r in apigw.get_resources(restApiId=self.id)["items"] if r["path"] == "/")
        self.resource_ids = {"/": root["id"]}

    def resource(self, path: str) -> str:
        if path not in self.resource_ids:
            parent, _, part = path.rpartition("/")
            parent_id = self.resource(parent or "/")
            self.resource_ids[path] = self.apigw.create_resource(
                restApiId=self.id, parentId=parent_id, pathPart=part
            )["id"]
        return self.resource_ids[path]

    def lambda_route(self, method: str, path: str, fn_arn: str) -> None:
        rid = self.resource(path)
        self.apigw.put_method(restApiId=self.id, resourceId=rid, httpMethod=method, authorizationType="NONE")
        self.apigw.put_integration(
            restApiId=self.id,
            resourceId=rid,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn_arn}/invocations",
        )

    def cors_preflight(self, path: str, origin: str) -> None:
        rid = self.resource(path)
        names = {
            h: f"method.response.header.Access-Control-Allow-{h}" for h in ("Origin", "Methods", "Headers")
        }
        values = {"Origin": origin, "Methods": "GET,POST,OPTIONS", "Headers": "Content-Type"}
        self.apigw.put_method(
            restApiId=self.id, resourceId=rid, httpMethod="OPTIONS", authorizationType="NONE"
        )
        self.apigw.put_method_response(
            restApiId=self.id,
            resourceId=rid,
            httpMethod="OPTIONS",
            statusCode="200",
            responseParameters={n: False for n in names.values()},
        )
        self.apigw.put_integration(
            restApiId=self.id,
            resourceId=rid,
            httpMethod="OPTIONS",
            type="MOCK",
            requestTemplates={"application/json": '{"statusCode": 200}'},
        )
        self.apigw.put_integration_response(
            restApiId=self.id,
            resourceId=rid,
            httpMethod="OPTIONS",
            statusCode="200",
            responseParameters={names[h]: f"'{values[h]}'" for h in names},
        )

    def deploy(self, stage: str = "prod") -> None:
        self.apigw.create_deployment(restApiId=self.id, stageName=stage)

    def url(self, endpoint: str, stage: str = "prod") -> str:
        return api_url(endpoint, self.id, stage)
