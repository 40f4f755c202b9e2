"""DynamoDB: `dynamodb.table`, an on-demand table with a partition key, an optional sort key, an
optional stream and an optional TTL attribute."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

# botocore is imported where its errors are caught: `awslab validate` loads every kind without it.
from pydantic import Field, field_validator

from awslab.resources.base import (
    Context,
    Made,
    NameRule,
    Props,
    Record,
    Resource,
    Survey,
    UpdateNotSupported,
    arn_of,
    error_code,
    is_not_found,
    or_none,
    pages,
    register,
    tagged_made,
)
from awslab.resources.idempotent import adopt_or_raise, already_exists, is_ours, tag_map
from awslab.resources.retry import NotReady, poll_until
from awslab.resources.tagging import retag_resource

if TYPE_CHECKING:
    from awslab.target import Target

StreamView = Literal["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"]
# Tables take seconds to become ACTIVE (or to go away) on AWS; moto answers at once.
_WAIT_SECONDS = 300.0
BILLING_MODE = "PAY_PER_REQUEST"  # on demand: a lab costs nothing while idle


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
class Table(Resource[TableProps]):
    kind = "dynamodb.table"
    attributes = ("name", "arn", "stream_arn")
    replace_fields = frozenset({"key"})
    name_rule: ClassVar[NameRule] = NameRule(max_len=255, allowed="-_.")
    drift_keys = ("arn", "billing_mode", "stream", "stream_arn", "ttl")
    drift_labels = {"billing_mode": "billing mode", "stream_arn": "stream ARN"}
    drift_shown = frozenset({"billing_mode", "stream", "ttl"})
    predictable = frozenset({"name", "arn"})
    sweep_rank = 60  # after the functions and mappings that use it

    _settling = False  # still CREATING: `wait_ready` waits
    _ttl_to_enable: str | None = None  # a new table's TTL attribute, set once it is ACTIVE

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        return {"name": physical, "arn": arn_of(target, "dynamodb", f"table/{physical}")}

    def create(self) -> dict[str, Any]:
        """Returns as soon as DynamoDB has the table: it is CREATING for seconds, which only what
        reads or changes it must wait for (`wait_ready`, which also sets the TTL)."""
        from botocore.exceptions import ClientError

        ddb = self.ctx.client("dynamodb")
        name = self.physical
        extra: dict[str, Any] = {}
        if self.props.stream:
            extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": self.props.stream}
        try:
            table = ddb.create_table(
                TableName=name,
                KeySchema=self.props.key_schema(),
                AttributeDefinitions=self.props.attribute_definitions(),
                BillingMode=BILLING_MODE,
                Tags=[{"Key": k, "Value": v} for k, v in self.ctx.tags(self.logical).items()],
                **extra,
            )["TableDescription"]
        except ClientError as exc:
            # a retried create whose first answer was lost, or one an earlier run left: adopted
            # when its tags say it is this table
            return adopt_or_raise(exc, ("ResourceInUseException",), self._adopt, fragment="exists")
        self._settling = table.get("TableStatus", "ACTIVE") != "ACTIVE"
        self._ttl_to_enable = self.props.ttl
        # the answer may lack the billing summary: the table was just made on demand
        return {**_attrs(table, self.props.ttl), "billing_mode": BILLING_MODE}

    def wait_ready(self) -> bool:
        """Until the table is ACTIVE (items may be read and written, settings changed); then the
        TTL setting of a new table, which UpdateTimeToLive refuses while it is CREATING (if that
        fails, the next plan sees the TTL missing and repairs it)."""
        from botocore.exceptions import ClientError

        ddb = self.ctx.client("dynamodb")
        waited = self._settling
        if waited:
            _wait_active(ddb, self.physical)
            self._settling = False
        if self._ttl_to_enable:
            spec = {"Enabled": True, "AttributeName": self._ttl_to_enable}
            try:
                ddb.update_time_to_live(TableName=self.physical, TimeToLiveSpecification=spec)
            except ClientError as exc:
                # a retried call whose first answer was lost finds TTL on already
                if not already_exists(exc, ("ValidationException",), "already enabled"):
                    raise
            self._ttl_to_enable = None
        return waited

    def _adopt(self) -> dict[str, Any] | None:
        ddb, name = self.ctx.client("dynamodb"), self.physical
        _wait_active(ddb, name)  # it may be CREATING
        arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        # ListTagsOfResource is eventually consistent (AWS's API reference): the tags CreateTable
        # set a moment ago may not show yet, so an empty answer is asked again for a few seconds.
        found: list[Any] = []

        def tagged() -> bool:
            found[:] = ddb.list_tags_of_resource(ResourceArn=arn).get("Tags") or []
            return bool(found)

        with contextlib.suppress(NotReady):
            poll_until(tagged, f"the tags of table {name}", deadline=5.0)
        tags = found
        if not is_ours(tags, self.ctx, self.logical):
            return None
        return self.update(Record(self.kind, self.logical, name, "creating"))

    def update(self, record: Record) -> dict[str, Any]:
        """Stream and TTL change in place; a different key needs a new table."""
        ddb = self.ctx.client("dynamodb")
        name = record.physical
        table = ddb.describe_table(TableName=name)["Table"]
        if table.get("TableStatus", "ACTIVE") != "ACTIVE":  # CREATING or UPDATING refuses changes
            _wait_active(ddb, name)
        live_key = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        live_schema = sorted(table["KeySchema"], key=lambda k: k["KeyType"])  # HASH before RANGE
        if live_schema != self.props.key_schema() or any(
            live_key.get(n) != t for n, t in self.props.key.items()
        ):
            raise UpdateNotSupported(f"{self.kind}: the key of table {name} changes")
        if _billing_mode(table) != BILLING_MODE:  # switched outside awslab
            ddb.update_table(TableName=name, BillingMode=BILLING_MODE)
            _wait_active(ddb, name)

        spec = table.get("StreamSpecification") or {}
        live_stream = spec.get("StreamViewType") if spec.get("StreamEnabled") else None
        if live_stream != self.props.stream:
            # DynamoDB cannot switch the view type of an enabled stream: disable, then enable.
            if live_stream is not None:
                ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
                _wait_active(ddb, name)
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
                _wait_active(ddb, name)

        live_ttl = _live_ttl(ddb, name)
        if live_ttl != self.props.ttl:
            if live_ttl is not None:
                ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": live_ttl}
                )
            if self.props.ttl is not None:
                ddb.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": self.props.ttl}
                )
        return _attrs(ddb.describe_table(TableName=name)["Table"], self.props.ttl)

    @classmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        table = or_none(lambda: ctx.client("dynamodb").describe_table(TableName=record.physical)["Table"])
        if table is None:
            return None
        if table.get("TableStatus") == "DELETING":
            return None
        return _attrs(table, _live_ttl(ctx.client("dynamodb"), record.physical))

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
                _wait_active(ddb, name)
                ddb.delete_table(TableName=name)
        except Exception as exc:
            if is_not_found(exc):
                return
            raise
        # DELETING for seconds; a replacement of the same name must wait for it to be gone
        poll_until(lambda: _gone(ddb, name), f"deletion of table {name}", deadline=_WAIT_SECONDS)

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        ddb = ctx.client("dynamodb")
        arn = str(record.attrs.get("arn") or arn_of(ctx.target, "dynamodb", f"table/{record.physical}"))
        retag_resource(ddb, {"ResourceArn": arn}, tags, dropped, pairs=("Key", "Value"))

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """Tables named awslab-... with their tags (one being deleted already is left out)."""
        ddb = target.client("dynamodb")

        def tags(name: str) -> dict[str, str]:
            from botocore.exceptions import ClientError

            table = ddb.describe_table(TableName=name)["Table"]
            if table.get("TableStatus") == "DELETING":
                raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "DescribeTable")
            found = pages(ddb, "list_tags_of_resource", "Tags", ResourceArn=table["TableArn"])
            return tag_map(list(found))

        names = pages(ddb, "list_tables", "TableNames")
        return tagged_made(survey or Survey(target), cls.kind, ((n, partial(tags, n), {}, "") for n in names))


def _wait_active(ddb: Any, name: str) -> None:
    poll_until(
        lambda: ddb.describe_table(TableName=name)["Table"].get("TableStatus") == "ACTIVE",
        f"table {name}",
        deadline=_WAIT_SECONDS,
    )


def _gone(ddb: Any, name: str) -> bool:
    return or_none(lambda: ddb.describe_table(TableName=name)) is None


def _billing_mode(table: dict[str, Any]) -> str:
    # a table created with provisioned capacity may have no summary at all
    return str((table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED")


def _live_ttl(ddb: Any, name: str) -> str | None:
    ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None


def _attrs(table: dict[str, Any], ttl: str | None) -> dict[str, Any]:
    """A table's attributes and the settings awslab manages (`ttl`: its TTL attribute, which
    DescribeTable does not tell)."""
    spec = table.get("StreamSpecification") or {}
    enabled = spec.get("StreamEnabled", False)
    # "" without an enabled stream (a disabled stream's ARN stays listed for a day, unusable), so a
    # reference to it resolves to a string either way
    stream_arn = table.get("LatestStreamArn", "") if enabled else ""
    return {
        "name": table["TableName"],
        "arn": table["TableArn"],
        "stream_arn": stream_arn,
        "billing_mode": _billing_mode(table),
        "stream": spec.get("StreamViewType") if enabled else None,
        "ttl": ttl,
    }
