"""Plan: compare a spec with the state and the live resources; return data, change nothing.

The same `Plan` is shown by `awslab plan` and executed by `awslab up` (see execute.py), as
Chalice's planner hands one list of instructions to either a displayer or an executor.

A resource is updated when its spec changed (its fingerprint) or when a setting awslab manages
was changed outside awslab (drift: the live values `read` returns differ from those recorded).

The one thing a plan records is a new lab's stack id (the suffix of every physical name), so
that `up` creates the names the plan showed.

A reference that a kind's name-only field (a role's policy) makes to a predictable attribute (an
ARN known from the name) is no dependency: until the resource exists, it resolves to the
prediction (`Plan.presumed`), here and in `up`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from awslab.engine.progress import Progress as Progress  # its own module; importable here, as before
from awslab.engine.progress import ProgressFn as ProgressFn
from awslab.graph import topological_order
from awslab.references import references, resolve
from awslab.resources.base import Context, Record, Resource, fingerprint_of, kind_class
from awslab.spec import LabSpec, ResourceSpec
from awslab.spec_values import runtime_values
from awslab.state import StateStore
from awslab.target import Target

Action = Literal["create", "update", "replace", "keep", "delete"]
UNRECORDED = "settings an older awslab did not record"


@dataclass
class Change:
    logical: str
    kind: str
    action: Action
    reason: str
    physical: str
    depends_on: list[str] = field(default_factory=list)
    # settings changed outside awslab ("memory 128 -> 512") or never recorded (UNRECORDED): `up`
    # updates even if the spec did not change
    drift: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "logical": self.logical,
            "kind": self.kind,
            "action": self.action,
            "reason": self.reason,
            "physical": self.physical,
            "depends_on": self.depends_on,
            "drift": self.drift,
        }


@dataclass
class Plan:
    lab: str
    stack_id: str
    spec: LabSpec
    changes: list[Change]
    # attributes that name-only references resolve to while the resource is not made yet: the
    # recorded ones, or those predicted from the planned physical name
    presumed: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    # each resource's dependencies that only its `link` step needs made (its kind's
    # `link_dependencies`): its create and wait_ready read their presumed attributes
    deferred: dict[str, set[str]] = field(default_factory=dict)

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


def tags_changed(rs: ResourceSpec, rec: Record) -> bool:
    """Whether the spec's user tags differ from those recorded, on a kind that has tags (an old
    record's are not known: they are put on at its next real update)."""
    return rs.cls.has_tags() and rec.tags is not None and dict(rs.tags) != rec.tags


def build_resource(spec: ResourceSpec, ctx: Context) -> Resource[Any]:
    """Instantiate a kind with its references resolved from `ctx.resolved`."""
    props = spec.cls.props_model.model_validate(resolve(spec.fields, ctx.resolved))
    return spec.cls(dataclasses.replace(ctx, user_tags=spec.tags) if spec.tags else ctx, spec.logical, props)


