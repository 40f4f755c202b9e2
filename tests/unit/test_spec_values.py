"""Spec features (awslab/spec.py, references.py, spec_tags.py, spec_values.py): `params:` and their
values, built-in values, user `tags:`, `${ssm:...}` / `${secretsmanager:...}` references. Each
problem names the file, the line and the key path. The real `up` is tests/e2e/test_spec_values.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from textwrap import dedent
from typing import Any

import boto3
import pytest

from awslab.engine.plan import build_resource
from awslab.errors import AwslabError
from awslab.references import EXTERNAL, redact, references, resolve
from awslab.resources.base import Context
from awslab.spec import load_spec
from awslab.spec_values import fetch_externals, runtime_values, secrets_of
from awslab.target import Target
from tests.unit.spec_cases import (
    AWSLAB,
    FN,
    assert_problem,
    lab_dir_fixture,  # noqa: F401 (provides the lab_dir fixture)
    problems_of,
)

PARAMS = dedent("""\
    name: vals
    params:
      memory: {default: 128, description: the function's memory}
      greeting: {default: hello}
    resources:
      fn:
        type: lambda.function
        code: code
        handler: app.handler
        role: 'arn:aws:iam::1:role/r'
        memory: ${param.memory}
        environment: {SAY: "${param.greeting}, ${lab.name}!", RAW: "${param.greeting}"}
    outputs:
      memory: ${param.memory}
    """)


def _spec(lab_dir: Path, text: str, **kw: Any) -> Any:
    (lab_dir / "lab.yaml").write_text(text)
    return load_spec(lab_dir / "lab.yaml", **kw)


# ---- params ----------------------------------------------------------------------------------
def test_params_take_their_defaults_typed(lab_dir: Path) -> None:
    spec = _spec(lab_dir, PARAMS, environ={})
    fields = spec.resources["fn"].fields
    assert fields["memory"] == 128  # a whole-string reference keeps the default's type
    assert fields["environment"] == {"SAY": "hello, vals!", "RAW": "hello"}
    assert spec.outputs == {"memory": "128"} and spec.params == {"memory": 128, "greeting": "hello"}


def test_command_line_beats_environment_beats_default(lab_dir: Path) -> None:
    env = {"AWSLAB_PARAM_MEMORY": "256", "AWSLAB_PARAM_GREETING": "hi"}
    spec = _spec(lab_dir, PARAMS, params={"greeting": "hola"}, environ=env)
    assert spec.params == {"memory": "256", "greeting": "hola"}
    assert spec.resources["fn"].cls.props_model.model_validate(spec.resources["fn"].fields).memory == 256  # type: ignore[attr-defined]


def test_a_param_the_spec_does_not_declare(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text(PARAMS)
    with pytest.raises(AwslabError) as info:
        load_spec(lab_dir / "lab.yaml", params={"memroy": "1"}, environ={})
    assert_problem(str(info.value), 2, "params", r"--param memroy: .*did you mean 'memory'")


def test_unknown_param_reference(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, PARAMS.replace('RAW: "${param.greeting}"', 'RAW: "${param.greting}"'))
    assert len(problems) == 1, problems
    assert_problem(
        problems[0], 12, "resources.fn.environment.RAW", r"unknown param 'greting'; did you mean 'greeting'"
    )


def test_a_param_without_default_or_value(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = PARAMS.replace("greeting: {default: hello}", "greeting: {description: no default}")
    problems = problems_of(lab_dir, text)
    assert_problem(
        problems[0], 4, "params.greeting", r"no value: .*--param greeting=VALUE or AWSLAB_PARAM_GREETING"
    )
    monkeypatch.setenv("AWSLAB_PARAM_GREETING", "from env")
    assert _spec(lab_dir, text).params["greeting"] == "from env"


def test_bad_param_declarations(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, "name: a\nparams:\n  2x: {default: 1}\n  y: {defualt: 1}\nresources:\n"
                                    f"  f: {FN}\n")  # fmt: skip
    assert len(problems) == 1, problems  # the invalid name is reported once the shape is right
    assert_problem(problems[0], 4, "params.y.defualt", "unknown field")
    problems = problems_of(lab_dir, f"name: a\nparams:\n  2x: {{default: 1}}\nresources:\n  f: {FN}\n")
    assert_problem(problems[0], 3, "params.2x", "invalid param name")


# ---- built-in values ---------------------------------------------------------------------------
def test_unknown_builtin_values_and_reserved_names(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, dedent(f"""\
        name: a
        resources:
          f: {FN}
          aws: {{type: s3.bucket}}
        outputs:
          x: ${{lab.nom}}
          y: ${{aws.account}}
          z: ${{aws.region}}-${{aws.account_id}}
        """))  # fmt: skip
    assert len(problems) == 3, problems
    assert_problem(problems[0], 4, "resources.aws", "'aws' is reserved for built-in values")
    assert_problem(
        problems[1], 6, "outputs.x", r"unknown built-in value \$\{lab.nom\}; known: \$\{lab.name\}"
    )
    assert_problem(problems[2], 7, "outputs.y", r"known: \$\{aws.account_id\}, \$\{aws.region\}")


def test_builtins_are_no_resource_references() -> None:
    value = {"a": "${aws.region}/${fn.arn}", "${param.k}": ["${lab.name}", "${ssm:/x}"]}
    assert references(value) == {("fn", "arn")}
    values = {"aws": {"region": "eu-west-1"}, "fn": {"arn": "arn:x"}, "param": {"k": "K"},
              "lab": {"name": "l"}, EXTERNAL: {"${ssm:/x}": 5}}  # fmt: skip
    assert resolve(value, values) == {"a": "eu-west-1/arn:x", "K": ["l", 5]}
    assert resolve("v=${ssm:/x}!", values) == "v=5!"


def test_the_account_is_asked_for_only_when_used(lab_dir: Path) -> None:
    class NoAccount(Target):
        @property
        def account_id(self) -> str:
            raise AssertionError("asked for the account")

    spec = _spec(lab_dir, PARAMS, environ={})
    values = runtime_values(spec, NoAccount(kind="aws", region="eu-west-1"))
    assert values["aws"]["region"] == "eu-west-1" and values["lab"] == {"name": "vals"}
    with pytest.raises(AssertionError):
        values["aws"]["account_id"]


# ---- tags ----------------------------------------------------------------------------------------
def test_tags_merge_and_the_resource_wins(lab_dir: Path) -> None:
    spec = _spec(lab_dir, dedent(f"""\
        name: a
        params: {{team: {{default: core}}}}
        tags: {{team: "${{param.team}}", project: x}}
        resources:
          f: {FN}
          b:
            type: s3.bucket
            tags: {{team: storage, owner: "${{lab.name}}"}}
        """), environ={})  # fmt: skip
    assert spec.resources["f"].tags == {"team": "core", "project": "x"}
    assert spec.resources["b"].tags == {"team": "storage", "project": "x", "owner": "a"}
    ctx = Context(target=Target(kind="aws", region="us-east-1"), lab="a", stack_id="s1", base_dir=lab_dir)
    tags = build_resource(spec.resources["b"], ctx).ctx.tags("b")
    assert tags == {"team": "storage", "project": "x", "owner": "a",
                    "awslab:lab": "a", "awslab:stack": "s1", "awslab:logical": "b"}  # fmt: skip


@pytest.mark.parametrize(
    ("tags", "line", "path", "gist"),
    [
        ("{awslab:lab: mine}", 3, 'tags["awslab:lab"]', "'awslab:' are awslab's own"),
        ("{AWS:x: y}", 3, 'tags["AWS:x"]', "reserved by AWS"),
        ("{" + "k" * 129 + ": v}", 3, "tags." + "k" * 129, "1 to 128 characters"),
        ("{k: " + "v" * 257 + "}", 3, "tags.k", "at most 256 characters"),
        ("{k: 'a;b'}", 3, "tags.k", "';' not allowed in a tag value"),
        ("{k: 1}", 3, "tags.k", "Input should be a valid string"),
        ("{k: '${f.arn}'}", 3, "tags.k", "takes .*param.* and .*lab.name.* only"),
    ],
    ids=["awslab", "aws", "long-key", "long-value", "chars", "number", "reference"],
)
def test_bad_spec_tags(lab_dir: Path, tags: str, line: int, path: str, gist: str) -> None:
    problems = problems_of(lab_dir, f"name: a\nresources: {{f: {FN}}}\ntags: {tags}\n")
    assert len(problems) == 1, problems
    assert_problem(problems[0], line, path, gist)


def test_too_many_tags_and_resource_tags_checked(lab_dir: Path) -> None:
    many = ", ".join(f"k{i}: v" for i in range(40))
    problems = problems_of(lab_dir, dedent(f"""\
        name: a
        tags: {{{many}}}
        resources:
          f: {FN}
          b:
            type: s3.bucket
            tags: {{a1: v, a2: v, a3: v, a4: v, a5: v, a6: v, a7: v, a8: v}}
          c:
            type: s3.bucket
            tags: {{awslab:logical: c}}
        """))  # fmt: skip
    assert len(problems) == 2, problems
    assert_problem(problems[0], 7, "resources.b.tags", "48 tags with the spec's; AWS allows 50 .* at most 46")
    assert_problem(problems[1], 10, 'resources.c.tags["awslab:logical"]', "awslab's own")


# ---- ssm and secrets manager ---------------------------------------------------------------------
def test_external_references_are_checked_and_located(lab_dir: Path) -> None:
    problems = problems_of(lab_dir, dedent(f"""\
        name: a
        resources:
          f: {FN}
          g:
            type: lambda.function
            code: code
            handler: app.handler
            role: 'arn:aws:iam::1:role/r'
            environment: {{A: "${{ssm:}}", B: "${{secretsmanager:x:}}", C: "${{ssm:/ok}}"}}
        checks:
          - {{name: c, invoke: f, payload: {{k: "${{ssm:/ok}}", r: "${{aws.region}}"}}}}
        """))  # fmt: skip
    assert len(problems) == 4, problems
    assert_problem(problems[0], 11, "checks[0].payload.r", "resolved in resources and outputs only")
    assert_problem(problems[1], 9, "resources.g.environment.B", r"expected \$\{secretsmanager:name\}")
    assert_problem(problems[2], 9, "resources.g.environment.A", r"expected \$\{ssm:/parameter/name\}")
    assert_problem(problems[3], 11, "checks[0].payload.k", "resolved in resources and outputs only")


def test_externals_are_read_and_secrets_known(lab_dir: Path, mocked_aws: None) -> None:
    spec = _spec(lab_dir, dedent(f"""\
        name: a
        resources:
          f: {FN}
        outputs:
          plain: ${{ssm:/a/plain}}
          pw: ${{ssm:/a/pw}}
          key: ${{secretsmanager:a/creds:key}}
          whole: ${{secretsmanager:a/creds}}
        """))  # fmt: skip
    assert spec.externals["${ssm:/a/pw}"] == "lab.yaml:6: outputs.pw"
    ssm, sm = boto3.client("ssm"), boto3.client("secretsmanager")
    ssm.put_parameter(Name="/a/plain", Value="plain", Type="String")
    sm.create_secret(Name="a/creds", SecretString=json.dumps({"key": "k-123456"}))
    target = Target(kind="aws", region="us-east-1")
    with pytest.raises(AwslabError) as info:
        fetch_externals(spec.externals, target)
    assert str(info.value).startswith("lab.yaml:6: outputs.pw: ${ssm:/a/pw}: no SSM parameter '/a/pw'")
    assert "put-parameter" in (info.value.hint or "")
    ssm.put_parameter(Name="/a/pw", Value="pw-secret", Type="SecureString")
    values = fetch_externals(spec.externals, target)
    assert dict(values) == {"${ssm:/a/plain}": "plain", "${ssm:/a/pw}": "pw-secret",
                            "${secretsmanager:a/creds:key}": "k-123456",
                            "${secretsmanager:a/creds}": '{"key": "k-123456"}'}  # fmt: skip
    secrets = secrets_of({EXTERNAL: values})
    assert set(secrets) == {"${ssm:/a/pw}", "${secretsmanager:a/creds:key}", "${secretsmanager:a/creds}"}
    assert redact({"u": "x=pw-secret;k-123456", "n": 3}, secrets) == {
        "u": "x=${ssm:/a/pw};${secretsmanager:a/creds:key}", "n": 3}  # fmt: skip

    spec.externals["${secretsmanager:a/creds:nokey}"] = "lab.yaml:9: outputs.x"
    with pytest.raises(AwslabError) as info:
        fetch_externals(spec.externals, target)
    assert "secret 'a/creds' has no key 'nokey'" in str(info.value) and info.value.hint == "its keys: key"


# ---- the command line ------------------------------------------------------------------------------
def test_param_on_the_command_line(lab_dir: Path) -> None:
    (lab_dir / "lab.yaml").write_text(PARAMS)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AWSLAB), "validate", "lab.yaml", *args], capture_output=True, text=True,
                              timeout=60, cwd=lab_dir)  # fmt: skip

    assert run("--param", "greeting=hi", "--param", "memory=512").returncode == 0
    bad = run("--param", "colour=red")
    assert (
        bad.returncode == 2
        and "lab.yaml:2: params: --param colour: the spec declares no such param" in bad.stderr
    )
    malformed = run("--param", "greeting")
    assert malformed.returncode == 2 and "expected KEY=VALUE" in malformed.stderr
