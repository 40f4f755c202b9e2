"""`up --ttl` decisions (awslab/ttl.py), with a fixed clock: durations, what `up` does with a TTL
recorded before, the reaper's resources and policy, and what `status` says."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from awslab import ttl
from awslab.durations import human
from awslab.errors import UsageError
from awslab.spec import builtin_labs, load_spec
from awslab.target import Target

NOW = dt.datetime(2026, 12, 1, 4, 0, 0, 500_000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("4h", 14400), ("90m", 5400), ("30s", 30), ("1d", 86400), ("1h30m", 5400), ("2H 5M", 7500)],
)
def test_durations(text: str, seconds: int) -> None:
    assert ttl.ttl_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "4", "4x", "h", "-1h", "0m", "400d", "1.5h"])
def test_a_bad_duration_is_one_line_with_a_hint(text: str) -> None:
    with pytest.raises(UsageError, match="--ttl") as exc:
        ttl.ttl_seconds(text)
    assert exc.value.hint and "30m, 4h" in exc.value.hint


def test_human() -> None:
    assert [human(s) for s in (0, 45, 600, 3599, 11520, 11545, 190000, 86430)] == [
        "0s",
        "45s",
        "10m",
        "59m 59s",
        "3h 12m",
        "3h 12m",
        "2d 4h",
        "1d",  # not '1d 30s': the unit after the largest, or nothing
    ]


def test_a_new_ttl_expires_on_the_next_whole_second_after_it() -> None:
    d = ttl.decide("4h", None, NOW)
    assert d.ttl is not None and d.ttl.expires_at == dt.datetime(2026, 12, 1, 8, 0, 1, tzinfo=dt.UTC)
    assert d.ttl.expression() == "at(2026-12-01T08:00:01)"
    assert "expires in 4h" in d.message and "whether or not this machine is on" in d.message


def test_up_without_ttl_keeps_the_recorded_one_and_says_so() -> None:
    recorded = ttl.decide("4h", None, NOW).ttl
    assert recorded is not None
    later = NOW + dt.timedelta(minutes=48)
    d = ttl.decide(None, recorded.to_dict(), later)
    assert d.ttl == recorded
    assert d.message.startswith("Keeping the TTL set before: the lab expires in 3h 12m")
    assert ttl.decide(None, None, NOW) == ttl.Decision(None, "")


def test_an_expired_ttl_is_dropped_and_off_removes_one() -> None:
    recorded = ttl.decide("1m", None, NOW).ttl
    assert recorded is not None
    expired = ttl.decide(None, recorded.to_dict(), NOW + dt.timedelta(minutes=5))
    assert expired.ttl is None and "expired at 2026-12-01 04:01:01 UTC" in expired.message
    off = ttl.decide("off", recorded.to_dict(), NOW)
    assert off.ttl is None and off.message == "TTL removed: the reaper goes."
    assert ttl.decide("off", None, NOW).message == ""


@pytest.mark.parametrize("option", [None, "off", "2h"])
def test_a_decision_says_whether_the_recorded_ttl_expired_whatever_the_option(option: str | None) -> None:
    recorded = ttl.decide("1m", None, NOW).ttl
    assert recorded is not None
    assert ttl.decide(option, recorded.to_dict(), NOW + dt.timedelta(minutes=5)).expired
    assert not ttl.decide(option, recorded.to_dict(), NOW).expired
    assert not ttl.decide(option, None, NOW).expired


def test_the_reaper_is_four_resources_of_the_lab(tmp_path: Path) -> None:
    spec = load_spec(builtin_labs()["crud"])
    target = Target(kind="local", local_port=4599, endpoint_url="http://127.0.0.1:4599")
    when = ttl.decide("2h", None, NOW).ttl
    assert when is not None
    with_reaper = ttl.add_reaper(spec, "abc123", target, when)
    assert set(with_reaper.resources) == set(spec.resources) | set(ttl.LOGICALS)
    order = with_reaper.order
    assert order.index(ttl.ROLE) < order.index(ttl.FUNCTION) < order.index(ttl.SCHEDULE)
    schedule = with_reaper.resources[ttl.SCHEDULE].fields
    assert schedule["schedule_expression"] == "at(2026-12-01T06:00:01)"
    assert schedule["action_after_completion"] == "DELETE" and schedule["timezone"] == "UTC"
    assert schedule["target"]["input"] == {"lab": "crud", "stack": "abc123"}
    env = with_reaper.resources[ttl.FUNCTION].fields["environment"]
    assert env["AWSLAB_REAPER_ROLE"] == "awslab-crud-reaper-role-abc123"
    assert env["AWSLAB_REAPER_GROUP"] == "awslab-crud-schedules-abc123"
    # the invoke role names the function by its predicted ARN: made with it, not after it
    assert with_reaper.resources[ttl.INVOKE_ROLE].predicted == {ttl.FUNCTION}
    assert spec.resources.keys() == load_spec(builtin_labs()["crud"]).resources.keys()  # not changed


def test_the_reapers_deletes_are_scoped_to_the_labs_stack() -> None:
    target = Target(kind="local", local_port=4599, endpoint_url="http://127.0.0.1:4599")
    policy = ttl.reaper_policy("crud", "abc123", target)
    for statement in policy:
        deletes = [a for a in statement["actions"] if ":Delete" in a or a.endswith(":DELETE")]
        if deletes:
            scoped = statement.get("condition") or all(
                "awslab-crud-*-abc123" in r for r in statement["resources"]
            )
            assert scoped, statement
        if statement["resources"] == ["*"]:  # only what takes no resource ARN
            assert all(":List" in a or a == "tag:GetResources" for a in statement["actions"]), statement
    tagged = [s for s in policy if "condition" in s and "StringEquals" in s["condition"]]
    assert {"apigateway:DELETE", "lambda:DeleteFunction", "iam:DeleteRole"} <= {
        a for s in tagged for a in s["actions"]
    }
    assert all(s["condition"]["StringEquals"]["aws:ResourceTag/awslab:stack"] == "abc123" for s in tagged)


def test_a_spec_with_the_reapers_names_cannot_take_a_ttl(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "app.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "lab.yaml").write_text(
        "name: mine\nresources:\n  reaper:\n    type: iam.role\n    service: lambda\n"
    )
    spec = load_spec(tmp_path / "lab.yaml")
    target = Target(kind="local", local_port=4599, endpoint_url="http://127.0.0.1:4599")
    when = ttl.decide("1h", None, NOW).ttl
    assert when is not None
    with pytest.raises(UsageError, match="already has reaper"):
        ttl.add_reaper(spec, "abc123", target, when)


def test_status_says_time_left_due_or_reaped() -> None:
    recorded = ttl.Ttl("4h", dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)).to_dict()
    running = ttl.status_of("crud", recorded, {"api": "present"}, NOW)
    assert running.said == "TTL 4h, expires in 3h 59m (2026-12-01 08:00:00 UTC)"
    after = dt.datetime(2026, 12, 1, 8, 4, 0, tzinfo=dt.UTC)
    due = ttl.status_of("crud", recorded, {"api": "present", "fn": "missing"}, after)
    assert due.said == "TTL 4h, expired 4m ago (2026-12-01 08:00:00 UTC), reaper due"
    gone = {"api": "missing", "reaper": "missing", ttl.ROLE: "missing"}
    assert ttl.status_of("crud", recorded, gone, after).said == (
        "TTL 4h expired at 2026-12-01 08:00:00 UTC; its reaper deleted the lab: "
        "'awslab teardown crud' forgets it"
    )
    # on AWS, IAM may refuse the reaper's last delete, of its own role: reaped all the same
    role_left = ttl.status_of("crud", recorded, {**gone, ttl.ROLE: "present"}, after)
    assert role_left.state == "reaped" and role_left.said.endswith(
        "but its own role (IAM withdrew the right first): 'awslab teardown crud' deletes it"
    )
    assert running.to_dict() == {
        "ttl": "4h", "expires_at": "2026-12-01T08:00:00Z", "seconds_left": 14399, "state": "running"
    }  # fmt: skip
    assert ttl.status_of("crud", recorded, {}, after).state == "due"


def test_exercise_commands_know_the_reapers_names() -> None:
    """`awslab invoke crud` still means the lab's one function when a TTL adds the reaper's."""
    from awslab.exercise.labs import TTL_REAPER, DeployedLab, pick_resource
    from awslab.resources.base import Record
    from awslab.state import LabState

    assert frozenset(ttl.LOGICALS) == TTL_REAPER
    state = LabState("abc123", ttl={"ttl": "1h", "expires_at": "2026-12-01T05:00:00Z"})
    for logical in ("items-fn", ttl.FUNCTION):
        state.resources[logical] = Record(
            "lambda.function", logical, f"awslab-crud-{logical}-abc123", "created"
        )
    assert pick_resource(DeployedLab("crud", state), "lambda.function").logical == "items-fn"
    assert pick_resource(DeployedLab("crud", state), "lambda.function", ttl.FUNCTION).logical == ttl.FUNCTION


def test_on_an_aws_account_a_ttl_leaves_time_for_up(tmp_path: Path) -> None:
    from awslab.state import StateStore

    spec = load_spec(builtin_labs()["crud"])
    store = StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})
    aws = Target(kind="aws", region="us-east-1")
    with pytest.raises(UsageError, match="at least 2m on an AWS account"):
        ttl.apply_option(spec, store, aws, "90s", NOW)
    assert store.lab("crud") is None  # refused before anything was recorded


def test_a_ttl_is_recorded_only_once_its_reaper_is_there(tmp_path: Path) -> None:
    from awslab.resources.base import Record
    from awslab.state import StateStore

    store = StateStore(tmp_path / "state.json", {"kind": "local"})
    store.ensure_lab("crud", "/crud.yaml")
    new = ttl.decide("1h", None, NOW)
    ttl.record(store, "crud", new, applied=False)  # the apply failed before the schedule was made
    assert store.labs["crud"].ttl is None

    schedule = Record("scheduler.schedule", ttl.SCHEDULE, "awslab-crud-reaper-schedule-abc", "created")
    store.put_record("crud", schedule)
    ttl.record(store, "crud", new, applied=False)  # failed later: the reaper is there, with its TTL
    assert store.labs["crud"].ttl == (new.ttl.to_dict() if new.ttl else None)

    off = ttl.decide("off", store.labs["crud"].ttl, NOW)
    ttl.record(store, "crud", off, applied=False)  # `--ttl off` failed: the reaper is still there
    assert store.labs["crud"].ttl is not None
    ttl.record(store, "crud", off)
    assert store.labs["crud"].ttl is None


def test_up_after_a_ttl_expired_makes_a_young_lab(tmp_path: Path) -> None:
    from awslab.resources.base import Record
    from awslab.state import StateStore

    store = StateStore(tmp_path / "state.json", {"kind": "local"})
    lab = store.ensure_lab("crud", "/crud.yaml")
    store.put_record("crud", Record("sqs.queue", "q", "awslab-crud-q-abc", "created"))
    lab.created_at = "2026-11-30T00:00:00+00:00"
    lab.ttl = {"ttl": "1h", "expires_at": "2026-11-30T01:00:00Z"}  # reaped since
    spec = load_spec(builtin_labs()["crud"])
    target = Target(kind="local", local_port=4599, endpoint_url="http://127.0.0.1:4599")
    _, decision = ttl.apply_option(spec, store, target, None, NOW)
    assert decision.ttl is None and "expired" in decision.message
    assert store.labs["crud"].created_at == NOW.isoformat(timespec="seconds")  # its age counts from now
