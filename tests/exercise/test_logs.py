"""logs: --since parsing, FilterLogEvents on /aws/lambda/<physical name>, and following."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from awslab.errors import UsageError
from awslab.exercise.logs import LogEvent, fetch, follow, log_group, parse_since, read_logs
from awslab.state import StateStore
from awslab.target import Target

from .conftest import add_lab, fn_rec

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        (" 5M ", timedelta(minutes=5)),
        ("0s", timedelta()),
    ],
)
def test_since_durations(text: str, delta: timedelta) -> None:
    assert parse_since(text, NOW) == NOW - delta


def test_since_times() -> None:
    assert parse_since("2024-04-30T08:15:00", NOW) == datetime(2024, 4, 30, 8, 15, tzinfo=UTC)
    assert parse_since("2024-04-30T08:15:00+02:00", NOW) == datetime(2024, 4, 30, 6, 15, tzinfo=UTC)
    assert parse_since("2024-04-30", NOW) == datetime(2024, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["10", "ten minutes", "5y", "-3m", ""])
def test_bad_since_names_the_option(bad: str) -> None:
    with pytest.raises(UsageError) as e:
        parse_since(bad, NOW)
    assert str(e.value).startswith("--since") and e.value.exit_code == 2


def _log(target: Target, group: str, *events: tuple[datetime, str]) -> None:
    logs = target.client("logs")
    try:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="2024/05/01/[$LATEST]abc")
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2024/05/01/[$LATEST]abc",
        logEvents=[{"timestamp": int(t.timestamp() * 1000), "message": m} for t, m in events],
    )


def test_read_logs_since(target: Target, store: StateStore) -> None:
    fn = fn_rec("consumer", "messaging")
    lab = add_lab(store, "messaging", fn)
    logical, group = log_group(lab, "consumer")
    assert (logical, group) == ("consumer", f"/aws/lambda/{fn.physical}")
    now = datetime.now(UTC)
    _log(
        target,
        group,
        (now - timedelta(hours=2), "old line"),
        (now - timedelta(minutes=5), "START"),
        (now - timedelta(minutes=1), "failed record m-1: PoisonMessage\n"),
    )
    res = read_logs(target, lab, "consumer", "10m")
    assert res.exists and [e.message for e in res.events] == ["START", "failed record m-1: PoisonMessage\n"]
    assert len(read_logs(target, lab, "consumer", "3h").events) == 3
    data = res.to_dict()
    assert data["group"] == group and data["events"][0]["time"].endswith("+00:00")


def test_no_group_yet(target: Target, store: StateStore) -> None:
    lab = add_lab(store, "messaging", fn_rec("consumer", "messaging"))
    res = read_logs(target, lab, "consumer")
    assert not res.exists and res.events == []
    with pytest.raises(UsageError, match="no Lambda function 'nope'"):
        read_logs(target, lab, "nope")


def test_follow_yields_new_lines_once(target: Target, store: StateStore) -> None:
    fn = fn_rec("f")
    add_lab(store, "lab", fn)
    group = f"/aws/lambda/{fn.physical}"
    start = datetime.now(UTC) - timedelta(seconds=5)
    _log(target, group, (start + timedelta(seconds=1), "first"))
    got: list[LogEvent] = []
    polls = [0]

    def sleep(_: float) -> None:
        polls[0] += 1
        if polls[0] == 1:  # a line arrives while following
            _log(target, group, (start + timedelta(seconds=2), "second"))

    for e in follow(target, group, int(start.timestamp() * 1000), sleep=sleep, stop=lambda: polls[0] >= 3):
        got.append(e)
    assert [e.message for e in got] == ["first", "second"]  # each once, though fetched on every poll
    assert polls[0] == 3


def test_follow_skips_what_was_shown(target: Target) -> None:
    group = "/aws/lambda/x"
    t = datetime.now(UTC)
    _log(target, group, (t, "shown"))
    _, first = fetch(target, group, int(t.timestamp() * 1000) - 1)
    seen = {e.event_id for e in first}
    stopped = iter([False, True])
    assert (
        list(
            follow(
                target,
                group,
                first[0].timestamp,
                seen=seen,
                sleep=lambda s: None,
                stop=lambda: next(stopped, True),
            )
        )
        == []
    )
