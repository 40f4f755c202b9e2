"""The crud lab's Postman collection, run by newman (Postman's CLI runner) against the crud lab
deployed on the local cloud through the real CLI, as a student who tests the API with Postman
would: every request answers as the collection expects and every assertion passes.

newman comes from PATH or from the test cache (tests/e2e/install_newman.sh puts it there);
without it the end-to-end test is skipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import REPO, Cli
from tests.e2e.inventory import inventory

COLLECTION = REPO / "handlers" / "crud" / "postman" / "crud.postman_collection.json"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

# (request name, method, status it must answer, assertions it makes), in the collection's order
EXPECTED: list[tuple[str, str, int, int]] = [
    ("List items", "GET", 200, 2),
    ("Create an item", "POST", 201, 2),
    ("Get the item", "GET", 200, 2),
    ("Update the item", "PUT", 200, 2),
    ("List shows the item", "GET", 200, 2),
    ("CORS headers for a browser", "GET", 200, 3),
    ("Create with a bad body", "POST", 400, 2),
    ("Get an unknown id", "GET", 404, 2),
    ("Delete the item", "DELETE", 204, 2),
    ("Get the deleted item", "GET", 404, 2),
]
INSTALL_HINT = (
    "newman is not installed: run tests/e2e/install_newman.sh (npm install --prefix "
    "${AWSLAB_TEST_CACHE:-/tmp/awslab-test-cache}/node newman@6) or npm install -g newman"
)


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
    newman: str, collection: Path, variables: dict[str, str], report: Path, env: dict[str, str]
) -> tuple[int, str, dict[str, Any]]:
    """newman's exit code, its console output and its JSON report's `run`."""
    # --env-var, not --global-var: environment variables override the collection's own
    # (empty) baseUrl, globals do not.
    args = [newman, "run", str(collection), "--reporters", "cli,json", "--reporter-json-export", str(report)]
    for key, value in variables.items():
        args += ["--env-var", f"{key}={value}"]
    # a request that hangs fails the run instead of the test's timeout
    args += ["--timeout-request", "30000", "--color", "off"]
    proc = subprocess.run(args, env=env, cwd=report.parent, capture_output=True, text=True, timeout=180)
    output = proc.stdout + proc.stderr
    assert report.exists(), f"newman wrote no report (exit {proc.returncode}):\n{output}"
    return proc.returncode, output, json.loads(report.read_text())["run"]


def problems_in(run: dict[str, Any]) -> list[str]:
    """Everything in a newman report that differs from a full, passing run of EXPECTED."""
    found: list[str] = []
    if run.get("error"):
        found.append(f"run error: {run['error']}")
    for failure in run.get("failures", []):
        source = failure.get("source", {}).get("name", "?")
        found.append(f"failure in {source!r}: {failure.get('error', {}).get('message')}")
    stats = run["stats"]
    if stats["requests"]["total"] != len(EXPECTED):
        found.append(f"{stats['requests']['total']} requests ran, expected {len(EXPECTED)}")
    expected_assertions = sum(n for *_, n in EXPECTED)
    if stats["assertions"]["total"] != expected_assertions:
        found.append(f"{stats['assertions']['total']} assertions ran, expected {expected_assertions}")
    for key in ("requests", "assertions", "testScripts", "prerequestScripts"):
        if stats[key]["failed"]:
            found.append(f"{stats[key]['failed']} {key} failed")
    ran = [(e["item"]["name"], e["request"]["method"]) for e in run["executions"]]
    if ran != [(name, method) for name, method, *_ in EXPECTED]:
        found.append(f"requests ran in this order: {ran}")
    for execution, (name, _, status, count) in zip(run["executions"], EXPECTED, strict=False):
        if execution.get("requestError"):
            found.append(f"{name}: request error {execution['requestError']}")
            continue
        code = execution.get("response", {}).get("code")
        if code != status:
            found.append(f"{name}: answered {code}, expected {status}")
        assertions = execution.get("assertions", [])
        if len(assertions) != count:
            found.append(f"{name}: {len(assertions)} assertions, expected {count}")
        for assertion in assertions:
            if assertion.get("skipped"):
                found.append(f"{name}: skipped {assertion['assertion']!r}")
            if assertion.get("error"):
                found.append(
                    f"{name}: {assertion['assertion']!r} failed: {assertion['error'].get('message')}"
                )
    return found


def test_the_collection_is_postman_v2_1() -> None:
    """Holds where newman is missing: the file a student imports is sound."""
    collection = json.loads(COLLECTION.read_text())
    assert collection["info"]["schema"] == SCHEMA
    variables = {v["key"]: v["value"] for v in collection["variable"]}
    assert {"baseUrl", "websiteOrigin", "itemId"} <= set(variables)
    assert variables["baseUrl"] == ""  # set by the user; never a stale address
    items = collection["item"]
    assert [(i["name"], i["request"]["method"]) for i in items] == [(n, m) for n, m, *_ in EXPECTED]
    for item, (name, _, _, count) in zip(items, EXPECTED, strict=True):
        assert item["request"]["url"]["raw"].startswith("{{baseUrl}}/items"), name
        tests = [e for e in item["event"] if e["listen"] == "test"]
        assert len(tests) == 1, name
        # pm.test("...") calls, and the one `(given ? pm.test : pm.test.skip)("...")`
        calls = re.findall(r"pm\.test(?:\.skip\))?\(", "\n".join(tests[0]["script"]["exec"]))
        assert len(calls) == count, name
        if "body" in item["request"]:
            json.loads(item["request"]["body"]["raw"].replace("{{itemName}}", "x"))
            headers = {h["key"].lower(): h["value"] for h in item["request"]["header"]}
            assert headers["content-type"] == "application/json", name


@pytest.mark.e2e
def test_postman_collection_passes_against_the_local_cloud(
    newman: str, local_cli: Cli, tmp_path: Path
) -> None:
    cli = local_cli
    outputs = cli("up", "crud", "--yes", "--output", "json").json()["outputs"]
    site = urlsplit(outputs["website_url"])
    variables = {"baseUrl": outputs["api_url"], "websiteOrigin": f"{site.scheme}://{site.netloc}"}

    code, output, run = run_newman(newman, COLLECTION, variables, tmp_path / "report.json", cli.env)
    assert code == 0, output
    assert problems_in(run) == [], output

    # The same check catches a collection whose expectation the API does not meet.
    broken = json.loads(COLLECTION.read_text())
    get_item = next(i for i in broken["item"] if i["name"] == "Get the item")
    script = next(e for e in get_item["event"] if e["listen"] == "test")["script"]
    script["exec"] = [line.replace("to.eql(3)", "to.eql(5)") for line in script["exec"]]
    broken_path = tmp_path / "broken.postman_collection.json"
    broken_path.write_text(json.dumps(broken))
    code, output, run = run_newman(newman, broken_path, variables, tmp_path / "broken.json", cli.env)
    assert code != 0, output
    assert problems_in(run) == [
        "failure in 'Get the item': expected 3 to deeply equal 5",
        "1 assertions failed",
        "Get the item: 'it is the item created, name and all' failed: expected 3 to deeply equal 5",
    ], output

    endpoint = cli("local", "status", "--output", "json").json()["endpoint"]
    assert cli("teardown", "--yes", "--output", "json").json()["ok"]
    assert inventory(endpoint) == {}
