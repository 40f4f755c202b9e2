"""An API's resources, methods and routes do not wait for the functions they invoke (issue 9,
"How"): the integrations name the functions by their predictable ARNs, and only the invoke
permissions (the API's `link` step) need the functions to exist. On moto's in-process mock, with
the engine's runner: each CreateFunction is held until the API's first tree request has been sent."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from awslab.engine.execute import LINK, READY, _graph, apply_plan
from awslab.engine.plan import plan_changes
from awslab.spec import builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target

REPO = Path(__file__).resolve().parents[2]
PATIENCE = 10.0  # how long a held CreateFunction waits before the test calls it serialised


@pytest.fixture(autouse=True)
def _dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))


LABS = {
    # spec, the API's logical name, its service, the requests that build its tree or routes
    "crud": (builtin_labs()["crud"], "api", "apigateway", {"CreateResource", "PutMethod"}),
    "http-api-sqs": (REPO / "examples" / "http-api-sqs.yaml", "api", "apigatewayv2", {"CreateRoute"}),
}


@pytest.mark.parametrize("lab", sorted(LABS))
def test_the_api_is_built_while_its_functions_are_created(lab: str, mocked_aws: None, tmp_path: Path) -> None:
    path, api, service, tree_ops = LABS[lab]
    spec = load_spec(path)
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    target = Target(kind="aws", region="us-east-1")
    tree_started = threading.Event()
    in_time: list[bool] = []  # one per CreateFunction: had the tree's first request gone out?
    permissions_before_function: list[str] = []
    functions: set[str] = set()

    def on_api(model: Any, **_: Any) -> None:
        if model.name in tree_ops:
            tree_started.set()

    def on_lambda(model: Any, params: dict[str, Any], **_: Any) -> None:  # the call's parameters
        if model.name == "CreateFunction":
            in_time.append(tree_started.wait(PATIENCE))
            functions.add(params["FunctionName"])
        elif model.name == "AddPermission" and params["FunctionName"].split(":")[-1] not in functions:
            permissions_before_function.append(params["FunctionName"])

    target.client(service).meta.events.register("before-call", on_api)
    target.client("lambda").meta.events.register("before-parameter-build", on_lambda)
    apply_plan(plan_changes(spec, store, target), store, target)
    assert in_time and all(in_time), "the API's tree waited for a function"
    assert not permissions_before_function
    assert store.lab(spec.name).resources[api].ready is True  # type: ignore[union-attr]


def test_the_http_api_waits_only_for_its_link(tmp_path: Path) -> None:
    spec = load_spec(LABS["http-api-sqs"][0])
    store = StateStore(tmp_path / "state.json", {"kind": "local", "region": "us-east-1"})
    target = Target(kind="local", local_port=4599, endpoint_url="http://127.0.0.1:4599")
    forward, _ = _graph(plan_changes(spec, store, target, check_live=False))
    functions = {"reader"}  # its one route to a function
    assert not forward["api"] & functions
    assert "api" + READY not in forward  # HTTP APIs deploy by themselves
    assert functions <= forward["api" + LINK]
