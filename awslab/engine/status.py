"""Status: every tracked resource checked live (present / missing / changed / incomplete).

"changed" names the managed settings whose live value differs from what awslab last applied
(`Resource.drift`), with the values where they are short ("memory 128 -> 512, code")."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
    another, and each boto3 client is built once (one at a time, by `Target.client`) for them all."""
    contexts = {
        lab: Context(
            target=target,
            lab=lab,
            stack_id=state.stack_id,
            base_dir=Path(state.spec).parent if state.spec else Path.cwd(),
        )
        for lab, state in labs.items()
    }

    def check(lab: str, rec: Record) -> ResourceStatus:
        def status(health: Health, detail: str = "") -> ResourceStatus:
            return ResourceStatus(lab, rec.logical, rec.kind, rec.physical, health, detail)

        if rec.status != "created":
            return status("incomplete", f"{rec.status} was interrupted; 'up' resumes, 'teardown' removes it")
        try:
            cls = kind_class(rec.kind)
            live = cls.read(contexts[lab], rec)
        except Exception as exc:
            return status("unknown", describe_cause(exc))
        if live is None:
            return status("missing", "deleted outside awslab; 'up' recreates it")
        drift = cls.drift(rec, live)
        if drift:
            changed = ", ".join(str(d) for d in drift)
            return status("changed", f"changed outside awslab: {changed}; 'up' restores the spec")
        return status("present")

    tasks = [(lab, rec) for lab, state in labs.items() for rec in state.resources.values()]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks)))) as pool:
        rows = list(pool.map(lambda task: check(*task), tasks))
    result: dict[str, list[ResourceStatus]] = {lab: [] for lab in labs}
    for row in rows:
        result[row.lab].append(row)
    return result
