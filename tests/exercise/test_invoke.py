"""invoke: payload, FunctionError and the decoded log tail (moto's in-process mock runs no Lambda
code, so Lambda's answers are stubbed with botocore's Stubber)."""

from __future__ import annotations

import base64
import io
import json

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from awslab.errors import UsageError
from awslab.exercise.invoke import decode_log, decode_payload, invoke
from awslab.state import StateStore
from awslab.target import Target

from .conftest import add_lab, fn_rec


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_invoke_returns_payload_and_log(target: Target, store: StateStore) -> None:
    fn = fn_rec("items-fn", "crud")
    lab = add_lab(store, "crud", fn)
    log = "START RequestId: 1\nhello from the handler\nEND RequestId: 1\n"
    client = target.client("lambda")
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "Payload": _body(b'{"statusCode": 200, "body": "[]"}'),
                "LogResult": base64.b64encode(log.encode()).decode(),
                "ExecutedVersion": "$LATEST",
            },
            {
                "FunctionName": fn.physical,
                "InvocationType": "RequestResponse",
                "LogType": "Tail",
                "Payload": json.dumps({"httpMethod": "GET"}).encode(),
            },
        )
        res = invoke(target, lab, "items-fn", {"httpMethod": "GET"})
    assert res.ok and res.status_code == 200 and res.function == "items-fn" and res.physical == fn.physical
    assert res.payload == {"statusCode": 200, "body": "[]"}
    assert "hello from the handler" in res.log_tail
    assert res.executed_version == "$LATEST"
    assert json.loads(json.dumps(res.to_dict()))["payload"]["statusCode"] == 200


def test_function_error_and_empty_event(target: Target, store: StateStore) -> None:
    fn = fn_rec("f")
    lab = add_lab(store, "lab", fn)
    error = {"errorMessage": "'TABLE_NAME'", "errorType": "KeyError", "stackTrace": []}
    with Stubber(target.client("lambda")) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": _body(json.dumps(error).encode())},
            {
                "FunctionName": fn.physical,
                "InvocationType": "RequestResponse",
                "LogType": "Tail",
                "Payload": b"{}",
            },
        )
        res = invoke(target, lab, "f")
    assert not res.ok and res.function_error == "Unhandled"
    assert res.payload["errorType"] == "KeyError" and res.log_tail == ""


def test_unknown_function(target: Target, store: StateStore) -> None:
    with pytest.raises(UsageError, match="no Lambda function 'nope'"):
        invoke(target, add_lab(store, "lab", fn_rec("f")), "nope")


def test_decoding() -> None:
    assert decode_payload(b"") is None
    assert decode_payload(b"not json") == "not json"
    assert decode_payload(b'"text"') == "text"
    # a tail cut inside a UTF-8 character still decodes
    cut = "é".encode()[:1]
    assert decode_log(base64.b64encode(b"ok " + cut).decode()).startswith("ok ")
    assert decode_log(None) == "" and decode_log("%%%") == ""
