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
        def client(self, service: str, **_: Any) -> object:
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
