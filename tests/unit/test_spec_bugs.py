"""Bugs found in spec validation (and in the kind registry it relies on): each test shows one, marked
fixed since; kept as regression tests."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from awslab.spec import load_spec
from tests.unit.spec_cases import (
    FN,
    assert_problem,
    lab_dir_fixture,  # noqa: F401 (provides the lab_dir fixture)
    problems_of,
)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("name: a\nresources:\n  t:\n    type: dynamodb.table\n    key: {id: S}\n    colour: red\n"
                     "  r: {type: iam.role, service: lambda, description: '${t.arn}'}\n", id="bad-field"),
        pytest.param("name: a\nresources:\n  T: {type: dynamodb.table, key: {id: S}}\n"
                     "  r: {type: iam.role, service: lambda, description: '${T.arn}'}\n", id="bad-logical-name"),
        pytest.param("name: a\nresources:\n  t: {type: dynamodb.tabel, key: {id: S}}\n"
                     "  r: {type: iam.role, service: lambda, description: '${t.arn}'}\n", id="bad-kind"),
        pytest.param("name: a\nresources:\n  fn: {type: lambda.function, code: nope, handler: a.b, role: r}\n"
                     "  api: {type: apigateway.rest_api, routes: {GET /x: fn}}\n", id="missing-code-dir"),
    ],
)  # fmt: skip
def test_a_broken_resource_is_not_also_reported_as_unknown(lab_dir: Path, text: str) -> None:
    problems = problems_of(lab_dir, text)
    assert not any("unknown resource" in p for p in problems), problems
    assert len(problems) == 1


@pytest.mark.parametrize("key", ["5", "yes"])
def test_a_logical_name_that_yaml_reads_as_a_number_or_boolean(lab_dir: Path, key: str) -> None:
    problems = problems_of(
        lab_dir, f"name: a\nresources:\n  b: {{type: s3.bucket}}\n  {key}: {{type: s3.bucket}}\n"
    )
    assert len(problems) == 1
    assert problems[0].startswith("lab.yaml:4: resources.")
    assert "[key]" not in problems[0] and "resources[" not in problems[0]


def test_a_key_may_override_a_merged_one(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text(dedent("""\
        name: a
        resources:
          t1: &table {type: dynamodb.table, key: {id: S}}
          t2:
            <<: *table
            key: {pk: S}
        """))  # fmt: skip
    spec = load_spec("lab.yaml")
    assert spec.resources["t2"].fields["key"] == {"pk": "S"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            'name: a\ndescription: "oops\nresources:\n  b: {type: s3.bucket}\n', 2, id="unclosed-quote"
        ),
        pytest.param("name: a\nresources: [b\n", 2, id="unclosed-bracket"),
    ],
)
def test_an_unclosed_quote_is_reported_where_it_opens(lab_dir: Path, text: str, line: int) -> None:
    problems = problems_of(lab_dir, text)
    assert problems[0].startswith(f"lab.yaml:{line}: not valid YAML")


def test_a_type_that_is_not_a_string_is_not_called_missing(lab_dir: Path) -> None:
    problems = problems_of(
        lab_dir, "name: a\nresources:\n  t:\n    type: [dynamodb.table]\n    key: {id: S}\n"
    )
    assert len(problems) == 1
    assert_problem(problems[0], 4, "resources.t.type", r"^(?!missing)")


@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        pytest.param(f"name: a\nresources:\n  fn: {FN}\n  t: {{type: dynamodb.table, key: {{id: S}}}}\n"
                     "  api:\n    type: apigateway.rest_api\n    routes:\n      GET /x: fn\n      GET /y: t\n",
                     9, 'resources.api.routes["GET /y"]', id="route-to-a-table"),
        pytest.param("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  - invoke: b\n", 5, "checks[0]",
                     id="invoke-a-bucket"),
    ],
)  # fmt: skip
def test_targets_that_must_be_functions(lab_dir: Path, text: str, line: int, path: str) -> None:
    problems = problems_of(lab_dir, text)
    assert_problem(problems[0], line, path, r"lambda\.function")


def test_an_unknown_route_target_is_reported_at_its_route(lab_dir: Path) -> None:
    problems = problems_of(
        lab_dir,
        f"name: a\nresources:\n  fn: {FN}\n  api:\n    type: apigateway.rest_api\n"
        "    routes:\n      GET /x: fn\n      GET /y: nope\n",
    )
    assert problems[0].startswith("lab.yaml:8: resources.api.routes")
