"""Lab specs (awslab/spec.py): every case of the corpus (tests/unit/spec_cases.py) checked for the
exact line, key path and gist; how problems are reported; the good path (configs/crud.yaml, its
order, references() and resolve()). No AWS. Bugs found are in test_spec_bugs.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from awslab.errors import SpecError, UsageError
from awslab.references import references, resolve
from awslab.resources.base import load_kinds
from awslab.spec import LabSpec, builtin_labs, find_lab, load_spec
from tests.unit.spec_cases import (
    CORPUS,
    FN,
    REPO,
    Broken,
    assert_problem,
    lab_dir_fixture,  # noqa: F401 (provides the lab_dir fixture)
    problems_of,
)


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 18


@pytest.mark.parametrize("case", list(CORPUS.values()), ids=list(CORPUS))
def test_broken_spec(lab_dir: Path, case: Broken) -> None:
    problems = problems_of(lab_dir, case.yaml)
    assert len(problems) == 1, problems
    assert_problem(problems[0], case.line, case.path, case.gist)


def test_the_corpus_kinds_exist() -> None:
    # the corpus uses these kinds: if one is renamed, the cases above would test the wrong thing
    assert {"s3.bucket", "s3.files", "dynamodb.table", "iam.role", "lambda.function",
            "apigateway.rest_api"} <= set(load_kinds())  # fmt: skip


def test_every_problem_is_reported_at_once(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, dedent("""\
        name: Bad
        resources:
          t: {type: dynamodb.tabel}
          u:
            type: s3.bucket
            colour: 1
          v: {type: s3.bucket}
        outputs:
          x: ${v.nothing}
        """))  # fmt: skip
    assert len(problems) == 4, problems
    assert_problem(problems[0], 1, "name", "invalid lab name 'Bad'")
    assert_problem(problems[1], 3, "resources.t.type", "unknown kind")
    assert_problem(problems[2], 6, "resources.u.colour", "unknown field for s3.bucket")
    assert_problem(problems[3], 9, "outputs.x", "has no attribute 'nothing'")


def test_spec_error_is_exit_code_2_and_names_the_file(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text("name: a\nresources: {}\n")
    with pytest.raises(SpecError) as info:
        load_spec("lab.yaml")
    assert info.value.exit_code == 2
    assert info.value.file == "lab.yaml"
    assert str(info.value) == "lab.yaml:2: resources: a lab needs at least one resource"


def test_a_spec_outside_the_cwd_is_named_by_its_full_path(
    lab_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "x.yaml"
    elsewhere.write_text("name: a\nresources: {}\n")
    with pytest.raises(SpecError, match=rf"^{re.escape(str(elsewhere))}:2: resources: "):
        load_spec(elsewhere)


def test_missing_and_binary_files(lab_dir: Path) -> None:
    with pytest.raises(SpecError, match=r"^nope\.yaml: cannot read the file: No such file"):
        load_spec("nope.yaml")
    (lab_dir / "bin.yaml").write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(SpecError, match=r"^bin\.yaml: not a text file \(expected UTF-8 YAML\)"):
        load_spec("bin.yaml")


def test_windows_line_endings_keep_line_numbers(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_bytes(b"name: a\r\nresources:\r\n  t:\r\n    type: dynamodb.tabel\r\n")
    with pytest.raises(SpecError) as info:
        load_spec("lab.yaml")
    assert_problem(info.value.problems[0], 4, "resources.t.type", "unknown kind")


def test_paths_are_relative_to_the_spec_not_the_cwd(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = lab_dir / "sub"
    (sub / "handlers" / "fn").mkdir(parents=True)
    (sub / "lab.yaml").write_text(
        f"name: a\nresources:\n  fn: {FN.replace('code: code', 'code: handlers/fn')}\n"
    )
    assert load_spec(sub / "lab.yaml").resources["fn"].fields["code"] == "handlers/fn"
    monkeypatch.chdir(sub / "handlers")  # from elsewhere, the same spec is still valid
    assert load_spec(sub / "lab.yaml").base_dir == sub
    # and a directory that exists only relative to the cwd does not count
    (sub / "lab.yaml").write_text(f"name: a\nresources:\n  fn: {FN.replace('code: code', 'code: fn')}\n")
    with pytest.raises(SpecError, match="directory 'fn' not found"):
        load_spec(sub / "lab.yaml")


LOAD_AFTER_ONE_KIND = """
import sys
import awslab.resources.s3_bucket  # any module importing one kind first (tests/resources do)
from awslab.errors import SpecError
from awslab.spec import load_spec
try:
    load_spec(sys.argv[1])
except SpecError as exc:
    print(exc)
    sys.exit(2)
