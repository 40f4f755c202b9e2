"""Creates that converge when AWS did the work but its response was lost.

botocore (standard retry mode) sends a request again when the connection drops or times out,
even though AWS may have carried out the first one. None of the create APIs awslab calls takes
an idempotency token (botocore's service models mark none), so each create is made safe in one
of three ways, and none costs a request when nothing went wrong:

- naturally idempotent APIs need nothing: SQS CreateQueue and SNS CreateTopic of the same name
  and settings, SNS Subscribe, S3 PUTs, IAM PutRolePolicy / AttachRolePolicy;
- "already exists" for a name that carries the stack id: `adopt_or_raise` adopts the resource
  when its tags say it is this very resource (a retried create of ours, or one that an earlier
  run left), and re-raises the error otherwise;
- APIs that make a new resource on every call (API Gateway CreateRestApi and CreateResource,
  Lambda CreateEventSourceMapping on some endpoints): when the answer says botocore retried
  (`ResponseMetadata.RetryAttempts` > 0), `drop_duplicates` looks for the others the lost
  attempts made and deletes them, keeping the one answered.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from awslab.resources.base import TAG_LAB, TAG_LOGICAL, TAG_STACK, error_code

if TYPE_CHECKING:
    from awslab.resources.base import Context

T = TypeVar("T")


def was_retried(response: Mapping[str, Any]) -> bool:
    """Whether botocore sent the request more than once before this answer: an earlier attempt
    may have been carried out with its answer lost."""
    meta = response.get("ResponseMetadata") or {}
    return int(meta.get("RetryAttempts") or 0) > 0


def tag_map(tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """Tags as a dict, from any of AWS's shapes: a dict, [{"Key", "Value"}], [{"key", "value"}]."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value", ""))) for t in tags}


def is_ours(tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None, ctx: Context, logical: str) -> bool:
    """Whether the tags are those `ctx.tags(logical)` puts on a create: this lab, stack, resource."""
    have = tag_map(tags)
    return all(
        have.get(k) == v for k, v in ctx.tags(logical).items() if k in (TAG_LAB, TAG_STACK, TAG_LOGICAL)
    )


def named_here(
    ctx: Context, items: Iterable[dict[str, Any]], name: str, *, name_key: str, tags_key: str
) -> list[dict[str, Any]]:
    """The listed `items` called `name` (it holds the stack id) and not tagged as another stack's:
    what a create that died half-way may have made (its tags may not be on yet)."""
    return [
        item
        for item in items
        if item.get(name_key) == name
        and (item.get(tags_key) or {}).get(TAG_STACK, ctx.stack_id) == ctx.stack_id
    ]


def already_exists(exc: BaseException, codes: Collection[str], fragment: str = "") -> bool:
    """A ClientError with one of `codes` (and `fragment` in its message, when given)."""
    if error_code(exc) not in codes:
        return False
    message = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Message", ""))
    return fragment.lower() in message.lower()


def adopt_or_raise(
    exc: BaseException, codes: Collection[str], adopt: Callable[[], T | None], *, fragment: str = ""
) -> T:
    """Call from the `except` of a create. When `exc` says the resource already exists, return
    what `adopt()` makes of the existing one; `adopt` returns None when it is not ours, and then
    (as for any other error) `exc` is raised again."""
    if already_exists(exc, codes, fragment):
        adopted = adopt()
        if adopted is not None:
            return adopted
    raise exc


def drop_duplicates(
    response: Mapping[str, Any],
    keep: str,
    find: Callable[[], Iterable[str]],
    delete: Callable[[str], None],
) -> list[str]:
    """After a create answered `response` for the resource `keep`: when botocore retried it,
    delete every other resource `find()` returns (the ids of resources identical to this one:
    same name and tags, same parent and path...), and return their ids. No request otherwise."""
    if not was_retried(response):
        return []
    extra = [found for found in find() if found != keep]
    for found in extra:
        delete(found)
    return extra
