"""`awslab postman LAB`: the Postman collection generated for a deployed lab, checked three ways:
its shape (the v2.1 format, the checks' order, path variables, CORS, skipped and retried tests)
without any cloud; newman (Postman's CLI runner) judging a tiny HTTP server by the checks'
expectations; and newman running the collection of every lab with an API (crud, upload,
messaging, examples/http-api-sqs.yaml) against a real local cloud, where every test passes.

The v2.1 format is checked with a JSON Schema written here for everything awslab writes (the
format's required fields, types and enums, from its documentation); the official schema file is not
fetched (no network in the tests) and no package ships it. newman parsing and running the file is
the second check.

newman comes from PATH or from the test cache (tests/e2e/install_newman.sh puts it there);
without it the tests that need it are skipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from awslab.postman import SCHEMA, build_collection
from awslab.resources.base import Record
from awslab.spec import LabSpec, find_lab, load_spec
from awslab.state import LabState
from tests.e2e.conftest import REPO, Cli
from tests.e2e.inventory import inventory

INSTALL_HINT = (
    "newman is not installed: run tests/e2e/install_newman.sh (npm install --prefix "
    "${AWSLAB_TEST_CACHE:-/tmp/awslab-test-cache}/node newman@6) or npm install -g newman"
)

_STRING = {"type": "string"}
_KEY_VALUE = {
    "type": "object",
    "required": ["key", "value"],
    "properties": {"key": _STRING, "value": _STRING, "type": _STRING, "description": _STRING},
    "additionalProperties": False,
}
# Postman Collection Format v2.1: what awslab writes, with the format's required fields and enums.
V2_1 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["info", "item"],
    "additionalProperties": False,
    "properties": {
        "info": {
            "type": "object",
            "required": ["name", "schema"],
            "additionalProperties": False,
            "properties": {
                "_postman_id": _STRING,
                "name": _STRING,
                "description": _STRING,
                "schema": {"const": SCHEMA},
            },
        },
        "item": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
        "variable": {
            "type": "array",
            "items": {**_KEY_VALUE, "properties": {**_KEY_VALUE["properties"], "type": {"enum": ["string"]}}},
        },
    },
    "$defs": {
        "entry": {"oneOf": [{"$ref": "#/$defs/item"}, {"$ref": "#/$defs/folder"}]},
        "folder": {
            "type": "object",
            "required": ["name", "item"],
            "additionalProperties": False,
            "properties": {"name": _STRING, "item": {"type": "array", "items": {"$ref": "#/$defs/entry"}}},
        },
        "item": {
            "type": "object",
            "required": ["name", "request"],
            "additionalProperties": False,
            "properties": {
                "name": _STRING,
                "request": {"$ref": "#/$defs/request"},
                "response": {"type": "array"},
                "event": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["listen", "script"],
                        "additionalProperties": False,
                        "properties": {
                            "listen": {"enum": ["test", "prerequest"]},
                            "script": {
                                "type": "object",
                                "required": ["exec"],
                                "additionalProperties": False,
                                "properties": {
                                    "type": {"const": "text/javascript"},
                                    "exec": {"type": "array", "items": _STRING},
                                },
                            },
                        },
                    },
                },
            },
        },
        "request": {
            "type": "object",
            "required": ["method", "url"],
            "additionalProperties": False,
            "properties": {
                "method": {"enum": ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"]},
                "header": {"type": "array", "items": _KEY_VALUE},
                "description": _STRING,
                "body": {
                    "type": "object",
                    "required": ["mode", "raw"],
                    "additionalProperties": False,
                    "properties": {
                        "mode": {"enum": ["raw", "urlencoded", "formdata", "file", "graphql"]},
                        "raw": _STRING,
                        "options": {"type": "object"},
                    },
                },
                "auth": {
                    "type": "object",
                    "required": ["type", "awsv4"],
                    "properties": {
                        "type": {"const": "awsv4"},
                        "awsv4": {"type": "array", "items": _KEY_VALUE},
                    },
                },
                "url": {
                    "type": "object",
                    "required": ["raw", "host", "path"],
                    "additionalProperties": False,
                    "properties": {
                        "raw": _STRING,
                        "host": {"type": "array", "items": _STRING},
                        "path": {"type": "array", "items": _STRING},
                        "query": {"type": "array", "items": _KEY_VALUE},
                        "variable": {"type": "array", "items": _KEY_VALUE},
                    },
                },
            },
        },
    },
}


# ---- helpers ------------------------------------------------------------------------------
def newman_path() -> str | None:
    on_path = shutil.which("newman")
    if on_path:
        return on_path
    cache = Path(os.environ.get("AWSLAB_TEST_CACHE", "/tmp/awslab-test-cache"))
    cached = cache / "node" / "node_modules" / ".bin" / "newman"
    return str(cached) if os.access(cached, os.X_OK) else None


@pytest.fixture
def newman() -> str:
    path = newman_path()
    if path is None:
        pytest.skip(INSTALL_HINT)
    return path


def run_newman(
    newman: str, collection: Path, env: dict[str, str] | None = None
) -> tuple[int, str, dict[str, Any]]:
    """newman's exit code, its console output and its JSON report's `run`."""
    report = collection.with_suffix(".report.json")
    args = [newman, "run", str(collection), "--reporters", "cli,json", "--reporter-json-export", str(report)]
    # a request that hangs fails the run instead of the test's timeout
    args += ["--timeout-request", "30000", "--color", "off"]
    proc = subprocess.run(args, env=env, cwd=collection.parent, capture_output=True, text=True, timeout=180)
    output = proc.stdout + proc.stderr
    assert report.exists(), f"newman wrote no report (exit {proc.returncode}):\n{output}"
    return proc.returncode, output, json.loads(report.read_text())["run"]


def requests_of(collection: dict[str, Any]) -> list[dict[str, Any]]:
    """Every request item, folders flattened, in the order newman runs them."""
    out: list[dict[str, Any]] = []
    for entry in collection["item"]:
        out.extend(requests_of(entry) if "item" in entry else [entry])
    return out


def script(item: dict[str, Any]) -> str:
    return "\n".join(
        line for e in item.get("event", []) if e["listen"] == "test" for line in e["script"]["exec"]
    )


def by_name(collection: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in requests_of(collection) if i["name"] == name)


def headers(item: dict[str, Any]) -> dict[str, str]:
    return {h["key"]: h["value"] for h in item["request"]["header"]}


def problems_in(run: dict[str, Any]) -> list[str]:
    found = [f"run error: {run['error']}"] if run.get("error") else []
    for failure in run.get("failures", []):
        source = failure.get("source", {}).get("name", "?")
        found.append(f"failure in {source!r}: {failure.get('error', {}).get('message')}")
    for key in ("requests", "assertions", "testScripts", "prerequestScripts"):
        if run["stats"][key]["failed"]:
            found.append(f"{run['stats'][key]['failed']} {key} failed")
    return found


def ran(run: dict[str, Any]) -> list[str]:
    """The requests newman ran, a request it asked again counted once."""
    names = [e["item"]["name"] for e in run["executions"]]
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


def deployed(spec: LabSpec, urls: dict[str, tuple[str, str]], **attrs: dict[str, Any]) -> LabState:
    """A state as `up` leaves it: `urls` maps API logical name -> (kind, url)."""
    resources = {
        name: Record(kind=kind, logical=name, physical=name, status="created", attrs={"url": url})
        for name, (kind, url) in urls.items()
    }
    for name, values in attrs.items():
        resources[name] = Record(
            kind="s3.bucket", logical=name, physical=name, status="created", attrs=values
        )
    return LabState(stack_id=f"awslab-{spec.name}-test", spec=str(spec.path), resources=resources)


TWO_APIS = """\
name: two
resources:
  role: {type: iam.role, service: lambda}
  fn: {type: lambda.function, code: ./h, handler: app.handler, role: "${role.arn}"}
  api:
    type: apigateway.rest_api
    routes: {"GET /items/{id}": fn, "POST /items": fn, "GET /files/{path+}": fn, "DELETE /items/{id}": fn}
  hook:
    type: lambda.url
    function: fn
    cors: {allow_origins: ["https://app.example"]}
