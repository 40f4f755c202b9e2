"""Execute a plan: creates, updates and replacements in dependency order (in parallel where
independent), then deletes of resources removed from the spec. The state is written before
each create (the intent) and after each create, update and delete."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from awslab.engine.plan import Change, Plan, Progress, ProgressFn, build_resource, field_hashes
from awslab.engine.runner import run_graph
from awslab.errors import AwslabError, ProvisionError, describe_cause
from awslab.resources.base import Context, Record, UpdateNotSupported, kind_class
from awslab.spec import LabSpec, resolve
from awslab.state import StateStore
from awslab.target import Target

ACTION_VERBS = {
    "create": "creating",
    "update": "updating",
    "replace": "replacing",
    "delete": "deleting",
    "keep": "checking",
}


class ApplyError(AwslabError):
    """Some changes failed. Names each failed resource with its kind and the error (AWS's code and
    message), what was not attempted because of it, and how to go on.

    `failures` maps logical names to their errors, `skipped` lists everything not attempted,
    `skipped_by` maps each failure to what it held back (its transitive dependents)."""

    def __init__(
        self,
        lab: str,
        failures: Mapping[str, BaseException],
        skipped: list[str],
        *,
        skipped_by: Mapping[str, list[str]] | None = None,
        kinds: Mapping[str, str] | None = None,
    ) -> None:
        self.failures = dict(failures)
        self.skipped = skipped
        self.skipped_by = {n: list(v) for n, v in (skipped_by or {}).items()}
        kinds = kinds or {}
        failed = f"{len(failures)} resource{'s' if len(failures) != 1 else ''} failed"
        held = f", {len(skipped)} not attempted" if skipped else ""
        lines = [f"up of lab '{lab}' stopped: {failed}{held}"]
        for logical, exc in failures.items():
            lines.extend(_describe_failure(logical, kinds.get(logical, ""), exc))
            behind = self.skipped_by.get(logical)
            if behind:
                lines.append(f"  not attempted because of it: {', '.join(behind)}")
        unexplained = [n for n in skipped if not any(n in v for v in self.skipped_by.values())]
        if unexplained:
            lines.append(f"not attempted (they depend on what failed): {', '.join(unexplained)}")
        super().__init__(
            "\n".join(lines),
            hint=(
                f"fix the cause, then 'awslab up {lab}' resumes (what was made is kept); "
                f"'awslab teardown {lab}' removes what was made"
            ),
        )


def _describe_failure(logical: str, kind: str, exc: BaseException) -> list[str]:
    """`kind 'logical' failed while creating: Code: message`, and the error's own hint."""
    if isinstance(exc, ProvisionError):
        head = f"{exc.kind} '{exc.logical}' failed while {exc.action}: {describe_cause(exc.cause)}"
    else:
        text = str(exc) if isinstance(exc, AwslabError) else describe_cause(exc)
        head = f"{kind} '{logical}' failed: {text}".lstrip()
    first, *rest = head.splitlines() or [head]
    lines = [first, *(f"  {line}" for line in rest)]
    hint = getattr(exc, "hint", None)
    if hint:
        lines.append(f"  hint: {hint}")
    return lines


