"""`call`: HTTP to a lab's API URL with every option, against a local server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awslab.errors import ExerciseError, UsageError
from awslab.exercise.http import api_record, call, is_method, parse_headers, request_url
from awslab.state import StateStore

from .conftest import Api, add_lab, api_rec, rec


def test_get_with_query_and_headers(api: Api) -> None:
    res = call(
        api.url, "get", "/items?limit=2&name=a b", headers={"X-Trace": "t1", "Accept": "application/json"}
    )
    assert res.status == 200 and res.ok
    req = api.requests[-1]
    assert req["method"] == "GET"
    assert req["path"] == "/dev/items?limit=2&name=a%20b"
    assert req["headers"]["X-Trace"] == "t1"
    assert req["headers"]["Accept"] == "application/json"
    assert res.json["path"] == req["path"]  # the parsed JSON body
    assert res.headers["X-Seen"] == "1"
    assert res.method == "GET" and res.url.endswith("/dev/items?limit=2&name=a%20b")
    assert res.elapsed_ms >= 0


def test_json_body_sets_content_type(api: Api) -> None:
    res = call(api.url, "POST", "items", json_body={"id": "1", "tags": ["a"]})
    req = api.requests[-1]
    assert req["path"] == "/dev/items"  # a path without a leading slash gets one
    assert json.loads(req["body"]) == {"id": "1", "tags": ["a"]}
    assert req["headers"]["Content-Type"] == "application/json"
    assert res.request_headers["Content-Type"] == "application/json"


def test_a_given_content_type_wins(api: Api) -> None:
    call(api.url, "PUT", "/x", json_body=[1], headers={"content-type": "application/vnd.x+json"})
    assert api.requests[-1]["headers"]["Content-Type"] == "application/vnd.x+json"


def test_raw_data_and_data_from_file(api: Api, tmp_path: Path) -> None:
    call(api.url, "PATCH", "/x", data="hello there")
    req = api.requests[-1]
    assert req["method"] == "PATCH" and req["body"] == "hello there"
    assert req["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    f = tmp_path / "body.bin"
    f.write_bytes(b"\x00\x01abc")
    call(api.url, "POST", "/x", data=f"@{f}")
    assert api.requests[-1]["headers"]["Content-Type"] == "application/octet-stream"
    assert api.requests[-1]["headers"]["Content-Length"] == "5"
    with pytest.raises(UsageError, match="cannot read the file"):
        call(api.url, "POST", "/x", data=f"@{tmp_path / 'missing'}")


def test_error_statuses_are_results(api: Api) -> None:
    res = call(api.url, "DELETE", "/status/404")
    assert res.status == 404 and not res.ok
    assert res.json == {"status": 404}
    res = call(api.url, "GET", "/status/500")
    assert res.status == 500 and res.reason


def test_text_body_is_not_json(api: Api) -> None:
    res = call(api.url, "GET", "/text")
    assert res.body == "plain words" and res.json is None


def test_head_and_options(api: Api) -> None:
    assert call(api.url, "HEAD", "/x").body == ""
    assert call(api.url, "OPTIONS", "/x").status == 200
    assert [r["method"] for r in api.requests] == ["HEAD", "OPTIONS"]


def test_bad_usage() -> None:
    with pytest.raises(UsageError, match="not both"):
        call("http://127.0.0.1:9", "POST", "/", json_body={}, data="x")
    with pytest.raises(UsageError, match="unknown HTTP method 'FETCH'"):
        call("http://127.0.0.1:9", "fetch", "/")


def test_unreachable_api_is_an_exercise_error() -> None:
    # port 9 (discard) is closed on a test machine: the connection is refused
    with pytest.raises(ExerciseError, match=r"GET http://127.0.0.1:9/dev/x failed"):
        call("http://127.0.0.1:9/dev", "GET", "/x", timeout=5)


def test_headers_option_parsing() -> None:
    assert parse_headers(["X-A: 1", "Authorization:Bearer t:k", "X-A: 2"]) == {
        "X-A": "2",
        "Authorization": "Bearer t:k",
    }
    assert parse_headers(None) == {}
    for bad in ("novalue", ": x", "Bad Name: x"):
        with pytest.raises(UsageError, match="is not a header"):
            parse_headers([bad])


def test_method_detection_and_url_join() -> None:
    assert is_method("get") and is_method("DELETE") and not is_method("crud")
    assert request_url("http://h/dev/", "/items/1") == "http://h/dev/items/1"
    assert request_url("http://h/dev", "/a%2Fb?q=1") == "http://h/dev/a%2Fb?q=1"


def test_api_record_needs_a_url(store: StateStore) -> None:
    lab = add_lab(store, "crud", rec("apigateway.rest_api", "api", id="x", url=""))
    with pytest.raises(ExerciseError, match="has no stage URL"):
        api_record(lab)
    lab = add_lab(store, "two", api_rec("a", "http://a"), api_rec("b", "http://b"))
    assert api_record(lab, "b").attrs["url"] == "http://b"
    with pytest.raises(UsageError, match="several"):
        api_record(lab)
