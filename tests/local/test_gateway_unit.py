"""The API Gateway front's pure parts: routing, the proxy event, the proxy response, MOCK answers,
error responses and the Lambda permission check. No server, no moto."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from awslab.local.apigw_proxy import (
    HttpRequest,
    MalformedProxyResponse,
    RequestIds,
    Route,
    StageInfo,
    build_proxy_event,
    error_response,
    gateway_headers,
    invoke_permitted,
    is_binary,
    map_proxy_response,
    match_route,
    mock_response,
)

# ---- routing ----------------------------------------------------------------------------------
RESOURCES = {
    "/": ["GET"],
    "/items": ["GET", "POST", "OPTIONS"],
    "/items/{id}": ["GET", "PUT", "DELETE"],
    "/items/special": ["PATCH"],
    "/items/{id}/tags/{tag}": ["ANY"],
    "/files/{proxy+}": ["GET"],
    "/{proxy+}": ["ANY"],
}


def route(path: str, method: str = "GET") -> Route | None:
    return match_route(RESOURCES, path, method)


def test_root_and_literal() -> None:
    assert route("/") == Route("/", "GET", {})
    assert route("/items", "POST") == Route("/items", "POST", {})


def test_path_parameter_is_decoded() -> None:
    assert route("/items/a%20b") == Route("/items/{id}", "GET", {"id": "a b"})
    # an encoded slash stays inside the one segment
    assert route("/items/a%2Fb", "DELETE") == Route("/items/{id}", "DELETE", {"id": "a/b"})


def test_literal_wins_over_parameter_when_it_has_the_method() -> None:
    assert route("/items/special", "PATCH") == Route("/items/special", "PATCH", {})


def test_method_mismatch_falls_back_to_less_specific_resource() -> None:
    # as measured on AWS: GET /items/special is served by /items/{id}, not refused
    assert route("/items/special", "GET") == Route("/items/{id}", "GET", {"id": "special"})
    # no resource on the path has POST except the greedy ANY
    assert route("/items/1", "POST") == Route("/{proxy+}", "ANY", {"proxy": "items/1"})


def test_any_matches_every_verb_with_all_parameters() -> None:
    assert route("/items/7/tags/red", "PATCH") == Route(
        "/items/{id}/tags/{tag}", "ANY", {"id": "7", "tag": "red"}
    )


def test_greedy_paths() -> None:
    assert route("/files/a/b/c.txt") == Route("/files/{proxy+}", "GET", {"proxy": "a/b/c.txt"})
    assert route("/files/a/b", "PUT") == Route("/{proxy+}", "ANY", {"proxy": "files/a/b"})
    assert route("/other/x/y", "DELETE") == Route("/{proxy+}", "ANY", {"proxy": "other/x/y"})


def test_greedy_needs_a_segment() -> None:
    assert match_route({"/files/{proxy+}": ["GET"]}, "/files", "GET") is None
    assert match_route({"/{proxy+}": ["ANY"]}, "/", "GET") is None


def test_explicit_verb_beats_any_on_the_same_resource() -> None:
    table = {"/a": ["ANY", "GET"]}
    assert match_route(table, "/a", "GET") == Route("/a", "GET", {})
    assert match_route(table, "/a", "POST") == Route("/a", "ANY", {})


def test_trailing_slash_is_ignored() -> None:
    assert route("/items/", "POST") == Route("/items", "POST", {})


def test_no_route() -> None:
    table = {"/": ["GET"], "/items": ["GET"], "/items/{id}": ["GET"]}
    assert match_route(table, "/nothing", "GET") is None
    assert match_route(table, "/items", "POST") is None
    assert match_route(table, "/items/1/more", "GET") is None
    assert match_route(table, "/items//", "GET") is None


# ---- the proxy event ---------------------------------------------------------------------------
STAGE = StageInfo(
    account_id="123456789012",
    api_id="abc123",
    stage="prod",
    stage_variables={"color": "blue"},
    binary_media_types=("image/*",),
)


def request(**kw: object) -> HttpRequest:
    defaults: dict[str, object] = {
        "method": "GET",
        "path": "/items/1",
        "query_string": "",
        "headers": [("Accept", "*/*")],
        "body": b"",
    }
    defaults.update(kw)
    return HttpRequest(**defaults)  # type: ignore[arg-type]


IDS = RequestIds("req-1", "eIygpHbovHcFc6g=", "Root=1-6553f100-0123456789abcdef01234567")


def event_for(req: HttpRequest, rt: Route | None = None) -> dict:
    return build_proxy_event(
        req, rt or Route("/items/{id}", "GET", {"id": "1"}), STAGE, ids=IDS, resource_id="a1b2c3",
        now=1_700_000_000.5,
    )  # fmt: skip


def test_event_shape() -> None:
    ev = event_for(
        request(path="/items/a%20b", headers=[("User-Agent", "ua/1"), ("X-Tag", "a"), ("X-Tag", "b")])
    )
    assert ev["resource"] == "/items/{id}"
    assert ev["path"] == "/items/a%20b"  # REST APIs keep the encoding in `path`
    assert ev["httpMethod"] == "GET"
    assert ev["pathParameters"] == {"id": "1"}
    assert ev["stageVariables"] == {"color": "blue"}
    assert ev["headers"]["X-Tag"] == "b" and ev["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert ev["body"] is None and ev["isBase64Encoded"] is False
    ctx = ev["requestContext"]
    assert ctx["accountId"] == "123456789012" and ctx["apiId"] == "abc123" and ctx["stage"] == "prod"
    assert ctx["requestId"] == "req-1" and ctx["resourcePath"] == "/items/{id}" and ctx["httpMethod"] == "GET"
    assert ctx["extendedRequestId"] == "eIygpHbovHcFc6g=" and ctx["resourceId"] == "a1b2c3"
    assert (
        ctx["domainName"] == "abc123.execute-api.us-east-1.amazonaws.com" and ctx["domainPrefix"] == "abc123"
    )
    assert ctx["path"] == "/prod/items/a%20b" and ctx["protocol"] == "HTTP/1.1"
    assert ctx["requestTimeEpoch"] == 1_700_000_000_500
    assert ctx["identity"]["sourceIp"] == "127.0.0.1" and ctx["identity"]["userAgent"] == "ua/1"
    json.dumps(ev)  # it is sent to the Lambda as JSON


def test_header_names_keep_their_case_and_repetitions() -> None:
    ev = event_for(request(headers=[("x-lower", "a"), ("X-Tag", "1"), ("x-tag", "2"), ("ACCEPT", "*/*")]))
    assert ev["headers"] == {"x-lower": "a", "X-Tag": "2", "ACCEPT": "*/*"}
    assert ev["multiValueHeaders"] == {"x-lower": ["a"], "X-Tag": ["1", "2"], "ACCEPT": ["*/*"]}


def test_gateway_headers_are_added_as_api_gateway_adds_them() -> None:
    added = gateway_headers([("accept", "*/*")], source_ip="10.0.0.1", port="4580", proto="http",
                            trace_id="Root=1-6553f100-0123456789abcdef01234567")  # fmt: skip
    assert added == [
        ("accept", "*/*"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("X-Forwarded-Port", "4580"),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", "Root=1-6553f100-0123456789abcdef01234567"),
    ]
    client = [
        ("x-forwarded-for", "1.2.3.4"),
        ("X-Forwarded-Proto", "https"),
        ("x-amzn-trace-id", "Root=1-a-b"),
    ]
    added = gateway_headers(client, source_ip="10.0.0.1", port="4580", proto="http", trace_id="unused")
    assert added == [
        ("x-forwarded-for", "1.2.3.4, 10.0.0.1"),  # the chain, with the caller appended
        ("x-amzn-trace-id", "Root=1-a-b"),  # a client's trace id is passed on
        ("X-Forwarded-Port", "4580"),
        ("X-Forwarded-Proto", "http"),  # the gateway's own, not the client's
    ]


def test_no_query_string_gives_nulls() -> None:
    ev = event_for(request())
    assert ev["queryStringParameters"] is None and ev["multiValueQueryStringParameters"] is None


def test_query_string_single_and_multi_value() -> None:
    ev = event_for(request(query_string="a=1&b=x%20y&a=2&empty="))
    assert ev["queryStringParameters"] == {"a": "2", "b": "x y", "empty": ""}
    assert ev["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"], "empty": [""]}


def test_no_path_parameters_gives_null() -> None:
    ev = event_for(request(path="/items"), Route("/items", "GET", {}))
    assert ev["pathParameters"] is None


def test_text_body() -> None:
    ev = event_for(
        request(
            method="POST", body='{"name": "pomme é"}'.encode(), headers=[("Content-Type", "application/json")]
        )
    )
    assert ev["body"] == '{"name": "pomme é"}' and ev["isBase64Encoded"] is False


def test_binary_body_is_base64_when_the_type_is_a_binary_media_type() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    ev = event_for(request(method="POST", body=png, headers=[("Content-Type", "image/png")]))
    assert ev["isBase64Encoded"] is True and base64.b64decode(ev["body"]) == png
    # the same bytes under a type that is not binary are passed as text
    ev = event_for(request(method="POST", body=b"abc", headers=[("Content-Type", "text/plain")]))
    assert ev["isBase64Encoded"] is False and ev["body"] == "abc"


def test_is_binary_wildcards() -> None:
    assert is_binary("image/png; charset=x", ["image/*"])
    assert is_binary("application/octet-stream", ["*/*"])
    assert not is_binary("text/html", ["image/*"])
    assert not is_binary(None, ["*/*"])


# ---- the proxy response -------------------------------------------------------------------------
def test_response_mapping() -> None:
    out = map_proxy_response(
        json.dumps(
            {
                "statusCode": 201,
                "headers": {"Access-Control-Allow-Origin": "http://localhost:1", "X-Count": 3},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": '{"id": "1"}',
            }
        )
    )
    assert out.status == 201
    assert ("Access-Control-Allow-Origin", "http://localhost:1") in out.headers
    assert ("X-Count", "3") in out.headers
    assert [v for k, v in out.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert ("Content-Type", "application/json") in out.headers  # API Gateway's default
    assert out.body == b'{"id": "1"}'


def test_response_header_in_both_maps_appears_once() -> None:
    out = map_proxy_response(
        json.dumps({"statusCode": 200, "headers": {"X-A": "1"}, "multiValueHeaders": {"X-A": ["1", "2"]}})
    )
    assert [v for k, v in out.headers if k == "X-A"] == ["1", "2"]


def test_minimal_response_and_string_status() -> None:
    out = map_proxy_response(b'{"statusCode": "204"}')
    assert out.status == 204 and out.body == b""


def test_binary_response_is_decoded_when_accept_matches() -> None:
    png = b"\x89PNG\x00\xff"
    payload = json.dumps(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "image/png"},
            "body": base64.b64encode(png).decode(),
            "isBase64Encoded": True,
        }
    )
    assert map_proxy_response(payload, binary_media_types=["image/*"], accept="image/png").body == png
    assert map_proxy_response(payload, binary_media_types=["*/*"], accept=None).body == png
    # without a matching binary media type API Gateway passes the base64 text through
    assert map_proxy_response(payload, binary_media_types=[], accept="image/png").body == base64.b64encode(
        png
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"null",
        b'"just a string"',
        b"[1, 2]",
        b'{"body": "no status"}',
        b'{"statusCode": 200, "body": {"an": "object"}}',
        b'{"statusCode": 200, "cookies": ["a=1"]}',
        b'{"statusCode": 99}',
        b'{"statusCode": true}',
        b'{"statusCode": 200, "headers": {"X": {"nested": 1}}}',
        b'{"statusCode": 200, "multiValueHeaders": {"X": "not a list"}}',
        b'{"statusCode": 200, "headers": ["X"]}',
    ],
)
def test_malformed_responses(payload: bytes) -> None:
    with pytest.raises(MalformedProxyResponse):
        map_proxy_response(payload)


def test_bad_base64_is_malformed() -> None:
    payload = json.dumps(
        {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": "%%%", "isBase64Encoded": True}
    )
    with pytest.raises(MalformedProxyResponse):
        map_proxy_response(payload, binary_media_types=["*/*"])


# ---- MOCK integrations, errors, permissions -----------------------------------------------------
def _integration(**responses: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(
        request_templates={"application/json": '{"statusCode": 200}'}, integration_responses=responses
    )


def test_mock_preflight_strips_quotes() -> None:
    integ = _integration(
        **{
            "200": SimpleNamespace(
                status_code="200",
                selection_pattern=None,
                response_templates=None,
                response_parameters={
                    "method.response.header.Access-Control-Allow-Origin": "'http://localhost:4580'",
                    "method.response.header.Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
                    "method.response.header.X-From-Integration": "integration.response.header.x",  # not a literal
                },
            )
        }
    )
    out = mock_response(integ)
    assert out is not None and out.status == 200
    assert ("Access-Control-Allow-Origin", "http://localhost:4580") in out.headers
    assert ("Access-Control-Allow-Methods", "GET,POST,OPTIONS") in out.headers
    assert all(k != "X-From-Integration" for k, _ in out.headers)


def test_mock_selects_the_status_of_the_request_template() -> None:
    def resp(code: str, pattern: str | None) -> SimpleNamespace:
        return SimpleNamespace(
            status_code=code,
            selection_pattern=pattern,
            response_templates={"application/json": code},
            response_parameters={},
        )

    integ = _integration(**{"500": resp("500", "err.*"), "200": resp("200", None)})
    integ.request_templates = {"application/json": '{"statusCode": 500}'}
    assert mock_response(integ).status == 500  # type: ignore[union-attr]
    assert mock_response(SimpleNamespace(request_templates=None, integration_responses={})) is None


def test_error_responses() -> None:
    out = error_response(403, "Missing Authentication Token", IDS)
    assert out.status == 403 and out.body == b'{"message":"Missing Authentication Token"}'
    assert ("x-amzn-ErrorType", "MissingAuthenticationTokenException") in out.headers
    assert ("x-amzn-RequestId", "req-1") in out.headers and (
        "x-amz-apigw-id",
        "eIygpHbovHcFc6g=",
    ) in out.headers
    out = error_response(502, "Internal server error", IDS, traced=True)
    assert out.body == b'{"message": "Internal server error"}'
    assert ("x-amzn-ErrorType", "InternalServerErrorException") in out.headers
    assert ("X-Amzn-Trace-Id", IDS.trace_id) in out.headers
    configured = SimpleNamespace(
        status_code=None,
        response_templates=None,
        response_parameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
    )
    out = error_response(502, "Internal server error", IDS, configured)
    assert out.status == 502 and ("Access-Control-Allow-Origin", "*") in out.headers


def test_invoke_permission() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/items/{id}"
    allow_api = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/*"}},
    }
    other_api = json.loads(json.dumps(allow_api).replace("abc123/*", "zzz999/*"))
    other_service = {**allow_api, "Principal": {"Service": "s3.amazonaws.com"}}
    assert invoke_permitted([allow_api], [arn], "123456789012")
    assert not invoke_permitted([], [arn], "123456789012")
    assert not invoke_permitted([other_api], [arn], "123456789012")
    assert not invoke_permitted([other_service], [arn], "123456789012")
    unconditional = {
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:*",
    }
    assert invoke_permitted([unconditional], [arn], "123456789012")
