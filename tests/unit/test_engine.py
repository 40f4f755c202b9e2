"""The engine's plan and apply (plan_changes / apply_plan) against the fake resource kind of
tests/unit/fake_kind.py: no AWS, no moto. Specs are real YAML files read by load_spec; the state is
a real state file."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from awslab.engine.execute import ApplyError, apply_plan
from awslab.engine.plan import Progress, plan_changes
from awslab.resources.base import Record
from awslab.spec import LabSpec
from awslab.state import StateStore
from awslab.target import Target
from tests.unit.fake_kind import (
    CHAIN,
    FAKE,
    LAB,
    RIGID,
    FakeCloud,
    actions,
    boom,
    cloud_fixture,  # noqa: F401 (fixture)
    fake,
    saved,
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    up,
    write_spec_fixture,  # noqa: F401 (fixture)
)


# ---- plan and apply ------------------------------------------------------------------------
def test_plan_creates_everything_dependencies_first_and_changes_nothing(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    plan = plan_changes(write_spec(CHAIN), store, target)
    order = [c.logical for c in plan.changes]
    assert order.index("a") < order.index("b") < order.index("c")
    assert sorted(order) == ["a", "b", "c", "d"]
    assert {c.action for c in plan.changes} == {"create"}
    assert {c.reason for c in plan.changes} == {"new"}
    by = {c.logical: c for c in plan.changes}
    assert by["c"].depends_on == ["b"] and by["a"].depends_on == []
    assert by["a"].physical == f"awslab-{LAB}-a-{plan.stack_id}"
    assert plan.has_changes and plan.counts()["create"] == 4
    assert plan.to_dict()["counts"]["create"] == 4
    assert cloud.log == []
    # a plan is data: all it records is the new lab's stack id, so `up` uses the names shown
    assert saved(store) == {} and json.loads(store.path.read_text())["labs"][LAB]["stack_id"] == plan.stack_id


def test_apply_records_the_intent_before_each_create_and_created_after(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    seen: dict[str, dict[str, Any]] = {}

    def peek(logical: str) -> Callable[[], None]:
        def hook() -> None:  # runs inside the fake create, before it acts
            seen[logical] = json.loads(json.dumps(saved(store)))

        return hook

    for name in CHAIN:
        cloud.hooks[("create", name)] = peek(name)
    spec = write_spec(CHAIN, outputs={"c_id": "${c.id}", "url": "https://x/${a.name}/${d.value}"})
    result = up(spec, store, target)

    stack = store.lab(LAB).stack_id  # type: ignore[union-attr]
    for name in CHAIN:
        mine = seen[name][name]
        assert mine["status"] == "creating"
        assert mine["physical"] == f"awslab-{LAB}-{name}-{stack}"
        assert mine["kind"] == FAKE and mine["attrs"] == {}
    # what a create depends on was recorded as created before it started
    assert seen["b"]["a"]["status"] == "created" and seen["b"]["a"]["attrs"]["id"]
    assert seen["c"]["b"]["status"] == "created"

    final = saved(store)
    assert {n: r["status"] for n, r in final.items()} == dict.fromkeys(CHAIN, "created")
    assert final["c"]["depends_on"] == ["b"]
    assert final["b"]["attrs"]["ref"] == final["a"]["attrs"]["arn"]
    assert final["c"]["attrs"]["ref"] == final["b"]["attrs"]["id"]
    assert all(r["fingerprint"] for r in final.values())
    assert set(final["a"]["inputs"]) == {"value"}
    creates = cloud.calls("create")
    assert creates.index("a") < creates.index("b") < creates.index("c")
    assert result.counts["create"] == 4
    assert result.outputs == {
        "c_id": final["c"]["attrs"]["id"],
        "url": f"https://x/awslab-{LAB}-a-{stack}/solo",
    }
    assert json.loads(store.path.read_text())["labs"][LAB]["outputs"] == result.outputs


def test_a_second_plan_is_all_keep_and_apply_changes_nothing(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec(CHAIN, outputs={"a": "${a.id}"})
    first = up(spec, store, target)
    cloud.log.clear()
    plan = plan_changes(write_spec(CHAIN, outputs={"a": "${a.id}"}), store, target)
    assert {c.action for c in plan.changes} == {"keep"}
    assert {c.reason for c in plan.changes} == {"up to date"}
    assert not plan.has_changes
    result = apply_plan(plan, store, target)
    assert {a for a, _ in cloud.log} == {"read"}  # the plan's live reads, nothing else
    assert result.counts == {"create": 0, "update": 0, "replace": 0, "delete": 0, "keep": 4}
    assert result.outputs == first.outputs


def test_changing_a_field_is_an_update_naming_it(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec(CHAIN), store, target)
    before = saved(store)
    changed = {**CHAIN, "a": fake(value="2")}
    plan = plan_changes(write_spec(changed), store, target)
    got = actions(plan)
    assert got["a"] == ("update", "changed: value")
    assert got["b"][0] == got["c"][0] == got["d"][0] == "keep"
    cloud.log.clear()
    result = apply_plan(plan, store, target)
    assert cloud.calls("update") == ["a"] and cloud.calls("create") == [] and cloud.calls("delete") == []
    assert result.counts["update"] == 1
    after = saved(store)
    assert after["a"]["attrs"]["value"] == "2" and after["a"]["attrs"]["id"] == before["a"]["attrs"]["id"]
    assert after["a"]["fingerprint"] != before["a"]["fingerprint"]
    assert {c.action for c in plan_changes(write_spec(changed), store, target).changes} == {"keep"}


def test_removing_or_adding_a_field_names_it(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"a": fake(value="1")}), store, target)
    assert actions(plan_changes(write_spec({"a": fake()}), store, target))["a"] == (
        "update",
        "changed: value",
    )
    both = {"a": fake(value="1", fixed="x")}
    assert actions(plan_changes(write_spec(both), store, target))["a"] == ("update", "changed: fixed")


def test_a_resource_deleted_behind_awslabs_back_is_recreated(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"a": fake(), "b": fake(ref="${a.id}")})
    up(spec, store, target)
    old_id = cloud.of(store, "a")["id"]
    del cloud.live[saved(store)["a"]["physical"]]

    plan = plan_changes(spec, store, target)
    got = actions(plan)
    assert got["a"][0] == "create" and got["a"][1].startswith("missing")
    assert got["b"] == ("update", "depends on a, which will be recreated")
    apply_plan(plan, store, target)
    new_id = cloud.of(store, "a")["id"]
    assert new_id != old_id
    assert cloud.of(store, "b")["ref"] == new_id
    assert saved(store)["a"]["attrs"]["id"] == new_id
    assert {c.action for c in plan_changes(spec, store, target).changes} == {"keep"}


def test_a_field_change_on_a_kind_that_cannot_update_is_a_replacement(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"r": {"type": RIGID, "value": "1"}}), store, target)
    old = saved(store)["r"]
    cloud.log.clear()
    result = up(write_spec({"r": {"type": RIGID, "value": "2"}}), store, target)
    assert [(a, n) for a, n in cloud.log if a != "read"] == [("delete", "r"), ("create", "r")]
    assert result.counts["replace"] == 1 and result.counts["update"] == 0
    new = saved(store)["r"]
    assert (
        new["status"] == "created"
        and new["attrs"]["value"] == "2"
        and new["attrs"]["id"] != old["attrs"]["id"]
    )
    assert list(cloud.live) == [new["physical"]]


def test_update_not_supported_for_one_field_is_a_replacement(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"a": fake(fixed="x")}), store, target)
    cloud.log.clear()
    result = up(write_spec({"a": fake(fixed="y")}), store, target)
    assert [(a, n) for a, n in cloud.log if a != "read"] == [
        ("update", "a"),
        ("delete", "a"),
        ("create", "a"),
    ]
    assert result.counts["replace"] == 1
    assert saved(store)["a"]["attrs"]["fixed"] == "y"


def test_a_kind_change_replaces_through_the_old_kinds_delete(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"a": fake()}), store, target)
    plan = plan_changes(write_spec({"a": {"type": RIGID}}), store, target)
    assert actions(plan)["a"] == ("replace", f"kind changed from {FAKE}")
    cloud.log.clear()
    apply_plan(plan, store, target)
    assert [(a, n) for a, n in cloud.log if a != "read"] == [("delete", "a"), ("create", "a")]
    assert saved(store)["a"]["kind"] == RIGID


def test_a_resource_removed_from_the_spec_is_deleted_dependents_first(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec(CHAIN), store, target)
    plan = plan_changes(write_spec({"a": CHAIN["a"], "d": CHAIN["d"]}), store, target)
    got = actions(plan)
    assert got["b"] == got["c"] == ("delete", "removed from the spec")
    order = [c.logical for c in plan.changes]
    assert order.index("c") < order.index("b")
    cloud.log.clear()
    result = apply_plan(plan, store, target)
    assert cloud.calls("delete") == ["c", "b"]
    assert result.counts["delete"] == 2
    assert sorted(saved(store)) == ["a", "d"]
    assert len(cloud.live) == 2


def test_an_interrupted_create_is_redone(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"a": fake()})
    lab = store.ensure_lab(LAB, str(spec.path))
    physical = f"awslab-{LAB}-a-{lab.stack_id}"
    store.put_record(LAB, Record(FAKE, "a", physical, "creating"))  # the process died after the intent
    cloud.live[physical] = {"id": "half-made"}
    plan = plan_changes(spec, store, target)
    assert actions(plan)["a"] == ("replace", "an earlier create was interrupted")
    cloud.log.clear()
    apply_plan(plan, store, target)
    assert [(a, n) for a, n in cloud.log if a != "read"] == [("delete", "a"), ("create", "a")]
    assert cloud.live[physical]["id"] != "half-made"
    assert saved(store)["a"]["status"] == "created"


def test_check_live_false_reads_nothing(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec(CHAIN)
    up(spec, store, target)
    cloud.live.clear()  # everything gone, but the plan will not look
    cloud.log.clear()
    plan = plan_changes(spec, store, target, check_live=False)
    assert cloud.log == []
    assert {c.action for c in plan.changes} == {"keep"}


# ---- failures and resuming -----------------------------------------------------------------
def test_a_failure_stops_its_dependents_others_complete_and_a_second_apply_resumes(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec(CHAIN, outputs={"c": "${c.id}"})
    cloud.fail[("create", "b")] = boom()
    events: list[tuple[str, str]] = []

    def progress(p: Progress) -> None:
        events.append((p.logical, p.phase))

    with pytest.raises(ApplyError) as info:
        up(spec, store, target, on_progress=progress)
    err = info.value
    assert set(err.failures) == {"b"}
    assert err.skipped == ["c"]
    assert str(err).splitlines() == [
        f"up of lab '{LAB}' stopped: 1 resource failed, 1 not attempted",
        f"{FAKE} 'b' failed while creating: Boom: injected",
        "  not attempted because of it: c",
    ]
    assert err.hint and f"'awslab up {LAB}' resumes" in err.hint and f"'awslab teardown {LAB}'" in err.hint
    assert ("b", "failed") in events and ("c", "skipped") in events and ("d", "done") in events
    assert "c" not in cloud.calls("create")

    state = saved(store)
    assert {n: r["status"] for n, r in state.items()} == {"a": "created", "b": "creating", "d": "created"}
    assert json.loads(store.path.read_text())["labs"][LAB]["outputs"] == {}

    del cloud.fail[("create", "b")]
    plan = plan_changes(spec, store, target)
    got = actions(plan)
    assert got["a"][0] == got["d"][0] == "keep"
    assert got["b"] == ("replace", "an earlier create was interrupted")
    assert got["c"] == ("create", "new")
    cloud.log.clear()
    result = apply_plan(plan, store, target)
    assert sorted(cloud.calls("create")) == ["b", "c"]
    assert {n: r["status"] for n, r in saved(store).items()} == dict.fromkeys(CHAIN, "created")
    assert result.outputs == {"c": saved(store)["c"]["attrs"]["id"]}
    assert len(cloud.live) == 4


def test_a_failed_delete_of_a_removed_resource_is_reported(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"a": fake(), "b": fake()}), store, target)
    cloud.fail[("delete", "b")] = boom("DeleteThing")
    with pytest.raises(ApplyError, match=f"{FAKE} 'b' failed while deleting: Boom: injected"):
        up(write_spec({"a": fake()}), store, target)
    assert saved(store)["b"]["status"] == "deleting"


def test_independent_resources_are_created_in_parallel(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    barrier = threading.Barrier(2, timeout=10)  # passes only if both creates are inside it at once
    cloud.hooks[("create", "x")] = barrier.wait
    cloud.hooks[("create", "y")] = barrier.wait
    result = up(
        write_spec({"x": fake(), "y": fake(), "z": fake(ref="${x.id}-${y.id}")}), store, target, workers=4
    )
    assert result.counts["create"] == 3
    assert cloud.calls("create")[-1] == "z"


# ---- bugs found by review, fixed -------------------------------------------------------
def test_a_dependent_follows_an_attribute_its_dependency_changed_in_an_update(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"a": fake(value="1"), "b": fake(ref="${a.revision}")}), store, target)
    spec = write_spec({"a": fake(value="2"), "b": fake(ref="${a.revision}")})
    up(spec, store, target)
    assert cloud.of(store, "a")["revision"] == 2
    assert cloud.of(store, "b")["ref"] == 2
    assert {c.action for c in plan_changes(spec, store, target).changes} == {"keep"}


def test_a_dependent_follows_a_replacement_that_was_planned_as_an_update(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"a": {"type": RIGID, "value": "1"}, "b": fake(ref="${a.id}")}), store, target)
    spec = write_spec({"a": {"type": RIGID, "value": "2"}, "b": fake(ref="${a.id}")})
    up(spec, store, target)
    assert cloud.of(store, "b")["ref"] == cloud.of(store, "a")["id"]


def test_the_plan_says_replace_for_a_kind_that_cannot_update(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"r": {"type": RIGID, "value": "1"}}), store, target)
    plan = plan_changes(write_spec({"r": {"type": RIGID, "value": "2"}}), store, target)
    assert actions(plan)["r"][0] == "replace"


def test_after_an_up_the_next_plan_has_no_changes_even_with_drift(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"a": fake(value="1"), "b": fake(ref="${a.value}")})
    up(spec, store, target)
    cloud.of(store, "a")["value"] = "changed by hand"
    first = plan_changes(spec, store, target)
    result = apply_plan(first, store, target)
    changed = sum(n for a, n in result.counts.items() if a != "keep")
    assert changed == sum(1 for c in first.changes if c.action != "keep")  # up did what plan showed
    assert not plan_changes(spec, store, target).has_changes


# ---- a failure is reported as itself (issue 7, item 3) ------------------------------------
def _chain_spec(depth: int) -> dict[str, dict[str, Any]]:
    """root <- n1 <- ... <- n<depth> by references, and an independent 'solo'."""
    resources = {"root": fake(value="r")}
    for i in range(1, depth + 1):
        resources[f"n{i}"] = fake(ref="${root.id}" if i == 1 else f"${{n{i - 1}.id}}")
    resources["solo"] = fake(value="s")
    return resources


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_a_failed_root_names_itself_and_every_level_it_held_back(
    depth: int, cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec(_chain_spec(depth))
    cloud.fail[("create", "root")] = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform: fake:Create"}},
        "CreateThing",
    )
    events: list[tuple[str, str]] = []
    with pytest.raises(ApplyError) as info:
        up(spec, store, target, workers=2, on_progress=lambda p: events.append((p.logical, p.phase)))
    err = info.value
    dependents = [f"n{i}" for i in range(1, depth + 1)]
    assert list(err.failures) == ["root"]
    assert err.skipped == dependents and err.skipped_by == {"root": dependents}
    assert str(err).splitlines() == [
        f"up of lab '{LAB}' stopped: 1 resource failed, {depth} not attempted",
        f"{FAKE} 'root' failed while creating: AccessDeniedException: not authorized to perform: fake:Create",
        f"  not attempted because of it: {', '.join(dependents)}",
    ]
    assert "cycle" not in str(err)
    assert [e for e in events if e[1] == "skipped"] == [(n, "skipped") for n in dependents]
    assert sorted(cloud.calls("create")) == ["root", "solo"]
    assert {n: r["status"] for n, r in saved(store).items()} == {"root": "creating", "solo": "created"}

    del cloud.fail[("create", "root")]  # the cause fixed: up resumes and completes
    result = up(spec, store, target)
    # the root's interrupted create is redone (replace), its dependents created, 'solo' kept
    assert (result.counts["replace"], result.counts["create"], result.counts["keep"]) == (1, depth, 1)


def test_failures_in_several_branches_each_name_what_they_held_back(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    # diamond under 'a' (a <- l, r <- top <- crown), a chain under 'b' that also feeds 'crown',
    # a failure in the middle of a third branch, and an untouched branch
    spec = write_spec({
        "a": fake(), "l": fake(ref="${a.id}"), "r": fake(ref="${a.arn}"), "top": fake(ref="${l.id}-${r.id}"),
        "b": fake(), "b1": fake(ref="${b.id}"), "b2": fake(ref="${b1.id}"),
        "crown": fake(ref="${top.id}-${b2.id}"),
        "c": fake(), "c1": fake(ref="${c.id}"), "c2": fake(ref="${c1.id}"), "c3": fake(ref="${c2.id}"),
        "ok": fake(), "ok1": fake(ref="${ok.id}"),
    })  # fmt: skip
    cloud.fail[("create", "a")] = boom()
    cloud.fail[("create", "b")] = ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "X")
    cloud.fail[("create", "c1")] = ClientError(
        {"Error": {"Code": "LimitExceeded", "Message": "too many"}}, "X"
    )
    with pytest.raises(ApplyError) as info:
        up(spec, store, target, workers=3)
    err = info.value
    assert set(err.failures) == {"a", "b", "c1"}
    assert {k: sorted(v) for k, v in err.skipped_by.items()} == {
        "a": ["crown", "l", "r", "top"],
        "b": ["b1", "b2", "crown"],
        "c1": ["c2", "c3"],
    }
    assert sorted(err.skipped) == ["b1", "b2", "c2", "c3", "crown", "l", "r", "top"]
    text = str(err)
    lines = text.splitlines()
    assert lines[0] == f"up of lab '{LAB}' stopped: 3 resources failed, 8 not attempted"
    for logical, cause in (
        ("a", "Boom: injected"),
        ("b", "Throttling: slow down"),
        ("c1", "LimitExceeded: too many"),
    ):
        head = f"{FAKE} '{logical}' failed while creating: {cause}"
        assert head in lines
        behind = lines[lines.index(head) + 1]
        assert behind.startswith("  not attempted because of it: ")
        assert sorted(behind.split(": ", 1)[1].split(", ")) == sorted(err.skipped_by[logical])
    assert "not attempted (they depend" not in text  # every skip is explained under its failure
    assert sorted(cloud.calls("create")) == ["a", "b", "c", "c1", "ok", "ok1"]


def test_a_failure_that_is_not_an_aws_error_still_names_its_resource(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    cloud.fail[("create", "a")] = OSError(28, "No space left on device")
    with pytest.raises(ApplyError) as info:
        up(write_spec({"a": fake(), "b": fake(ref="${a.id}"), "c": fake(ref="${b.id}")}), store, target)
    assert str(info.value).splitlines()[1:] == [
        f"{FAKE} 'a' failed while creating: OSError: [Errno 28] No space left on device",
        "  not attempted because of it: b, c",
    ]
