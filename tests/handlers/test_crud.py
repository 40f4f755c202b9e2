"""The CRUD lab's handler (handlers/crud/app.py) on moto's in-process DynamoDB."""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.handlers.events import LambdaContext, body_json, load_handler, proxy_event

TABLE = "awslab-crud-items-test"
METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")


@pytest.fixture
def app(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.delenv("ALLOW_ORIGIN", raising=False)
    monkeypatch.delenv("SCAN_PAGE_SIZE", raising=False)
    return load_handler("crud")


def call(app: ModuleType, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    if "path_params" not in kwargs and path.startswith("/items/"):
        kwargs["path_params"] = {"id": path.split("/", 2)[2]}
    response = app.handler(proxy_event(method, path, **kwargs), LambdaContext())
    assert_cors(response)
    return response


def assert_cors(response: dict[str, Any], origin: str = "*") -> None:
    headers = response["headers"]
    assert headers["Access-Control-Allow-Origin"] == origin
    assert "Content-Type" in headers["Access-Control-Allow-Headers"]
    assert set(headers["Access-Control-Allow-Methods"].split(",")) >= set(METHODS)


def message(response: dict[str, Any]) -> str:
    body = body_json(response)
    assert set(body) == {"message"}, body
    return str(body["message"])


def stored(item_id: str) -> dict[str, Any] | None:
    return boto3.resource("dynamodb").Table(TABLE).get_item(Key={"id": item_id}).get("Item")


# --- create and read ---------------------------------------------------------------------------


def test_create_then_get_round_trips_scalars_and_numbers(app: ModuleType) -> None:
    item = {
        "id": "1",
        "name": "apple",
        "price": 1.25,
        "qty": 3,
        "big": 12345678901234567890,
        "ripe": True,
        "note": None,
        "colour": "red",
    }
    created = call(app, "POST", "/items", body=item)
    assert created["statusCode"] == 201
    assert created["headers"]["Content-Type"].startswith("application/json")
    assert body_json(created) == item

    fetched = call(app, "GET", "/items/1")
    assert fetched["statusCode"] == 200
    body = body_json(fetched)
    assert body == item
    # DynamoDB hands back Decimal: whole numbers come out as JSON integers, fractions as floats.
    assert isinstance(body["qty"], int) and isinstance(body["big"], int) and isinstance(body["price"], float)
    assert stored("1") == {**item, "price": Decimal("1.25"), "qty": 3, "big": Decimal(12345678901234567890)}


def test_create_without_id_generates_a_uuid4(app: ModuleType) -> None:
    created = call(app, "POST", "/items", body={"name": "  pear  "})
    assert created["statusCode"] == 201
    body = body_json(created)
    assert uuid.UUID(body["id"]).version == 4
    assert body["name"] == "pear"
    assert stored(body["id"]) == {"id": body["id"], "name": "pear"}


def test_create_with_existing_id_is_409_and_keeps_the_original(app: ModuleType) -> None:
    assert call(app, "POST", "/items", body={"id": "1", "name": "apple"})["statusCode"] == 201
    again = call(app, "POST", "/items", body={"id": "1", "name": "impostor"})
    assert again["statusCode"] == 409
    assert "'1' already exists" in message(again)
    assert stored("1") == {"id": "1", "name": "apple"}


def test_base64_encoded_json_body_is_accepted(app: ModuleType) -> None:
    raw = b'{"id": "b64", "name": "caf\xc3\xa9"}'
    created = call(app, "POST", "/items", body=raw, is_base64=True)
    assert created["statusCode"] == 201
    assert body_json(created)["name"] == "café"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (None, "body is empty"),
        ("", "body is empty"),
        ('{"name": "x",', "not valid JSON"),
        ('{"name": NaN}', "NaN"),
        ('["apple"]', "must be a JSON object, not an array"),
        ('"apple"', "must be a JSON object, not a string"),
        ({"id": "1"}, "name is required"),
        ({"name": ""}, "name must not be empty"),
        ({"name": "   "}, "name must not be empty"),
        ({"name": 5}, "name must be a string, not a number"),
        ({"name": None}, "name must be a string, not null"),
        ({"id": 7, "name": "x"}, "id must be a string, not a number"),
        ({"id": "", "name": "x"}, "id must not be empty"),
        ({"id": "a/b", "name": "x"}, "must not contain '/'"),
        ({"id": "x" * 1025, "name": "x"}, "longer than 1024"),
        ({"name": "x", "tags": ["a"]}, "'tags' must be a string, number, boolean or null, not an array"),
        ({"name": "x", "dims": {"w": 1}}, "'dims' must be a string, number, boolean or null, not an object"),
        ({"name": "x", "": 1}, "field names must not be empty"),
        ('{"name": "x", "huge": 1e400}', "'huge'"),
        ({"name": "x", "precise": 1234567890123456789012345678901234567890}, "'precise'"),
    ],
)
def test_create_rejects_bad_bodies_with_400(app: ModuleType, body: Any, fragment: str) -> None:
    response = call(app, "POST", "/items", body=body)
    assert response["statusCode"] == 400
    assert fragment in message(response)
    assert boto3.resource("dynamodb").Table(TABLE).scan()["Items"] == []


