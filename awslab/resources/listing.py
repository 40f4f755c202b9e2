"""Reading several resources of one kind with one listing, where AWS lists them with what `read`
needs (ListFunctions gives each function's configuration, ListRoles each role): `status` then
makes one request per kind instead of one per resource.

The listing stops as soon as every wanted resource was seen, and after as many pages as there
are resources: on an account holding many others, the rest are read one by one, so a listing
never costs much more than the reads it replaces."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from awslab.resources.base import Record

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
