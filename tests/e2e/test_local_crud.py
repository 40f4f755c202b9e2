"""The crud lab on the local cloud, as a learner on a fresh machine would use it: no AWS
variables, a new HOME, the real CLI as a subprocess; HTTP through the API really runs the
Lambda, which really writes to DynamoDB; the website is served on another origin."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import Cli
from tests.e2e.inventory import inventory

pytestmark = pytest.mark.e2e


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def table_items(endpoint: str, table: str) -> list[dict[str, Any]]:
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    return ddb.scan(TableName=table)["Items"]


def deploy(cli: Cli) -> tuple[dict[str, Any], str]:
    up = cli("up", "crud", "--yes", "--output", "json")
    status = cli("local", "status", "--output", "json").json()
    return up.json()["outputs"], status["endpoint"]


def test_crud_on_the_local_cloud(local_cli: Cli) -> None:
    cli = local_cli
    first = cli("up", "crud", "--yes")
    assert "Started the local cloud" in first.stderr
    again = cli("up", "crud", "--yes", "--output", "json")
    assert "Started the local cloud" not in again.stderr  # reused
    assert again.json()["counts"]["create"] == 0
    outputs = again.json()["outputs"]

    status = cli("local", "status", "--output", "json").json()
    assert {"endpoint", "pid", "port", "uptime"} <= set(status)
    endpoint = status["endpoint"]
    api, site, table = outputs["api_url"], outputs["website_url"], outputs["table"]
    assert api.startswith(endpoint)

    # the website, on another origin than the API
    code, headers, page = http("GET", site)
    assert code == 200 and headers["Content-Type"].startswith("text/html") and b"<html" in page.lower()
    code, _, config = http("GET", site + "config.js")
    assert code == 200 and api.encode() in config
    site_origin = site.split("/_aws/")[0]
    assert site_origin != endpoint

    # create, read, update, delete through API Gateway -> Lambda -> DynamoDB
    code, headers, body = http(
        "POST", api + "/items", {"id": "a1", "name": "apple", "price": 3}, {"Origin": site_origin}
    )
    assert code == 201, body
    assert headers["Access-Control-Allow-Origin"] == site_origin
    assert [i["name"]["S"] for i in table_items(endpoint, table)] == ["apple"]
    code, _, body = http("GET", api + "/items/a1")
    assert code == 200 and json.loads(body)["price"] == 3
    code, _, body = http("PUT", api + "/items/a1", {"name": "green apple", "price": 4})
    assert code == 200 and json.loads(body)["name"] == "green apple"
    assert table_items(endpoint, table)[0]["name"]["S"] == "green apple"
    code, _, body = http("GET", api + "/items")
    assert code == 200 and [i["id"] for i in json.loads(body)["items"]] == ["a1"]
    code, _, _ = http("DELETE", api + "/items/a1")
    assert code == 204
    assert table_items(endpoint, table) == []
    code, _, body = http("GET", api + "/items/a1")
    assert code == 404

    # the CORS preflight from the website's origin is answered by API Gateway itself
    code, headers, _ = http(
        "OPTIONS",
        api + "/items/a1",
        headers={
            "Origin": site_origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert code == 200
    assert headers["Access-Control-Allow-Origin"] == site_origin
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert "content-type" in headers["Access-Control-Allow-Headers"].lower()
    # an unknown route is AWS's 403
    code, _, body = http("GET", api + "/nope")
    assert code == 403 and json.loads(body) == {"message": "Missing Authentication Token"}

    # the spec's own checks pass
    check = cli("check", "crud", "--output", "json", check=False)
    if check.code != 2:  # the check command exists
        assert check.code == 0, check.stdout + check.stderr

    down = cli("teardown", "--yes", "--output", "json").json()
    assert down["ok"]
    assert inventory(endpoint) == {}


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_the_frontend_in_a_real_browser(local_cli: Cli) -> None:
    """Chromium loads the S3 website and drives the API on another origin: real CORS."""
    from playwright.sync_api import sync_playwright

    outputs, endpoint = deploy(local_cli)
    table = outputs["table"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(outputs["website_url"])
            page.wait_for_selector("body[data-state=ready]", timeout=20000)
            assert page.locator("#items-empty").is_visible()

            page.fill("#create-id", "b1")
            page.fill("#create-name", "banana")
            page.click("#create-submit")
            page.wait_for_selector("tr[data-id=b1]", timeout=20000)
            assert [i["name"]["S"] for i in table_items(endpoint, table)] == ["banana"]

            page.click("tr[data-id=b1] [data-action=edit]")
            page.fill("#edit-name", "ripe banana")
            page.click("#edit-save")
            page.wait_for_selector("tr[data-id=b1] .item-name:has-text('ripe banana')", timeout=20000)
            assert table_items(endpoint, table)[0]["name"]["S"] == "ripe banana"

            page.click("tr[data-id=b1] [data-action=delete]")
            page.wait_for_selector("tr[data-id=b1]", state="detached", timeout=20000)
            assert table_items(endpoint, table) == []
            assert not [e for e in errors if "CORS" in e or "Failed to fetch" in e], errors
        finally:
            browser.close()
    local_cli("teardown", "crud", "--yes")
