"""Tags follow the spec through the CLI (moto's in-process mock, the aws target): `up`, then the
spec's tags change (one changed, one new, one dropped, at spec and at resource level); `plan` shows
an update (never a replacement) of every resource that carries tags, and the next `up` retags them
in place: same resources, awslab's own tags kept, the state records what was applied."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from awslab.cli.main import app
from awslab.resources.idempotent import tag_map
from tests.unit.spec_cases import FN, assert_problem, lab_dir_fixture, problems_of  # noqa: F401 (lab_dir)

AWS = ["--target", "aws"]

SPEC = """\
name: tagged
tags: {{{top}}}
resources:
  orders:
    type: sqs.queue
    tags: {{{queue}}}
  items:
    type: dynamodb.table
    key: {{id: S}}
"""


@pytest.fixture
def runner(mocked_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))
    return CliRunner()


def ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def write(spec: Path, top: str, queue: str) -> None:
    spec.write_text(SPEC.format(top=top, queue=queue))


def live() -> dict[str, dict[str, str]]:
    sqs, ddb = boto3.client("sqs"), boto3.client("dynamodb")
    [url] = sqs.list_queues()["QueueUrls"]
    [table] = ddb.list_tables()["TableNames"]
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    return {
        "orders": dict(sqs.list_queue_tags(QueueUrl=url)["Tags"]),
        "items": tag_map(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]),
    }


def user(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith("awslab:")}


def plan(runner: CliRunner, spec: Path) -> dict[str, Any]:
    return dict(json.loads(ok(runner, "plan", str(spec), *AWS, "--output", "json")))


def test_changed_tags_are_an_update_and_up_retags_in_place(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "tagged.yaml"
    write(spec, "team: orders, cost-center: '42'", "tier: gold")
    ok(runner, "up", str(spec), *AWS, "--yes")
    first = live()
    assert user(first["orders"]) == {"team": "orders", "cost-center": "42", "tier": "gold"}
    assert user(first["items"]) == {"team": "orders", "cost-center": "42"}
    own = {name: {k: v for k, v in tags.items() if k.startswith("awslab:")} for name, tags in first.items()}

    write(spec, "team: payments, owner: ada", "tier: silver")
    changes = {c["logical"]: c for c in plan(runner, spec)["changes"]}
    assert {n: (c["action"], c["reason"]) for n, c in changes.items()} == {
        "orders": ("update", "changed: tags"),
        "items": ("update", "changed: tags"),
    }

    ok(runner, "up", str(spec), *AWS, "--yes")
    after = live()
    assert after["orders"] == {**own["orders"], "team": "payments", "owner": "ada", "tier": "silver"}
    assert after["items"] == {**own["items"], "team": "payments", "owner": "ada"}
    assert {c["action"] for c in plan(runner, spec)["changes"]} == {"keep"}
    state = json.loads(next((tmp_path / "state").rglob("aws-*.json")).read_text())
    assert state["labs"]["tagged"]["resources"]["orders"]["tags"] == {
        "team": "payments",
        "owner": "ada",
        "tier": "silver",
    }

    # all the spec's tags removed: every user tag goes, awslab's stay
    spec.write_text(SPEC.replace("tags: {{{top}}}\n", "").replace("    tags: {{{queue}}}\n", "").format())
    ok(runner, "up", str(spec), *AWS, "--yes")
    assert live() == own


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        ("tags: {Team: a, team: b}\nresources: {f: FN}\n", 2, "tags.team"),
        (
            "tags: {Team: a}\nresources:\n  f:\n    type: s3.bucket\n    tags: {team: b}\n",
            6,
            "resources.f.tags.team",
        ),
    ],
    ids=["one-map", "resource-over-spec"],
)
def test_tag_keys_differing_only_by_case_are_refused(lab_dir: Path, text: str, line: int, path: str) -> None:
    """IAM tag keys ignore case: CreateRole refuses Team with team, and TagRole of `team` would
    overwrite `Team` (so a retag that drops `Team` would remove both)."""
    problems = problems_of(lab_dir, "name: a\n" + text.replace("FN", FN))
    assert len(problems) == 1, problems
    assert_problem(problems[0], line, path, "'Team' and 'team' differ only by case")


def test_a_record_from_before_tags_were_recorded_is_retagged_at_its_next_real_update(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A state written before awslab recorded user tags has no `tags`: unknown, not "none". No
    tags-only update is planned for it (every tagged resource would show one after an upgrade);
    its next real update puts the spec's tags on and records them."""
    spec = tmp_path / "tagged.yaml"
    write(spec, "team: orders", "tier: gold")
    ok(runner, "up", str(spec), *AWS, "--yes")
    path = next((tmp_path / "state").rglob("aws-*.json"))
    state = json.loads(path.read_text())
    for rec in state["labs"]["tagged"]["resources"].values():
        del rec["tags"]
    path.write_text(json.dumps(state))

    write(spec, "team: payments", "tier: gold")
    assert {c["action"] for c in plan(runner, spec)["changes"]} == {"keep"}
    spec.write_text(
        spec.read_text().replace("    type: sqs.queue\n", "    type: sqs.queue\n    visibility_timeout: 45\n")
    )
    changes = {c["logical"]: (c["action"], c["reason"]) for c in plan(runner, spec)["changes"]}
    assert changes == {"orders": ("update", "changed: visibility_timeout"), "items": ("keep", "up to date")}
    ok(runner, "up", str(spec), *AWS, "--yes")
    assert user(live()["orders"]) == {"team": "payments", "tier": "gold"}
    resources = json.loads(path.read_text())["labs"]["tagged"]["resources"]
    assert (
        resources["orders"]["tags"] == {"team": "payments", "tier": "gold"}
        and "tags" not in resources["items"]
    )
