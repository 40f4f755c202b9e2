"""Status: every tracked resource checked live (present / missing / changed / incomplete).

"changed" names the managed settings whose live value differs from what awslab last applied
(`Resource.drift`), with the values where they are short ("memory 128 -> 512, code")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

from awslab.errors import describe_cause
from awslab.resources.base import Context, Record, kind_class
from awslab.state import LabState
from awslab.target import Target

Health = Literal[
    "present", "missing", "changed", "incomplete", "unknown", "gone"
]  # gone: with the local cloud


@dataclass
class ResourceStatus:
    lab: str
    logical: str
    kind: str
    physical: str
    health: Health
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "logical": self.logical,
            "kind": self.kind,
            "physical": self.physical,
            "status": self.health,
            "detail": self.detail,
        }


def lab_status(lab: str, lab_state: LabState, target: Target, *, workers: int = 8) -> list[ResourceStatus]:
    return labs_status({lab: lab_state}, target, workers=workers)[lab]


def labs_status(
    labs: Mapping[str, LabState], target: Target, *, workers: int = 8
) -> dict[str, list[ResourceStatus]]:
    """Every resource of every lab checked live, all in one pool: labs are not checked one after
    another, and each boto3 client is built once (one at a time, by `Target.client`) for them all.
    The kinds AWS lists with what `read` needs (functions, roles) are read with one listing for
    all labs (`Resource.read_many`), the others one request each."""
    contexts = {
        lab: Context(
            target=target,
            lab=lab,
            stack_id=state.stack_id,
            base_dir=Path(state.spec).parent if state.spec else Path.cwd(),
        )
        for lab, state in labs.items()
    }

    def judge(lab: str, rec: Record, read: Callable[[], dict[str, Any] | None]) -> ResourceStatus:
        def status(health: Health, detail: str = "") -> ResourceStatus:
            return ResourceStatus(lab, rec.logical, rec.kind, rec.physical, health, detail)

        if rec.status != "created":
            return status("incomplete", f"{rec.status} was interrupted; 'up' resumes, 'teardown' removes it")
        try:
            live = read()
        except Exception as exc:
            return status("unknown", describe_cause(exc))
        if live is None:
            return status("missing", "deleted outside awslab; 'up' recreates it")
        drift = kind_class(rec.kind).drift(rec, live)
        if drift:
            changed = ", ".join(str(d) for d in drift)
            return status("changed", f"changed outside awslab: {changed}; 'up' restores the spec")
        return status("present")

    def check_one(lab: str, rec: Record) -> list[ResourceStatus]:
        return [judge(lab, rec, lambda: kind_class(rec.kind).read(contexts[lab], rec))]

    def check_kind(kind: str, items: list[tuple[str, Record]]) -> list[ResourceStatus]:
        """One listing for every resource of a kind that AWS lists with what `read` needs;
        the client is the target's, so any lab's context reads them all."""
        try:
            lives = kind_class(kind).read_many(contexts[items[0][0]], [rec for _, rec in items])
        except Exception as exc:  # each of them "unknown", with the cause
            return [judge(lab, rec, partial(_raise, exc)) for lab, rec in items]
        return [judge(lab, rec, partial(lives.get, rec.physical)) for lab, rec in items]

    tasks: list[Callable[[], list[ResourceStatus]]] = []
    listed: dict[str, list[tuple[str, Record]]] = {}
    for lab, state in labs.items():
        for rec in state.resources.values():
            if rec.status == "created" and _reads_many(rec.kind):
                listed.setdefault(rec.kind, []).append((lab, rec))
            else:
                tasks.append(partial(check_one, lab, rec))
    tasks[:0] = [partial(check_kind, kind, items) for kind, items in listed.items()]
    by_key: dict[tuple[str, str], ResourceStatus] = {}
    if tasks:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks)))) as pool:
            for rows in pool.map(lambda task: task(), tasks):
                by_key.update(((row.lab, row.logical), row) for row in rows)
    # in the state's order, as before
    return {
        lab: [by_key[(lab, rec.logical)] for rec in state.resources.values()] for lab, state in labs.items()
    }


def _reads_many(kind: str) -> bool:
    try:
        return kind_class(kind).reads_many
    except KeyError:  # a kind this awslab does not know: `read` says so, as "unknown"
        return False


def _raise(exc: BaseException) -> dict[str, Any] | None:
    raise exc
