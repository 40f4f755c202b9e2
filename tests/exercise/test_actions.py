"""The check-action registry: each action is one module of awslab/exercise/actions that registers
one class; the `Check` model, its validation and the runner come from the registry, and no
generic module names an action or a lab's route or fields."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import ValidationError

import awslab.exercise.actions as actions_pkg
from awslab.errors import SpecError
from awslab.exercise.actions import Check, base, ordered_actions
from awslab.exercise.checks import run_checks
from awslab.spec import LabSpec, load_spec
from awslab.state import StateStore
from awslab.target import Target

from .conftest import add_lab, make_table, put_item

REPO = Path(__file__).resolve().parents[2]

SCAN_MODULE = '''
"""`scan: TABLE`: the rows of one of the lab's tables (a test action)."""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import BaseModel

from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register


class ScanOptions(BaseModel):
    limit: int | None = None


class ScanResult:
    def __init__(self, rows):
        self.rows = rows

    def to_dict(self):
        return {"rows": self.rows}


@register
class Scan(Action):
    key = "scan"
    order = 100
    Options = ScanOptions
    value_type = str
    observes: ClassVar[frozenset[str]] = frozenset({"record", "body_contains"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        return [(str(check.value), ("dynamodb.table",))]

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise.effects import scan_table

        name = run.lab.tables()[str(check.value)]
        rows = scan_table(run.target, name)[: check.options(ScanOptions).limit]
        return Observation({"record": rows, "body": json.dumps(rows)}, ScanResult(rows))
'''


@pytest.fixture
def scan_action(tmp_path: Path) -> Iterator[type[Check]]:
    """A new action added the way the recipe says, as one module in the actions package (a
    directory added to the package's path here): the registry loads it, the model has it."""
    extra = tmp_path / "more_actions"
    extra.mkdir()
    (extra / "scan.py").write_text(SCAN_MODULE)
    actions_pkg.__path__.append(str(extra))
    loaded = base._ALL_LOADED
    base._ALL_LOADED = False
    try:
        base.load_actions()
        yield base.build_check_model()
    finally:
        actions_pkg.__path__.remove(str(extra))
        base.REGISTRY.pop("scan", None)
        sys.modules.pop("awslab.exercise.actions.scan", None)
        base._ALL_LOADED = loaded


def test_an_action_is_one_module(
    scan_action: type[Check], target: Target, store: StateStore, tmp_path: Path
) -> None:
    assert [a.key for a in ordered_actions()][-1] == "scan"
    with pytest.raises(
        ValidationError, match=r"a check needs exactly one of: call, invoke, .*, upload, scan"
    ):
        scan_action.model_validate({"name": "none"})
    with pytest.raises(ValidationError, match=r"'limit' does not apply to call \(it is a field of scan\)"):
        scan_action.model_validate({"call": "GET /x", "limit": 1})
    table = make_table(target, "items")
    put_item(target, table.physical, {"id": "a", "colour": "red"})
    state = add_lab(store, "lab", table).state
    checks = [
        scan_action.model_validate({"scan": "items", "limit": 5, "expect": {"record": {"colour": "red"}}}),
        scan_action.model_validate(
            {"scan": "items", "expect": {"record": {"colour": "blue"}, "status": 200}}
        ),
    ]
    report = run_checks(LabSpec("lab", "", tmp_path / "lab.yaml", {}, {}, checks), state, target)
    assert [r.action for r in report.results] == ["scan", "scan"]
    assert report.results[0].passed and report.results[0].name == "scan items"
    assert report.results[0].result == {"rows": [{"id": "a", "colour": "red"}]}
    assert report.results[1].detail == (
        "expect.status does not apply to scan; record: $.colour: 'red', expected 'blue'"
    )


def _problems(tmp_path: Path, checks: str) -> str:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "lab.yaml").write_text(dedent("""\
        name: lab
        resources:
          fn: {type: lambda.function, code: code, role: 'arn:aws:iam::1:role/r'}
          q: {type: sqs.queue}
          t: {type: sns.topic}
        checks:
        """) + dedent(checks))  # fmt: skip
    with pytest.raises(SpecError) as e:
        load_spec(tmp_path / "lab.yaml")
    return "\n".join(e.value.problems)


def test_the_spec_validates_what_each_action_names(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
        - {send-message: hi, queue: t}
        - {publish: hi, topic: nope, attributes: {colour: red}}
        - {start-execution: {}, state_machine: fn}
        - {upload: ../../outside.txt, route: POST /files}
        - {call: GET /x, api: q}
        """,
    )
    assert "lab.yaml:7: checks[0]: 't' is a sns.topic; expected a sqs.queue" in problems
    assert "lab.yaml:8: checks[1]: unknown resource 'nope'" in problems
    assert (
        "lab.yaml:9: checks[2]: 'fn' is a lambda.function; expected a stepfunctions.state_machine" in problems
    )
    assert "lab.yaml:10: checks[3].upload: '../../outside.txt' leads outside" in problems
    assert (
        "lab.yaml:11: checks[4]: 'q' is a sqs.queue; expected a apigateway.rest_api or a apigateway.http_api "
        "or a lambda.url" in problems
    )
    problems = _problems(
        tmp_path,
        """\
        - {invoke: fn, queue: q}
        - {publish: hi, attributes: {"AWS.reserved": x}}
        - {upload: x.txt, route: FETCH files}
        - {upload: x.txt, summary: "{a.b}"}
        """,
    )
    assert (
        "lab.yaml:7: checks[0]: 'queue' does not apply to invoke (it is a field of send-message)" in problems
    )
    assert "lab.yaml:8: checks[1].attributes: invalid attribute name 'AWS.reserved'" in problems
    assert (
        "lab.yaml:9: checks[2].route: expected 'METHOD /path' such as 'POST /files', got 'FETCH files'"
        in problems
    )
    assert "lab.yaml:10: checks[3].summary: each {...} names one field of the row" in problems


def test_every_built_in_lab_s_checks_are_of_registered_actions() -> None:
    keys = {a.key for a in ordered_actions()}
    assert keys >= {"call", "invoke", "send-message", "publish", "start-execution", "upload"}
    for lab in ("crud", "image", "messaging", "upload", "workflow"):
        for check in load_spec(REPO / "configs" / f"{lab}.yaml").checks:
            assert check.action_key in keys and isinstance(check, Check)


GENERIC = ["awslab/spec.py", "awslab/exercise/checks.py", "awslab/exercise/render.py", "awslab/exercise/labs.py",
           "awslab/exercise/upload.py", "awslab/cli/exercise.py"]  # fmt: skip


@pytest.mark.parametrize("path", GENERIC)
def test_generic_modules_name_no_action_and_no_lab(path: str) -> None:
    """The runner and the spec loader know actions through the registry only; the upload route
    and the thumbnail fields are in the labs' YAML."""
    text = (REPO / path).read_text()
    for action in ordered_actions():
        if path in ("awslab/spec.py", "awslab/exercise/checks.py"):
            assert f'"{action.attr()}"' not in text and f'"{action.key}"' not in text
            assert f"check.{action.attr()}" not in text and f"c.{action.attr()}" not in text
    for lab_detail in (
        '"/files"',
        '"POST /files"',
        "thumbnail",
        '"uploads/"',
        '"rejected"',
        '"crud"',
        '"workflow"',
    ):
        assert lab_detail not in text, f"{path} knows a lab: {lab_detail}"
