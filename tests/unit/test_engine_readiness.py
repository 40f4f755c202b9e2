"""Waiting for what the next step needs, and no more (issue 8, item 5), on fake kinds: a kind
whose create returns before the resource is usable gets a `wait_ready` step that overlaps with
the rest of `up`; only dependents that declare they need it usable wait for it; `up` ends after
it. References from name-only fields (policies) to predictable attributes (ARNs known from the
name) add no dependency and resolve to the prediction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from awslab.engine.execute import ApplyError
from awslab.engine.plan import plan_changes
from awslab.engine.runner import run_graph
from awslab.resources.base import REGISTRY, Record, register
from awslab.spec import LabSpec
from awslab.state import StateStore
from awslab.target import Target
from tests.unit.fake_kind import (
    LAB,
    FakeCloud,
    FakeThing,
    actions,
    boom,
    cloud_fixture,  # noqa: F401 (fixture)
    fake,
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    up,
    write_spec_fixture,  # noqa: F401 (fixture)
)

SLOW, NEEDY, NAMED, POLICY = "test.slow", "test.needy", "test.named", "test.policy"
PATIENCE = 10.0  # how long a gate waits before the test calls it a deadlock


class SlowThing(FakeThing):
    """Usable only once its gate opens (a function Pending, a table CREATING)."""

    kind = SLOW
    gates: ClassVar[dict[str, threading.Event]] = {}
    fail_ready: ClassVar[set[str]] = set()

    def wait_ready(self) -> bool:
        self.cloud.call("wait_ready", self.logical)
        opened = self.gates.setdefault(self.logical, threading.Event()).wait(PATIENCE)
        if self.logical in self.fail_ready:
            raise boom("GetThing")
        self.cloud.call("ready" if opened else "gave up waiting", self.logical)
        return True


class NeedyThing(FakeThing):
    """Needs its slow dependencies usable, not only named."""

    kind = NEEDY
    needs_ready = frozenset({SLOW})


class NamedThing(FakeThing):
    """Its ARN is known from its name (`wrong` makes the prediction miss)."""

    kind = NAMED
    predictable = frozenset({"name", "arn"})
    wrong: ClassVar[bool] = False

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": f"arn:{'other' if cls.wrong else 'fake'}:{physical}"}


class PolicyThing(FakeThing):
    """`ref` only names resources, like a role's policy statements."""

    kind = POLICY
    name_only_fields = frozenset({"ref"})


@pytest.fixture(autouse=True)
def kinds(cloud: FakeCloud) -> Iterator[None]:
    for cls in (SlowThing, NeedyThing, NamedThing, PolicyThing):
        register(cls)
    SlowThing.gates, SlowThing.fail_ready, NamedThing.wrong = {}, set(), False
    try:
        yield
    finally:
        for cls in (SlowThing, NeedyThing, NamedThing, PolicyThing):
            REGISTRY.pop(cls.kind, None)
        for gate in SlowThing.gates.values():
            gate.set()  # nothing left waiting


def opens_gate(of: str) -> Callable[[], None]:
    def hook() -> None:
        SlowThing.gates.setdefault(of, threading.Event()).set()

    return hook


