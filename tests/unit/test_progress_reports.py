"""What a resource's calls report while they wait for AWS or retry, and how the engine hands it on
as Progress of the step that made the call (issue 11, item 8). Against the fake kind: no AWS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from awslab.engine.progress import NO_WAIT, Progress
from awslab.engine.teardown import teardown_lab
from awslab.render import progress_line
from awslab.resources.fanout import together
from awslab.resources.report import observe, reporting_to
from awslab.resources.retry import poll_until, retry_propagation
from awslab.spec import LabSpec
from awslab.state import StateStore
from awslab.target import Target
from tests.unit.fake_kind import (
    LAB,
    FakeCloud,
    cloud_fixture,  # noqa: F401 (fixture)
    fake,
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    up,
    write_spec_fixture,  # noqa: F401 (fixture)
)

NOT_ASSUMABLE = {
    "Error": {
        "Code": "InvalidParameterValueException",
        "Message": "The role defined for the function cannot be assumed by Lambda.",
    }
}


def flaky(times: int) -> Callable[[], str]:
    """Fails with "role cannot be assumed" `times` times, then succeeds."""
    left = [times]

    def call() -> str:
        if left[0]:
            left[0] -= 1
            raise ClientError(NOT_ASSUMABLE, "CreateFunction")
        return "made"

    return call


def no_sleep(_seconds: float) -> None:
    pass


def test_a_retry_reports_why_which_attempt_when_and_the_error() -> None:
    reports: list[tuple[str, str]] = []
    with reporting_to(lambda phase, detail: reports.append((phase, detail))):
        assert retry_propagation(flaky(2), sleep=no_sleep) == "made"
    assert [phase for phase, _ in reports] == ["retrying", "retrying"]
    first, second = (detail for _, detail in reports)
    assert first.startswith("role propagating, retry 2 in ") and first.endswith(
        " s: InvalidParameterValueException"
    )
    assert second.startswith("role propagating, retry 3 in ")


def test_a_poll_reports_what_it_waits_for_and_what_aws_said() -> None:
    answers = iter([False, False, True])
    reports: list[tuple[str, str]] = []

    def ready() -> bool:
        observe("Pending")
        return next(answers)

    with reporting_to(lambda phase, detail: reports.append((phase, detail))):
        poll_until(ready, "function f", sleep=no_sleep)
    assert [p for p, _ in reports] == ["waiting", "waiting"]
    assert reports[0][1].startswith("function f: Pending (check 1, next in ")
    assert reports[1][1].startswith("function f: Pending (check 2, next in ")


def test_without_a_reporter_reports_go_nowhere() -> None:
    assert retry_propagation(flaky(1), sleep=no_sleep) == "made"


def test_the_engine_reports_a_steps_retries_as_its_progress_even_from_calls_made_together(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    spec = write_spec({"fn": fake(value="1"), "other": fake(value="2")})
    # the retried call runs in another thread (together), as a function's create does
    cloud.hooks[("create", "fn")] = lambda: together(
        lambda: None, lambda: retry_propagation(flaky(2), sleep=no_sleep)
    )
    events: list[Progress] = []
    up(spec, store, target, on_progress=events.append)
    retrying = [(p.logical, p.action) for p in events if p.phase == "retrying"]
    assert retrying == [("fn", "create"), ("fn", "create")]
    detail = next(p.detail for p in events if p.phase == "retrying")
    assert "role propagating" in detail and "InvalidParameterValueException" in detail
    assert not any(p.logical == "other" and p.phase == "retrying" for p in events)


def test_teardown_reports_a_deletes_waits(
    cloud: FakeCloud, store: StateStore, target: Target, write_spec: Callable[..., LabSpec]
) -> None:
    up(write_spec({"table": fake(value="1")}), store, target)
    answers = iter([False, True])
    cloud.hooks[("delete", "table")] = lambda: poll_until(
        lambda: next(answers), "deletion of table t", sleep=no_sleep
    )
    events: list[Progress] = []
    result = teardown_lab(LAB, store, target, on_progress=events.append)
    assert result.ok
    waiting = [p for p in events if p.phase == "waiting"]
    assert [(p.logical, p.action) for p in waiting] == [("table", "delete")]
    assert waiting[0].detail.startswith("deletion of table t (check 1, next in ")


def test_plain_lines_stay_as_they_were_waits_and_retries_show_only_live() -> None:
    def line(**kw: Any) -> str | None:
        return progress_line(
            Progress(**{"logical": "fn", "kind": "lambda.function", "action": "create", **kw})
        )

    assert line(phase="retrying", detail="role propagating") is None
    assert line(phase="waiting", detail="function f: Pending") is None
    assert line(phase="done", action="ready", detail=NO_WAIT) is None  # nothing was waited for
    assert line(phase="done", action="ready", seconds=1.25) == (
        "[green]✓[/] ready lambda.function [bold]fn[/] [dim](1.2s)[/]"
    )
    assert line(phase="done", seconds=0.5) == "[green]✓[/] created lambda.function [bold]fn[/] [dim](0.5s)[/]"
