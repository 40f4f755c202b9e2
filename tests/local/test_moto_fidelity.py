"""moto answers as AWS does where awslab relies on it (awslab.local.moto_fidelity), in process
and through a real local cloud."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from awslab.local import moto_fidelity


def test_deleting_a_missing_rest_api_is_not_found_as_on_aws(mocked_aws: None) -> None:
    apigw = boto3.client("apigateway", region_name="us-east-1")
    api = apigw.create_rest_api(name="x")["id"]
    apigw.delete_rest_api(restApiId=api)
    with pytest.raises(ClientError) as info:
        apigw.delete_rest_api(restApiId=api)
    assert info.value.response["Error"]["Code"] == "NotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_install_is_idempotent() -> None:
    from moto.apigateway.models import APIGatewayBackend

    moto_fidelity.install()
    patched = APIGatewayBackend.delete_rest_api
    moto_fidelity.install()
    assert APIGatewayBackend.delete_rest_api is patched


def test_resource_ids_are_as_long_as_on_aws(mocked_aws: None) -> None:
    apigw = boto3.client("apigateway", region_name="us-east-1")
    api = apigw.create_rest_api(name="x")["id"]
    (root,) = apigw.get_resources(restApiId=api)["items"]
    child = apigw.create_resource(restApiId=api, parentId=root["id"], pathPart="items")
    grandchild = apigw.create_resource(restApiId=api, parentId=child["id"], pathPart="{id}")
    assert len(api) == 10 and len(root["id"]) == 10
    assert len(child["id"]) == 6 and len(grandchild["id"]) == 6
    assert all(c.isdigit() or c.islower() for c in child["id"] + grandchild["id"])
