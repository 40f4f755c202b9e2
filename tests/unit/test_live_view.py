"""The live per-resource view of `up` and `teardown` (issue 11, item 8): rendered from a scripted
sequence of engine events into a recording console, with an injected clock; NO_COLOR; and the
choice between the live view and plain lines."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from awslab.cli.live import LiveView, Row, plan_view, showing, teardown_view, wants_live
from awslab.engine.progress import NO_WAIT, Progress
from awslab.resources.base import Record

COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7]|38;[0-9;]+)m")  # an SGR sequence setting a colour


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def scripted_view(clock: Clock) -> LiveView:
    rows = {
        "role": Row("role", "iam.role", "create"),
        "fn": Row("fn", "lambda.function", "create", frozenset({"role"}), ready_step=True),
        "api": Row("api", "apigateway.rest_api", "create", frozenset({"fn"})),
        "site": Row("site", "s3.bucket", "create"),
    }
    return LiveView("up lab 'crud'", rows, clock=clock)


def lines(view: LiveView) -> list[str]:
    console = Console(record=True, force_terminal=True, width=160, file=io.StringIO())
    console.print(view)
    return [line.rstrip() for line in console.export_text().splitlines()]


def row(view: LiveView, logical: str) -> str:
    return next(line for line in lines(view) if re.match(rf"^\S+ {logical} ", line))


def test_each_resource_goes_from_waiting_on_its_dependencies_to_done_with_its_seconds() -> None:
    clock = Clock()
    view = scripted_view(clock)
    assert lines(view)[0] == "up lab 'crud'"
    assert row(view, "fn").endswith("waiting on role")
    assert row(view, "role").endswith("queued")

    view(Progress("role", "iam.role", "create", "start"))
    clock.now += 0.5
    assert re.search(r"role +iam\.role +0\.5s creating$", row(view, "role"))
    clock.now += 0.5
    view(Progress("role", "iam.role", "create", "done", "new", 1.0))
    assert re.search(r"^✓ role +iam\.role +1\.0s created$", row(view, "role"))

    view(Progress("fn", "lambda.function", "create", "start"))
    view(Progress("fn", "lambda.function", "create", "retrying",
                  "role propagating, retry 3 in 0.5 s: InvalidParameterValueException", 0.3))  # fmt: skip
    assert row(view, "fn").endswith(
        "creating, retrying: role propagating, retry 3 in 0.5 s: InvalidParameterValueException"
    )
    clock.now += 2
    view(Progress("fn", "lambda.function", "create", "done", "new", 2.0))
    assert row(view, "fn").endswith("created; AWS is still making it usable")  # it has a ready step
    view(Progress("fn", "lambda.function", "ready", "waiting"))
    assert row(view, "fn").endswith("waiting for AWS to finish it")
    view(
        Progress(
            "fn",
            "lambda.function",
            "ready",
            "waiting",
            "function awslab-crud-fn: Pending (check 1, next in 0.2 s)",
        )
    )
    assert row(view, "fn").endswith(
        "waiting for AWS: function awslab-crud-fn: Pending (check 1, next in 0.2 s)"
    )
    assert row(view, "api").endswith("waiting on fn")
    clock.now += 1
    view(Progress("fn", "lambda.function", "ready", "done", "", 1.0))
    assert re.search(r"^✓ fn +lambda\.function +3\.0s created$", row(view, "fn"))  # create and wait

    view(Progress("api", "apigateway.rest_api", "create", "start"))
    view(Progress("api", "apigateway.rest_api", "create", "failed", "Boom: injected\nsecond line", 0.1))
    view(Progress("site", "s3.bucket", "create", "skipped", "a dependency failed"))
    assert row(view, "api").endswith("failed while creating: Boom: injected")
    assert row(view, "site").endswith("skipped: a dependency failed")
    assert lines(view)[-1] == "2 of 4 done, 1 failed, 1 skipped in 4.0s"
    view.stop()
    clock.now += 5  # the summary keeps the time it stopped at
    assert lines(view)[-1] == "2 of 4 done, 1 failed, 1 skipped in 4.0s"


def test_a_function_that_needed_no_wait_is_done_and_a_keep_turned_update_gets_a_row() -> None:
    clock = Clock()
    view = scripted_view(clock)
    view(Progress("fn", "lambda.function", "create", "start"))
    view(Progress("fn", "lambda.function", "create", "done", "new", 0.1))
    view(Progress("fn", "lambda.function", "ready", "waiting", "until AWS says it is usable"))
    view(Progress("fn", "lambda.function", "ready", "done", NO_WAIT, 0.0))
    assert row(view, "fn").endswith("created")
    view(Progress("table", "dynamodb.table", "update", "done", "depends on x", 0.2))  # not in the plan's rows
    assert re.search(r"^✓ table +dynamodb\.table +0\.2s updated$", row(view, "table"))


def test_the_plan_and_teardown_views_wait_on_what_comes_first(tmp_path: object) -> None:
    from awslab.engine.plan import Change, Plan

    changes = [
        Change("role", "iam.role", "keep", "up to date", "r"),
        Change("fn", "lambda.function", "update", "changed: code", "f", ["role"]),
        Change("api", "apigateway.rest_api", "create", "new", "a", ["fn", "role"]),
    ]
    view = plan_view(Plan("crud", "abc123", None, changes))  # type: ignore[arg-type]
    assert list(view.rows) == ["fn", "api"]  # what is kept is no row
    assert view.rows["api"].after == {"fn"} and view.rows["fn"].ready_step
    assert row(view, "api").endswith("waiting on fn")

    records = {
        "site": Record("s3.bucket", "site", "b", "created"),
        "files": Record("s3.files", "files", "b", "created", depends_on=["site"]),  # into bucket b
    }
    down = teardown_view("crud", records)
    assert lines(down)[0] == "teardown lab 'crud'"
    assert row(down, "site").endswith("waiting on files")  # a bucket goes after its files
    down(Progress("files", "s3.files", "delete", "done", "", 0.4))
    assert row(down, "files").endswith("deleted") and row(down, "site").endswith("queued")


def test_a_sweep_has_a_live_view_of_its_own_by_physical_name() -> None:
    from awslab.cli.live import sweep_view
    from awslab.engine.sweep import Orphan

    orphans = [Orphan("sqs.queue", f"awslab-{lab}-q-{stack}", lab, stack, "q") for lab, stack in ("a1", "b2")]
    view = sweep_view(orphans)  # two labs' orphans share the logical name 'q'
    assert lines(view)[0] == "sweep" and list(view.rows) == ["awslab-a-q-1", "awslab-b-q-2"]
    view(Progress("awslab-a-q-1", "sqs.queue", "delete", "done", "", 0.2))
    assert row(view, "awslab-a-q-1").endswith("deleted") and row(view, "awslab-b-q-2").endswith("queued")


def test_the_live_view_takes_the_cli_consoles_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    from awslab.cli.common import _LazyConsole

    lazy = _LazyConsole(stderr=True)
    lazy._console = Console(force_terminal=True, width=120, file=io.StringIO())
    with showing(lazy, scripted_view(Clock())) as show:  # type: ignore[arg-type]
        show(Progress("role", "iam.role", "create", "done", "", 1.0))
    assert "role" in lazy._console.file.getvalue()  # type: ignore[attr-defined]


def run_live(monkeypatch: pytest.MonkeyPatch, no_color: bool) -> str:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    buffer = io.StringIO()
    console = Console(force_terminal=True, width=120, file=buffer)  # reads NO_COLOR as it is made
    view = scripted_view(Clock())
    with showing(console, view) as show:
        show(Progress("role", "iam.role", "create", "start"))
        show(Progress("role", "iam.role", "create", "done", "", 1.0))
        show(Progress("api", "apigateway.rest_api", "create", "failed", "Boom", 0.1))
    return buffer.getvalue()


def test_the_live_view_is_coloured_on_a_terminal_but_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coloured = run_live(monkeypatch, no_color=False)
    assert "up lab 'crud'" in coloured and COLOUR.search(coloured)
    plain = run_live(monkeypatch, no_color=True)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", plain)
    assert re.search(r"✓ role +iam.role", text) and re.search(r"✗ api ", text)
    assert "1 of 4 done, 1 failed" in text
    assert not COLOUR.search(plain), "NO_COLOR output has colour codes"


def test_plain_lines_when_not_a_terminal_or_a_dumb_one(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = Console(file=io.StringIO())
    assert not wants_live(piped)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "dumb")
    assert not wants_live(Console(force_terminal=True, file=io.StringIO()))
    monkeypatch.setenv("TERM", "xterm-256color")
    assert wants_live(Console(force_terminal=True, file=io.StringIO()))

    buffer = io.StringIO()
    console = Console(file=buffer, width=200, no_color=True)
    with showing(console, None) as show:
        show(Progress("role", "iam.role", "create", "start"))
        show(Progress("role", "iam.role", "create", "retrying", "role propagating"))
        show(Progress("role", "iam.role", "create", "done", "", 1.0))
    assert buffer.getvalue() == "✓ created iam.role role (1.0s)\n"
