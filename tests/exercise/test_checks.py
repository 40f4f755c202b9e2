"""The check runner: each check of a spec in order, expectations compared, every failure with
its detail, never stopping at the first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from awslab.exercise.checks import check_name, run_checks
from awslab.spec import Check, LabSpec, load_spec
from awslab.state import StateStore
from awslab.target import Target

from .conftest import Api, add_lab, api_rec, background, event_source_rec, fn_rec, make_queue, make_table
from .test_messages import sqs_consumer

REPO = Path(__file__).resolve().parents[2]


def spec_of(text: str, tmp_path: Path, name: str = "lab") -> LabSpec:
    checks = [Check.model_validate(c) for c in yaml.safe_load(text)]
    return LabSpec(name, "", tmp_path / f"{name}.yaml", {}, {}, checks)


def test_pass_fail_and_mismatch_details(target: Target, store: StateStore, api: Api, tmp_path: Path) -> None:
    state = add_lab(store, "lab", api_rec("api", api.url), fn_rec("fn")).state
    spec = spec_of(
        """
- {name: echo, call: POST /echo, json: {id: "1", tags: [a, b]}, expect: {status: 200, json: {method: POST}}}
- {call: GET /status/404, expect: {status: 201}}
- {name: wrong field, call: GET /echo, expect: {json: {method: PUT, path: /dev/echo}}}
- {name: contains, call: GET /text, expect: {body_contains: plain}}
- {name: lacks, call: GET /text, expect: {body_contains: fancy}}
- {name: nothing to invoke, invoke: fn, expect: {error: false}}
- {name: misplaced, call: GET /echo, expect: {execution_status: SUCCEEDED}}
- {name: reference, call: "PUT /echo", body: "${api.url}/x", headers: {X-Stage: "${api.stage}"}, expect: {status: 200}}
""",
        tmp_path,
    )
    seen: list[Any] = []
    report = run_checks(
        spec,
        state,
        target,
        on_start=lambda i, n: seen.append((i, n)),
        on_result=lambda r: seen.append(r.passed),
    )
    results = report.results
    assert [r.passed for r in results] == [True, False, False, True, False, False, False, True]
    assert not report.passed and len(report.failed) == 5
    assert results[1].detail.startswith("status 404, expected 201 (body: ")
    assert results[1].name == "call GET /status/404" and results[1].action == "call"
    assert results[2].detail == "json: $.method: 'GET', expected 'PUT'"
    assert results[4].detail.startswith("body does not contain 'fancy'")
    assert (
        "ResourceNotFoundException" in results[5].detail
    )  # the function is not on moto: reported, not raised
    assert results[6].detail == "expect.execution_status does not apply to call"
    put = api.requests[-1]
    assert put["body"] == f"{api.url}/x" and put["headers"]["X-Stage"] == "dev"
    assert all(r.elapsed_ms >= 0 for r in results)
    assert results[0].result["json"]["body"] == json.dumps({"id": "1", "tags": ["a", "b"]})
    assert seen[0] == (1, "echo") and len(seen) == 16
    data = json.loads(json.dumps(report.to_dict(), default=str))
    assert (data["total"], data["failed"], data["passed"]) == (8, 5, False)


def test_records_written_by_a_consumer(target: Target, store: StateStore, tmp_path: Path) -> None:
    queue = make_queue(target, "queue")
    table = make_table(target, "orders")
    fn = fn_rec("consumer")
    state = add_lab(store, "lab", queue, table, fn, event_source_rec("src", fn, queue)).state
    spec = spec_of(
        """
- {send-message: {id: c-1, item: pen, quantity: 2}, expect: {record: {id: c-1, body: {item: pen}}}}
- {name: wrong record, send-message: {id: c-2, item: ink}, expect: {record: {body: {item: paper}}}}
""",
        tmp_path,
    )
    with background(sqs_consumer(target, queue.attrs["url"], table.physical)):
        report = run_checks(spec, state, target)
    ok, wrong = report.results
    assert ok.passed, ok.detail
    assert ok.result["messages"][0]["effects"][0]["item"]["body"]["quantity"] == 2
    assert not wrong.passed and wrong.detail == "record: $.body.item: 'ink', expected 'paper'"


CRUD_CHECKS = """
- {name: create an item, call: POST /items, json: {id: check-1, name: apple, price: 3},
   expect: {status: 201, json: {id: check-1, name: apple}}}
- {name: read it back, call: GET /items/check-1, expect: {status: 200, json: {name: apple, price: 3}}}
- {name: list items, call: GET /items, expect: {status: 200, json: {items: [{id: check-1}]}}}
- {name: update it, call: PUT /items/check-1, json: {name: green apple, price: 4},
   expect: {status: 200, json: {name: green apple}}}
- {name: reject a bad item, call: POST /items, json: {price: 1}, expect: {status: 400}}
- {name: delete it, call: DELETE /items/check-1, expect: {status: 204}}
- {name: it is gone, call: GET /items/check-1, expect: {status: 404}}
"""


def test_crud_scenario_against_a_crud_api(
    target: Target, store: StateStore, api: Api, tmp_path: Path
) -> None:
    """The crud lab's scenario (as in configs/crud.yaml), against a stand-in that behaves as
    handlers/crud does."""
    items: dict[str, dict[str, Any]] = {}

    def crud(method: str, path: str, req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        parts = [p for p in path.split("/") if p]
        body = json.loads(req["body"]) if req["body"] else {}
        status, out = 404, {"message": "not found"}
        if parts == ["items"] and method == "GET":
            status, out = 200, {"items": list(items.values())}
        elif parts == ["items"] and method == "POST":
            status, out = (400, {"message": "name is required"}) if "name" not in body else (201, body)
            if status == 201:
                items[body["id"]] = body
        elif len(parts) == 2 and parts[1] in items:
            if method == "GET":
                status, out = 200, items[parts[1]]
            elif method == "PUT":
                items[parts[1]] |= body
                status, out = 200, items[parts[1]]
            elif method == "DELETE":
                del items[parts[1]]
                return 204, {}, b""
        return status, {"Content-Type": "application/json"}, json.dumps(out).encode()

    api.app = crud
    spec = spec_of(CRUD_CHECKS, tmp_path, "crud")
    state = add_lab(store, "crud", api_rec("api", api.url)).state
    report = run_checks(spec, state, target)
    assert [r.detail for r in report.results] == [""] * len(spec.checks)
    assert report.passed and len(report.results) == 7
    assert report.results[0].name == "create an item"
    # the same scenario against an API that forgot the price on update fails where it should
    items.clear()
    api.app = lambda m, p, r: (
        crud(m, p, r)
        if m != "GET" or p != "/items/check-1"
        else (200, {"Content-Type": "application/json"}, b'{"id": "check-1", "name": "apple"}')
    )
    report = run_checks(spec, state, target)
    assert [r.index for r in report.failed] == [2, 7]
    assert report.results[1].detail == "json: $.price: missing (expected 3)"


def test_the_crud_spec_loads_with_its_checks() -> None:
    spec = load_spec(REPO / "configs" / "crud.yaml")
    assert spec.checks and all(c.action == "call" for c in spec.checks)


def test_check_names() -> None:
    assert check_name(Check.model_validate({"call": "GET /x"})) == "call GET /x"
    assert check_name(Check.model_validate({"send-message": True})) == "send-message"
    assert check_name(Check.model_validate({"start-execution": {"a": 1}})) == 'start-execution {"a": 1}'
    assert check_name(Check.model_validate({"name": "mine", "invoke": "fn"})) == "mine"
