"""lambda.function on moto: bundle, owned log group, retried create, in-place updates, teardown."""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from awslab.resources import awslambda
from awslab.resources.awslambda import Function, FunctionProps, log_group_of
from awslab.resources.base import Context, Record, fingerprint_of, kind_class
from awslab.resources.iam import Role, RoleProps
from awslab.resources.retry import retry_propagation
from awslab.target import Target
from tests.unit.test_build import make_wheel


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWSLAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def code(tmp_path: Path) -> Path:
    d = tmp_path / "handler"
    d.mkdir()
    (d / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    return d


@pytest.fixture
def role_arn(ctx: Context) -> str:
    return Role(ctx, "role", RoleProps(service="lambda")).create()["arn"]


def make(ctx: Context, code: Path, role_arn: str, logical: str = "fn", **props: Any) -> Function:
    return Function(ctx, logical, FunctionProps(code=str(code), role=role_arn, **props))


def record_of(res: Function, attrs: dict[str, Any] | None = None, status: str = "created") -> Record:
    return Record(
        kind=res.kind,
        logical=res.logical,
        physical=res.physical,
        status=status,  # type: ignore[arg-type]
        attrs=attrs or {},
    )


def log_groups(ctx: Context, name: str) -> list[dict[str, Any]]:
    groups = ctx.client("logs").describe_log_groups(logGroupNamePrefix=log_group_of(name))["logGroups"]
    return [g for g in groups if g["logGroupName"] == log_group_of(name)]


@pytest.fixture
def lambda_calls(ctx: Context) -> Iterator[list[str]]:
    """Names of the Lambda API operations called through the context's client."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client = ctx.client("lambda")
    client.meta.events.register("before-call.lambda", record)
    yield calls
    client.meta.events.unregister("before-call.lambda", record)


def test_registered() -> None:
    assert kind_class("lambda.function") is Function


def test_create_read_delete_cycle(ctx: Context, code: Path, role_arn: str) -> None:
    res = make(
        ctx,
        code,
        role_arn,
        environment={"TABLE_NAME": "items"},
        timeout=30,
        memory=256,
        architecture="arm64",
        description="items api",
        handler="app.handler",
    )
    attrs = res.create()
    name = res.physical
    assert attrs == {
        "name": name, "arn": attrs["arn"], "code_sha256": res.bundle.sha256,
        # the managed settings as applied, compared with the live ones for drift
        "memory": 256, "timeout": 30, "environment": {"TABLE_NAME": fingerprint_of("items")},
        "handler": "app.handler", "runtime": "python3.12", "architecture": "arm64", "role": role_arn,
        "description": "items api",
    }  # fmt: skip
    assert attrs["arn"].endswith(f":function:{name}")

    fn = ctx.client("lambda").get_function(FunctionName=name)
    cfg = fn["Configuration"]
    assert (cfg["Handler"], cfg["Runtime"], cfg["Timeout"], cfg["MemorySize"]) == (
        "app.handler",
        "python3.12",
        30,
        256,
    )
    assert cfg["Environment"]["Variables"] == {"TABLE_NAME": "items"}
    assert cfg["Architectures"] == ["arm64"] and cfg["Role"] == role_arn and cfg["State"] == "Active"
    assert fn["Tags"] == {"awslab:lab": "test", "awslab:stack": "abc123", "awslab:logical": "fn"}

    (group,) = log_groups(ctx, name)
    assert group["retentionInDays"] == 7
    tags = ctx.client("logs").list_tags_log_group(logGroupName=log_group_of(name))["tags"]
    assert tags["awslab:logical"] == "fn"

    rec = record_of(res, attrs)
    assert Function.read(ctx, rec) == attrs
    Function.delete(ctx, rec)
    assert Function.read(ctx, rec) is None
    assert log_groups(ctx, name) == []
    Function.delete(ctx, rec)  # already gone: a no-op


def test_delete_from_creating_record_with_empty_attrs(ctx: Context, code: Path, role_arn: str) -> None:
    res = make(ctx, code, role_arn)
    res.create()
    rec = record_of(res, status="creating")
    Function.delete(ctx, rec)
    assert Function.read(ctx, rec) is None
    assert log_groups(ctx, res.physical) == []
    # died after the log group, before the function: the group alone is cleaned up too
    ctx.client("logs").create_log_group(logGroupName=log_group_of(res.physical))
    Function.delete(ctx, rec)
    assert log_groups(ctx, res.physical) == []


def test_create_waits_for_a_role_that_is_not_yet_assumable(
    ctx: Context, code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto refuses an unknown role the way AWS refuses a new one; the create is retried until the
    role 'propagates' (is created here, during the first back-off)."""
    role = Role(ctx, "late-role", RoleProps(service="lambda"))
    arn = f"arn:aws:iam::123456789012:role/{role.physical}"
    backoffs: list[float] = []

    def sleep(seconds: float) -> None:
        backoffs.append(seconds)
        if len(backoffs) == 1:
            role.create()

    monkeypatch.setattr(awslambda, "retry_propagation", functools.partial(retry_propagation, sleep=sleep))
    attrs = make(ctx, code, arn).create()
    assert len(backoffs) == 1
    assert Function.read(ctx, Record(kind="lambda.function", logical="fn", physical=attrs["name"])) == attrs


def test_update_code_and_configuration_in_place(
    ctx: Context, code: Path, role_arn: str, lambda_calls: list[str]
) -> None:
    res = make(ctx, code, role_arn, environment={"A": "1"})
    attrs = res.create()
    rec = record_of(res, attrs)

    # nothing changed: nothing is updated
    same = make(ctx, code, role_arn, environment={"A": "1"})
    assert same.fingerprint() == res.fingerprint()
    lambda_calls.clear()
    assert same.update(rec) == attrs
    assert not any(c.startswith("Update") for c in lambda_calls)

    # configuration only
    cfg = make(ctx, code, role_arn, environment={"A": "2", "B": "x"}, timeout=60, memory=512, description="d")
    assert cfg.fingerprint() != res.fingerprint()
    lambda_calls.clear()
    assert cfg.update(rec) == attrs | {
        "memory": 512, "timeout": 60, "description": "d",
        "environment": {"A": fingerprint_of("2"), "B": fingerprint_of("x")},
    }  # fmt: skip
    assert "UpdateFunctionConfiguration" in lambda_calls and "UpdateFunctionCode" not in lambda_calls
    live = ctx.client("lambda").get_function_configuration(FunctionName=res.physical)
    assert live["Environment"]["Variables"] == {"A": "2", "B": "x"}
    assert (live["Timeout"], live["MemorySize"], live["Description"]) == (60, 512, "d")

    # code only
    (code / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 201}\n")
    new_code = make(
        ctx, code, role_arn, environment={"A": "2", "B": "x"}, timeout=60, memory=512, description="d"
    )
    assert new_code.fingerprint() != cfg.fingerprint()
    lambda_calls.clear()
    new_attrs = new_code.update(rec)
    assert "UpdateFunctionCode" in lambda_calls and "UpdateFunctionConfiguration" not in lambda_calls
    assert new_attrs["code_sha256"] == new_code.bundle.sha256 != attrs["code_sha256"]
    assert new_attrs["arn"] == attrs["arn"]
    assert Function.read(ctx, rec) == new_attrs
    Function.delete(ctx, rec)


def test_update_restores_a_log_group_deleted_behind_our_back(ctx: Context, code: Path, role_arn: str) -> None:
    res = make(ctx, code, role_arn)
    rec = record_of(res, res.create())
    ctx.client("logs").delete_log_group(logGroupName=log_group_of(res.physical))
    make(ctx, code, role_arn).update(rec)
    assert [g["retentionInDays"] for g in log_groups(ctx, res.physical)] == [7]
    Function.delete(ctx, rec)


def test_bundle_is_built_once_per_instance(
    ctx: Context, code: Path, role_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[Path] = []
    real = awslambda.build_bundle

    def counting(code_dir: Path, **kw: Any) -> Any:
        builds.append(code_dir)
        return real(code_dir, **kw)

    monkeypatch.setattr(awslambda, "build_bundle", counting)
    res = make(ctx, code, role_arn)
    res.fingerprint()
    attrs = res.create()
    res.update(record_of(res, attrs))
    res.fingerprint()
    assert builds == [code]


def test_requirements_bundled_for_real_targets_only(ctx: Context, code: Path, role_arn: str) -> None:
    make_wheel(code)
    (code / "requirements.txt").write_text("./tinydep-0.1-py3-none-any.whl\n")
    res = make(ctx, code, role_arn, exclude=["*.whl"])
    attrs = res.create()
    live = ctx.client("lambda").get_function_configuration(FunctionName=res.physical)
    assert attrs["code_sha256"] == res.bundle.sha256 == live["CodeSha256"]
    assert live["CodeSize"] == len(res.bundle.zip_bytes)
    names = zipfile.ZipFile(io.BytesIO(res.bundle.zip_bytes)).namelist()
    assert "tinydep/__init__.py" in names and "app.py" in names

    local_ctx = replace(ctx, target=Target(kind="local", local_port=1, endpoint_url="http://127.0.0.1:1"))
    local = make(local_ctx, code, role_arn, exclude=["*.whl"])
    local_names = zipfile.ZipFile(io.BytesIO(local.bundle.zip_bytes)).namelist()
    assert local_names == ["app.py", "requirements.txt"]
    assert local.fingerprint() != res.fingerprint()
    Function.delete(ctx, record_of(res, attrs))


def test_relative_code_path_resolves_against_the_spec_dir(ctx: Context, code: Path, role_arn: str) -> None:
    spec_ctx = replace(ctx, base_dir=code.parent / "configs")
    res = Function(spec_ctx, "fn", FunctionProps(code="../handler", role=role_arn))
    assert zipfile.ZipFile(io.BytesIO(res.bundle.zip_bytes)).namelist() == ["app.py"]


def test_long_names_fit_lambdas_limit(ctx: Context, code: Path, role_arn: str) -> None:
    long_ctx = replace(ctx, lab="a-twenty-char-lab-xx")
    res = make(long_ctx, code, role_arn, logical="process-uploaded-images-and-write-thumbnails-to-output")
    assert len(res.physical) <= 64
    attrs = res.create()
    assert attrs["name"] == res.physical
    assert len(log_groups(long_ctx, res.physical)) == 1
    Function.delete(long_ctx, record_of(res, attrs))
    assert Function.read(long_ctx, record_of(res)) is None


def test_props_validation() -> None:
    base = {"code": "handlers/x", "role": "${role.arn}"}
    ok = FunctionProps(**base)
    assert (ok.handler, ok.runtime, ok.timeout, ok.memory, ok.architecture) == (
        "app.handler",
        "python3.12",
        10,
        128,
        "x86_64",
    )
    for bad in (
        {"timeout": 0},
        {"timeout": 901},
        {"memory": 127},
        {"memory": 10241},
        {"architecture": "arm"},
        {"environment": {"AWS_REGION": "x"}},
        {"environment": {"1BAD": "x"}},
        {"runtime": "nodejs20.x"},
        {"handler": "app"},
        {"unknown": True},
    ):
        with pytest.raises(ValidationError):
            FunctionProps(**base, **bad)
