"""A fake resource kind for engine tests: "live" resources kept in a dict, a call log, injected
failures, hooks run inside calls, and an UpdateNotSupported path. Registered under test-only kind
names by the `cloud` fixture and removed afterwards. Also the fixtures and helpers the engine tests
share (a real state file, specs written as YAML and read by load_spec)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from botocore.exceptions import ClientError

from awslab.engine.execute import ApplyResult, apply_plan
from awslab.engine.plan import Plan, plan_changes
from awslab.resources.base import (
    REGISTRY,
    Context,
    Props,
    Record,
    Resource,
    UpdateNotSupported,
    load_kinds,
    register,
)
from awslab.spec import LabSpec, load_spec
from awslab.state import StateStore
from awslab.target import Target

FAKE = "test.fake"
RIGID = "test.rigid"
LAB = "lab"


def boom(op: str = "CreateThing") -> ClientError:
    return ClientError({"Error": {"Code": "Boom", "Message": "injected"}}, op)


class FakeCloud:
    """Live resources by physical name, a call log, injected failures and hooks run inside calls."""

    def __init__(self) -> None:
        self.live: dict[str, dict[str, Any]] = {}
        self.log: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], BaseException] = {}
        self.hooks: dict[tuple[str, str], Callable[[], None]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def call(self, action: str, logical: str) -> None:
        with self._lock:
            self.log.append((action, logical))
            hook = self.hooks.get((action, logical))
            exc = self.fail.get((action, logical))
        if hook:
            hook()
        if exc:
            raise exc

    def new_id(self) -> str:
        with self._lock:
            return f"id-{next(self._ids)}"

    def calls(self, action: str) -> list[str]:
        return [n for a, n in self.log if a == action]

    def of(self, store: StateStore, logical: str) -> dict[str, Any]:
        """The live resource of `logical` in the lab's current stack."""
        lab = store.lab(LAB)
        assert lab is not None
        return self.live[f"awslab-{LAB}-{logical}-{lab.stack_id}"]


class FakeProps(Props):
    value: str = ""
    ref: Any = None  # holds references to other fakes
    fixed: str = ""  # changing it needs a replacement


class FakeThing(Resource[FakeProps]):
    kind = FAKE
    attributes = ("name", "arn", "id", "value", "revision")
    drift_keys = ("value",)
    cloud: ClassVar[FakeCloud]

    def _attrs(self, id_: str, revision: int) -> dict[str, Any]:
        return {"name": self.physical, "arn": f"arn:fake:{self.physical}", "id": id_, "revision": revision,
                "value": self.props.value, "ref": self.props.ref, "fixed": self.props.fixed}  # fmt: skip

    def create(self) -> dict[str, Any]:
        self.cloud.call("create", self.logical)
        attrs = self._attrs(self.cloud.new_id(), 1)
        self.cloud.live[self.physical] = attrs
        return dict(attrs)

    def update(self, record: Record) -> dict[str, Any]:
        self.cloud.call("update", self.logical)
        live = self.cloud.live[record.physical]
        if live["fixed"] != self.props.fixed:
            raise UpdateNotSupported(f"{self.kind}: 'fixed' changes")
        attrs = self._attrs(live["id"], live["revision"] + 1)
        self.cloud.live[record.physical] = attrs
        return dict(attrs)

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        cls.cloud.call("read", record.logical)
        live = cls.cloud.live.get(record.physical)
        return dict(live) if live is not None else None

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        cls.cloud.call("delete", record.logical)
        cls.cloud.live.pop(record.physical, None)  # not found counts as done


class RigidThing(FakeThing):
    kind = RIGID
    update = Resource.update  # this kind cannot update: every change is a replacement


@pytest.fixture(name="cloud")
def cloud_fixture() -> Iterator[FakeCloud]:
    load_kinds()  # the real kinds are there too: specs may mix them with the fakes
    c = FakeCloud()
    FakeThing.cloud = c
    register(FakeThing)
    register(RigidThing)
    try:
        yield c
    finally:
        REGISTRY.pop(FAKE, None)
        REGISTRY.pop(RIGID, None)


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateStore:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    return StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})


@pytest.fixture(name="target")
def target_fixture() -> Target:
    return Target(kind="aws")


@pytest.fixture(name="write_spec")
def write_spec_fixture(tmp_path: Path) -> Callable[..., LabSpec]:
    def write(resources: dict[str, dict[str, Any]], outputs: dict[str, str] | None = None) -> LabSpec:
        path = tmp_path / "lab.yaml"
        doc: dict[str, Any] = {"name": LAB, "resources": resources}
        if outputs:
            doc["outputs"] = outputs
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return load_spec(path)

    return write


def fake(**fields: Any) -> dict[str, Any]:
    return {"type": FAKE, **fields}


def up(spec: LabSpec, store: StateStore, target: Target, **kw: Any) -> ApplyResult:
    return apply_plan(plan_changes(spec, store, target), store, target, **kw)


def saved(store: StateStore) -> dict[str, Any]:
    """The lab's resources as the state file on disk has them."""
    doc = json.loads(store.path.read_text())
    return doc["labs"][LAB]["resources"] if LAB in doc["labs"] else {}


def actions(plan: Plan) -> dict[str, tuple[str, str]]:
    return {c.logical: (c.action, c.reason) for c in plan.changes}


CHAIN = {"c": fake(ref="${b.id}"), "b": fake(ref="${a.arn}"), "a": fake(value="1"), "d": fake(value="solo")}
