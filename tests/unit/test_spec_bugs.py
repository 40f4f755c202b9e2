"""Bugs found in spec validation (and in the kind registry it relies on): each test shows one, marked
xfail(strict=True) until it is fixed."""

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


@pytest.mark.xfail(
    strict=True,
    reason="BUG: spec.py validate() (the `continue`s at lines 312-346) + _check_references line 396: a "
    "resource with an error of its own is left out of `specs`, so every reference to it is "
    "also reported as 'reference to unknown resource' although it is in the spec",
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


@pytest.mark.xfail(
    strict=True,
    reason="BUG: spec.py _dotted (line 228) prints any int in a key path as a list "
    "index, and pydantic's loc for a non-string dict key is ('resources', 5, '[key]'): a logical "
    "name YAML reads as a number or boolean (`5:`, `yes:`) is reported as 'resources[5].[key]' / "
    "'resources[1].[key]: ... (got True)' instead of naming the key and saying to quote it",
)
@pytest.mark.parametrize("key", ["5", "yes"])
def test_a_logical_name_that_yaml_reads_as_a_number_or_boolean(lab_dir: Path, key: str) -> None:
    problems = problems_of(
        lab_dir, f"name: a\nresources:\n  b: {{type: s3.bucket}}\n  {key}: {{type: s3.bucket}}\n"
    )
    assert len(problems) == 1
    assert problems[0].startswith("lab.yaml:4: resources.")
    assert "[key]" not in problems[0] and "resources[" not in problems[0]


@pytest.mark.xfail(
    strict=True,
    reason="BUG: spec.py _build (lines 185-194) checks duplicates after "
    "flatten_mapping, so a key that overrides one merged in with `<<: *anchor` (legal YAML, and "
    "the usual way to share settings) is rejected as a duplicate key",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="BUG: spec.py load_yaml (line 219) prefers problem_mark, which for an "
    "unclosed quote or bracket is the end of the stream: the line reported is past the end of "
    "the file. context_mark (where the quote/bracket was opened) is the useful line",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="BUG: spec.py validate (lines 313-318): a `type:` that is present but not "
    "a string (e.g. a list) is reported as \"missing 'type'\" on the resource's line",
)
def test_a_type_that_is_not_a_string_is_not_called_missing(lab_dir: Path) -> None:
    problems = problems_of(
        lab_dir, "name: a\nresources:\n  t:\n    type: [dynamodb.table]\n    key: {id: S}\n"
    )
    assert len(problems) == 1
    assert_problem(problems[0], 4, "resources.t.type", r"^(?!missing)")


@pytest.mark.xfail(
    strict=True,
    reason="BUG (gap): spec.py only checks that a route target / a check's invoke "
    "names some resource; spec-format.md says both must be a lambda.function. A route to a "
    "dynamodb.table or `invoke: <bucket>` validates and fails later, during up or check",
)
@pytest.mark.parametrize(
    ("text", "line", "path"),
    [
        pytest.param(f"name: a\nresources:\n  fn: {FN}\n  t: {{type: dynamodb.table, key: {{id: S}}}}\n"
                     "  api:\n    type: apigateway.rest_api\n    routes:\n      GET /x: fn\n      GET /y: t\n",
                     9, "resources.api.routes", id="route-to-a-table"),
        pytest.param("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  - invoke: b\n", 5, "checks[0]",
                     id="invoke-a-bucket"),
    ],
)  # fmt: skip
def test_targets_that_must_be_functions(lab_dir: Path, text: str, line: int, path: str) -> None:
    problems = problems_of(lab_dir, text)
    assert_problem(problems[0], line, path, r"lambda\.function")


@pytest.mark.xfail(
    strict=True,
    reason="BUG (minor): spec.py _check_references line 411: an unknown bare-name "
    "dependency (a route target) is reported at the resource's line with key path "
    "'resources.api', not at the route's own line; with many routes the user must search",
)
def test_an_unknown_route_target_is_reported_at_its_route(lab_dir: Path) -> None:
    problems = problems_of(
        lab_dir,
        f"name: a\nresources:\n  fn: {FN}\n  api:\n    type: apigateway.rest_api\n"
        "    routes:\n      GET /x: fn\n      GET /y: nope\n",
    )
    assert problems[0].startswith("lab.yaml:8: resources.api.routes")
