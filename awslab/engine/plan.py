"""Plan: compare a spec with the state and the live resources; return data, change nothing.

The same `Plan` is shown by `awslab plan` and executed by `awslab up` (see execute.py), as
Chalice's planner hands one list of instructions to either a displayer or an executor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from awslab.engine.graph import topological_order
from awslab.resources.base import Context, Record, Resource, fingerprint_of, kind_class
from awslab.spec import LabSpec, ResourceSpec, resolve
from awslab.state import StateStore, new_stack_id
from awslab.target import Target

Action = Literal["create", "update", "replace", "keep", "delete"]


@dataclass
class Change:
    logical: str
    kind: str
    action: Action
    reason: str
    physical: str
    depends_on: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logical": self.logical,
            "kind": self.kind,
            "action": self.action,
            "reason": self.reason,
            "physical": self.physical,
            "depends_on": self.depends_on,
        }


@dataclass
class Plan:
    lab: str
    stack_id: str
    spec: LabSpec
    changes: list[Change]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "keep" for c in self.changes)

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in ("create", "update", "replace", "delete", "keep")}
        for c in self.changes:
            out[c.action] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "stack_id": self.stack_id,
            "counts": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
        }


def field_hashes(fields: Mapping[str, Any]) -> dict[str, str]:
    return {k: fingerprint_of(v) for k, v in fields.items()}


def build_resource(spec: ResourceSpec, ctx: Context) -> Resource:
    """Instantiate a kind with its references resolved from `ctx.resolved`."""
    props = spec.cls.Props.model_validate(resolve(spec.fields, ctx.resolved))
    return spec.cls(ctx, spec.logical, props)


def plan_changes(
    spec: LabSpec, store: StateStore, target: Target, *, check_live: bool = True, workers: int = 4
) -> Plan:
    lab_state = store.lab(spec.name)
    stack_id = lab_state.stack_id if lab_state else new_stack_id()
    records = dict(lab_state.resources) if lab_state else {}
    ctx = Context(target=target, lab=spec.name, stack_id=stack_id, base_dir=spec.base_dir)

    live = _read_live(ctx, records, workers) if check_live else {}
    changes: dict[str, Change] = {}
    known: dict[str, Mapping[str, Any]] = {}  # attrs we can trust at plan time
    for logical in spec.order:
        rs = spec.resources[logical]
        change = _plan_one(rs, records.get(logical), live, known, ctx, check_live, changes)
        changes[logical] = change
        rec = records.get(logical)
        if change.action in ("keep", "update") and rec is not None:
            known[logical] = rec.attrs  # what `up` resolves against too (drift is status's business)

    removed = {k: set(r.depends_on) & set(records) for k, r in records.items() if k not in spec.resources}
    for logical in reversed(topological_order(removed)):
        rec = records[logical]
        changes[logical] = Change(
            logical, rec.kind, "delete", "removed from the spec", rec.physical, sorted(rec.depends_on)
        )
    ordered = [changes[k] for k in spec.order] + [c for k, c in changes.items() if k not in spec.resources]
    return Plan(spec.name, stack_id, spec, ordered)


def _read_live(ctx: Context, records: Mapping[str, Record], workers: int) -> dict[str, dict[str, Any] | None]:
    def read(rec: Record) -> dict[str, Any] | None:
        if rec.status != "created":
            return None
        return kind_class(rec.kind).read(ctx, rec)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(read, records.values())
        return dict(zip(records, results, strict=True))


def _plan_one(
    rs: ResourceSpec,
    rec: Record | None,
    live: Mapping[str, Any],
    known: Mapping[str, Any],
    ctx: Context,
    check_live: bool,
    changes: Mapping[str, Change],
) -> Change:
    physical = ctx.physical_name(rs.logical, rs.cls.name_rule)
    deps = sorted(rs.depends_on)

    def change(action: Action, reason: str) -> Change:
        return Change(rs.logical, rs.kind, action, reason, rec.physical if rec else physical, deps)

    if rec is None:
        return change("create", "new")
    if rec.kind != rs.kind:
        return change("replace", f"kind changed from {rec.kind}")
    if rec.status != "created":
        return change(
            "replace", f"an earlier {'create' if rec.status == 'creating' else 'delete'} was interrupted"
        )
    if check_live and live.get(rs.logical) is None:
        return change("create", "missing: deleted outside awslab")
    recreated = [d for d in deps if changes[d].action in ("create", "replace")]
    if recreated:
        return change("update", f"depends on {', '.join(recreated)}, which will be recreated")
    try:
        desired = build_resource(rs, _ctx_with(ctx, known))
        fingerprint = desired.fingerprint()
    except KeyError as exc:
        return change("update", f"attribute {exc} of a dependency is not recorded yet")
    if fingerprint == rec.fingerprint:
        return change("keep", "up to date")
    changed = sorted(k for k, h in field_hashes(rs.fields).items() if rec.inputs.get(k) != h)
    changed += sorted(k for k in rec.inputs if k not in rs.fields)
    reason = "changed: " + ", ".join(changed) if changed else "code, files or a referenced value changed"
    if not rs.cls.can_update() or set(changed) & rs.cls.replace_fields:
        return change("replace", reason + " (this kind is replaced to change it)")
    return change("update", reason)


def _ctx_with(ctx: Context, resolved: Mapping[str, Mapping[str, Any]]) -> Context:
    return Context(
        target=ctx.target, lab=ctx.lab, stack_id=ctx.stack_id, base_dir=ctx.base_dir, resolved=resolved
    )


ProgressFn = Callable[["Progress"], None]


@dataclass
class Progress:
    """One step of execution, for the CLI to render (core never prints)."""

    logical: str
    kind: str
    action: str
    phase: Literal["start", "done", "failed", "skipped"]
    detail: str = ""
    seconds: float = 0.0
