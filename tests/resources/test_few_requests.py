"""`up` and `teardown` of whole labs make no request whose answer awslab does not use, and start
each call as soon as its inputs exist (issue 9): on moto's in-process mock, every request the
target's clients send is recorded by operation."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from awslab.engine.execute import LINK, READY, _graph, apply_plan
from awslab.engine.plan import plan_changes
from awslab.engine.teardown import delete_order, teardown_lab
from awslab.spec import builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target

SERVICES = ("sts", "iam", "lambda", "logs", "dynamodb", "s3", "apigateway", "sqs", "sns", "stepfunctions")
# what a create or delete asked before (listings, describes, pre-checks) whose answer it can do without
UNUSED_ON_UP = {"GetRestApis", "GetResources", "HeadBucket"}
UNUSED_ON_TEARDOWN = {
    "GetRestApis", "HeadBucket", "ListObjectVersions", "ListMultipartUploads", "ListRolePolicies",
    "ListAttachedRolePolicies", "ListInstanceProfilesForRole", "RemovePermission", "Unsubscribe",
    "ListSubscriptionsByTopic", "GetQueueUrl", "SetQueueAttributes",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))


def recorded(target: Target) -> Counter[str]:
    """Every operation the target's clients call from now on."""
    calls: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    for service in SERVICES:
        target.client(service).meta.events.register("before-call", hook)
    return calls


@pytest.mark.parametrize("lab", ["crud", "messaging"])
def test_up_and_teardown_ask_nothing_they_do_not_use(lab: str, mocked_aws: None, tmp_path: Path) -> None:
    spec = load_spec(builtin_labs()[lab])
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    target = Target(kind="aws", region="us-east-1")
    calls = recorded(target)
    apply_plan(plan_changes(spec, store, target), store, target)
    assert not UNUSED_ON_UP & set(calls), calls
    if lab == "crud":  # 38 by hand; 44 before
        assert sum(calls.values()) <= 40 and "GetPolicy" not in calls, calls
    else:  # no describe after CreateQueue: only the topic's grant reads the queue's policy
        assert calls["GetQueueAttributes"] <= 1, calls

    calls.clear()
    assert teardown_lab(spec.name, store, target).ok
    assert not UNUSED_ON_TEARDOWN & set(calls), calls
    if lab == "crud":  # 8 by hand; 18 before
        assert sum(calls.values()) <= 10, calls


def test_the_api_is_built_beside_its_function_and_uploads_wait_only_for_its_id(tmp_path: Path) -> None:
    """The API's methods name the function by its predictable ARN: its tree (the wait_ready step)
    waits for nothing but its create, only the invoke permission (its link step) waits for the
    function; the site's files need only the API's URL, known from CreateRestApi."""
    spec = load_spec(builtin_labs()["crud"])
    store = StateStore(tmp_path / "state.json", {"kind": "local", "region": "us-east-1"})
    target = Target(kind="local", local_port=4599, endpoint_url="http://127.0.0.1:4599")
    forward, _ = _graph(plan_changes(spec, store, target, check_live=False))
    assert forward["api"] == {"site"}
    assert forward["api" + READY] == {"api"}
    assert {"api", "items-fn"} <= forward["api" + LINK]
    assert forward["site-files"] == {"site", "api"}  # not the API's build


def test_teardown_waits_only_where_a_delete_needs_what_it_depends_on(
    mocked_aws: None, tmp_path: Path
) -> None:
    """A bucket waits for the delete of its files; everything else goes at once (an API's
    permissions go with the function, a function's role and table may go before it)."""
    spec = load_spec(builtin_labs()["crud"])
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    target = Target(kind="aws", region="us-east-1")
    apply_plan(plan_changes(spec, store, target), store, target)
    records = store.lab("crud").resources  # type: ignore[union-attr]
    order = delete_order(dict(records))
    assert order == {name: ({"site-files"} if name == "site" else set()) for name in records}
