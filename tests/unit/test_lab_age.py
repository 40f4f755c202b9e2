"""A lab's age and cost (`awslab status`), `--older-than` durations and the choice of labs and
orphans by age (`awslab teardown --older-than`), all on an injected clock: nothing waits."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from awslab.cli.main import app
from awslab.durations import human
from awslab.engine.execute import apply_plan
from awslab.engine.plan import plan_changes
from awslab.engine.sweep import Orphan, by_age
from awslab.errors import UsageError
from awslab.lab_age import lab_age, labs_older_than, older_than
from awslab.lab_cost import lab_cost, usd
from awslab.lab_summary import LabSummary, summarize
from awslab.pricing import SECONDS_PER_MONTH, Usage, table
from awslab.resources.base import TAG_CREATED, Context
from awslab.spec import LabSpec
from awslab.state import LabState, StateStore
from awslab.target import Target
from tests.unit.fake_kind import (
    LAB,
    FakeCloud,
    FakeThing,
    cloud_fixture,  # noqa: F401 (fixture)
    fake,
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    write_spec_fixture,  # noqa: F401 (fixture)
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def ago(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).isoformat(timespec="seconds")


# ---- durations ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (" 2H ", 7200)],
)
def test_durations_in_seconds_minutes_hours_and_days(text: str, seconds: int) -> None:
    assert older_than(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "text", ["2x", "", "h", "2", "-2h", "2.5h", "2 hours", "0h", "99999999999999d", "3661d"]
)
def test_a_bad_duration_is_one_line_naming_the_option_with_a_hint(text: str) -> None:
    # a huge one too: it was an OverflowError ("looks like a bug"), it is the user's typo
    with pytest.raises(UsageError) as caught:
        older_than(text)
    assert caught.value.message.startswith(f"--older-than {text!r}") and "\n" not in caught.value.message
    assert caught.value.hint and "2h" in caught.value.hint


def test_ages_are_shown_in_their_two_largest_units() -> None:
    shown = [human(s) for s in (5, 125, 3600, 7500, 3 * 86400 + 4 * 3600 + 59, 86430)]
    assert shown == ["5s", "2m 5s", "1h", "2h 5m", "3d 4h", "1d"]


# ---- a lab's age ----------------------------------------------------------------------------
def test_the_age_comes_from_the_state_and_else_is_a_lower_bound(tmp_path: Path) -> None:
    exact = lab_age(LabState("s1", created_at=ago(hours=3), updated_at=ago(hours=1)), None)
    assert exact.exact and exact.age(NOW) == dt.timedelta(hours=3) and exact.shown(NOW) == "3h"
    assert exact.to_dict(NOW)["seconds"] == 3 * 3600 and exact.to_dict(NOW)["source"] == "created"

    # no creation time: the last change is later than the creation, so the age is "at least"
    updated = lab_age(LabState("s1", created_at="", updated_at=ago(hours=1)), None)
    assert not updated.exact and updated.shown(NOW) == "at least 1h"
    assert updated.to_dict(NOW)["source"] == "updated"

    state_file = tmp_path / "state.json"
    state_file.write_text("{}")
    two_days = (NOW - dt.timedelta(days=2)).timestamp()
    os.utime(state_file, (two_days, two_days))
    from_file = lab_age(LabState("s1", created_at="", updated_at=""), state_file)
    assert from_file.source == "file" and from_file.shown(NOW) == "at least 2d"


def test_older_than_picks_only_the_labs_past_the_limit() -> None:
    labs = {
        "old": LabState("s1", created_at=ago(hours=3)),
        "young": LabState("s2", created_at=ago(minutes=20)),
        "edge": LabState("s3", created_at=ago(hours=2)),  # exactly the limit: not older
        "unknown-but-old": LabState("s4", created_at="", updated_at=ago(hours=5)),
    }
    assert labs_older_than(labs, None, dt.timedelta(hours=2), NOW) == ["old", "unknown-but-old"]
    assert labs_older_than(labs, None, dt.timedelta(minutes=10), NOW) == sorted(labs)


def test_orphans_are_aged_by_their_created_tag_and_untagged_ones_never_go() -> None:
    def orphan(name: str, created: str) -> Orphan:
        return Orphan("sqs.queue", name, "lost", "abc123", "q", created=created)

    orphans = [orphan("old", ago(hours=5)), orphan("young", ago(minutes=5)), orphan("untagged", ""),
               orphan("garbled", "last tuesday")]  # fmt: skip
    old, unaged = by_age(orphans, dt.timedelta(hours=2), NOW)
    assert [o.physical for o in old] == ["old"]
    assert [o.physical for o in unaged] == ["untagged", "garbled"]
    assert orphans[0].to_dict()["created"] == ago(hours=5)


# ---- the creation tag -------------------------------------------------------------------------
def test_the_created_tag_is_the_stacks_time_on_every_resource(tmp_path: Path) -> None:
    ctx = Context(Target(kind="aws"), "lab", "abc123", tmp_path, created_at="2026-12-01T10:00:00+00:00")
    assert ctx.tags("a")[TAG_CREATED] == ctx.tags("b")[TAG_CREATED] == "2026-12-01T10:00:00+00:00"
    assert TAG_CREATED not in Context(Target(kind="aws"), "lab", "abc123", tmp_path).tags("a")


def test_a_labs_age_counts_from_its_first_up_and_its_resources_carry_it(
    cloud: FakeCloud,
    store: StateStore,
    target: Target,
    write_spec: Callable[..., LabSpec],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = write_spec({"a": fake(value="1")})
    plan = plan_changes(spec, store, target)  # records the new stack (a plan made long before `up`)
    lab = store.lab(LAB)
    assert lab is not None
    lab.created_at = "2020-01-01T00:00:00+00:00"
    store.save()
    tags: list[dict[str, str]] = []
    create = FakeThing.create

    def spying(self: FakeThing) -> dict[str, object]:
        tags.append(self.ctx.tags(self.logical))
        return create(self)

    monkeypatch.setattr(FakeThing, "create", spying)
    monkeypatch.setattr("awslab.engine.execute.now_iso", lambda: "2026-12-01T10:00:00+00:00")
    apply_plan(plan, store, target)
    saved = json.loads(store.path.read_text())["labs"][LAB]
    assert saved["created_at"] == "2026-12-01T10:00:00+00:00"
    assert tags == [{"awslab:lab": LAB, "awslab:stack": plan.stack_id, "awslab:logical": "a",
                     "awslab:created": "2026-12-01T10:00:00+00:00"}]  # fmt: skip

    # a later `up` of the same stack keeps its creation time
    monkeypatch.setattr("awslab.engine.execute.now_iso", lambda: "2027-01-01T00:00:00+00:00")
    apply_plan(plan_changes(write_spec({"a": fake(value="2")}), store, target), store, target)
    assert json.loads(store.path.read_text())["labs"][LAB]["created_at"] == "2026-12-01T10:00:00+00:00"


def test_a_lab_made_again_after_its_local_cloud_lost_it_is_young_again(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first = StateStore(path, {"kind": "local"}, local_cloud={"data_id": "before"})
    long_ago = "2020-01-01T00:00:00+00:00"
    first.ensure_lab(LAB, "/lab.yaml").created_at = long_ago
    first.save()
    assert first.ensure_lab(LAB, "/lab.yaml").created_at == long_ago  # same data: kept

    # `awslab local reset` (or a restart that kept nothing): new data, the lab's resources are gone
    again = StateStore(path, {"kind": "local"}, local_cloud={"data_id": "after"})
    created = lab_age(again.ensure_lab(LAB, "/lab.yaml"), path).created
    assert created.year > 2020 and json.loads(path.read_text())["labs"][LAB]["created_at"] != long_ago


def test_a_lab_gone_with_a_reset_is_said_to_be_reset_not_restarted(monkeypatch: pytest.MonkeyPatch) -> None:
    from awslab.cli.common import _gone_line, probe_local_cloud
    from awslab.local.daemon import LocalCloud

    running = RunningCloud(started_at=ago(hours=2))
    asked: list[LocalCloud] = []
    monkeypatch.setattr(LocalCloud, "status", lambda self: asked.append(self) or running)
    target = Target(kind="local", local_port=4599, endpoint_url="http://127.0.0.1:4599")
    probe_local_cloud(target)
    assert target.local_cloud == {"data_id": "new"}
    deployed_since = LabState("s1", updated_at=ago(hours=1))  # while this instance ran: a reset
    assert "which was reset since: its resources are gone" in _gone_line(LAB, deployed_since, target)
    deployed_before = LabState("s1", updated_at=ago(hours=3))
    assert "which was restarted since" in _gone_line(LAB, deployed_before, target)
    assert len(asked) == 1  # the command's probe only: each lost lab is compared with what it saw


class RunningCloud:  # what probe_local_cloud and _gone_line read of a LocalStatus
    def __init__(self, started_at: str) -> None:
        self.started_at = started_at
        self.identity = {"data_id": "new"}


# ---- cost -----------------------------------------------------------------------------------
def queue_lab(tmp_path: Path) -> LabState:
    spec = tmp_path / "q.yaml"
    spec.write_text(
        textwrap.dedent("""\
        name: q
        resources:
          q: {type: sqs.queue}
        """)
    )
    return LabState("abc123", spec=str(spec), created_at=ago(hours=73))


def test_cost_so_far_is_the_month_pro_rata_labelled_by_target(tmp_path: Path) -> None:
    state = queue_lab(tmp_path)
    age = dt.timedelta(hours=73)
    local = lab_cost(state, lab="q", real_account=False, region="us-east-1", age=age)
    assert local.estimate is not None
    monthly = 3 * Usage().requests * table()["sqs.requests"].usd / 1e6  # send, receive, delete
    assert local.estimate.monthly_usd == pytest.approx(monthly)
    assert local.so_far_usd == pytest.approx(monthly * age.total_seconds() / SECONDS_PER_MONTH)
    assert local.so_far_idle_usd == 0
    line = local.shown()
    assert line.startswith("Would cost on AWS: ≈ $0.0012 so far") and "$0.01 a month at list price" in line
    assert "$0.00 after the always-free tier" in line and f"prices of {table().as_of}" in line
    assert local.to_dict()["basis"] == "what it would cost on AWS (local cloud)"

    real = lab_cost(state, lab="q", real_account=True, region="eu-west-1", age=age)
    assert real.shown().startswith("Estimated cost: ≈") and "eu-west-1 prices differ" in real.shown()
    data = real.to_dict()
    assert data["basis"] == "this account (estimate)" and data["target_region"] == "eu-west-1"
    assert data["monthly_usd"] == pytest.approx(monthly, abs=1e-4) and data["prices_as_of"] == table().as_of


def test_a_lab_whose_spec_is_gone_has_no_estimate_and_says_why(tmp_path: Path) -> None:
    state = LabState("abc123", spec=str(tmp_path / "moved.yaml"), created_at=ago(hours=1))
    cost = lab_cost(state, lab="q", real_account=True, region="us-east-1", age=dt.timedelta(hours=1))
    assert cost.estimate is None and cost.so_far_usd == 0
    assert re.match(r"Estimated cost: unknown \(the state records no cost of what was deployed .* and its "
                    r"spec cannot be read: .*moved\.yaml", cost.shown())  # fmt: skip
    assert "error" in cost.to_dict()


def test_small_amounts_stay_readable() -> None:
    assert [usd(x) for x in (4.371, 0.0042, 0.00001, 0.0, 1234.5)] == [
        "$4.37", "$0.0042", "< $0.0001", "$0.00", "$1,234.50"
    ]  # fmt: skip


def test_the_status_line_of_a_lab_says_its_ttl(tmp_path: Path) -> None:
    summaries = summarize({"q": queue_lab(tmp_path)}, None, real_account=False, region="us-east-1", now=NOW)
    s: LabSummary = summaries["q"]
    first, second = s.lines()
    assert first == "Lab 'q' (stack abc123): up 3d 1h (since 2026-11-28 11:00 UTC)."
    assert second.startswith("  Would cost on AWS:")
    assert set(s.to_dict()) == {"age", "cost"}

    # a TTL: said in the lab's own line, and under one JSON key
    state = queue_lab(tmp_path)
    state.ttl = {"ttl": "2h", "expires_at": "2026-12-01T13:10:00Z"}
    healths = {"q": {"queue": "present"}}
    s = summarize({"q": state}, None, real_account=False, region="us-east-1", now=NOW, healths=healths)["q"]
    assert s.lines()[0] == (
        "Lab 'q' (stack abc123): up 3d 1h (since 2026-11-28 11:00 UTC); "
        "TTL 2h, expires in 1h 10m (2026-12-01 13:10:00 UTC)."
    )
    assert set(s.to_dict()) == {"age", "cost", "ttl"}
    assert s.to_dict()["ttl"] == {
        "ttl": "2h", "expires_at": "2026-12-01T13:10:00Z", "seconds_left": 4200, "state": "running"
    }  # fmt: skip
    reaped = summarize({"q": state}, None, real_account=False, region="us-east-1",
                       now=NOW + dt.timedelta(hours=2), healths={"q": {"queue": "missing"}})["q"]  # fmt: skip
    assert reaped.ttl is not None and reaped.ttl.state == "reaped"
    assert reaped.lines()[0].endswith("its reaper deleted the lab: 'awslab teardown q' forgets it.")


# ---- what --help and the table say --------------------------------------------------------------
def test_status_help_states_every_assumption_and_the_tables_date() -> None:
    result = CliRunner().invoke(app, ["status", "--help"], env={"COLUMNS": "400", "NO_COLOR": "1"})
    text = " ".join(result.output.split())
    u, t = Usage(), table()
    for said in (f"{u.requests:,} requests", f"{u.duration_ms:g} ms", f"{u.log_kb:g} KB of logs",
                 f"{u.item_kb:g} KB items", f"{u.stored_gb:g} GB stored", f"{u.sqs_pollers} long polls",
                 f"{t.region} as of {t.as_of}", "always-free"):  # fmt: skip
        assert said in text, said


def test_every_price_names_its_page_and_when_it_was_checked() -> None:
    for p in table().prices.values():
        assert p.source.startswith("https://aws.amazon.com/"), p.key
        assert dt.date.fromisoformat(p.checked) >= dt.date(2026, 12, 1), p.key


def test_teardown_older_than_works_out_each_labs_age_once(
    mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from awslab import lab_age as ages
    from awslab.durations import utc_now
    from awslab.resources.base import Record

    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "labs.json"
    store = StateStore(path, {"kind": "aws", "region": "us-east-1"})
    for name, created in (("old", "2020-01-01T00:00:00+00:00"), ("young", utc_now().isoformat())):
        queue = Record(kind="sqs.queue", logical="q", physical=f"awslab-{name}-q-abc123", status="created")
        store.labs[name] = LabState("abc123", created_at=created, resources={"q": queue})
    store.save()
    asked: list[str] = []
    real = ages.lab_age
    monkeypatch.setattr(
        ages, "lab_age", lambda state, file: asked.append(state.created_at) or real(state, file)
    )
    argv = ["teardown", "--older-than", "1d", "--dry-run", "--output", "json", "--target", "aws", "--state"]
    result = CliRunner().invoke(app, [*argv, str(path)])
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["labs"]) == ["old"]
    assert sorted(asked) == sorted(lab.created_at for lab in store.labs.values())  # once each
