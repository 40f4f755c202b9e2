"""Reading several resources of one kind with one listing, where AWS lists them with what `read`
needs (ListFunctions gives each function's configuration, ListRoles each role): `status` then
makes one request per kind instead of one per resource.

The listing stops as soon as every wanted resource was seen, and after as many pages as there
are resources: on an account holding many others, the rest are read one by one, so a listing
never costs much more than the reads it replaces.

Also the one listing that finds the log groups awslab made for resources now gone
(`orphan_log_groups`), which Lambda functions and state machines share."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from awslab.resources.base import (
    LOG_GROUP_KIND,
    LOG_GROUP_RANK,
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    Made,
    logical_from_name,
    pages,
    read_tags,
)

if TYPE_CHECKING:
    from awslab.resources.base import Record, Survey

Live = dict[str, Any] | None


def read_listed(
    records: Sequence[Record],
    pages: Iterable[Mapping[str, Any]],
    *,
    items: str,
    name: str,
    attrs: Callable[[dict[str, Any]], dict[str, Any]],
    read_one: Callable[[Record], Live],
) -> dict[str, Live]:
    """physical name -> live attributes (None: not there) of `records`, from `pages` of a listing
    whose page holds its items under `items`, each named by its `name` field."""
    wanted = {r.physical for r in records}
    found: dict[str, dict[str, Any]] = {}
    complete = False
    for count, page in enumerate(pages, start=1):
        for item in page.get(items) or []:
            if item.get(name) in wanted:
                found[item[name]] = item
        if len(found) == len(wanted):
            break
        if count >= len(wanted):  # many others on the account: the rest one by one
            break
    else:
        complete = True
    result: dict[str, Live] = {}
    for record in records:
        item = found.get(record.physical)
        if item is not None:
            result[record.physical] = attrs(item)
        else:
            result[record.physical] = None if complete else read_one(record)
    return result


def orphan_log_groups(
    survey: Survey,
    logs: Any,
    *,
    prefix: str,
    kind: str,
    owner_of: Callable[[str], str],
    live: Collection[str],
    what: str,
) -> list[Made]:
    """The log groups under `prefix` that awslab made for resources of `kind` (tagged with a lab and
    a stack) whose owner (`owner_of(group name)`) is neither `live` nor recorded, and that are not
    recorded themselves: shown as LOG_GROUP_KIND, deleted last. A recorded owner's teardown removes
    its own group. `what` names the owner in the detail ("function", "state machine")."""
    made: list[Made] = []
    for group in pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix):
        name = str(group["logGroupName"])
        owner = owner_of(name)
        if owner in live or survey.known(kind, owner) or survey.known(LOG_GROUP_KIND, name):
            continue
        arn = str(group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*"))
        found = read_tags(partial(_log_group_tags, logs, arn))
        lab, stack = (found or {}).get(TAG_LAB), (found or {}).get(TAG_STACK)
        if found is None or not lab or not stack:
            continue
        # the group's name is its owner's, and so is its logical name
        tags = {TAG_LOGICAL: logical_from_name(owner, lab, stack), **found}
        detail = f"log group of the deleted {what} {owner}"
        made.append(Made(name, tags, {}, detail, kind=LOG_GROUP_KIND, rank=LOG_GROUP_RANK))
    return made


def _log_group_tags(logs: Any, arn: str) -> dict[str, str]:
    return dict(logs.list_tags_for_resource(resourceArn=arn).get("tags", {}))
