"""dynamodb.table on moto: keys, on-demand billing, stream and TTL updates, replacement, teardown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from awslab.resources.base import Context, Record, UpdateNotSupported, kind_class
from awslab.resources.dynamodb import Table, TableProps


def make(ctx: Context, logical: str = "items", **props: Any) -> Table:
    return Table(ctx, logical, TableProps(**props))


def record_of(res: Table, attrs: dict[str, Any] | None = None, status: str = "created") -> Record:
    return Record(
        kind=res.kind,
        logical=res.logical,
        physical=res.physical,
        status=status,  # type: ignore[arg-type]
        attrs=attrs or {},
    )


def live(ctx: Context, name: str) -> dict[str, Any]:
    return ctx.client("dynamodb").describe_table(TableName=name)["Table"]


def live_stream(ctx: Context, name: str) -> str | None:
    spec = live(ctx, name).get("StreamSpecification") or {}
    return spec.get("StreamViewType") if spec.get("StreamEnabled") else None


def live_ttl(ctx: Context, name: str) -> str | None:
    d = ctx.client("dynamodb").describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return d.get("AttributeName") if d["TimeToLiveStatus"] == "ENABLED" else None


def test_registered() -> None:
    assert kind_class("dynamodb.table") is Table


def test_create_read_delete_cycle(ctx: Context) -> None:
    res = make(ctx, key={"id": "S"})
    attrs = res.create()
    name = res.physical
    assert attrs["name"] == name == "awslab-test-items-abc123"
    assert attrs["arn"].endswith(f":table/{name}")
    assert attrs["stream_arn"] == ""

    table = live(ctx, name)
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TableStatus"] == "ACTIVE"
    tags = ctx.client("dynamodb").list_tags_of_resource(ResourceArn=attrs["arn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {
        "awslab:lab": "test",
        "awslab:stack": "abc123",
        "awslab:logical": "items",
    }

    rec = record_of(res, attrs)
    assert Table.read(ctx, rec) == attrs
    Table.delete(ctx, rec)
    assert Table.read(ctx, rec) is None
    Table.delete(ctx, rec)  # already gone: a no-op


def test_sort_key_stream_and_ttl(ctx: Context) -> None:
    res = make(ctx, logical="events", key={"pk": "S", "at": "N"}, stream="NEW_AND_OLD_IMAGES", ttl="expires")
    attrs = res.create()
    res.wait_ready()  # the TTL is set once the table is ACTIVE
    table = live(ctx, res.physical)
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ]
    assert {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]} == {
        "pk": "S",
        "at": "N",
    }
    assert live_stream(ctx, res.physical) == "NEW_AND_OLD_IMAGES"
    assert attrs["stream_arn"] == table["LatestStreamArn"] and ":table/" in attrs["stream_arn"]
    assert live_ttl(ctx, res.physical) == "expires"
    Table.delete(ctx, record_of(res, attrs))


def test_delete_from_creating_record_with_empty_attrs(ctx: Context) -> None:
    res = make(ctx, key={"id": "S"}, stream="KEYS_ONLY")
    res.create()
    rec = record_of(res, status="creating")
    Table.delete(ctx, rec)
    assert Table.read(ctx, rec) is None
    Table.delete(ctx, rec)


def test_delete_waits_for_a_table_still_being_created(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS refuses to delete a CREATING table (ResourceInUseException): wait, then delete."""
    from moto.dynamodb.exceptions import ResourceInUseException
    from moto.dynamodb.models import DynamoDBBackend

    res = make(ctx, key={"id": "S"})
    res.create()
    real = DynamoDBBackend.delete_table
    refusals: list[str] = []

    def delete_table(self: Any, name: str) -> Any:
        if not refusals:
            refusals.append(name)
            raise ResourceInUseException("Attempt to change a resource which is still in use")
        return real(self, name)

    monkeypatch.setattr(DynamoDBBackend, "delete_table", delete_table)
    rec = record_of(res, status="creating")
    Table.delete(ctx, rec)
    assert refusals == [res.physical]
    assert Table.read(ctx, rec) is None


