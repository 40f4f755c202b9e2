"""DynamoDB: `dynamodb.table`, an on-demand table with a partition key, an optional sort key, an
optional stream and an optional TTL attribute."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from awslab.resources.base import (
    Context,
    NameRule,
    Props,
    Record,
    Resource,
    UpdateNotSupported,
    error_code,
    is_not_found,
    register,
)

StreamView = Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"]
# Tables take seconds to become ACTIVE (or to go away) on AWS; moto answers at once.
_WAIT = {"Delay": 2, "MaxAttempts": 150}


class TableProps(Props):
    # attribute name -> type; the first is the partition key, the second (if any) the sort key
    key: dict[str, Literal["S", "N", "B"]]
    stream: StreamView | None = None
    ttl: str | None = Field(default=None, min_length=1, max_length=255)

    @field_validator("key")
    @classmethod
    def _one_or_two(cls, key: dict[str, str]) -> dict[str, str]:
        if not 1 <= len(key) <= 2:
            raise ValueError("a key names 1 attribute (partition key) or 2 (partition key, then sort key)")
        for name in key:
            if not 1 <= len(name) <= 255:
                raise ValueError(f"key attribute name '{name}' must be 1 to 255 characters")
        return key

    def key_schema(self) -> list[dict[str, str]]:
        roles = ("HASH", "RANGE")
        return [{"AttributeName": name, "KeyType": roles[i]} for i, name in enumerate(self.key)]

    def attribute_definitions(self) -> list[dict[str, str]]:
        return [{"AttributeName": name, "AttributeType": t} for name, t in self.key.items()]


@register
class Table(Resource):
    kind = "dynamodb.table"
    Props = TableProps
    attributes = ("name", "arn", "stream_arn")
    replace_fields = frozenset({"key"})
    name_rule: ClassVar[NameRule] = NameRule(max_len=255, allowed="-_.")
    drift_keys = ("arn", "stream_arn")

    props: TableProps

    def create(self) -> dict[str, Any]:
        ddb = self.ctx.client("dynamodb")
        name = self.physical
        extra: dict[str, Any] = {}
        if self.props.stream:
            extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.props.stream}
        ddb.create_table(
            TableName=name,
            KeySchema=self.props.key_schema(),
            AttributeDefinitions=self.props.attribute_definitions(),
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()],
            **extra,
        )
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_WAIT)
        if self.props.ttl:
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": self.props.ttl}
            )
        return _attrs(ddb.describe_table(TableName=name)["Table"])

    def update(self, record: Record) -> dict[str, Any]:
        """Stream and TTL change in place; a different key needs a new table."""
        ddb = self.ctx.client("dynamodb")
        name = record.physical
        table = ddb.describe_table(TableName=name)["Table"]
        live_key = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        live_schema = sorted(table["KeySchema"], key=lambda k: k["KeyType"])  # HASH before RANGE
        if live_schema != self.props.key_schema() or any(
            live_key.get(n) != t for n, t in self.props.key.items()
        ):
            raise UpdateNotSupported(f"{self.kind}: the key of table {name} changes")

        spec = table.get("StreamSpecification") or {}
        live_stream = spec.get("StreamViewType") if spec.get("StreamEnabled") else None
        if live_stream != self.props.stream:
            # DynamoDB cannot switch the view type of an enabled stream: disable, then enable.
            if live_stream is not None:
                ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
                ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_WAIT)
            if self.props.stream is not None:
                try:
                    ddb.update_table(TableName=name, StreamSpecification={
                        "StreamEnabled": True, "StreamViewType": self.props.stream})  # fmt: skip
                except Exception as exc:
                    # moto (so the local cloud) never re-enables a stream once it had one; AWS does
                    if error_code(exc) == "ResourceInUseException" and "Cannot enable stream" in str(exc):
                        msg = f"{self.kind}: the stream of {name} cannot be re-enabled"
                        raise UpdateNotSupported(msg) from exc
                    raise
                ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_WAIT)

        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        live_ttl = (
            ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None
        )
        if live_ttl != self.props.ttl:
            if live_ttl is not None:
                ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": live_ttl}
                )
            if self.props.ttl is not None:
                ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": self.props.ttl}
                )
        return _attrs(ddb.describe_table(TableName=name)["Table"])

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        try:
            table = ctx.client("dynamodb").describe_table(TableName=record.physical)["Table"]
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise
        if table.get("TableStatus") == "DELETING":
            return None
        return _attrs(table)

    @classmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """Delete and wait until it is gone, so a replacement of the same name can be created."""
        ddb = ctx.client("dynamodb")
        name = record.physical
        try:
            try:
                ddb.delete_table(TableName=name)
            except Exception as exc:
                # still CREATING or UPDATING (a record left in "creating"): wait, then delete
                if error_code(exc) != "ResourceInUseException":
                    raise
                ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_WAIT)
                ddb.delete_table(TableName=name)
        except Exception as exc:
            if is_not_found(exc):
                return
            raise
        ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=_WAIT)


def _attrs(table: dict[str, Any]) -> dict[str, Any]:
    # "" without an enabled stream (a disabled stream's ARN stays listed for a day, unusable), so a
    # reference to it resolves to a string either way
    enabled = (table.get("StreamSpecification") or {}).get("StreamEnabled", False)
    stream_arn = table.get("LatestStreamArn", "") if enabled else ""
    return {"name": table["TableName"], "arn": table["TableArn"], "stream_arn": stream_arn}
