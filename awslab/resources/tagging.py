"""Keeping a resource's user tags in line with the spec: the one body of the kinds' `retag`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


def retag_resource(
    client: Any,
    ident: Mapping[str, str],
    tags: Mapping[str, str],
    dropped: Collection[str],
    *,
    keys: str = "TagKeys",
    tags_param: str = "Tags",
    pairs: tuple[str, str] | None = None,
    untag: str = "untag_resource",
    tag: str = "tag_resource",
) -> None:
    """Take the `dropped` keys (user tags no longer in the spec) off the resource `ident` names, then
    put `tags` on; awslab's own tags are never in either, so they stay. Untag first: IAM's tag keys
    ignore case, so when `Team` becomes `team`, a tag call (team) overwrites Team and an untag (Team)
    after it would take the new tag off. `pairs` names the key/value fields of APIs that take tags
    as a list of pairs rather than a map."""
    if dropped:
        getattr(client, untag)(**ident, **{keys: list(dropped)})
    if tags:
        value: Any = [{pairs[0]: k, pairs[1]: v} for k, v in tags.items()] if pairs else dict(tags)
        getattr(client, tag)(**ident, **{tags_param: value})
