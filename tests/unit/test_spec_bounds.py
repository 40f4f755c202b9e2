"""Bad input is bounded: alias bombs, deep nesting and oversized files stop with a SpecError
naming the file and line (not minutes of CPU and gigabytes); names match their pattern whole;
an unknown field's error lists the valid ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from awslab.errors import SpecError
from awslab.resources.apigateway import RestApiProps
from awslab.resources.awslambda import FunctionProps
from awslab.resources.iam import RoleProps
from awslab.spec import MAX_SPEC_BYTES, load_spec
from awslab.yamlmap import MAX_ALIAS_NODES, load_yaml
from tests.unit.spec_cases import (
    FN,
    assert_problem,
    lab_dir_fixture,  # noqa: F401 (provides the lab_dir fixture)
    problems_of,
)

VALID = f"name: a\nresources:\n  fn: {FN}\n"


def laughs(levels: int, fanout: int = 9) -> str:
    """A "billion laughs" spec: each level lists the previous one `fanout` times, so the last
    expands to fanout**levels values. Valid otherwise: a check's payload takes any data."""
    lines = [VALID.rstrip("\n"), "checks:", "  - invoke: fn", "    payload:"]
    lines.append(f"      l0: &l0 [{', '.join(['lol'] * fanout)}]")
    for i in range(1, levels):
        lines.append(f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


# 59,049 values (took 0.5 s before), and 3.5 billion in 600 bytes (would take hours and terabytes)
@pytest.mark.parametrize("levels", [5, 10])
def test_an_alias_bomb_stops_at_the_line_that_explodes(lab_dir: Path, levels: int) -> None:
    problems = problems_of(lab_dir, laughs(levels))
    assert len(problems) == 1
    # l0..l3 expand to 9 + 90 + 819 + 7380 values; l4 passes the budget
    assert_problem(
        problems[0], 11, "checks[0].payload.l4", rf"YAML aliases expand to more than {MAX_ALIAS_NODES:,}"
    )


def test_merge_keys_count_too(lab_dir: Path) -> None:
    keys = ", ".join(f"k{i}: x" for i in range(10))
    levels = [f"      m0: &m0 {{{keys}}}"]
    levels += [
        f"      m{i}: &m{i} {{{', '.join(f'k{j}: {{<<: *m{i - 1}}}' for j in range(10))}}}"
        for i in range(1, 6)
    ]
    text = VALID + "checks:\n  - invoke: fn\n    payload:\n" + "\n".join(levels) + "\n"
    problems = problems_of(lab_dir, text)
    assert len(problems) == 1 and "YAML aliases expand to more than" in problems[0], problems


def test_everyday_aliases_and_merges_still_load(lab_dir: Path) -> None:
    functions = "\n".join(f"  fn{i}: {{<<: *fn, memory: {128 + i}}}" for i in range(50))
    text = f"name: a\nresources:\n  fn: &fn {FN}\n{functions}\n"
    (lab_dir / "lab.yaml").write_text(text)
    spec = load_spec("lab.yaml")
    assert spec.resources["fn49"].fields["memory"] == 177
    assert spec.resources["fn49"].fields["code"] == "code"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a: &a [1, *a]\n", id="alias-inside-its-anchor"),
        pytest.param("a: " + "[" * 1000 + "]" * 1000 + "\n", id="brackets"),
        pytest.param("a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 200)), id="indentation"),
    ],
)
def test_deep_nesting_is_refused(text: str) -> None:
    with pytest.raises(SpecError, match=r"^lab\.yaml:\d+: .*nested more than 64 levels deep"):
        load_yaml(text, "lab.yaml")


def test_a_mapping_that_merges_itself(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, "name: a\nresources:\n  b: &b {type: s3.bucket, <<: *b}\n")
    assert_problem(problems[0], 3, "", "not valid YAML: a mapping merges itself")