checks:
  - name: create one
    call: POST /items
    api: api
    json: {id: late, tags: [a, b]}
    expect: {status: 201, json: {id: late, tags: [b]}}
  - name: it shows up
    call: GET /items/late?fields=all
    api: api
    expect: {status: 200, json: {id: late}}
  - name: a file
    call: GET /files/a/b.txt
    api: api
    expect: {status: 200, body_contains: b.txt}
  - name: the hook
    call: POST /
    api: hook
    body: hi
    expect: {status: 200}
  - name: a message
    invoke: fn
    payload: {id: only-invoked}
  - name: what the invoke wrote
    call: GET /items/only-invoked
    api: api
    expect: {status: 200}
"""


def two_apis(tmp_path: Path) -> LabSpec:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "two.yaml").write_text(TWO_APIS)
    return load_spec(tmp_path / "two.yaml")


# ---- the collection's shape, without a cloud ----------------------------------------------------
def test_crud_collection_follows_the_labs_checks() -> None:
    spec = load_spec(REPO / "configs" / "crud.yaml")
    url = "http://127.0.0.1:9/_aws/execute-api/abc/dev"
    state = deployed(
        spec,
        {"api": ("apigateway.rest_api", url)},
        site={"website_origin": "http://localhost:9", "name": "s"},
    )
    result = build_collection(spec, state, where="the local cloud", region="us-east-1")
    data = result.data
    jsonschema.validate(data, V2_1)
    assert data["info"]["schema"] == SCHEMA
    assert {v["key"]: v["value"] for v in data["variable"]} == {
        "baseUrl": url,
        "origin": "http://localhost:9",
    }
    items = requests_of(data)
    assert [i["name"] for i in items] == [
        "CORS preflight: may a page at http://localhost:9 send POST /items?",
        *(check.name for check in spec.checks),
    ]
    assert result.requests == len(items) and result.left_out == []
    assert result.tests == len(re.findall(r"pm\.test(?:\.skip)?\(", "\n".join(script(i) for i in items)))

    create, read = by_name(data, "create an item"), by_name(data, "read it back")
    assert json.loads(create["request"]["body"]["raw"]) == {"id": "check-1", "name": "apple", "price": 3}
    assert headers(create) == {"Content-Type": "application/json", "Origin": "{{origin}}"}
    assert read["request"]["url"]["raw"] == "{{baseUrl}}/items/:id"
    assert read["request"]["url"]["variable"][0] | {"description": ""} == {
        "key": "id",
        "value": "check-1",
        "description": "",
    }
    assert 'pm.expect(body?.["price"], "$.price").to.eql(3);' in script(read)
    assert "Access-Control-Allow-Origin" in script(read) and "Access-Control-Allow-Origin" in script(create)
    # a GET that expects a success is asked again while its status differs; a POST never is, nor a
    # GET of what was deleted (that is gone at once)
    assert "setNextRequest" in script(read) and "setNextRequest" not in script(create)
    assert "setNextRequest" not in script(by_name(data, "it is gone"))
    preflight = items[0]
    assert preflight["request"]["method"] == "OPTIONS"
    assert headers(preflight)["Access-Control-Request-Method"] == "POST"


def test_what_only_a_left_out_check_produced_is_skipped_not_failed() -> None:
    spec = load_spec(REPO / "configs" / "messaging.yaml")
    url = "http://127.0.0.1:9/_aws/execute-api/abc/dev"
    result = build_collection(
        spec, deployed(spec, {"api": ("apigateway.rest_api", url)}), where="x", region="r"
    )
    jsonschema.validate(result.data, V2_1)
    assert len(result.left_out) == 3 and "(send-message)" in result.left_out[0]
    assert "(send-message)" in result.data["info"]["description"]
    listed = script(by_name(result.data, "the orders are listed"))
    assert re.search(r'pm\.test\.skip\("body contains \\"check-order-1\\" \(skipped: .*check 1', listed)
    assert 'pm.test("status is 200"' in listed
    # the route no check calls is an example in a folder of its own, its {id} from a check's body
    folder = result.data["item"][-1]
    assert [i["name"] for i in folder["item"]] == ["GET /orders/{id}"]
    assert folder["item"][0]["request"]["url"]["variable"][0]["value"] == "check-order-3"
    assert "event" not in folder["item"][0]


def test_several_apis_have_a_variable_each_and_a_signed_url(tmp_path: Path) -> None:
    spec = two_apis(tmp_path)
    state = deployed(
        spec,
        {"api": ("apigateway.rest_api", "http://x/dev"), "hook": ("lambda.url", "http://y.lambda-url/")},
    )
    result = build_collection(spec, state, where="AWS", region="eu-west-1")
    data = result.data
    jsonschema.validate(data, V2_1)
    assert {v["key"]: v["value"] for v in data["variable"]} == {
        "baseUrl_api": "http://x/dev",
        "baseUrl_hook": "http://y.lambda-url",
        "origin_hook": "https://app.example",
        "awsAccessKeyId": "",  # never a credential of the user's in a file
        "awsSecretAccessKey": "",
        "awsRegion": "eu-west-1",
    }
    hook = by_name(data, "the hook")
    assert hook["request"]["auth"]["type"] == "awsv4" and hook["request"]["body"]["raw"] == "hi"
    assert hook["request"]["url"]["raw"].startswith("{{baseUrl_hook}}/")
    assert "auth" not in by_name(data, "create one")["request"]
    shows = by_name(data, "it shows up")["request"]["url"]
    assert shows["raw"] == "{{baseUrl_api}}/items/:id?fields=all"
    assert shows["query"] == [{"key": "fields", "value": "all"}]
    assert by_name(data, "a file")["request"]["url"]["path"] == ["files", "a", "b.txt"]  # greedy: as is
    assert "function matches(" in script(by_name(data, "create one"))  # a list: the subset match
    # the invoke is left out, and the GET of what only it wrote is skipped, never retried
    assert result.left_out == ["check 5 'a message' (invoke)"]
    after = script(by_name(data, "what the invoke wrote"))
    assert "pm.test.skip(" in after and "setNextRequest" not in after
    # DELETE /items/{id} is called by no check: an example, its {id} from a check's body
    example = by_name(data, "DELETE /items/{id}")
    assert example["request"]["url"]["variable"][0]["value"] == "late"


# ---- newman judges by the checks' expectations (a tiny server, no cloud) ---------------------------
class _Server(BaseHTTPRequestHandler):
    answers: dict[str, list[tuple[int, Any]]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        queue = self.answers.get(f"{self.command} {self.path}") or [(500, {"message": "unexpected"})]
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.headers.get("Origin"):
            self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, list[tuple[int, Any]]]]]:
    answers: dict[str, list[tuple[int, Any]]] = {}
    handler = type("Handler", (_Server,), {"answers": answers})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/dev", answers
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_newman_asks_a_get_again_and_fails_a_wrong_answer(
    newman: str, server: tuple[str, dict[str, list[tuple[int, Any]]]], tmp_path: Path
) -> None:
    url, answers = server
    spec = two_apis(tmp_path)
    state = deployed(spec, {"api": ("apigateway.rest_api", url), "hook": ("lambda.url", url)})
    data = build_collection(spec, state, where="here", region="us-east-1", local_keys=("k", "s")).data
    data["item"] = [by_name(data, "create one"), by_name(data, "it shows up"), by_name(data, "the hook")]
    answers["POST /dev/items"] = [(201, {"id": "late", "tags": ["a", "b"]})]
    # the item shows up on the third GET (written through a queue, say)
    answers["GET /dev/items/late?fields=all"] = [(404, {}), (404, {}), (200, {"id": "late"})]
    answers["POST /dev/"] = [(502, {"message": "Internal Server Error"})]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))

    code, output, run = run_newman(newman, path)
    assert code != 0, output
    codes = [(e["item"]["name"], e["response"]["code"]) for e in run["executions"]]
    assert codes == [
        ("create one", 201),
        ("it shows up", 404),
        ("it shows up", 404),
        ("it shows up", 200),
        ("the hook", 502),  # a POST is never sent again
    ], output
    assert problems_in(run) == [
        "failure in 'the hook': expected response to have status code 200 but got 502",
        "1 assertions failed",
    ], output
    passed = [
        a["assertion"] for e in run["executions"] for a in e.get("assertions", []) if not a.get("error")
    ]
    assert passed == [
        "status is 201",
        'JSON body matches {"id": "late", "tags": ["b"]}',
        "status is 200",
        'JSON body matches {"id": "late"}',
        "CORS: Access-Control-Allow-Origin is the Origin sent",
    ], output


# ---- every lab with an API, on the local cloud ------------------------------------------------
LABS = ["crud", "upload", "messaging", str(REPO / "examples" / "http-api-sqs.yaml")]


@pytest.mark.e2e
def test_every_labs_collection_passes_against_the_local_cloud(
    newman: str, local_cli: Cli, tmp_path: Path
) -> None:
    cli = local_cli
    before = cli("postman", "crud", check=False)
    assert before.code == 2 and before.stderr.strip().splitlines() == [
        f"error: lab 'crud' is not deployed on the local cloud at "
        f"http://127.0.0.1:{cli.env['AWSLAB_LOCAL_PORT']}: run 'awslab up crud' first"
    ], before.stderr
    assert not list(cli.home.glob("*.postman_collection.json"))

    for lab in LABS:
        cli("up", lab, "--yes", "--output", "json")
    for lab in LABS:
        name = Path(lab).stem
        file = tmp_path / f"{name}.postman_collection.json"
        shown = cli("postman", lab, "-o", str(file))
        collection = json.loads(file.read_text())
        tests = len(
            re.findall(r"pm\.test(?:\.skip)?\(", "\n".join(script(i) for i in requests_of(collection)))
        )
        assert f"{len(requests_of(collection))} requests, {tests} tests" in shown.stderr
        jsonschema.validate(collection, V2_1)
        api_url = next(v["value"] for v in collection["variable"] if v["key"] == "baseUrl")
        assert api_url == cli("outputs", name, "--output", "json").json()["api_url"]

        code, output, run = run_newman(newman, file, cli.env)
        assert code == 0, output
        assert problems_in(run) == [], output
        names = [i["name"] for i in requests_of(collection)]
        assert ran(run) == names, output
        assertions = [a for e in run["executions"] for a in e.get("assertions", [])]
        assert len(assertions) == tests > len(names), output
        skipped = [a["assertion"] for a in assertions if a.get("skipped")]
        assert len(skipped) == (1 if name == "messaging" else 0), output
        calls = [c.name for c in load_spec(find_lab(lab)).checks if c.action_key == "call"]
        assert [n for n in names if n in calls] == calls  # every call check, in order

    # The default file name, in the current directory, and what a learner reads.
    shown = cli("postman", "crud")
    assert (cli.home / "crud.postman_collection.json").is_file()
    assert "newman run crud.postman_collection.json" in shown.stderr
    assert re.search(r"Wrote crud\.postman_collection\.json: 8 requests, 20 tests", shown.stderr), (
        shown.stderr
    )

    endpoint = cli("local", "status", "--output", "json").json()["endpoint"]
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
    gone = cli("postman", "crud", check=False)
    assert gone.code == 2 and "run 'awslab up crud' first" in gone.stderr