def test_a_dependent_that_needs_only_the_name_goes_on_while_the_resource_becomes_ready(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """`a` becomes usable only after `b`, which references it, is created: a serial engine would
    wait for `a` first and never get there."""
    cloud.hooks[("create", "b")] = opens_gate("a")
    spec = write_spec(
        {"a": {"type": SLOW}, "b": fake(ref="${a.arn}"), "c": {"type": NEEDY, "ref": "${a.arn}"}}
    )
    result = up(spec, store, target)
    log = cloud.log
    assert ("ready", "a") in log and ("gave up waiting", "a") not in log
    assert log.index(("create", "a")) < log.index(("create", "b")) < log.index(("ready", "a"))
    # the dependent that declared it needs `a` usable came after
    assert log.index(("ready", "a")) < log.index(("create", "c"))
    # wait steps are not resources: the counts and outputs are the resources'
    assert result.counts["create"] == 3


def test_up_ends_only_when_every_resource_is_ready(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """Nothing depends on `a`: its wait still finishes before `up` returns (a check that invokes a
    function right after `up` must find it Active)."""
    cloud.hooks[("create", "d")] = opens_gate("a")
    spec = write_spec({"a": {"type": SLOW}, "d": fake(value="solo")})
    up(spec, store, target)
    assert ("ready", "a") in cloud.log
    assert actions(plan_changes(spec, store, target)) == {
        "a": ("keep", "up to date"),
        "d": ("keep", "up to date"),
    }
    # a kept resource is not waited for again
    cloud.log.clear()
    up(spec, store, target)
    assert ("wait_ready", "a") not in cloud.log


def test_waits_do_not_hold_the_workers_that_create(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """With one worker, two resources waiting to be ready still let the third be created."""
    cloud.hooks[("create", "z")] = lambda: [opens_gate(n)() for n in ("a", "b")]
    spec = write_spec({"a": {"type": SLOW}, "b": {"type": SLOW}, "z": fake(ref="${a.id}-${b.id}")})
    up(spec, store, target, workers=1)
    assert {("ready", "a"), ("ready", "b"), ("create", "z")} <= set(cloud.log)


def test_the_runner_runs_waits_in_their_own_pool() -> None:
    """One worker: the wait runs beside the work, which releases it."""
    started, released = threading.Event(), threading.Event()

    def task(name: str) -> None:
        if name == "wait":
            started.set()
            assert released.wait(PATIENCE)
        else:
            assert started.wait(PATIENCE)
            released.set()

    result = run_graph({"wait": set(), "work": set()}, task, workers=1, waits={"wait"})
    assert sorted(result.done) == ["wait", "work"] and not result.failed


def test_a_resource_that_never_becomes_ready_fails_as_itself_and_holds_back_what_needs_it(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    SlowThing.fail_ready.add("a")
    opens_gate("a")()
    spec = write_spec(
        {"a": {"type": SLOW}, "b": fake(ref="${a.arn}"), "c": {"type": NEEDY, "ref": "${a.arn}"}}
    )
    with pytest.raises(ApplyError) as caught:
        up(spec, store, target)
    err = caught.value
    assert list(err.failures) == ["a"] and err.skipped == ["c"] and err.skipped_by == {"a": ["c"]}
    assert "'a' failed while waiting until it is ready: Boom: injected" in str(err)
    assert ("create", "b") in cloud.log and ("create", "c") not in cloud.log
    assert "#" not in str(err)


def test_a_wait_that_failed_is_taken_up_by_the_next_up(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """A function left Pending or Failed is not kept as done: the record says it was not ready,
    the next plan updates it (its wait runs again) and only then is it kept."""
    SlowThing.fail_ready.add("a")
    opens_gate("a")()
    spec = write_spec({"a": {"type": SLOW}})
    with pytest.raises(ApplyError):
        up(spec, store, target)
    rec = store.lab(LAB).resources["a"]  # type: ignore[union-attr]
    assert rec.status == "created" and rec.ready is False
    assert StateStore(store.path, {}).lab(LAB).resources["a"].ready is False  # type: ignore[union-attr]
    change = next(c for c in plan_changes(spec, store, target, check_live=False).changes if c.logical == "a")
    assert (change.action, change.reason) == ("update", "an earlier 'up' stopped before it was ready")

    SlowThing.fail_ready.clear()
    up(spec, store, target)
    assert cloud.log.count(("wait_ready", "a")) == 2
    assert store.lab(LAB).resources["a"].ready is True  # type: ignore[union-attr]
    assert [c.action for c in plan_changes(spec, store, target, check_live=False).changes] == ["keep"]


def test_a_policy_naming_a_predictable_arn_does_not_wait_for_the_resource(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """The policy is created while the thing it names does not exist yet: the thing's create
    waits until the policy's has happened, which a dependency edge would make a deadlock."""
    policy_made = threading.Event()
    cloud.hooks[("create", "policy")] = policy_made.set
    cloud.hooks[("create", "thing")] = lambda: (
        None if policy_made.wait(PATIENCE) else pytest.fail("serialised")
    )
    spec = write_spec(
        {"thing": {"type": NAMED}, "policy": {"type": POLICY, "ref": ["${thing.arn}/*", "${thing.name}"]}}
    )
    assert spec.resources["policy"].depends_on == set() and spec.resources["policy"].predicted == {"thing"}
    up(spec, store, target)
    thing = cloud.of(store, "thing")
    assert cloud.of(store, "policy")["ref"] == [f"{thing['arn']}/*", thing["name"]]
    # the prediction was right: nothing to do the second time
    assert {a for a, _ in actions(plan_changes(spec, store, target)).values()} == {"keep"}
    # the thing deleted outside awslab is recreated under the same name: the policy stays
    del cloud.live[thing["name"]]
    assert actions(plan_changes(spec, store, target)) == {
        "thing": ("create", "missing: deleted outside awslab"),
        "policy": ("keep", "up to date"),
    }


def test_a_reference_to_an_attribute_that_is_not_predictable_stays_a_dependency(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({
        "thing": {"type": NAMED},
        "policy": {"type": POLICY, "ref": "${thing.id}"},
        "other": {"type": POLICY, "ref": "${thing.arn}", "value": "${thing.name}"},
    })  # fmt: skip
    assert spec.resources["policy"].depends_on == {"thing"} and spec.resources["policy"].predicted == set()
    # referenced outside the name-only fields too: a dependency
    assert spec.resources["other"].depends_on == {"thing"}


def test_a_misprediction_is_repaired_in_the_same_up(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """An endpoint that names things its own way: the policy built from the prediction is updated
    with the real ARN before `up` ends, and the next plan has nothing to do."""
    NamedThing.wrong = True
    policy_made = threading.Event()
    cloud.hooks[("create", "policy")] = policy_made.set
    cloud.hooks[("create", "thing")] = lambda: policy_made.wait(PATIENCE) and None
    spec = write_spec({"thing": {"type": NAMED}, "policy": {"type": POLICY, "ref": "${thing.arn}"}})
    up(spec, store, target)
    assert cloud.of(store, "policy")["ref"] == cloud.of(store, "thing")["arn"]
    assert cloud.calls("update") == ["policy"]
    assert {a for a, _ in actions(plan_changes(spec, store, target)).values()} == {"keep"}
    rec = store.lab(LAB).resources["policy"]  # type: ignore[union-attr]
    assert isinstance(rec, Record) and rec.status == "created"