def test_a_spec_over_256_kb_is_refused_before_it_is_read(lab_dir: Path) -> None:
    padding = "# " + "x" * 98 + "\n"
    (lab_dir / "lab.yaml").write_text(VALID + padding * (MAX_SPEC_BYTES // len(padding) + 1))
    with pytest.raises(SpecError, match=r"^lab\.yaml: the file is larger than 262,144 bytes \(256 KB\)"):
        load_spec("lab.yaml")


def test_a_spec_that_is_not_a_regular_file(lab_dir: Path) -> None:
    os.mkfifo(lab_dir / "lab.yaml")  # reading it would wait for a writer forever
    with pytest.raises(SpecError, match=r"^lab\.yaml: not a regular file"):
        load_spec("lab.yaml")


# ---- names match whole ---------------------------------------------------------------------------
def test_a_lab_name_with_a_trailing_newline(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, VALID.replace("name: a", 'name: "a\\n"'))
    assert_problem(
        problems[0], 1, "name", r"^invalid lab name 'a\\n'; expected"
    )  # shown escaped, on one line


def test_a_logical_name_with_a_trailing_newline(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, VALID + '  "b\\n": {type: s3.bucket}\n')
    assert len(problems) == 1
    assert_problem(problems[0], 4, 'resources["b\\n"]', "^invalid logical name")


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (FunctionProps, {"code": "c", "role": "r", "environment": {"TABLE\n": "t"}}),
        (FunctionProps, {"code": "c", "role": "r", "runtime": "python3.12\n"}),
        (FunctionProps, {"code": "c", "role": "r", "handler": "app.handler\n"}),
        (RoleProps, {"service": "lambda\n"}),
        (RoleProps, {"service": "lambda", "allow": [{"actions": ["s3:GetObject\n"], "resources": ["*"]}]}),
        (RestApiProps, {"routes": {"GET /items\n/x": "fn"}}),
        (RestApiProps, {"routes": {"GET /items": "fn\n"}}),
        (RestApiProps, {"routes": {"GET /items": "fn"}, "stage": "dev\n"}),
    ],
    ids=["env-key", "runtime", "handler", "service", "action", "path-segment", "route-target", "stage"],
)
def test_a_trailing_newline_never_passes_a_field_pattern(model: Any, fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(fields)


# ---- unknown fields ------------------------------------------------------------------------------
FN_FIELDS = "architecture, code, description, environment, exclude, handler, memory, role, runtime, timeout"


def test_an_unknown_field_lists_the_valid_ones_and_the_closest(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, VALID.replace("role:", "memroy: 256, role:"))
    assert_problem(problems[0], 3, "resources.fn.memroy",
                   rf"unknown field for lambda\.function; did you mean 'memory'\? valid fields: {FN_FIELDS}$")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "path", "gist"),
    [
        (VALID + "outputz: {}\n", 4, "outputz", r"did you mean 'outputs'\? valid fields: checks, description, "
         r"name, outputs, params, resources, tags$"),
        (VALID + "  r: {type: iam.role, service: lambda, allow: [{actions: ['s3:GetObject'], resources: ['*'], "
         "effect: Allow}]}\n", 4, "resources.r.allow[0].effect", r"; valid fields: actions, condition, resources$"),
        (VALID + "  api:\n    type: apigateway.rest_api\n    routes: {GET /x: fn}\n    cors: {allow_origin: ['*']}\n",
         7, "resources.api.cors.allow_origin", r"did you mean 'allow_origins'\? valid fields: allow_headers, "),
        (VALID + "checks:\n  - invoke: fn\n    expct: {status: 200}\n", 6, "checks[0].expct",
         r"did you mean 'expect'\? valid fields: api, attributes, body, bus, call, detail-type, expect, headers, "
         r"invoke, json, name, payload, publish, queue, route, send-event, send-message, source, start-execution, "
         r"state_machine, subject, summary, topic, upload$"),
    ],
    ids=["top-level", "list-item", "nested-model", "check"],
)  # fmt: skip
def test_unknown_fields_at_any_depth(lab_dir: Path, text: str, line: int, path: str, gist: str) -> None:
    problems = problems_of(lab_dir, text)
    assert_problem(problems[-1], line, path, gist)


def test_thousands_of_problems_are_cut_to_the_first_fifty(lab_dir: Path) -> None:
    buckets = "".join(f"  b{i}: {{type: s3.bucket, nope: 1}}\n" for i in range(300))
    (lab_dir / "lab.yaml").write_text("name: a\nresources:\n" + buckets)
    with pytest.raises(SpecError) as info:
        load_spec("lab.yaml")
    assert len(info.value.problems) == 300  # all kept for --output json and for callers
    lines = str(info.value).splitlines()
    assert len(lines) == SpecError.MAX_SHOWN + 1
    assert lines[-1] == "... and 250 more problems"