@dataclass
class ApplyResult:
    lab: str
    outputs: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def apply_plan(
    plan: Plan, store: StateStore, target: Target, *, on_progress: ProgressFn | None = None, workers: int = 4
) -> ApplyResult:
    started = time.monotonic()
    spec = plan.spec
    lab_state = store.ensure_lab(spec.name, str(spec.path))
    if lab_state.stack_id != plan.stack_id:  # the plan was made for a stack id now recorded
        lab_state.stack_id = plan.stack_id
        store.save()
    resolved: dict[str, Mapping[str, Any]] = {}
    resolved_lock = threading.Lock()
    changes = {c.logical: c for c in plan.changes}
    counts = {a: 0 for a in ("create", "update", "replace", "delete", "keep")}
    notify: Callable[[Progress], None] = on_progress or (lambda _p: None)

    def ctx() -> Context:
        with resolved_lock:
            snapshot = dict(resolved)
        return Context(
            target=target, lab=spec.name, stack_id=plan.stack_id, base_dir=spec.base_dir, resolved=snapshot
        )

    def run(logical: str) -> None:
        change = changes[logical]
        t0 = time.monotonic()
        if change.action != "keep":
            notify(Progress(logical, change.kind, change.action, "start", change.reason))
        try:
            attrs, action = _apply_one(change, spec, store, ctx())
        except Exception as exc:
            notify(Progress(logical, change.kind, change.action, "failed", str(exc), time.monotonic() - t0))
            if isinstance(exc, AwslabError):  # already says what and where (ProvisionError, SpecError)
                raise
            raise ProvisionError(change.kind, logical, ACTION_VERBS[change.action], exc) from exc
        with resolved_lock:
            if attrs is not None:
                resolved[logical] = attrs
            counts[action] += 1
        if action != "keep" or change.action != "keep":
            notify(Progress(logical, change.kind, action, "done", change.reason, time.monotonic() - t0))

    def skipped(logical: str) -> None:
        c = changes[logical]
        notify(Progress(logical, c.kind, c.action, "skipped", "a dependency failed"))

    forward = {c.logical: set(c.depends_on) for c in plan.changes if c.action != "delete"}
    result = run_graph(forward, run, workers=workers, on_skip=skipped)
    if not result.failed:
        # resources removed from the spec: dependents first
        removed = {c.logical: set(c.depends_on) for c in plan.changes if c.action == "delete"}
        reverse = {n: {m for m, ds in removed.items() if n in ds} for n in removed}
        deleted = run_graph(reverse, run, workers=workers, skip_dependents_of_failures=False)
        result.failed.update(deleted.failed)
    if result.failed:
        kinds = {c.logical: c.kind for c in plan.changes}
        raise ApplyError(spec.name, result.failed, result.skipped, skipped_by=result.skipped_by, kinds=kinds)

    outputs = {k: resolve(v, resolved) for k, v in spec.outputs.items()}
    store.set_outputs(spec.name, outputs)
    return ApplyResult(spec.name, outputs, counts, time.monotonic() - started)


def _apply_one(
    change: Change, spec: LabSpec, store: StateStore, ctx: Context
) -> tuple[dict[str, Any] | None, str]:
    """Carry out one change; return (attributes, the action really taken)."""
    lab = spec.name
    lab_state = store.lab(lab)
    rec = lab_state.resources.get(change.logical) if lab_state else None
    if change.action == "delete":
        assert rec is not None
        _delete(store, lab, rec, ctx)
        return None, "delete"

    rs = spec.resources[change.logical]
    resource = build_resource(rs, ctx)
    if change.action in ("keep", "update") and rec is not None:
        # re-checked here, not trusted from the plan: a dependency updated or replaced in this
        # run may have changed an attribute this resource references; drift (a setting changed
        # outside awslab) is repaired although the spec is unchanged
        if resource.fingerprint() == rec.fingerprint and not change.drift:
            return rec.attrs, "keep"
        try:
            attrs = resource.update(rec)
        except UpdateNotSupported:
            _delete(store, lab, rec, ctx)
            return _create(store, lab, resource, rs.fields, change), "replace"
        store.put_record(
            lab,
            Record(
                rec.kind,
                rec.logical,
                rec.physical,
                "created",
                attrs,
                resource.fingerprint(),
                sorted(rs.depends_on),
                field_hashes(rs.fields),
            ),
        )
        return attrs, "update"
    if rec is not None and change.action == "replace":
        _delete(store, lab, rec, ctx)
    return _create(store, lab, resource, rs.fields, change), change.action


def _create(
    store: StateStore, lab: str, resource: Any, fields: Mapping[str, Any], change: Change
) -> dict[str, Any]:
    rec = Record(
        resource.kind, resource.logical, resource.physical, "creating", {}, "", sorted(change.depends_on)
    )
    store.put_record(lab, rec)  # the intent: enough to find and delete it after a crash
    attrs = resource.create()
    rec.status, rec.attrs, rec.fingerprint, rec.inputs = (
        "created",
        attrs,
        resource.fingerprint(),
        field_hashes(fields),
    )
    store.put_record(lab, rec)
    return attrs


def _delete(store: StateStore, lab: str, rec: Record, ctx: Context) -> None:
    rec.status = "deleting"
    store.put_record(lab, rec)
    kind_class(rec.kind).delete(ctx, rec)
    store.drop_record(lab, rec.logical)