"""


def test_kinds_load_even_after_one_kind_module_was_imported() -> None:
    # regression: load_kinds() once returned the partial registry left by such an import
    proc = subprocess.run([sys.executable, "-c", LOAD_AFTER_ONE_KIND, str(REPO / "configs" / "crud.yaml")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- the good path ------------------------------------------------------------------------
def test_crud_validates_with_dependencies_first() -> None:
    spec = load_spec(REPO / "configs" / "crud.yaml")
    assert isinstance(spec, LabSpec)
    assert spec.name == "crud"
    assert spec.base_dir == REPO / "configs"
    assert {"items", "role", "items-fn", "site", "api", "site-files"} <= set(spec.resources)
    assert sorted(spec.order) == sorted(spec.resources)
    for name, r in spec.resources.items():
        assert r.logical == name
        for dep in r.depends_on:
            assert spec.order.index(dep) < spec.order.index(name), f"{dep} must come before {name}"
    api = spec.resources["api"]
    assert api.kind == "apigateway.rest_api"
    assert "items-fn" in api.depends_on  # a bare-name route target is a dependency too
    # its environment names the table (a string to Lambda): made beside it, not after it
    assert "role" in spec.resources["items-fn"].depends_on and spec.resources["items-fn"].predicted == {
        "items"
    }
    # the role's policy names the table by its ARN, known from its name: no dependency
    assert spec.resources["role"].depends_on == set() and spec.resources["role"].predicted == {"items"}
    assert spec.resources["site-files"].depends_on >= {"site", "api"}
    assert spec.kinds() >= {
        "dynamodb.table",
        "iam.role",
        "lambda.function",
        "s3.bucket",
        "apigateway.rest_api",
    }
    assert spec.outputs["api_url"] == "${api.url}"
    assert spec.checks and all(c.action == "call" for c in spec.checks)


def test_resource_lines_and_fields(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text(dedent("""\
        name: lab
        description: one line
        resources:
          # the table
          items: {type: dynamodb.table, key: {id: S}}

          fn:
            type: lambda.function
            code: code
            handler: app.handler
            role: arn:aws:iam::1:role/r
            environment: {TABLE: "${items.name}", ARN: "x-${items.arn}"}
        outputs: {table: "${items.name}"}
        checks:
          - {invoke: fn, payload: {a: 1}, expect: {error: false}}
          - {send-message: hi, expect: {record: {a: 1}}}
        """))  # fmt: skip
    spec = load_spec("lab.yaml")
    assert spec.description == "one line"
    assert spec.resources["items"].line == 5
    assert spec.resources["fn"].line == 7
    assert spec.resources["fn"].fields == {"code": "code", "handler": "app.handler", "role": "arn:aws:iam::1:role/r",
                                           "environment": {"TABLE": "${items.name}", "ARN": "x-${items.arn}"}}  # fmt: skip
    assert spec.resources["fn"].depends_on == set() and spec.resources["fn"].predicted == {"items"}
    assert spec.order == ["items", "fn"]
    assert [c.action for c in spec.checks] == ["invoke", "send_message"]
    assert spec.checks[0].expect.error is False


def test_references_found_at_any_depth() -> None:
    value = {
        "a": "${items.arn}",
        "b": ["x", {"c": "pre-${role.name}-mid-${items.name}-post"}],
        "${keyed.name}": 1,
        "t": ("${tup.id}",),
        "n": 5,
        "none": None,
        "not-refs": "$items.arn {items.arn} ${items} ${.arn}",
    }
    assert references(value) == {("items", "arn"), ("role", "name"), ("items", "name"), ("keyed", "name"),
                                 ("tup", "id")}  # fmt: skip
    assert references("plain") == set()
    assert references(42) == set()


def test_resolve_whole_string_keeps_the_value_embedded_is_formatted() -> None:
    attrs = {"api": {"url": "http://h/dev", "id": "a1"}, "t": {"keys": ["x", "y"], "n": 3, "cfg": {"k": "v"}}}
    assert resolve("${t.keys}", attrs) == ["x", "y"]
    assert resolve("${t.n}", attrs) == 3
    assert resolve("${t.cfg}", attrs) == {"k": "v"}
    assert resolve("${api.url}/items?n=${t.n}", attrs) == "http://h/dev/items?n=3"
    assert resolve(" ${api.id}", attrs) == " a1"  # not the whole string: formatted
    nested = {"${api.id}": ["${api.url}", {"deep": "${t.keys}"}, 7, None], "flag": True, "tup": ("${t.n}",)}
    assert resolve(nested, attrs) == {
        "a1": ["http://h/dev", {"deep": ["x", "y"]}, 7, None],
        "flag": True,
        "tup": [3],
    }
    assert resolve("no refs", attrs) == "no refs"
    with pytest.raises(KeyError):
        resolve("${api.nothing}", attrs)


def test_find_lab() -> None:
    assert "crud" in builtin_labs()
    assert find_lab("crud") == REPO / "configs" / "crud.yaml"
    with pytest.raises(UsageError, match="unknown lab 'crdu'") as info:
        find_lab("crdu")
    assert info.value.hint == "did you mean 'crud'?"
    with pytest.raises(UsageError, match="no lab spec at"):
        find_lab("./nowhere/lab.yaml")
