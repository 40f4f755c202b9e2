"""`awslab status` checks every lab at once, builds each boto3 client once and one at a time,
and asks nothing it knows already (issue 9). Against the fake kind: no AWS, no moto."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from awslab.cli.main import app
from awslab.resources.base import Record
from awslab.state import StateStore
from awslab.target import Target
from tests.unit.fake_kind import FAKE, FakeCloud, cloud_fixture  # noqa: F401 (fixture)


def test_every_lab_is_checked_in_one_pool(cloud: FakeCloud, tmp_path: Path) -> None:
    """Each lab's only resource waits for the other lab's to be read at the same time: checked
    one lab after another, neither would be read (and the barrier breaks after 5 s)."""
    barrier = threading.Barrier(2, timeout=5)
    state = tmp_path / "state.json"
    store = StateStore(
        state, {"kind": "endpoint", "region": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}
    )
    for lab, logical in (("one", "x"), ("two", "y")):
        store.ensure_lab(lab, "")
        physical = f"awslab-{lab}-{logical}-abc123"
        store.put_record(lab, Record(FAKE, logical, physical, "created", attrs={"value": ""}))
        cloud.live[physical] = {"value": ""}
        cloud.hooks[("read", logical)] = barrier.wait
    argv = ["status", "--target", "endpoint", "--endpoint-url", "http://127.0.0.1:9", "--state", str(state)]
    result = CliRunner().invoke(
        app, [*argv, "--output", "json"], env={"AWSLAB_STATE_DIR": str(tmp_path / "s")}
    )
    assert result.exit_code == 0, result.output
    labs = json.loads(result.stdout)["labs"]
    assert {lab: [r["status"] for r in labs[lab]["resources"]] for lab in labs} == {
        "one": ["present"],
        "two": ["present"],
    }


def test_clients_are_built_once_each_and_one_at_a_time() -> None:
    """Building several clients at once in threads costs about twice the CPU."""
    lock = threading.Lock()
    building, peak, built = 0, 0, []

    class Session:
        def create_client(self, service: str, **_: Any) -> object:
            nonlocal building, peak
            with lock:
                building += 1
                peak = max(peak, building)
            time.sleep(0.05)
            with lock:
                building -= 1
                built.append(service)
            return object()

    target = Target(kind="aws")
    target._session = Session()
    services = ["iam", "s3", "iam", "sqs", "s3", "iam"]
    with ThreadPoolExecutor(len(services)) as pool:
        clients = list(pool.map(target.client, services))
    assert peak == 1
    assert sorted(built) == ["iam", "s3", "sqs"]
    assert clients[0] is clients[2] is clients[5] and clients[1] is clients[4]


def test_the_local_cloud_account_is_known_without_asking_sts(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(_self: Target) -> str:
        raise AssertionError("the local cloud's account is known: asking STS is a request for nothing")

    monkeypatch.setattr(Target, "_caller_account", never)
    with socket.socket() as s:  # a port nobody answers on: nothing may be asked there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert Target.select("local", local_port=port).account_id == "123456789012"  # moto's default


# ---- no request whose answer is unused (moto's in-process mock) ---------------------------
def _reads(ctx: Any, kind: str, record: Record) -> tuple[dict[str, Any] | None, list[str]]:
    """What the kind's `read` returns for `record`, and the operations it called."""
    from awslab.resources.base import kind_class

    calls: list[str] = []
    service = {"s3.bucket": "s3", "sns.topic": "sns", "dynamodb.table": "dynamodb"}[kind]
    ctx.client(service).meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return kind_class(kind).read(ctx, record), calls


def test_a_bucket_is_read_with_one_request(ctx: Any) -> None:
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket="awslab-test-site-abc123")
    s3.create_bucket(Bucket="awslab-test-files-abc123")
    s3.put_bucket_website(
        Bucket="awslab-test-site-abc123", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    for physical, website in (("awslab-test-site-abc123", True), ("awslab-test-files-abc123", False)):
        live, calls = _reads(
            ctx, "s3.bucket", Record("s3.bucket", "b", physical, "created", {"name": physical})
        )
        assert live is not None and bool(live["website_url"]) is website
        assert calls == ["GetBucketWebsite"]
    gone = "awslab-test-gone-abc123"
    live, calls = _reads(ctx, "s3.bucket", Record("s3.bucket", "g", gone, "created", {"name": gone}))
    assert (live, calls) == (None, ["GetBucketWebsite"])


def test_a_topic_is_read_with_one_listing(ctx: Any) -> None:
    arn = ctx.client("sns").create_topic(Name="awslab-test-topic-abc123")["TopicArn"]
    live, calls = _reads(
        ctx, "sns.topic", Record("sns.topic", "t", "awslab-test-topic-abc123", "created", {"arn": arn})
    )
    assert live is not None and live["arn"] == arn
    assert calls == ["ListSubscriptionsByTopic"]
    ctx.client("sns").delete_topic(TopicArn=arn)
    live, calls = _reads(
        ctx, "sns.topic", Record("sns.topic", "t", "awslab-test-topic-abc123", "created", {"arn": arn})
    )
    assert (live, calls) == (None, ["ListSubscriptionsByTopic"])
