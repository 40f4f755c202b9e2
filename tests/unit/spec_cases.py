"""The corpus of broken lab specs and the helpers the spec tests share: each case is a YAML text,
the line and key path its one problem must name, and a regex for the gist of the message."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from textwrap import dedent
from typing import NamedTuple

import pytest

from awslab.errors import SpecError
from awslab.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
AWSLAB = Path(sys.executable).parent / "awslab"


class Broken(NamedTuple):
    yaml: str
    line: int
    path: str  # key path; "" when the problem is the file itself
    gist: str  # a regex the message must contain


# A lambda.function with everything valid: the cases below break one thing at a time.
FN = "{type: lambda.function, code: code, handler: app.handler, role: 'arn:aws:iam::1:role/r'}"

CORPUS: dict[str, Broken] = {
    # ---- the file itself
    "not-yaml": Broken("name: a\nresources:\n  t: type: s3.bucket\n", 3, "",
                       r"not valid YAML: mapping values are not allowed here"),
    "alias-bomb": Broken("name: a\nx: &x [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"x{i}: &x{i} [{', '.join([f'*x{i - 1}' if i else '*x'] * 10)}]\n" for i in range(9)), 5, "x2",
        r"YAML aliases expand to more than 10,000 values"),
    "tab-indent": Broken("name: a\n\tresources: {}\n", 2, "", r"not valid YAML: found character '\\t'"),
    "bad-indent": Broken("name: a\nresources:\n  t:\n    type: s3.bucket\n   bad: 1\n", 5, "",
                         r"not valid YAML: expected <block end>"),
    "two-documents": Broken("name: a\nresources:\n  b: {type: s3.bucket}\n---\nname: b\n", 4, "",
                            r"not valid YAML: .*another document"),
    "empty": Broken("", 1, "", r"the file is empty; expected a lab spec"),
    "only-comments": Broken("# a lab, some day\n\n", 1, "", r"the file is empty"),
    "list-at-top": Broken("- name: a\n- name: b\n", 1, "", r"expected a mapping with name, .*; got list"),
    "scalar-at-top": Broken("just words\n", 1, "", r"expected a mapping .*; got str"),
    # ---- duplicate keys
    "duplicate-top-key": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nname: b\n", 4, "name",
                                r"duplicate key 'name' \(first on line 1\)"),
    "duplicate-nested-key": Broken(
        "name: a\nresources:\n  t:\n    type: dynamodb.table\n    key: {id: S}\n    key: {id: N}\n", 6,
        "resources.t.key", r"duplicate key 'key' \(first on line 5\)"),
    "duplicate-logical-name": Broken(
        "name: a\nresources:\n  b: {type: s3.bucket}\n  c: {type: s3.bucket}\n  b: {type: s3.bucket}\n", 5,
        "resources.b", r"duplicate key 'b' \(first on line 3\)"),
    "duplicate-key-in-list-item": Broken(dedent("""\
        name: a
        resources:
          r:
            type: iam.role
            service: lambda
            allow:
              - actions: [s3:GetObject]
                actions: [s3:PutObject]
                resources: ['*']
        """), 8, "resources.r.allow[0].actions", r"duplicate key 'actions' \(first on line 7\)"),
    "non-scalar-key": Broken("name: a\nresources:\n  ? [x, y]\n  : 1\n", 3, "resources", r"keys must be plain scalars"),
    # ---- top level
    "unknown-top-level-field": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nresorces: {}\n", 4, "resorces",
                                      r"unknown field"),
    "missing-name": Broken("description: d\nresources:\n  b: {type: s3.bucket}\n", 1, "name",
                           r"missing required field"),
    "name-not-a-string": Broken("name: 5\nresources:\n  b: {type: s3.bucket}\n", 1, "name",
                                r"valid string \(got 5\)"),
    "invalid-lab-name": Broken("description: d\nname: My_Lab\nresources:\n  b: {type: s3.bucket}\n", 2, "name",
                               r"invalid lab name 'My_Lab'; expected lowercase letters"),
    "lab-name-with-a-trailing-newline": Broken('name: "lab\\n"\nresources:\n  b: {type: s3.bucket}\n', 1, "name",
                                               r"invalid lab name"),
    "lab-name-too-long": Broken("name: abcdefghij-abcdefghij\nresources:\n  b: {type: s3.bucket}\n", 1, "name",
                                r"invalid lab name .*at most 20"),
    "no-resources": Broken("name: a\nresources: {}\n", 2, "resources", r"a lab needs at least one resource"),
    "resources-a-list": Broken("name: a\nresources:\n  - b\n", 2, "resources", r"valid dictionary"),
    "resource-not-a-mapping": Broken("name: a\nresources:\n  b: s3.bucket\n", 3, "resources.b",
                                     r"valid dictionary"),
    "outputs-not-strings": Broken("name: a\nresources:\n  b: {type: s3.bucket}\noutputs:\n  x: [1]\n", 5,
                                  "outputs.x", r"valid string"),
    # ---- logical names, kinds, fields
    "invalid-logical-name": Broken("name: a\nresources:\n  b: {type: s3.bucket}\n  My_Table: {type: s3.bucket}\n",
                                   4, "resources.My_Table", r"invalid logical name; expected lowercase"),
    "missing-type": Broken("name: a\nresources:\n  t:\n    key: {id: S}\n", 3, "resources.t",
                           r"missing 'kind' \(one of: .*dynamodb\.table"),
    "unknown-kind": Broken("name: a\nresources:\n  t:\n    type: dynamodb.tabel\n    key: {id: S}\n", 4,
                           "resources.t.type",
                           r"unknown kind 'dynamodb\.tabel'; did you mean 'dynamodb\.table'\? known kinds: "),
    "unknown-kind-nothing-close": Broken("name: a\nresources:\n  t: {type: zzz}\n", 3, "resources.t.type",
                                         r"unknown kind 'zzz'; known kinds: .*s3\.bucket"),
    "unknown-field-of-kind": Broken(
        "name: a\nresources:\n  t:\n    type: dynamodb.table\n    key: {id: S}\n    colour: red\n", 6,
        "resources.t.colour", r"unknown field for dynamodb\.table; valid fields: key, stream, ttl$"),
    "unknown-nested-field": Broken(dedent(f"""\
        name: a
        resources:
          fn: {FN}
          api:
            type: apigateway.rest_api
            routes: {{GET /x: fn}}
            cors:
              allow_origins: ['*']
              allow_colours: [red]
        """), 9, "resources.api.cors.allow_colours", r"unknown field for apigateway\.rest_api"),
    "missing-field-of-kind": Broken("name: a\nresources:\n  t:\n    type: dynamodb.table\n", 3, "resources.t.key",
                                    r"missing required field for dynamodb\.table"),
    "wrong-type-of-field": Broken(dedent("""\
        name: a
        resources:
          fn:
            type: lambda.function
            code: code
            handler: app.handler
            role: arn:aws:iam::1:role/r
            timeout: soon
        """), 8, "resources.fn.timeout", r"valid integer.*\(got 'soon'\)"),
    "wrong-value-of-field": Broken("name: a\nresources:\n  t:\n    type: dynamodb.table\n    key: {id: X}\n", 5,
                                   "resources.t.key.id", r"'S', 'N' or 'B' \(got 'X'\)"),
    "field-validator-fails": Broken(f"name: a\nresources:\n  fn: {FN}\n  api:\n    type: apigateway.rest_api\n"
                                    "    routes:\n      FETCH /x: fn\n", 6, "resources.api.routes",
                                    r"route 'FETCH /x': method must be one of"),
    # ---- files
    "missing-handler-directory": Broken(dedent("""\
        name: a
        resources:
          fn:
            type: lambda.function
            handler: app.handler
            role: arn:aws:iam::1:role/r
            code: handlers/nope
        """), 7, "resources.fn.code", r"directory 'handlers/nope' not found \(looked in .*handlers/nope\)"),
    "code-outside-the-project": Broken(f"name: a\nresources:\n  fn: {FN.replace('code: code', 'code: /etc')}\n", 3,
                                       "resources.fn.code", r"'/etc' leads outside .* \(the directory that holds the spec\)"),
    "source-is-a-file": Broken("name: a\nresources:\n  b: {type: s3.bucket}\n  f:\n    type: s3.files\n"
                               "    bucket: ${b.name}\n    source: afile.txt\n", 7, "resources.f.source",
                               r"directory 'afile.txt' not found"),
    # ---- references
    "dangling-reference": Broken("name: a\nresources:\n  b: {type: s3.bucket}\n  f:\n    type: s3.files\n"
                                 "    source: code\n    bucket: ${bukket.name}\n", 7, "resources.f.bucket",
                                 r"reference to unknown resource 'bukket'"),
    "dangling-reference-close-match": Broken(
        "name: a\nresources:\n  buckets: {type: s3.bucket}\noutputs:\n  x: ${bucket.name}\n", 5, "outputs.x",
        r"reference to unknown resource 'bucket'; did you mean 'buckets'\?"),
    "dangling-reference-embedded-in-list": Broken(dedent("""\
        name: a
        resources:
          b: {type: s3.bucket}
          r:
            type: iam.role
            service: lambda
            allow:
              - actions: [s3:GetObject]
                resources:
                  - ${b.arn}
                  - ${c.arn}/*
        """), 11, "resources.r.allow[0].resources[1]", r"reference to unknown resource 'c'"),
    "unknown-attribute": Broken("name: a\nresources:\n  b: {type: s3.bucket}\n  f:\n    type: s3.files\n"
                                "    source: code\n    bucket: ${b.colour}\n", 7, "resources.f.bucket",
                                r"s3\.bucket 'b' has no attribute 'colour'; it has: name, arn"),
    "output-unknown-resource": Broken("name: a\nresources:\n  b: {type: s3.bucket}\noutputs:\n  ok: ${b.name}\n"
                                      "  url: http://${site.name}/\n", 6, "outputs.url",
                                      r"reference to unknown resource 'site'"),
    "output-unknown-attribute": Broken("name: a\nresources:\n  b: {type: s3.bucket}\noutputs:\n  u: ${b.url}\n", 5,
                                       "outputs.u", r"s3\.bucket 'b' has no attribute 'url'"),
    "check-unknown-reference": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  - call: GET /x\n"
                                      "    json: {bucket: '${bb.name}'}\n", 6, "checks[0].json.bucket",
                                      r"reference to unknown resource 'bb'"),
    "route-target-not-a-resource": Broken(f"name: a\nresources:\n  fn: {FN}\n  api:\n    type: apigateway.rest_api\n"
                                          "    routes:\n      GET /x: fn\n      GET /y: nope\n", 8, 'resources.api.routes["GET /y"]',
                                          r"refers to unknown resource 'nope'"),
    # ---- cycles
    "cycle-of-two": Broken(dedent("""\
        name: a
        resources:
          r1:
            type: iam.role
            service: lambda
            description: "${r2.arn}"
          r2:
            type: iam.role
            service: lambda
            description: "${r1.arn}"
        """), 3, "resources", r"dependency cycle r1 -> r2 -> r1; break it"),
    "cycle-of-three-reached-from-outside": Broken(dedent("""\
        name: a
        resources:
          x: {type: iam.role, service: lambda, description: "${a.arn}"}
          a: {type: iam.role, service: lambda, description: "${b.arn}"}
          b: {type: iam.role, service: lambda, description: "${c.arn}"}
          c: {type: iam.role, service: lambda, description: "${a.arn}"}
        """), 4, "resources", r"dependency cycle a -> b -> c -> a;"),
    "self-reference": Broken("name: a\nresources:\n  r: {type: iam.role, service: lambda, description: '${r.arn}'}\n",
                             3, "resources", r"dependency cycle r -> r"),
    # ---- checks
    "check-with-two-actions": Broken(f"name: a\nresources:\n  fn: {FN}\nchecks:\n  - call: GET /x\n"
                                     "  - call: GET /y\n    invoke: fn\n", 6, "checks[1]",
                                     r"a check needs exactly one of: call, invoke, send-message"),
    "check-with-no-action": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  - name: nothing\n"
                                   "    expect: {status: 200}\n", 5, "checks[0]", r"a check needs exactly one of"),
    "check-invokes-unknown-resource": Broken(f"name: a\nresources:\n  fn: {FN}\nchecks:\n  - invoke: fn\n"
                                             "  - invoke: fnn\n", 6, "checks[1]", r"unknown resource 'fnn'"),
    "check-names-unknown-api": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  - call: GET /x\n"
                                      "    api: apii\n", 5, "checks[0]", r"unknown resource 'apii'"),
    "check-unknown-field": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  - call: GET /x\n"
                                  "    colour: red\n", 6, "checks[0].colour", r"unknown field"),
    "check-expect-wrong-type": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  - call: GET /x\n"
                                      "    expect: {status: ok}\n", 6, "checks[0].expect.status",
                                      r"valid integer.*\(got 'ok'\)"),
    "checks-not-a-list": Broken("name: a\nresources:\n  b: {type: s3.bucket}\nchecks:\n  call: GET /x\n", 4,
                                "checks", r"valid list"),
}  # fmt: skip


@pytest.fixture(name="lab_dir")
def lab_dir_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec directory, also the cwd, so messages name the file as 'lab.yaml'."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "afile.txt").write_text("x")
    return tmp_path


def problems_of(lab_dir: Path, text: str) -> list[str]:
    (lab_dir / "lab.yaml").write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(lab_dir / "lab.yaml")
    return info.value.problems


def assert_problem(problem: str, line: int, path: str, gist: str) -> None:
    prefix = f"lab.yaml:{line}: " + (f"{path}: " if path else "")
    assert problem.startswith(prefix), f"expected {prefix!r} at the start of {problem!r}"
    assert re.search(gist, problem[len(prefix) :]), f"expected /{gist}/ in {problem!r}"
