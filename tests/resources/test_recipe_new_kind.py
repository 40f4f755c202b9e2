"""ARCHITECTURE.md's recipe "add a resource kind", followed for real: a kind of its own (a Secrets Manager
secret) in a module the registry finds the documented way (a module of the `awslab.resources`
package, imported by `load_kinds`, registering one class generic over its props), used by a spec,
brought up and torn down on moto, and found and deleted by `teardown --sweep` once its state is
lost. No other file of awslab is touched: the recipe's files are enough."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import awslab.resources as resources_pkg
from awslab.engine.execute import apply_plan
from awslab.engine.plan import plan_changes
from awslab.engine.sweep import find_orphans, sweep
from awslab.engine.teardown import teardown_lab
from awslab.resources import base
from awslab.spec import load_spec
from awslab.state import StateStore
from awslab.target import Target

REPO = Path(__file__).resolve().parents[2]
MODULE = "recipe_secret"  # awslab/resources/<service>.py in the recipe
KIND = "recipe.secret"

# What the recipe asks for, and nothing else: Props, a Resource generic over them, @register, the
# boto3 calls (create / read / delete), and how a sweep finds what awslab made (list_made, sweep_rank).
KIND_MODULE = f'''
"""{KIND}: a Secrets Manager secret holding a string (the recipe's test kind)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from awslab.resources.base import (
    Context, Made, Props, Record, Resource, Survey, ignore_missing, or_none, register, tagged_made,
)

if TYPE_CHECKING:
    from awslab.target import Target


class SecretProps(Props):
    value: str


@register
class Secret(Resource[SecretProps]):
    kind = "{KIND}"
    attributes = ("name", "arn", "value")
    sweep_rank = 60

    def create(self) -> dict[str, Any]:
        tags = [{{"Key": k, "Value": v}} for k, v in self.ctx.tags(self.logical).items()]
        made = self.ctx.client("secretsmanager").create_secret(
            Name=self.physical, SecretString=self.props.value, Tags=tags
        )
        return {{"name": self.physical, "arn": made["ARN"], "value": self.props.value}}

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        found = or_none(lambda: ctx.client("secretsmanager").get_secret_value(SecretId=record.physical))
        if found is None:
            return None
        return {{"name": found["Name"], "arn": found["ARN"], "value": found["SecretString"]}}

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        secrets = ctx.client("secretsmanager")
        ignore_missing(secrets.delete_secret, SecretId=record.physical, ForceDeleteWithoutRecovery=True)

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        survey = survey or Survey(target)
        pages = target.client("secretsmanager").get_paginator("list_secrets").paginate()
        found = [s for page in pages for s in page["SecretList"]]
        return tagged_made(survey, cls.kind, (
            (s["Name"], lambda s=s: {{t["Key"]: t["Value"] for t in s.get("Tags", [])}}, {{}}, "a secret")
            for s in found
        ))
'''

SPEC = f"""\
name: recipe
resources:
  greeting:
    type: {KIND}
    value: hello
  echo:
    type: {KIND}
    value: "${{greeting.name}} says ${{greeting.value}}"
"""

TARGET = Target(kind="aws", region="us-east-1")


@pytest.fixture
def new_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[base.Resource[Any]]]:
    """The kind's module, in a folder added to the package's path (as if it were in
    awslab/resources/), found by `load_kinds` like every other kind module."""
    folder = tmp_path / "kinds"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(textwrap.dedent(KIND_MODULE))
    base.load_kinds()  # the built-in kinds first: the new one is found by a second discovery
    monkeypatch.setattr(resources_pkg, "__path__", [*resources_pkg.__path__, str(folder)])
    monkeypatch.setattr(base, "_ALL_LOADED", False)
    try:
        yield base.kind_class(KIND)
    finally:
        base.REGISTRY.pop(KIND, None)
        sys.modules.pop(f"awslab.resources.{MODULE}", None)


@pytest.fixture
def store(mocked_aws: None, tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.json", {"kind": "aws", "region": "us-east-1"})


def up(spec_path: Path, store: StateStore) -> dict[str, int]:
    spec = load_spec(spec_path)
    with store.locked():
        return apply_plan(plan_changes(spec, store, TARGET), store, TARGET).counts


def secrets() -> dict[str, str]:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    names = [s["Name"] for s in client.list_secrets()["SecretList"]]
    return {n: client.get_secret_value(SecretId=n)["SecretString"] for n in names}


def test_a_new_kind_in_its_own_module_is_used_by_a_spec_torn_down_and_swept(
    new_kind: type[base.Resource[Any]], store: StateStore, tmp_path: Path
) -> None:
    assert new_kind.__module__ == f"awslab.resources.{MODULE}"
    assert new_kind.props_model.__name__ == "SecretProps"  # taken from Resource[SecretProps]
    spec_path = tmp_path / "recipe.yaml"
    spec_path.write_text(SPEC)

    assert up(spec_path, store)["create"] == 2
    lab = store.labs["recipe"]
    greeting, echo = lab.resources["greeting"].physical, lab.resources["echo"].physical
    assert lab.resources["echo"].depends_on == ["greeting"]
    assert secrets() == {greeting: "hello", echo: f"{greeting} says hello"}
    ctx = base.Context(target=TARGET, lab="recipe", stack_id=lab.stack_id, base_dir=tmp_path)
    record = lab.resources["echo"]
    assert new_kind.read(ctx, record) == {**record.attrs, "value": f"{greeting} says hello"}

    result = teardown_lab("recipe", store, TARGET)
    assert result.ok and sorted(result.deleted) == ["echo", "greeting"]
    assert secrets() == {}
    assert new_kind.read(ctx, record) is None  # gone: `or_none`

    # up again, then lose the state: the sweep finds both through the kind's list_made
    up(spec_path, store)  # a new stack id: new names
    again = {r.physical for r in store.labs["recipe"].resources.values()}
    orphans = [o for o in find_orphans(TARGET, set()) if o.kind == KIND]
    assert sorted((o.logical, o.lab) for o in orphans) == [("echo", "recipe"), ("greeting", "recipe")]
    assert sorted(sweep(TARGET, orphans).deleted) == sorted(again)
    assert secrets() == {}


def test_architecture_md_documents_the_recipe_this_test_follows() -> None:
    doc = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    recipe = doc.split("### Add a resource kind", 1)[1].split("\n### ", 1)[0]
    for needed in ("awslab/resources/", "Resource[", "@register", "list_made", "sweep_rank", "load_kinds"):
        assert needed in recipe, needed
    assert "ARCHITECTURE.md" in (REPO / "README.md").read_text(encoding="utf-8")