@pytest.fixture
def aws_like_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto keeps a disabled stream's label, so it refuses to enable a stream again; AWS creates a
    new stream. Make moto forget the label on disable, as AWS does."""
    from moto.dynamodb.models.table import Table as MotoTable

    real = MotoTable.set_stream_specification

    def set_stream_specification(self: Any, streams: dict[str, Any] | None) -> None:
        real(self, streams)
        if not (self.stream_specification or {}).get("StreamEnabled"):
            self.latest_stream_label = None

    monkeypatch.setattr(MotoTable, "set_stream_specification", set_stream_specification)


def test_update_changes_stream_and_ttl_in_place(ctx: Context, aws_like_streams: None) -> None:
    res = make(ctx, key={"id": "S"})
    attrs = res.create()
    rec = record_of(res, attrs)
    ddb = ctx.client("dynamodb")
    ddb.put_item(TableName=res.physical, Item={"id": {"S": "kept"}})

    added = make(ctx, key={"id": "S"}, stream="NEW_IMAGE", ttl="expires")
    assert added.fingerprint() != res.fingerprint()
    a1 = added.update(rec)
    assert live_stream(ctx, res.physical) == "NEW_IMAGE" and a1["stream_arn"]
    assert live_ttl(ctx, res.physical) == "expires"

    changed = make(ctx, key={"id": "S"}, stream="KEYS_ONLY", ttl="gone_at")
    a2 = changed.update(rec)
    assert live_stream(ctx, res.physical) == "KEYS_ONLY" and a2["stream_arn"]
    assert live_ttl(ctx, res.physical) == "gone_at"

    removed = make(ctx, key={"id": "S"})
    a3 = removed.update(rec)
    assert live_stream(ctx, res.physical) is None and a3["stream_arn"] == ""
    assert live_ttl(ctx, res.physical) is None

    # the same table all along: the item survived every change
    assert a3["arn"] == attrs["arn"]
    assert ddb.get_item(TableName=res.physical, Key={"id": {"S": "kept"}})["Item"] == {"id": {"S": "kept"}}
    Table.delete(ctx, rec)


def test_stream_that_moto_cannot_reenable_asks_for_replacement(ctx: Context) -> None:
    res = make(ctx, key={"id": "S"}, stream="NEW_IMAGE")
    rec = record_of(res, res.create())
    # dropping the stream works in place on moto too
    assert make(ctx, key={"id": "S"}).update(rec)["stream_arn"] == ""
    assert live_stream(ctx, res.physical) is None
    with pytest.raises(UpdateNotSupported, match="re-enabled"):
        make(ctx, key={"id": "S"}, stream="KEYS_ONLY").update(rec)
    Table.delete(ctx, rec)
    attrs = make(ctx, key={"id": "S"}, stream="KEYS_ONLY").create()
    assert live_stream(ctx, res.physical) == "KEYS_ONLY" and attrs["stream_arn"]
    Table.delete(ctx, rec)


@pytest.mark.parametrize("key", [{"key": "S"}, {"id": "N"}, {"id": "S", "sk": "S"}])
def test_key_change_needs_replacement(ctx: Context, key: dict[str, str]) -> None:
    res = make(ctx, key={"id": "S"})
    rec = record_of(res, res.create())
    with pytest.raises(UpdateNotSupported):
        make(ctx, key=key).update(rec)
    # replacement: delete, then create under the same name
    Table.delete(ctx, rec)
    attrs = make(ctx, key=key).create()
    assert [k["AttributeName"] for k in live(ctx, res.physical)["KeySchema"]] == list(key)
    Table.delete(ctx, record_of(res, attrs))


def test_sort_key_order_is_part_of_the_key(ctx: Context) -> None:
    res = make(ctx, key={"pk": "S", "sk": "S"})
    rec = record_of(res, res.create())
    with pytest.raises(UpdateNotSupported):
        make(ctx, key={"sk": "S", "pk": "S"}).update(rec)
    assert make(ctx, key={"pk": "S", "sk": "S"}).update(rec)["name"] == res.physical
    Table.delete(ctx, rec)


def test_long_names_fit_dynamodbs_limit(ctx: Context) -> None:
    long_ctx = replace(ctx, lab="a-twenty-char-lab-xx")
    res = make(long_ctx, logical="t" * 260, key={"id": "S"})
    assert len(res.physical) <= 255 and res.physical.endswith("-abc123")
    attrs = res.create()
    assert attrs["name"] == res.physical
    Table.delete(long_ctx, record_of(res, attrs))
    assert Table.read(long_ctx, record_of(res)) is None


def test_props_validation() -> None:
    assert TableProps(key={"pk": "S", "sk": "N"}).key_schema() == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    for bad in (
        {"key": {}},
        {"key": {"a": "S", "b": "S", "c": "S"}},
        {"key": {"id": "X"}},
        {"key": {"id": "S"}, "stream": "ALL"},
        {"key": {"id": "S"}, "ttl": ""},
        {"key": {"id": "S"}, "billing": "PROVISIONED"},
    ):
        with pytest.raises(ValidationError):
            TableProps(**bad)