def test_create_rejects_invalid_base64(app: ModuleType) -> None:
    response = call(app, "POST", "/items", body="not base64!", is_base64=True)
    assert response["statusCode"] == 400
    assert "base64" in message(response)


def test_get_missing_item_is_404(app: ModuleType) -> None:
    response = call(app, "GET", "/items/nope")
    assert response["statusCode"] == 404
    assert message(response) == "item 'nope' not found"


# --- update and delete -------------------------------------------------------------------------


def test_put_replaces_the_fields(app: ModuleType) -> None:
    call(app, "POST", "/items", body={"id": "1", "name": "apple", "colour": "red"})
    updated = call(app, "PUT", "/items/1", body={"name": "green apple", "weight": 0.5})
    assert updated["statusCode"] == 200
    assert body_json(updated) == {"id": "1", "name": "green apple", "weight": 0.5}
    assert body_json(call(app, "GET", "/items/1")) == {"id": "1", "name": "green apple", "weight": 0.5}
    # The same id in the body is fine.
    assert call(app, "PUT", "/items/1", body={"id": "1", "name": "apple"})["statusCode"] == 200
    assert stored("1") == {"id": "1", "name": "apple"}


def test_put_missing_item_is_404_and_creates_nothing(app: ModuleType) -> None:
    response = call(app, "PUT", "/items/ghost", body={"name": "ghost"})
    assert response["statusCode"] == 404
    assert "'ghost' not found" in message(response)
    assert stored("ghost") is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{oops", "not valid JSON"),
        (None, "body is empty"),
        ({"colour": "red"}, "name is required"),
        ({"id": "2", "name": "x"}, "does not match the path's id '1'"),
        ({"name": "x", "list": [1]}, "'list'"),
    ],
)
def test_put_rejects_bad_bodies_with_400(app: ModuleType, body: Any, fragment: str) -> None:
    call(app, "POST", "/items", body={"id": "1", "name": "apple"})
    response = call(app, "PUT", "/items/1", body=body)
    assert response["statusCode"] == 400
    assert fragment in message(response)
    assert stored("1") == {"id": "1", "name": "apple"}


def test_delete_then_gone(app: ModuleType) -> None:
    call(app, "POST", "/items", body={"id": "1", "name": "apple"})
    deleted = call(app, "DELETE", "/items/1")
    assert deleted["statusCode"] == 204
    assert deleted["body"] == ""
    assert "Content-Type" not in deleted["headers"]
    assert stored("1") is None
    assert call(app, "GET", "/items/1")["statusCode"] == 404
    again = call(app, "DELETE", "/items/1")
    assert again["statusCode"] == 404
    assert "'1' not found" in message(again)


def test_url_encoded_characters_in_ids_round_trip(app: ModuleType) -> None:
    call(app, "POST", "/items", body={"id": "a b", "name": "spaced"})
    response = call(app, "GET", "/items/a%20b", path_params={"id": "a b"})
    assert body_json(response)["name"] == "spaced"


# --- list --------------------------------------------------------------------------------------


def seed(app: ModuleType, names: dict[str, str]) -> None:
    for item_id, name in names.items():
        assert call(app, "POST", "/items", body={"id": item_id, "name": name})["statusCode"] == 201


def test_list_sorts_by_id_naturally_by_default(app: ModuleType) -> None:
    seed(app, {"10": "kiwi", "2": "Banana", "b": "apple", "1": "cherry", "a": "date"})
    response = call(app, "GET", "/items")
    assert response["statusCode"] == 200
    body = body_json(response)
    assert [it["id"] for it in body["items"]] == ["1", "2", "10", "a", "b"]
    assert body["count"] == 5


def test_list_sorts_by_name_and_descending(app: ModuleType) -> None:
    seed(app, {"1": "cherry", "2": "Banana", "3": "apple"})
    by_name = body_json(call(app, "GET", "/items", query={"sort": "name"}))
    assert [it["name"] for it in by_name["items"]] == ["apple", "Banana", "cherry"]
    desc = body_json(call(app, "GET", "/items", query={"sort": "id", "order": "desc"}))
    assert [it["id"] for it in desc["items"]] == ["3", "2", "1"]


@pytest.mark.parametrize(
    ("query", "fragment"), [({"sort": "price"}, "sort must be"), ({"order": "up"}, "order must")]
)
def test_list_rejects_bad_sort_options(app: ModuleType, query: dict[str, str], fragment: str) -> None:
    response = call(app, "GET", "/items", query=query)
    assert response["statusCode"] == 400
    assert fragment in message(response)


def test_list_empty_table(app: ModuleType) -> None:
    assert body_json(call(app, "GET", "/items")) == {"items": [], "count": 0}


