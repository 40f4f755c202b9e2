"""Drift (settings changed outside awslab) through plan, status and up, and the stack id a plan
records, on the fake resource kind of tests/unit/fake_kind.py (issue 7, item 10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from awslab.engine.execute import apply_plan
from awslab.engine.plan import UNRECORDED, plan_changes
from awslab.engine.status import lab_status
from awslab.engine.teardown import teardown_lab
from awslab.errors import LockError
from awslab.resources.base import Drift, Record
from awslab.spec import LabSpec
from awslab.state import StateStore
from awslab.target import Target
from tests.unit.fake_kind import (
    FAKE,
    LAB,
    RIGID,
    FakeCloud,
    FakeThing,
    actions,
    cloud_fixture,  # noqa: F401 (fixture)
    fake,
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    up,
    write_spec_fixture,  # noqa: F401 (fixture)
)


# ---- drift -----------------------------------------------------------------------------------
def test_drift_is_planned_as_an_update_naming_the_fields_and_up_repairs_it(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"a": fake(value="1"), "b": fake(value="2")})
    up(spec, store, target)
    cloud.of(store, "a")["value"] = "changed by hand"

    rows = {r.logical: r for r in lab_status(LAB, store.lab(LAB), target)}  # type: ignore[arg-type]
    assert (rows["a"].health, rows["b"].health) == ("changed", "present")
    assert rows["a"].detail == "changed outside awslab: value; 'up' restores the spec"

    plan = plan_changes(spec, store, target)
    assert actions(plan) == {"a": ("update", "drift: value"), "b": ("keep", "up to date")}
    assert plan.to_dict()["changes"][0]["drift"] == ["value"]

    cloud.log.clear()
    result = apply_plan(plan, store, target)
    # the spec did not change (same fingerprint), yet the resource is updated back to it
    assert cloud.calls("update") == ["a"] and result.counts["update"] == 1
    assert cloud.of(store, "a")["value"] == "1"
    assert {c.action for c in plan_changes(spec, store, target).changes} == {"keep"}
    assert {r.health for r in lab_status(LAB, store.lab(LAB), target)} == {"present"}  # type: ignore[arg-type]


def test_drift_and_a_spec_change_are_both_named(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"a": fake(value="1", fixed="x")}), store, target)
    cloud.of(store, "a")["value"] = "by hand"
    plan = plan_changes(write_spec({"a": fake(value="1", fixed="y")}), store, target)
    assert actions(plan)["a"] == ("update", "changed: fixed; drift: value")


def test_drift_of_a_kind_that_cannot_update_replaces_it(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"r": {"type": RIGID, "value": "1"}})
    up(spec, store, target)
    cloud.of(store, "r")["value"] = "by hand"
    plan = plan_changes(spec, store, target)
    assert actions(plan)["r"] == ("replace", "drift: value (this kind is replaced to change it)")
    apply_plan(plan, store, target)
    assert cloud.of(store, "r")["value"] == "1"
    assert cloud.calls("delete") == ["r"]


def test_a_plan_without_live_reads_sees_no_drift(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"a": fake(value="1")})
    up(spec, store, target)
    cloud.of(store, "a")["value"] = "by hand"
    assert actions(plan_changes(spec, store, target, check_live=False))["a"] == ("keep", "up to date")


def test_a_record_without_a_drift_key_is_not_compared_on_it() -> None:
    """State written before a key was recorded: no false drift; the next update records it."""
    rec = Record(FAKE, "a", "p", "created", {"name": "p"})
    assert FakeThing.drift(rec, {"name": "p", "value": "anything"}) == []
    rec.attrs["value"] = "1"
    assert [d.key for d in FakeThing.drift(rec, {"name": "p", "value": "2"})] == ["value"]


def test_state_of_an_older_awslab_gets_its_settings_recorded_by_the_next_up(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    """Its records lack the drift keys: nothing can be compared, so `up` applies the spec once
    (undoing whatever was changed outside) and records them; then drift is seen as usual."""
    spec = write_spec({"a": fake(value="1")})
    up(spec, store, target)
    rec = store.labs[LAB].resources["a"]
    del rec.attrs["value"]
    store.put_record(LAB, rec)
    cloud.of(store, "a")["value"] = "by hand"

    assert {r.health for r in lab_status(LAB, store.lab(LAB), target)} == {"present"}  # type: ignore[arg-type]
    plan = plan_changes(spec, store, target)
    assert actions(plan)["a"] == ("update", f"drift: {UNRECORDED}")
    apply_plan(plan, store, target)
    assert cloud.of(store, "a")["value"] == "1" and store.labs[LAB].resources["a"].attrs["value"] == "1"
    assert actions(plan_changes(spec, store, target))["a"] == ("keep", "up to date")


@pytest.mark.parametrize(
    ("drift", "text"),
    [
        (Drift("memory", "memory", 128, 512, shown=True), "memory 128 -> 512"),
        (Drift("code_sha256", "code", "abc=", "def="), "code"),
        (Drift("ttl", "ttl", "expires", None, shown=True), "ttl expires -> none"),
        (Drift("enabled", "enabled", True, False, shown=True), "enabled true -> false"),
        # an environment names the variables that differ (added, removed, changed), not their values
        (
            Drift("environment", "environment", {"A": "1", "B": "2"}, {"B": "3", "C": "4"}),
            "environment (A, B, C)",
        ),
    ],
)
def test_drift_text(drift: Drift, text: str) -> None:
    assert str(drift) == text


# ---- the stack id a plan records ----------------------------------------------------------------
def test_the_first_plan_records_the_stack_id_that_up_then_uses(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"a": fake(value="1"), "b": fake(ref="${a.id}")})
    shown = {c.logical: c.physical for c in plan_changes(spec, store, target).changes}

    later = StateStore(store.path, store.target_info)  # `awslab up`, another process
    with later.locked():
        result = apply_plan(plan_changes(spec, later, target), later, target)
    assert result.counts["create"] == 2
    assert {n: r.physical for n, r in later.labs[LAB].resources.items()} == shown
    assert set(cloud.live) == set(shown.values())


def test_plan_under_the_lock_records_it_too_and_teardown_forgets_it(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"a": fake(value="1")})
    with store.locked():  # as `up` calls it: no second lock taken
        first = plan_changes(spec, store, target)
    assert json.loads(store.path.read_text())["labs"][LAB]["stack_id"] == first.stack_id
    assert plan_changes(spec, store, target).stack_id == first.stack_id
    with store.locked():
        apply_plan(first, store, target)
        assert teardown_lab(LAB, store, target).ok
    # deployed again after a teardown: fresh names (a deleted name may stay taken for a while)
    assert plan_changes(spec, store, target).stack_id != first.stack_id


def test_each_state_file_chooses_its_own_stack_id(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec], tmp_path: Path
) -> None:
    spec = write_spec({"a": fake(value="1")})
    other = StateStore(tmp_path / "other.json", store.target_info)
    assert plan_changes(spec, store, target).stack_id != plan_changes(spec, other, target).stack_id


def test_a_new_labs_plan_waits_for_the_state_lock(
    cloud: FakeCloud,
    store: StateStore,
    target: Target,
    write_spec: Callable[..., LabSpec],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It records the stack id, so another command changing the state holds it off (as
    `terraform plan` takes the state lock); a lab already recorded is planned without it."""
    spec = write_spec({"a": fake(value="1")})
    monkeypatch.setattr(StateStore.locked.__wrapped__, "__defaults__", (0.1,))  # wait 0.1 s, not 5
    busy = StateStore(store.path, store.target_info)
    with busy.locked():
        with pytest.raises(LockError, match="another awslab command"):
            plan_changes(spec, store, target)
        busy.ensure_lab(LAB, str(spec.path))
        stack_id = busy.labs[LAB].stack_id
    with busy.locked():
        assert plan_changes(spec, StateStore(store.path, store.target_info), target).stack_id == stack_id
