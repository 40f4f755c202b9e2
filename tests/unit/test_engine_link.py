"""A kind's finishing work that needs other resources to exist (an API's invoke permissions on its
functions) is a step of its own, `link`, after them; the rest of its finishing (`wait_ready`: the
API's methods) starts as soon as its create is done (issue 9, "How"). Fake kinds: a thing whose
ARN is known from its name, and one that uses such things by their bare names."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from awslab.cli.live import LiveView, Row
from awslab.engine.execute import LINK, READY, ApplyError, _graph
from awslab.engine.plan import plan_changes
from awslab.engine.progress import Progress
from awslab.resources.base import REGISTRY, Context, Props, Record, Resource, register
from awslab.resources.report import report
from awslab.spec import LabSpec
from awslab.state import StateStore
from awslab.target import Target
from tests.unit.fake_kind import (
    LAB,
    FakeCloud,
    FakeThing,
    boom,
    cloud_fixture,  # noqa: F401 (fixture)
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    up,
    write_spec_fixture,  # noqa: F401 (fixture)
)

NAMED, USER = "test.named_fn", "test.user_api"
PATIENCE = 10.0  # how long a hook waits before the test calls it serialised


class NamedFn(FakeThing):
    """Its ARN is known from its name (a Lambda function)."""

    kind = NAMED
    predictable = frozenset({"name", "arn"})

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": f"arn:fake:{physical}"}


class UserProps(Props):
    uses: list[str] = []  # bare logical names, as an API's route targets


class UserApi(Resource[UserProps]):
    """Built in three steps, as a REST API: create (its id), wait_ready (its methods, which name
    the things by ARN) and link (a permission on each thing, which must exist)."""

    kind = USER
    attributes = ("name", "arn", "id")
    cloud: ClassVar[FakeCloud]

    @classmethod
    def dependencies(cls, props: UserProps) -> set[str]:
        return set(props.uses)

    @classmethod
    def link_dependencies(cls, props: UserProps) -> set[str]:
        return set(props.uses)

    def _arns(self) -> list[str]:
        return [str(self.ctx.attrs_of(u)["arn"]) for u in self.props.uses]

    def create(self) -> dict[str, Any]:
        self.cloud.call("create", self.logical)
        attrs = {"name": self.physical, "arn": f"arn:fake:{self.physical}", "id": self.cloud.new_id()}
        self.cloud.live[self.physical] = {**attrs, "methods": [], "linked": []}
        return attrs

    def update(self, record: Record) -> dict[str, Any]:
        self.cloud.call("update", self.logical)
        return dict(record.attrs)

    def wait_ready(self) -> bool:
        self.cloud.call("wait_ready", self.logical)
        self.cloud.live[self.physical]["methods"] = self._arns()
        return True

    def link(self) -> bool:
        self.cloud.call("link", self.logical)
        missing = [a for a in self._arns() if a.removeprefix("arn:fake:") not in self.cloud.live]
        assert not missing, f"linked before {missing} existed"
        self.cloud.live[self.physical]["linked"] = self._arns()
        return True

    def ready_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {**attrs, "linked": self._arns()}  # as an API records the permissions its link added

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        live = cls.cloud.live.get(record.physical)
        return {k: live[k] for k in cls.attributes} if live else None

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        cls.cloud.live.pop(record.physical, None)


@pytest.fixture(autouse=True)
def kinds(cloud: FakeCloud) -> Iterator[None]:
    UserApi.cloud = cloud
    for cls in (NamedFn, UserApi):
        register(cls)
    try:
        yield
    finally:
        for cls in (NamedFn, UserApi):
            REGISTRY.pop(cls.kind, None)


def lab(write_spec: Callable[..., LabSpec]) -> LabSpec:
    return write_spec({"fn": {"type": NAMED}, "api": {"type": USER, "uses": ["fn"]}})


def test_the_graph_holds_back_only_the_link_step(
    store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    forward, waits = _graph(plan_changes(lab(write_spec), store, target, check_live=False))
    assert forward["api"] == set() and forward["api" + READY] == {"api"}
    assert forward["api" + LINK] == {"api", "fn"}
    assert {"api" + READY, "api" + LINK} <= waits


def test_the_build_starts_before_what_only_the_link_needs_is_made(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """`fn`'s create goes on only once `api`'s methods are being made: an engine that holds the
    whole finishing back for the function would never get there."""
    built = threading.Event()
    cloud.hooks[("wait_ready", "api")] = built.set

    def create_fn() -> None:
        assert built.wait(PATIENCE), "serialised: the API's build waited for the function"
        cloud.log.append(("created", "fn"))

    cloud.hooks[("create", "fn")] = create_fn
    progress: list[tuple[str, str, str, set[tuple[str, str]]]] = []
    spec = lab(write_spec)
    up(
        spec,
        store,
        target,
        on_progress=lambda p: progress.append((p.logical, p.action, p.phase, set(cloud.log))),
    )
    log = cloud.log
    assert log.index(("wait_ready", "api")) < log.index(("created", "fn")) < log.index(("link", "api"))
    api = cloud.live[store.lab(LAB).resources["api"].physical]  # type: ignore[union-attr]
    fn = cloud.of(store, "fn")
    assert api["methods"] == api["linked"] == [fn["arn"]]
    # one row's worth of progress: "ready" is done once, after both steps
    done = [
        seen
        for logical, action, phase, seen in progress
        if (logical, action, phase) == ("api", "ready", "done")
    ]
    assert len(done) == 1 and {("wait_ready", "api"), ("link", "api")} <= done[0]
    assert store.lab(LAB).resources["api"].ready is True  # type: ignore[union-attr]
    assert {c.action for c in plan_changes(spec, store, target).changes} == {"keep"}


@pytest.mark.parametrize(
    ("step", "doing"), [("link", "connecting it to fn"), ("wait_ready", "waiting until it is ready")]
)
def test_a_failed_step_leaves_the_resource_not_ready_and_the_next_up_redoes_it(
    step: str,
    doing: str,
    cloud: FakeCloud,
    store: StateStore,
    target: Target,
    write_spec: Callable[..., LabSpec],
) -> None:
    """Either step failing (the other succeeding) keeps the record "not ready": the next `up`
    updates the API and runs both steps again."""
    cloud.fail[(step, "api")] = boom("AddPermission")
    spec = lab(write_spec)
    with pytest.raises(ApplyError) as caught:
        up(spec, store, target)
    assert list(caught.value.failures) == ["api"]
    assert f"'api' failed while {doing}: Boom: injected" in str(caught.value)
    assert "#" not in str(caught.value)
    assert {("wait_ready", "api"), ("link", "api")} <= set(cloud.log)  # the other step ran
    assert store.lab(LAB).resources["api"].ready is False  # type: ignore[union-attr]
    assert StateStore(store.path, {}).lab(LAB).resources["api"].ready is False  # type: ignore[union-attr]
    change = next(c for c in plan_changes(spec, store, target).changes if c.logical == "api")
    assert (change.action, change.reason) == ("update", "an earlier 'up' stopped before it was ready")

    del cloud.fail[(step, "api")]
    cloud.log.clear()
    up(spec, store, target)
    assert [a for a, n in cloud.log if n == "api"] in (
        ["update", "wait_ready", "link"],
        ["update", "link", "wait_ready"],
    )
    assert store.lab(LAB).resources["api"].ready is True  # type: ignore[union-attr]
    assert {c.action for c in plan_changes(spec, store, target).changes} == {"keep"}


def test_a_link_held_back_by_a_failed_dependency_leaves_the_resource_not_ready(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    cloud.fail[("create", "fn")] = boom()
    progress: list[Progress] = []
    spec = lab(write_spec)
    with pytest.raises(ApplyError) as caught:
        up(spec, store, target, on_progress=progress.append)
    assert list(caught.value.failures) == ["fn"]
    assert ("wait_ready", "api") in cloud.log and ("link", "api") not in cloud.log
    assert store.lab(LAB).resources["api"].ready is False  # type: ignore[union-attr]
    ready = [(p.phase, p.detail) for p in progress if (p.logical, p.action) == ("api", "ready")]
    assert ("skipped", "not connected: a dependency failed") in ready
    assert "done" not in {phase for phase, _ in ready}


def _ready_events(progress: list[Progress]) -> list[tuple[str, str]]:
    return [(p.phase, p.detail) for p in progress if (p.logical, p.action) == ("api", "ready")]


def test_the_ready_step_reports_once_and_nothing_after_a_skipped_link(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """The API's wait_ready still going when its link is skipped (its function failed) reports
    nothing more: the row says why it is not ready, once."""
    cloud.fail[("create", "fn")] = boom()
    progress: list[Progress] = []
    link_skipped = threading.Event()

    def notify(p: Progress) -> None:
        progress.append(p)
        if (p.logical, p.action, p.phase) == ("api", "ready", "skipped"):
            link_skipped.set()

    def still_waiting() -> None:
        assert link_skipped.wait(PATIENCE)
        report("waiting", "function Pending")

    cloud.hooks[("wait_ready", "api")] = still_waiting
    with pytest.raises(ApplyError):
        up(lab(write_spec), store, target, on_progress=notify)
    skipped = ("skipped", "not connected: a dependency failed")
    # its "waiting" comes first, or not at all when the skip came before its wait_ready started
    assert _ready_events(progress) in ([("waiting", ""), skipped], [skipped])


def test_both_steps_failing_report_one_failure_and_nothing_after(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    progress: list[Progress] = []
    wait_failed = threading.Event()

    def notify(p: Progress) -> None:
        progress.append(p)
        if (p.logical, p.action, p.phase) == ("api", "ready", "failed"):
            wait_failed.set()

    def link_after_the_failure() -> None:
        assert wait_failed.wait(PATIENCE)
        report("retrying", "function Pending")

    cloud.fail[("wait_ready", "api")] = boom("PutMethod")
    cloud.fail[("link", "api")] = boom("AddPermission")
    cloud.hooks[("link", "api")] = link_after_the_failure
    with pytest.raises(ApplyError) as caught:
        up(lab(write_spec), store, target, on_progress=notify)
    assert list(caught.value.failures) == ["api"]
    assert [phase for phase, _ in _ready_events(progress)] == ["waiting", "failed"]
    assert "waiting until it is ready" in str(caught.value)


def test_a_failure_after_a_skipped_link_is_what_the_row_shows(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """Its link skipped, then its wait_ready failing: the row ends failed, as the error says."""
    cloud.fail[("create", "fn")] = boom()
    cloud.fail[("wait_ready", "api")] = boom("PutMethod")
    progress: list[Progress] = []
    link_skipped = threading.Event()

    def notify(p: Progress) -> None:
        progress.append(p)
        if (p.logical, p.action, p.phase) == ("api", "ready", "skipped"):
            link_skipped.set()

    cloud.hooks[("wait_ready", "api")] = lambda: assert_waited(link_skipped)
    view = LiveView(
        "up", {n: Row(n, k, "create", ready_step=k == USER) for n, k in (("fn", NAMED), ("api", USER))}
    )
    with pytest.raises(ApplyError) as caught:
        up(lab(write_spec), store, target, on_progress=lambda p: (notify(p), view(p)))
    assert set(caught.value.failures) == {"fn", "api"}
    assert [phase for phase, _ in _ready_events(progress)] in (
        ["waiting", "skipped", "failed"],
        ["skipped", "failed"],  # the skip came before its wait_ready started
    )
    assert view.rows["api"].state == "failed"


def assert_waited(event: threading.Event) -> None:
    assert event.wait(PATIENCE)


def test_the_link_uses_what_was_made_when_a_prediction_was_wrong(
    cloud: FakeCloud,
    store: StateStore,
    target: Target,
    write_spec: Callable[..., LabSpec],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An endpoint that names things its own way: the API is built on the predicted ARN, its link
    (once the thing is made) on the real one, and the repair brings the rest in line."""
    monkeypatch.setattr(
        NamedFn,
        "predict",
        classmethod(lambda cls, t, physical: {"name": physical, "arn": f"arn:fake:{physical}-elsewhere"}),
    )
    spec = lab(write_spec)
    up(spec, store, target)
    api = cloud.live[store.lab(LAB).resources["api"].physical]  # type: ignore[union-attr]
    assert api["linked"] == api["methods"] == [cloud.of(store, "fn")["arn"]]
    record = store.lab(LAB).resources["api"]  # type: ignore[union-attr]
    assert record.ready is True and record.attrs["linked"] == api["linked"]
