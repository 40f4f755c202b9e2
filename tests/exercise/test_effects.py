"""Finding what a consumer wrote: polling the lab's tables for items carrying an id."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from awslab.errors import ExerciseError
from awslab.exercise.effects import ids_of_body, plain, scan_table, snapshot, wait_for_effects
from awslab.target import Target

from .conftest import background, make_table, put_item


def test_item_written_later_by_another_thread_is_found(target: Target) -> None:
    table = make_table(target)
    tables = {"items": table.physical}
    put_item(target, table.physical, {"id": "old", "message_id": "m-0"})
    polls: list[float] = []
    written = threading.Event()

    def consumer(stop: threading.Event) -> None:
        # write once the waiter has looked at least twice, so the item really appears late
        while len(polls) < 2 and not stop.is_set():
            stop.wait(0.01)
        put_item(target, table.physical, {"id": "o-1", "message_id": "m-1", "n": Decimal("2")})
        written.set()

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        written.wait(seconds)

    with background(consumer):
        effects = wait_for_effects(target, tables, [["m-1"]], timeout=10, sleep=sleep)
    assert effects.complete
    assert len(polls) >= 2
    assert [f.item for f in effects.found] == [{"id": "o-1", "message_id": "m-1", "n": 2}]
    assert effects.found[0].matched_on == "message_id" and effects.found[0].table == "items"
    assert effects.by_table() == {"items": [{"id": "o-1", "message_id": "m-1", "n": 2}]}


def test_timeout_gives_an_incomplete_result(target: Target) -> None:
    table = make_table(target)
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    effects = wait_for_effects(
        target, {"items": table.physical}, [["never"]], timeout=3, sleep=sleep, clock=lambda: now[0]
    )
    assert not effects.complete and effects.found == []
    assert effects.waited_ms == 3000
    assert sum(waits) == pytest.approx(3.0)  # bounded: never past the timeout
    assert max(waits) <= 1.0  # backoff capped


def test_every_group_needs_its_items(target: Target) -> None:
    table = make_table(target)
    put_item(target, table.physical, {"id": "a", "sqs": "m-1"})
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    effects = wait_for_effects(
        target, {"items": table.physical}, [["m-1"], ["m-2"]], timeout=1, sleep=sleep, clock=lambda: now[0]
    )
    assert not effects.complete and len(effects.found) == 1
    put_item(target, table.physical, {"id": "m-2"})
    effects = wait_for_effects(target, {"items": table.physical}, [["m-1"], ["m-2"]], timeout=1)
    assert effects.complete and {f.matched_id for f in effects.found} == {"m-1", "m-2"}
    assert [f.item["id"] for f in effects.for_ids(["m-2"])] == ["m-2"]


def test_min_items_and_baseline(target: Target) -> None:
    t1, t2 = make_table(target, "orders"), make_table(target, "notes")
    tables = {"orders": t1.physical, "notes": t2.physical}
    put_item(target, t1.physical, {"id": "o-1", "v": 1})
    baseline = snapshot(target, tables)
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    # the row was there before and has not changed: not an effect
    effects = wait_for_effects(
        target, tables, [["o-1"]], timeout=0.5, baseline=baseline, sleep=sleep, clock=lambda: now[0]
    )
    assert effects.found == []
    put_item(target, t1.physical, {"id": "o-1", "v": 2})  # rewritten: an effect
    put_item(target, t2.physical, {"id": "n-1", "order_id": "o-1"})
    effects = wait_for_effects(target, tables, [["o-1"]], timeout=1, min_items=2, baseline=baseline)
    assert effects.complete
    assert sorted((f.table, f.matched_on) for f in effects.found) == [("notes", "order_id"), ("orders", "id")]


def test_no_tables_returns_at_once(target: Target) -> None:
    effects = wait_for_effects(target, {}, [["x"]], timeout=100)
    assert effects.found == [] and not effects.complete and effects.tables == []


def test_only_top_level_string_attributes_match(target: Target) -> None:
    table = make_table(target)
    put_item(target, table.physical, {"id": "x", "body": {"id": "deep"}, "n": Decimal("5")})
    effects = wait_for_effects(target, {"t": table.physical}, [["deep", "5"]], timeout=0)
    assert effects.found == []


def test_a_missing_table_is_an_exercise_error(target: Target) -> None:
    with pytest.raises(ExerciseError, match="does not exist any more"):
        scan_table(target, "awslab-gone-abc123")


def test_plain_values_and_body_ids() -> None:
    from boto3.dynamodb.types import Binary

    assert plain(
        {"a": Decimal("1"), "b": Decimal("1.5"), "s": {"y", "x"}, "bin": Binary(b"hi"), "l": [Decimal("2")]}
    ) == {"a": 1, "b": 1.5, "s": ["x", "y"], "bin": "aGk=", "l": [2]}
    assert ids_of_body('{"id": "o-1", "item": "book"}') == ["o-1"]
    assert ids_of_body({"id": 7}) == ["7"]
    assert ids_of_body("hi") == [] and ids_of_body('{"id": ""}') == [] and ids_of_body("[1]") == []
