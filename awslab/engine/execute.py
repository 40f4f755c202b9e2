"""Execute a plan: creates, updates and replacements in dependency order (in parallel where
independent), then deletes of resources removed from the spec. The state is written before
each create (the intent) and after each create, update and delete.

A kind whose create returns before AWS has finished making the resource (a function Pending, a
table CREATING) gets a second step, `wait_ready`, run in the runner's pool for waits: its
dependents that need only its name go on meanwhile, those that declare they need it usable
(`needs_ready`) wait for it, and `up` ends when every such step has. So waits overlap
with each other and with the rest of the work instead of following one another.

What a kind's finishing needs other resources to exist for (an API's invoke permissions on its
functions, `link_dependencies`) is a third step, `link`, after them and beside `wait_ready`: the
rest of the finishing (the API's methods) starts as soon as the create is done, and `link` reads
the attributes of what was made meanwhile, not those predicted. Dependents that need the resource
usable (`needs_ready`) wait for both steps. The record says "ready" (with the kind's
`ready_attrs`) only once every step of the resource has succeeded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from awslab.engine.plan import Change, Plan, Predicted, build_resource, field_hashes, tags_changed
from awslab.engine.progress import NO_WAIT, Progress, ProgressFn, reporting
from awslab.engine.runner import RunResult, run_graph
from awslab.engine.teardown import delete_recorded
from awslab.errors import AwslabError, ProvisionError, describe_cause
from awslab.graph import reverse_dependencies
from awslab.references import redact, resolve
from awslab.resources.base import Context, Record, Resource, UpdateNotSupported, kind_class
from awslab.spec import LabSpec
from awslab.spec_values import secrets_of
from awslab.state import StateStore, now_iso
from awslab.target import Target

READY = "#ready"  # suffix of a resource's wait_ready step in the graph (not a valid logical name)
LINK = "#link"  # suffix of its link step
FINISHING = (READY, LINK)
# Creates and updates at once: most of their time is spent waiting for AWS (a role to propagate,
# a function to leave Pending), and each kind bounds its own bursts of requests.
WORKERS = 8
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
    plan: Plan,
    store: StateStore,
    target: Target,
    *,
    on_progress: ProgressFn | None = None,
    workers: int = WORKERS,
) -> ApplyResult:
    started = time.monotonic()
    spec = plan.spec
    lab_state = store.ensure_lab(spec.name, str(spec.path))
    if lab_state.stack_id != plan.stack_id:  # the plan was made for a stack id now recorded
        lab_state.stack_id = plan.stack_id
        store.save()
    if not lab_state.resources:  # a lab's age counts from its first `up`, not from a `plan` before it
        lab_state.created_at = now_iso()
        store.save()
    created_at = lab_state.created_at
    # name-only references resolve to presumed attributes until the resource is made
    resolved: dict[str, Mapping[str, Any]] = dict(plan.presumed)
    resolved_lock = threading.Lock()
    made: dict[str, Resource[Any]] = {}  # the instances created or updated, for their finishing steps
    changes = {c.logical: c for c in plan.changes}
    counts = {a: 0 for a in ("create", "update", "replace", "delete", "keep")}
    notify: Callable[[Progress], None] = on_progress or (lambda _p: None)

    def ctx() -> Context:
        with resolved_lock:
            snapshot = dict(resolved)
        return Context(
            target=target,
            lab=spec.name,
            stack_id=plan.stack_id,
            base_dir=spec.base_dir,
            resolved=snapshot,
            created_at=created_at,
        )

    finishing: dict[str, _Finishing] = {}  # each resource made in this run, through its finishing steps

    def run(name: str) -> None:
        if name.endswith(FINISHING):
            finish(*_split(name))
            return
        logical = name
        change = changes[logical]
        t0 = time.monotonic()
        if change.action != "keep":
            notify(Progress(logical, change.kind, change.action, "start", change.reason))
        try:
            with reporting(notify, logical, change.kind, change.action):  # its waits and retries
                attrs, action, resource = _apply_one(change, spec, store, ctx())
        except Exception as exc:
            notify(Progress(logical, change.kind, change.action, "failed", str(exc), time.monotonic() - t0))
            if isinstance(exc, AwslabError):  # already says what and where (ProvisionError, SpecError)
                raise
            raise ProvisionError(change.kind, logical, ACTION_VERBS[change.action], exc) from exc
        with resolved_lock:
            if attrs is not None:
                resolved[logical] = attrs
            if resource is not None:
                made[logical] = resource
                finishing[logical] = _Finishing(set(_steps_of(type(resource))))
            counts[action] += 1
        if action != "keep" or change.action != "keep":
            notify(Progress(logical, change.kind, action, "done", change.reason, time.monotonic() - t0))

    def finish(logical: str, step: str) -> None:
        """One finishing step (wait_ready or link). Its progress is the resource's "ready" step:
        one "waiting" when the first starts, then "done" when the last has succeeded, or "failed"
        or "skipped" for the first that did not (and nothing more)."""
        resource = made.get(logical)
        if resource is None:  # kept after all: nothing was made
            return
        kind, state = changes[logical].kind, finishing[logical]

        def quiet_once_ended(p: Progress) -> None:  # the other step failed or was skipped: it said so
            if not state.ended:
                notify(p)

        # Until every step succeeds the record says "not ready" (written so with the create or
        # update): a step that fails or is cut short (Ctrl-C, a crash) is taken up by the next
        # `up` instead of keeping a Pending or half-built resource as if it were done.
        with resolved_lock:
            first = state.started is None
            if state.started is None:
                state.started = time.monotonic()
            t0 = state.started
        if first:
            quiet_once_ended(Progress(logical, kind, "ready", "waiting"))  # until AWS says it is usable
        try:
            with reporting(quiet_once_ended, logical, kind, "ready"):
                if step == READY:
                    did = resource.wait_ready()
                else:  # what it links to was made since its create: their real ARNs, not the predicted
                    resource.ctx = replace(resource.ctx, resolved=ctx().resolved)
                    did = resource.link()
        except Exception as exc:
            with resolved_lock:
                tell = state.end(failed=True)
            if tell:
                notify(Progress(logical, kind, "ready", "failed", str(exc), time.monotonic() - t0))
            doing = "waiting until it is ready" if step == READY else _linking(plan, logical)
            raise ProvisionError(kind, logical, doing, exc) from exc
        with resolved_lock:
            state.steps.discard(step)
            state.worked = state.worked or did
            last = not state.steps and not state.ended
        if not last:  # another step goes on (or failed: the record stays "not ready")
            return
        _set_ready(store, spec.name, resource)
        notify(Progress(logical, kind, "ready", "done", "" if state.worked else NO_WAIT,
                        time.monotonic() - t0))  # fmt: skip

    def skipped(name: str) -> None:
        if name.endswith(FINISHING):  # its resource was made: "not ready" until the next `up`
            logical, step = _split(name)
            with resolved_lock:
                state = finishing.get(logical)  # None: kept, nothing was made
                tell = state is not None and state.end(failed=False)
            if tell:
                why = "not connected: a dependency failed" if step == LINK else "a dependency failed"
                notify(Progress(logical, changes[logical].kind, "ready", "skipped", why))
            return
        c = changes[name]
        notify(Progress(name, c.kind, c.action, "skipped", "a dependency failed"))

    forward, waits = _graph(plan)
    result = _by_resource(run_graph(forward, run, workers=workers, on_skip=skipped, waits=waits))
    if not result.failed:
        # resources removed from the spec: dependents first
        removed = {c.logical: set(c.depends_on) for c in plan.changes if c.action == "delete"}
        deleted = run_graph(
            reverse_dependencies(removed), run, workers=workers, skip_dependents_of_failures=False
        )
        result.failed.update(deleted.failed)
    if not result.failed:
        # a name-only reference resolved to a prediction that turned out wrong (an endpoint that
        # names things its own way): what used it is brought in line now, not by the next `up`
        for logical in _used_wrong_predictions(plan, resolved):
            changes[logical] = replace(
                changes[logical], action="update", reason="an ARN it names was mispredicted"
            )
            try:
                run(logical)
                for step in _steps_of(kind_class(changes[logical].kind)):
                    finish(logical, step)
            except Exception as exc:
                result.failed[logical] = exc
    if result.failed:
        kinds = {c.logical: c.kind for c in plan.changes}
        raise ApplyError(spec.name, result.failed, result.skipped, skipped_by=result.skipped_by, kinds=kinds)

    # a secret (${secretsmanager:...}) an output names is recorded and shown as its reference
    outputs = redact({k: resolve(v, resolved) for k, v in spec.outputs.items()}, secrets_of(resolved))
    store.set_outputs(spec.name, outputs)
    return ApplyResult(spec.name, outputs, counts, time.monotonic() - started)


@dataclass
class _Finishing:
    """A resource made in this run, through its finishing steps (READY, LINK)."""

    steps: set[str]  # those that have not succeeded
    started: float | None = None  # when the first started
    worked: bool = False  # one had something to do
    ended: bool = False  # one failed or was skipped: the record stays "not ready", its row says why
    failed: bool = False

    def end(self, *, failed: bool) -> bool:
        """Mark it ended by a step that failed or was skipped (under the run's lock); True when
        that is to be reported: the first end, or the first failure after a skip (the error
        names the resource failed)."""
        tell = not self.failed and (failed or not self.ended)
        self.ended, self.failed = True, self.failed or failed
        return tell


def _set_ready(store: StateStore, lab: str, resource: Resource[Any]) -> None:
    """Record that the resource is ready (the state's `ready` flag), with the attributes it
    records once finished, if it has a record."""
    state = store.lab(lab)
    rec = state.resources.get(resource.logical) if state else None
    if rec is not None and not rec.ready:
        store.put_record(lab, replace(rec, ready=True, attrs=resource.ready_attrs(rec.attrs)))


def _steps_of(cls: type[Resource[Any]]) -> list[str]:
    """The steps that finish a resource of this kind after its create or update."""
    return [step for step, has in ((READY, cls.has_wait_ready()), (LINK, cls.has_link())) if has]


def _split(name: str) -> tuple[str, str]:
    """A finishing step's name -> (its resource, READY or LINK)."""
    step = next(s for s in FINISHING if name.endswith(s))
    return name.removesuffix(step), step


def _linking(plan: Plan, logical: str) -> str:
    """What a failed link step was doing, for the error."""
    named = sorted(plan.deferred.get(logical, set()))
    return f"connecting it to {', '.join(named)}" if named else "connecting it to what it uses"


def _graph(plan: Plan) -> tuple[dict[str, set[str]], set[str]]:
    """The creates and updates with their dependencies, plus a finishing step after each one
    whose kind may need it (a "keep" may turn into an update when a dependency changed): a
    wait_ready step right after the create, and a link step after the create and what only it
    needs (`Plan.deferred`), which holds back neither the create nor the wait_ready. Dependents
    wait for the finishing steps only when their kind needs the resource usable."""
    # what AWS makes its users wait for (a role propagating) first: the runner starts ready
    # steps in this order, and their requests get the first clients built
    first = sorted(
        (c for c in plan.changes if c.action != "delete"), key=lambda c: not kind_class(c.kind).starts_first
    )
    changes = {c.logical: c for c in first}
    forward: dict[str, set[str]] = {}
    waits: set[str] = set()

    def after(deps: set[str], needs: frozenset[str]) -> set[str]:
        usable = {d for d in deps if d in changes and changes[d].kind in needs}
        return deps | {d + step for d in usable for step in _steps_of(kind_class(changes[d].kind))}

    for c in changes.values():
        cls = kind_class(c.kind)
        later = plan.deferred.get(c.logical, set())  # only kinds with a link step defer any
        forward[c.logical] = after(set(c.depends_on) - later, cls.needs_ready)
        for step in _steps_of(cls):
            waits.add(c.logical + step)
            needed = after(later, cls.needs_ready) if step == LINK else set()
            forward[c.logical + step] = {c.logical} | needed
    return forward, waits


def _by_resource(run: RunResult) -> RunResult:
    """The run's outcome in resources: a failed finishing step is its resource's failure, and
    skipped steps are not listed (their resource is, or was made)."""

    def logical(name: str) -> str:
        return _split(name)[0] if name.endswith(FINISHING) else name

    def kept(names: list[str]) -> list[str]:
        return [n for n in names if not n.endswith(FINISHING)]

    failed: dict[str, BaseException] = {}
    skipped_by: dict[str, list[str]] = {}
    for name, exc in run.failed.items():
        failed.setdefault(logical(name), exc)  # a resource's first failed step says why
    for name, behind in run.skipped_by.items():
        skipped_by.setdefault(logical(name), []).extend(kept(behind))
    return RunResult(done=kept(run.done), failed=failed, skipped=kept(run.skipped), skipped_by=skipped_by)


def _used_wrong_predictions(plan: Plan, resolved: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Resources built while a name-only reference resolved to a predicted attribute that the
    resource, once made, does not have."""
    wrong = {
        logical
        for logical, presumed in plan.presumed.items()
        if isinstance(presumed, Predicted)
        and any(resolved[logical].get(attr) != value for attr, value in presumed.items())
    }
    return [
        c.logical
        for c in plan.changes
        if c.action != "delete"
        and (plan.spec.resources[c.logical].predicted | plan.deferred.get(c.logical, set())) & wrong
    ]


def _apply_one(
    change: Change, spec: LabSpec, store: StateStore, ctx: Context
) -> tuple[dict[str, Any] | None, str, Resource[Any] | None]:
    """Carry out one change; return (attributes, the action really taken, the resource instance
    created or updated)."""
    lab = spec.name
    lab_state = store.lab(lab)
    rec = lab_state.resources.get(change.logical) if lab_state else None
    if change.action == "delete":
        assert rec is not None
        delete_recorded(store, lab, rec, ctx)
        return None, "delete", None

    rs = spec.resources[change.logical]
    resource = build_resource(rs, ctx)
    if change.action in ("keep", "update") and rec is not None:
        # re-checked here, not trusted from the plan: a dependency updated or replaced in this
        # run may have changed an attribute this resource references; drift (a setting changed
        # outside awslab) is repaired although the spec is unchanged, and so is a resource an
        # earlier `up` left before it was ready
        retag = tags_changed(rs, rec)
        if resource.fingerprint() == rec.fingerprint and not change.drift and rec.ready:
            if not retag:
                return rec.attrs, "keep", None
            _retag(resource, rec)
            store.put_record(lab, replace(rec, tags=dict(rs.tags)))
            return rec.attrs, "update", None
        try:
            attrs = resource.update(rec)
        except UpdateNotSupported:
            delete_recorded(store, lab, rec, ctx)
            return _create(store, lab, resource, rs.fields, change), "replace", resource
        if retag or (rec.tags is None and rs.tags and resource.has_tags()):
            _retag(resource, rec)
        store.put_record(
            lab,
            Record(
                rec.kind,
                rec.logical,
                rec.physical,
                "created",
                _recorded(resource, attrs),
                resource.fingerprint(),
                sorted(rs.depends_on),
                field_hashes(rs.fields),
                ready=not resource.has_readiness(),
                tags=dict(rs.tags),
            ),
        )
        return attrs, "update", resource
    if rec is not None and change.action == "replace":
        delete_recorded(store, lab, rec, ctx)
    return _create(store, lab, resource, rs.fields, change), change.action, resource


def _retag(resource: Resource[Any], rec: Record) -> None:
    """Put the spec's user tags on the resource, and take off those the spec no longer has."""
    wanted = dict(resource.ctx.user_tags)
    resource.retag(resource.ctx, rec, wanted, sorted(set(rec.tags or {}) - set(wanted)))


def _create(
    store: StateStore, lab: str, resource: Resource[Any], fields: Mapping[str, Any], change: Change
) -> dict[str, Any]:
    rec = Record(
        resource.kind, resource.logical, resource.physical, "creating", {}, "", sorted(change.depends_on)
    )
    store.put_record(lab, rec)  # the intent: enough to find and delete it after a crash
    attrs = resource.create()
    rec.status, rec.attrs, rec.fingerprint, rec.inputs = (
        "created",
        _recorded(resource, attrs),
        resource.fingerprint(),
        field_hashes(fields),
    )
    rec.ready = not resource.has_readiness()  # until its finishing steps (wait_ready, link) have run
    rec.tags = dict(resource.ctx.user_tags)  # what `create` tagged it with
    store.put_record(lab, rec)
    return attrs


def _recorded(resource: Resource[Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """The attributes as the state file keeps them: secrets the resource was made with appear as
    their references; the attributes other resources reference (names, ARNs) as they are."""
    secrets = secrets_of(resource.ctx.resolved)
    if not secrets:
        return attrs
    return {k: v if k in resource.attributes else redact(v, secrets) for k, v in attrs.items()}
