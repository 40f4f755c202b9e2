"""Teardown (teardown_lab) and status (lab_status) against the fake resource kind of
tests/unit/fake_kind.py: no AWS, no moto."""

from __future__ import annotations

import json
from collections.abc import Callable

from awslab.engine.status import lab_status
from awslab.engine.teardown import teardown_lab
from awslab.resources.base import Record
from awslab.spec import LabSpec
from awslab.state import StateStore
from awslab.target import Target
from tests.unit.fake_kind import (
    CHAIN,
    FAKE,
    LAB,
    FakeCloud,
    boom,
    cloud_fixture,  # noqa: F401 (fixture)
    fake,
    saved,
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    up,
    write_spec_fixture,  # noqa: F401 (fixture)
)


# ---- teardown ----------------------------------------------------------------------------
def test_teardown_deletes_dependents_first_carries_on_and_resumes(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec(CHAIN)
    up(spec, store, target)
    spec.path.unlink()  # teardown works from the state alone
    cloud.fail[("delete", "b")] = boom("DeleteThing")
    cloud.log.clear()
    events: list[tuple[str, str]] = []
    result = teardown_lab(LAB, store, target, on_progress=lambda p: events.append((p.logical, p.phase)))

    deletes = cloud.calls("delete")
    assert deletes.index("c") < deletes.index("b") < deletes.index("a")  # a still goes, after b failed
    assert sorted(result.deleted) == ["a", "c", "d"]
    assert list(result.failed) == ["b"]
    assert result.failed["b"] == f"While deleting {FAKE} 'b': Boom: injected"
    assert not result.ok
    assert ("b", "failed") in events and ("a", "done") in events
    state = saved(store)
    assert list(state) == ["b"] and state["b"]["status"] == "deleting"
    assert [v["name"] for v in cloud.live.values()] == [state["b"]["physical"]]

    del cloud.fail[("delete", "b")]
    again = teardown_lab(LAB, store, target)
    assert again.ok and again.deleted == ["b"]
    assert store.lab(LAB) is None
    assert json.loads(store.path.read_text())["labs"] == {}
    assert cloud.live == {}


def test_teardown_of_a_lab_not_deployed_does_nothing(
    cloud: FakeCloud, store: StateStore, target: Target
) -> None:
    result = teardown_lab("nothing-here", store, target)
    assert result.ok and result.deleted == [] and cloud.log == []


def test_teardown_deletes_an_interrupted_create(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    store.ensure_lab(LAB, "")
    store.put_record(LAB, Record(FAKE, "a", "awslab-lab-a-zzz", "creating"))
    cloud.live["awslab-lab-a-zzz"] = {"id": "half-made"}
    assert teardown_lab(LAB, store, target).deleted == ["a"]
    assert cloud.live == {} and store.lab(LAB) is None


# ---- status ------------------------------------------------------------------------------
def test_status_reports_present_missing_changed_incomplete_unknown(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({n: fake(value=n) for n in ("ok", "gone", "drifted", "unreadable")}), store, target)
    state = saved(store)
    del cloud.live[state["gone"]["physical"]]
    cloud.live[state["drifted"]["physical"]]["value"] = "changed by hand"
    cloud.live[state["ok"]["physical"]]["not-a-drift-key"] = "ignored"
    cloud.fail[("read", "unreadable")] = boom("DescribeThing")
    store.put_record(LAB, Record(FAKE, "half", "awslab-lab-half-x", "creating"))

    rows = {r.logical: r for r in lab_status(LAB, store.lab(LAB), target)}  # type: ignore[arg-type]
    assert {n: r.health for n, r in rows.items()} == {
        "ok": "present", "gone": "missing", "drifted": "changed", "unreadable": "unknown", "half": "incomplete",
    }  # fmt: skip
    assert rows["drifted"].detail == "changed outside awslab: value; 'up' restores the spec"
    assert rows["unreadable"].detail == "Boom: injected"
    assert "creating was interrupted" in rows["half"].detail
    assert rows["gone"].to_dict()["status"] == "missing"
    assert rows["ok"].physical == state["ok"]["physical"] and rows["ok"].kind == FAKE
    assert "read" not in [a for a, n in cloud.log if n == "half"]