def plan_changes(
    spec: LabSpec, store: StateStore, target: Target, *, check_live: bool = True, workers: int = 4
) -> Plan:
    stack_id = _stack_id(spec, store)
    lab_state = store.lab(spec.name)
    records = dict(lab_state.resources) if lab_state else {}
    ctx = Context(target=target, lab=spec.name, stack_id=stack_id, base_dir=spec.base_dir)

    live = _read_live(ctx, records, workers) if check_live else {}
    deferred = {
        name: found for name, rs in spec.resources.items() if (found := deferred_dependencies(spec, rs))
    }
    values = runtime_values(spec, target)  # ${aws.region}, ${ssm:...}: resolved like attributes
    presumed = {**values, **_presumed(spec, records, ctx, deferred)}
    changes: dict[str, Change] = {}
    known: dict[str, Mapping[str, Any]] = dict(values)  # attrs we can trust at plan time
    names: dict[str, Mapping[str, Any]] = {}  # and the names of those still to be created
    for logical in spec.order:
        rs = spec.resources[logical]
        rec = records.get(logical)
        physical = rec.physical if rec else _planned_name(rs, ctx, names)
        trusted = {**{d: presumed[d] for d in rs.predicted | deferred.get(logical, set())}, **known}
        change = _plan_one(rs, rec, physical, live, trusted, ctx, check_live, changes)
        changes[logical] = change
        if change.action in ("keep", "update") and rec is not None:
            known[logical] = rec.attrs  # what `up` resolves against too
        # a kind's `name` attribute is its physical name
        names[logical] = known.get(logical) or {"name": change.physical}

    removed = {k: set(r.depends_on) & set(records) for k, r in records.items() if k not in spec.resources}
    for logical in reversed(topological_order(removed)):
        rec = records[logical]
        changes[logical] = Change(
            logical, rec.kind, "delete", "removed from the spec", rec.physical, sorted(rec.depends_on)
        )
    ordered = [changes[k] for k in spec.order] + [c for k, c in changes.items() if k not in spec.resources]
    return Plan(spec.name, stack_id, spec, ordered, presumed, deferred)


def deferred_dependencies(spec: LabSpec, rs: ResourceSpec) -> set[str]:
    """The dependencies of `rs` that only its `link` step needs made (`Plan.deferred`): those its
    kind's `link_dependencies` names that it does not reference in its fields, of kinds that
    predict attributes. None for a kind without a `link` step (the one place that checks)."""
    if not rs.cls.has_link():
        return set()
    props = rs.props
    referenced = {logical for logical, _ in references(rs.fields)}
    return {
        d
        for d in rs.cls.link_dependencies(props) & rs.depends_on
        if d not in referenced and spec.resources[d].cls.predictable
    }


class Predicted(Mapping[str, Any]):
    """The predictable attributes of a resource not made yet, computed on first use (an ARN
    needs the account id, which may cost a request)."""

    def __init__(self, cls: type[Resource[Any]], target: Target, physical: str) -> None:
        self._cls, self._target, self._physical = cls, target, physical
        self._values: dict[str, Any] | None = None

    def _all(self) -> dict[str, Any]:
        if self._values is None:
            self._values = self._cls.predict(self._target, self._physical)
        return self._values

    def __getitem__(self, attr: str) -> Any:
        return self._all()[attr]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _presumed(
    spec: LabSpec, records: Mapping[str, Record], ctx: Context, deferred: Mapping[str, set[str]]
) -> dict[str, Mapping[str, Any]]:
    """For every resource a name-only field references, or a create reads before it is made
    (`deferred`): its recorded attributes when it exists (a replacement keeps its name, so its
    ARN), else those predicted from its planned name."""
    out: dict[str, Mapping[str, Any]] = {}
    named = {d for rs in spec.resources.values() for d in rs.predicted}
    for logical in sorted(named.union(*deferred.values())):
        rs, rec = spec.resources[logical], records.get(logical)
        if rec is not None and rec.kind == rs.kind and rec.status == "created":
            out[logical] = rec.attrs
        else:
            physical = rec.physical if rec is not None and rec.kind == rs.kind else _planned_name(rs, ctx, {})
            out[logical] = Predicted(rs.cls, ctx.target, physical)
    return out


def _stack_id(spec: LabSpec, store: StateStore) -> str:
    """The lab's stack id. A new lab's is chosen (at random) by its first plan and recorded at
    once, under the state lock, so the names a plan shows are the ones `up` creates. Teardown
    forgets it: a lab deployed again gets fresh names (S3 bucket names are global and may stay
    taken for a while after a delete, SQS refuses a deleted queue's name for 60 s). Random, not
    derived from the lab and the target: two state files for one account must not share names."""
    lab_state = store.lab(spec.name)
    if lab_state is not None:
        return lab_state.stack_id
    if store.holds_lock:  # `up`
        return store.ensure_lab(spec.name, str(spec.path)).stack_id
    with store.locked():  # re-reads the file: another command may have recorded one meanwhile
        return store.ensure_lab(spec.name, str(spec.path)).stack_id


