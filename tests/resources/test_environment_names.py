"""A function's environment variables are strings to Lambda: one that holds a topic's or a table's
name or ARN (known from its name before it exists) does not make the function wait for it. The
messaging lab's API function is made beside its topic, not after the topic and the notifier the
topic subscribes (one hop less after the IAM window, on AWS)."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest

from awslab.engine.execute import _graph, apply_plan
from awslab.engine.plan import plan_changes
from awslab.spec import builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target
from tests.conftest import REPO


def test_the_messaging_api_function_does_not_wait_for_the_topic() -> None:
    fn = load_spec(builtin_labs()["messaging"]).resources["orders-api-fn"]
    assert "topic" not in fn.depends_on and "topic" in fn.predicted
    assert "queue" in fn.depends_on  # a queue's URL is not predicted: that one is waited for


def test_a_function_is_made_with_the_arn_of_a_topic_made_beside_it(
    mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copytree(REPO / "handlers/crud", tmp_path / "fn")
    spec_path = tmp_path / "lab.yaml"
    spec_path.write_text(
        "name: named\nresources:\n"
        "  role: {type: iam.role, service: lambda}\n"
        "  topic: {type: sns.topic}\n"
        "  fn: {type: lambda.function, code: fn, role: '${role.arn}',\n"
        "       environment: {TOPIC_ARN: '${topic.arn}', TOPIC: '${topic.name}'}}\n"
    )
    spec = load_spec(spec_path)
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    target = Target(kind="aws", region="us-east-1")
    plan = plan_changes(spec, store, target)
    forward, _ = _graph(plan)
    assert forward["fn"] == {"role"}  # created as soon as its role is, the topic meanwhile

    apply_plan(plan, store, target)
    topic = store.lab("named").resources["topic"].attrs  # type: ignore[union-attr]
    name = store.lab("named").resources["fn"].physical  # type: ignore[union-attr]
    env = boto3.client("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    assert env == {"TOPIC_ARN": topic["arn"], "TOPIC": topic["name"]}
    assert [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]] == [topic["arn"]]
    assert not plan_changes(load_spec(spec_path), store, target).has_changes
