"""Sweep: find and delete resources awslab created that no state file knows (the state was lost,
or the lab was deployed from another machine).

Sweep knows no kind: it asks every registered kind (`load_kinds()`) what awslab made of it
(`list_made`: found by its `awslab-` name, with its tags), so a new kind is swept as soon as it is
registered. A candidate is only claimed when it carries the awslab tags (`awslab:lab`,
`awslab:stack`): a lookalike name without them belongs to someone else. Resources without tags of
their own are claimed through a tagged owner: an untagged event source mapping through its
(orphaned) function (`Made.owner`), a bucket notification through its awslab bucket's tags, a
function's leftover log group by its own. Deletes go dependents first (each kind's `sweep_rank`),
through the `delete` of the kind that found it, from a "creating" record, as for a create that
died half-way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from awslab.engine.progress import Progress, ProgressFn
from awslab.errors import ProvisionError
from awslab.resources.base import (
    LOG_GROUP_KIND,
    TAG_CREATED,
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    Context,
    Made,
    Record,
    Resource,
    Survey,
    kind_class,
    load_kinds,
    logical_from_name,
)
from awslab.target import Target

__all__ = ["LOG_GROUP_KIND", "Orphan", "SweepResult", "by_age", "find_orphans", "owner_of", "sweep"]


@dataclass
class Orphan:
    kind: str
    physical: str
    lab: str
    stack_id: str
    logical: str
    detail: str = ""
    # what the kind's delete needs besides the name (a mapping's uuid, a notification's bucket)
    attrs: dict[str, Any] = field(default_factory=dict)
    # the registered kind that found it and whose `delete` removes it (a log group: lambda.function)
    made_by: str = ""
    rank: int = 0  # its place in the delete order: lower first
    created: str = ""  # its `awslab:created` tag (ISO-8601 UTC), "" when it has none

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "physical": self.physical,
            "lab": self.lab,
            "stack_id": self.stack_id,
            "logical": self.logical,
            "detail": self.detail,
            "created": self.created,
        }


@dataclass
class SweepResult:
    deleted: list[str] = field(default_factory=list)  # physical names
    failed: dict[str, str] = field(default_factory=dict)  # physical name -> one-line error
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": list(self.deleted), "failed": dict(self.failed), "seconds": round(self.seconds, 3)}


# ---- finding --------------------------------------------------------------------------------
def find_orphans(
    target: Target, known: set[tuple[str, str]], owned: frozenset[tuple[str, str]] = frozenset()
) -> list[Orphan]:
    """Resources on `target` tagged (or, for untaggable ones, owned) by awslab whose
    (kind, physical name) is not in `known` and whose (lab, stack id) is not in `owned`: a stack
    another state file records is that state's, even where its records lag behind (a resource
    being created right now). Every registered kind lists its own (`list_made`). IAM is global:
    on a real account `known` and `owned` should come from every region's state of that account."""
    survey = Survey(target, known)
    claimed: dict[tuple[str, str], Orphan] = {}
    through_owner: list[tuple[str, Made]] = []
    for kind, cls in sorted(load_kinds().items()):
        for made in cls.list_made(target, survey):
            shown = made.kind or kind
            if made.owner is not None:
                through_owner.append((kind, made))
                continue
            owner = owner_of(made.tags, made.physical)
            if owner is None or (shown, made.physical) in known:
                continue
            claimed[shown, made.physical] = Orphan(
                shown, made.physical, *owner, made.detail, dict(made.attrs),
                made_by=kind, rank=_rank(cls, made), created=made.tags.get(TAG_CREATED, ""),
            )  # fmt: skip
    found = list(claimed.values())
    for kind, made in through_owner:  # untaggable: claimed when their tagged owner is
        if made.owner is None or (owning := claimed.get(made.owner)) is None:
            continue
        found.append(Orphan(
            made.kind or kind, made.physical, owning.lab, owning.stack_id, made.tags.get(TAG_LOGICAL, ""),
            made.detail, dict(made.attrs), made_by=kind, rank=_rank(kind_class(kind), made),
            created=owning.created,
        ))  # fmt: skip
    return sorted((o for o in found if (o.lab, o.stack_id) not in owned), key=_order_key)


Owner = tuple[str, str, str]  # lab, stack id, logical


def owner_of(tags: dict[str, str], name: str) -> Owner | None:
    """(lab, stack, logical) from awslab tags; None when the tags do not say awslab made it.
    A missing logical tag is read back from the name `awslab-<lab>-<logical>-<stack>`."""
    lab, stack = tags.get(TAG_LAB), tags.get(TAG_STACK)
    if not lab or not stack:
        return None
    logical = tags.get(TAG_LOGICAL) or logical_from_name(name, lab, stack)
    return lab, stack, logical


def _rank(cls: type[Resource[Any]], made: Made) -> int:
    return cls.sweep_rank if made.rank is None else made.rank


def _order_key(o: Orphan) -> tuple[int, str, str]:
    return o.rank, o.kind, o.physical


# ---- deleting -------------------------------------------------------------------------------
def sweep(target: Target, orphans: list[Orphan], *, on_progress: ProgressFn | None = None) -> SweepResult:
    """Delete `orphans`, dependents first, each through its kind's `delete`; carries on past
    failures. Progress names each resource by its physical name (orphans of several labs may
    share a logical name)."""
    started = time.monotonic()
    notify = on_progress or (lambda _p: None)
    result = SweepResult()
    contexts: dict[tuple[str, str], Context] = {}
    for o in sorted(orphans, key=_order_key):
        ctx = contexts.setdefault(
            (o.lab, o.stack_id), Context(target=target, lab=o.lab, stack_id=o.stack_id, base_dir=Path.cwd())
        )
        t0 = time.monotonic()
        notify(Progress(o.physical, o.kind, "delete", "start", o.detail))
        try:
            _delete(ctx, o)
        except Exception as exc:
            err = ProvisionError(o.kind, o.logical or o.physical, "deleting", exc)
            result.failed[o.physical] = str(err)
            notify(Progress(o.physical, o.kind, "delete", "failed", str(err), time.monotonic() - t0))
            continue
        result.deleted.append(o.physical)
        notify(Progress(o.physical, o.kind, "delete", "done", o.detail, time.monotonic() - t0))
    result.seconds = time.monotonic() - started
    return result


def _delete(ctx: Context, o: Orphan) -> None:
    """Through the delete of the kind that found it, from a "creating" record (its attrs: what the
    listing knew), as for a create that died half-way."""
    record = Record(o.kind, o.logical, o.physical, status="creating", attrs=dict(o.attrs))
    kind_class(o.made_by or o.kind).delete(ctx, record)


# ---- by age (teardown --older-than) -------------------------------------------------------------
def by_age(orphans: Iterable[Orphan], limit: timedelta, now: datetime) -> tuple[list[Orphan], list[Orphan]]:
    """The orphans whose `awslab:created` tag is more than `limit` before `now`, and the ones without
    a readable tag (made by an older awslab, or kinds without tags): their age is unknown, so
    `--older-than` never removes them."""
    from awslab.lab_age import parse_time

    old: list[Orphan] = []
    unaged: list[Orphan] = []
    for o in orphans:
        created = parse_time(o.created)
        if created is None:
            unaged.append(o)
        elif now - created > limit:
            old.append(o)
    return old, unaged