class _Unknown(dict[str, Any]):
    """A resource's attributes while planning: one not known before `up` stays a reference."""

    def __init__(self, logical: str, attrs: Mapping[str, Any]) -> None:
        super().__init__(attrs)
        self.logical = logical

    def __missing__(self, attr: str) -> str:
        return f"${{{self.logical}.{attr}}}"


def _planned_name(rs: ResourceSpec, ctx: Context, names: Mapping[str, Mapping[str, Any]]) -> str:
    """The physical name `up` will create: the kind's own (a FIFO queue's `.fifo`, the bucket
    that s3.files writes to), from the names planned for the resources it references."""
    resolved = {logical: _Unknown(logical, names.get(logical, {})) for logical in rs.depends_on}
    try:
        return build_resource(rs, dataclasses.replace(ctx, resolved=resolved)).physical
    except (KeyError, ValueError):  # the name depends on a value only `up` learns
        return ctx.physical_name(rs.logical, rs.cls.name_rule)


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
    physical: str,
    live: Mapping[str, Any],
    known: Mapping[str, Any],
    ctx: Context,
    check_live: bool,
    changes: Mapping[str, Change],
) -> Change:
    deps = sorted(rs.depends_on)
    drift: list[str] = []

    def change(action: Action, reason: str) -> Change:
        return Change(rs.logical, rs.kind, action, reason, physical, deps, drift)

    if rec is None:
        return change("create", "new")
    if rec.kind != rs.kind:
        return change("replace", f"kind changed from {rec.kind}")
    if rec.status != "created":
        return change(
            "replace", f"an earlier {'create' if rec.status == 'creating' else 'delete'} was interrupted"
        )
    if not rec.ready:
        return change("update", "an earlier 'up' stopped before it was ready")
    if check_live:
        current = live.get(rs.logical)
        if current is None:
            return change("create", "missing: deleted outside awslab")
        drift.extend(str(d) for d in rs.cls.drift(rec, current))
        if any(k in current and k not in rec.attrs for k in rs.cls.drift_keys):
            # state written before these settings were recorded: an update applies the spec
            # (so whatever was changed outside is undone) and records them
            drift.append(UNRECORDED)
    drifted = "drift: " + ", ".join(drift) if drift else ""

    def with_drift(reason: str) -> str:
        return "; ".join(part for part in (reason, drifted) if part)

    recreated = [d for d in deps if changes[d].action in ("create", "replace")]
    if recreated:
        return change("update", with_drift(f"depends on {', '.join(recreated)}, which will be recreated"))
    try:
        desired = build_resource(rs, dataclasses.replace(ctx, resolved=known))
        fingerprint = desired.fingerprint()
    except KeyError as exc:
        return change("update", with_drift(f"attribute {exc} of a dependency is not recorded yet"))
    retag = tags_changed(rs, rec)  # a retag, in place on every kind that has tags
    if fingerprint == rec.fingerprint:
        if not drift:
            return change("update", "changed: tags") if retag else change("keep", "up to date")
        changed: list[str] = []
        reason = "changed: tags" if retag else ""
    else:
        changed = sorted(k for k, h in field_hashes(rs.fields).items() if rec.inputs.get(k) != h)
        changed += sorted(k for k in rec.inputs if k not in rs.fields)
        shown = changed + (["tags"] if retag else [])
        reason = "changed: " + ", ".join(shown) if changed else "code, files or a referenced value changed"
        if retag and not changed:
            reason += "; changed: tags"
    reason = with_drift(reason)
    if not rs.cls.can_update() or set(changed) & rs.cls.replace_fields:
        return change("replace", reason + " (this kind is replaced to change it)")
    return change("update", reason)