def test_list_follows_last_evaluated_key_across_scan_pages(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(app, {str(i): f"item {i}" for i in range(7)})
    monkeypatch.setenv("SCAN_PAGE_SIZE", "2")
    scans: list[dict[str, Any]] = []
    app._dynamodb.meta.client.meta.events.register(
        "provide-client-params.dynamodb.Scan", lambda params, **_: scans.append(dict(params))
    )
    body = body_json(call(app, "GET", "/items"))
    assert [it["id"] for it in body["items"]] == [str(i) for i in range(7)]
    assert len(scans) >= 4  # 7 items at 2 per page
    assert all(s["Limit"] == 2 for s in scans)
    assert "ExclusiveStartKey" not in scans[0] and all("ExclusiveStartKey" in s for s in scans[1:])


def test_items_written_outside_the_api_are_serialised(app: ModuleType) -> None:
    boto3.resource("dynamodb").Table(TABLE).put_item(
        Item={
            "id": "x",
            "name": "odd",
            "tags": {"b", "a"},
            "sizes": {Decimal(2), Decimal("1.5")},
            "nested": {"n": Decimal(1)},
            "blob": b"\x00\x01",
        }
    )
    body = body_json(call(app, "GET", "/items/x"))
    assert body == {
        "id": "x",
        "name": "odd",
        "tags": ["a", "b"],
        "sizes": [1.5, 2],
        "nested": {"n": 1},
        "blob": "AAE=",
    }
    assert body_json(call(app, "GET", "/items"))["items"][0]["sizes"] == [1.5, 2]


# --- routing -----------------------------------------------------------------------------------


def test_unknown_route_is_404(app: ModuleType) -> None:
    response = call(app, "GET", "/widgets")
    assert response["statusCode"] == 404
    assert "no route for GET /widgets" in message(response)


@pytest.mark.parametrize(
    ("method", "path", "allow"), [("PATCH", "/items/1", "GET,PUT,DELETE"), ("DELETE", "/items", "GET,POST")]
)
def test_wrong_method_is_405_with_allow(app: ModuleType, method: str, path: str, allow: str) -> None:
    response = call(app, method, path)
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == allow
    assert f"{method} is not allowed" in message(response)


@pytest.mark.parametrize("path", ["/items", "/items/1"])
def test_options_preflight_is_answered(app: ModuleType, path: str) -> None:
    response = call(app, "OPTIONS", path)
    assert response["statusCode"] == 204
    assert response["body"] == ""


def test_catch_all_proxy_resource_routes_on_the_path(app: ModuleType) -> None:
    created = call(
        app,
        "POST",
        "/items",
        resource="/{proxy+}",
        path_params={"proxy": "items"},
        body={"id": "p", "name": "proxied"},
    )
    assert created["statusCode"] == 201
    fetched = call(app, "GET", "/items/p", resource="/{proxy+}", path_params={"proxy": "items/p"})
    assert body_json(fetched)["name"] == "proxied"


# --- configuration and failures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow_origin", "request_origin", "expected", "vary"),
    [
        ("*", "http://site.example", "*", False),
        ("http://site.example", "http://other.example", "http://site.example", False),
        ("http://site.example/", None, "http://site.example", False),
        ("http://a.example, http://b.example", "http://b.example", "http://b.example", True),
        ("http://a.example,http://b.example", "http://evil.example", "http://a.example", True),
        ("http://a.example,http://b.example", None, "http://a.example", True),
    ],
)
def test_cors_origin(
    app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    allow_origin: str,
    request_origin: str | None,
    expected: str,
    vary: bool,
) -> None:
    monkeypatch.setenv("ALLOW_ORIGIN", allow_origin)
    headers = {"origin": request_origin} if request_origin else {}  # API Gateway keeps the client's case
    for method, path, status in [("GET", "/items", 200), ("GET", "/items/x", 404), ("PATCH", "/items", 405)]:
        params = {"id": "x"} if path == "/items/x" else None
        response = app.handler(
            proxy_event(method, path, headers=headers, path_params=params), LambdaContext()
        )
        assert response["statusCode"] == status
        assert_cors(response, expected)
        assert (response["headers"].get("Vary") == "Origin") is vary


def test_missing_table_name_is_a_clear_500(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_NAME")
    response = call(app, "GET", "/items")
    assert response["statusCode"] == 500
    assert "TABLE_NAME is not set" in message(response)


def test_aws_failure_is_a_500_with_cors(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")
    response = call(app, "POST", "/items", body={"name": "x"})
    assert response["statusCode"] == 500
    assert message(response) == "DynamoDB error: ResourceNotFoundException"


def test_item_over_dynamodb_size_limit_is_400(app: ModuleType) -> None:
    response = call(app, "POST", "/items", body={"id": "big", "name": "big", "blob": "x" * 410_000})
    assert response["statusCode"] == 400
    assert "DynamoDB rejected the item" in message(response)


def test_base64_body_helper_round_trip() -> None:
    # The builder itself: bytes with is_base64 become base64 text flagged as such.
    event = proxy_event("POST", "/items", body=b"\xff\x00", is_base64=True)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"
    assert proxy_event("GET", "/items/7", path_params={"id": "7"})["resource"] == "/items/{id}"
