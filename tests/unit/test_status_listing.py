"""`awslab status` reads the functions and the roles of every lab with one listing each, where
it made a request per resource before (issue 9). On moto's in-process mock."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from awslab.resources.base import Record, kind_class
from awslab.resources.listing import read_listed

TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})  # fmt: skip


def _calls(ctx: Any, service: str) -> list[str]:
    calls: list[str] = []
    ctx.client(service).meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def test_roles_are_read_with_one_listing(ctx: Any) -> None:
    iam = ctx.client("iam")
    arns = {
        name: iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        for name in ("awslab-one-role-abc123", "awslab-two-role-abc123", "someone-elses")
    }
    records = [
        Record("iam.role", logical, physical, "created", {"name": physical})
        for logical, physical in (
            ("a", "awslab-one-role-abc123"),
            ("b", "awslab-two-role-abc123"),
            ("c", "gone"),
        )
    ]
    calls = _calls(ctx, "iam")
    live = kind_class("iam.role").read_many(ctx, records)
    assert calls == ["ListRoles"]
    assert live == {
        "awslab-one-role-abc123": {"name": "awslab-one-role-abc123", "arn": arns["awslab-one-role-abc123"]},
        "awslab-two-role-abc123": {"name": "awslab-two-role-abc123", "arn": arns["awslab-two-role-abc123"]},
        "gone": None,
    }


def test_functions_are_read_with_one_listing_as_read_reads_them(ctx: Any) -> None:
    role = ctx.client("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam = ctx.client("lambda")
    for name, memory in (("awslab-x-api-abc123", 256), ("awslab-x-worker-abc123", 128)):
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", MemorySize=memory,
            Code={"ZipFile": _zip()}, Environment={"Variables": {"TABLE": "t"}},
        )  # fmt: skip
    cls = kind_class("lambda.function")
    records = [
        Record("lambda.function", logical, physical, "created", {"name": physical})
        for logical, physical in (("api", "awslab-x-api-abc123"), ("worker", "awslab-x-worker-abc123"))
    ]
    one_by_one = {r.physical: cls.read(ctx, r) for r in records}
    calls = _calls(ctx, "lambda")
    live = cls.read_many(
        ctx, [*records, Record("lambda.function", "gone", "awslab-x-gone-abc123", "created")]
    )
    assert calls == ["ListFunctions"]
    assert live == {**one_by_one, "awslab-x-gone-abc123": None}
    assert live["awslab-x-api-abc123"] is not None and live["awslab-x-api-abc123"]["memory"] == 256


def _pages(pages: list[list[str]], served: list[int]) -> Iterator[dict[str, Any]]:
    for i, names in enumerate(pages):
        served.append(i)
        yield {"Items": [{"Name": n} for n in names]}


def _records(*names: str) -> list[Record]:
    return [Record("x", n, n, "created") for n in names]


def test_a_listing_stops_once_every_resource_was_seen() -> None:
    served: list[int] = []
    got = read_listed(
        _records("a", "b", "c"), _pages([["a", "z"], ["b", "c"], ["d"]], served), items="Items", name="Name",
        attrs=dict, read_one=lambda r: (_ for _ in ()).throw(AssertionError("no read needed")),
    )  # fmt: skip
    assert served == [0, 1]
    assert got == {"a": {"Name": "a"}, "b": {"Name": "b"}, "c": {"Name": "c"}}


def test_a_long_listing_gives_way_to_reads_one_by_one() -> None:
    """An account with many others: no more pages than resources, the rest read each."""
    served: list[int] = []
    read: list[str] = []

    def read_one(r: Record) -> dict[str, Any] | None:
        read.append(r.physical)
        return {"read": r.physical}

    got = read_listed(
        _records("a", "b"), _pages([["a"], ["x"], ["b"], ["y"]], served), items="Items", name="Name",
        attrs=dict, read_one=read_one,
    )  # fmt: skip
    assert served == [0, 1] and read == ["b"]
    assert got == {"a": {"Name": "a"}, "b": {"read": "b"}}
    # a listing that ends without one of them: it is not there, no read asked
    served.clear()
    read.clear()
    got = read_listed(_records("a", "b"), _pages([["a"]], served), items="Items", name="Name", attrs=dict,
                      read_one=read_one)  # fmt: skip
    assert got == {"a": {"Name": "a"}, "b": None} and read == []


def test_status_lists_the_roles_of_every_lab_once(ctx: Any) -> None:
    from awslab.engine.status import labs_status
    from awslab.state import LabState

    iam = ctx.client("iam")
    labs = {}
    for lab in ("one", "two"):
        physical = f"awslab-{lab}-role-abc123"
        arn = iam.create_role(RoleName=physical, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        state = LabState(stack_id="abc123", spec="")
        state.resources["role"] = Record(
            "iam.role", "role", physical, "created", {"name": physical, "arn": arn}
        )
        labs[lab] = state
    labs["two"].resources["old"] = Record("iam.role", "old", "awslab-two-old-abc123", "created", {"arn": "x"})
    calls = _calls(ctx, "iam")
    rows = labs_status(labs, ctx.target)
    assert calls == ["ListRoles"]
    assert {lab: [(r.logical, r.health) for r in rows[lab]] for lab in rows} == {
        "one": [("role", "present")],
        "two": [("role", "present"), ("old", "missing")],
    }


def test_the_target_builds_clients_without_boto3() -> None:
    """boto3 (and s3transfer, which it imports) is 0.1 s of every command's start; awslab uses
    botocore's clients only."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from awslab.target import Target\n"
        "t = Target.select('local', local_port=9)\n"
        "assert t.client('s3').meta.service_model.service_name == 's3'\n"
        "assert t.client('s3') is t.client('s3')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 's3transfer')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
