"""Teardown: delete every resource a lab's state records, carrying on past failures, and report
what is left. Works from the state alone (the spec may be gone). A resource waits only for the
deletes of its dependents that need it still there (the files in a bucket, see
`Resource.delete_needs_dependencies`); the others go at once, and each skips what the deletes of
the others remove anyway (a grant on a function that goes too). Last, once every function is
gone, the log groups an invocation made again after their delete."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from awslab.engine.progress import Progress, ProgressFn, reporting
from awslab.engine.runner import run_graph
from awslab.errors import ProvisionError
from awslab.resources.awslambda import remove_log_groups
from awslab.resources.base import Context, Record, kind_class
from awslab.state import StateStore
from awslab.target import Target

WORKERS = 8  # deletes at once (each kind bounds its own bursts of requests)
LOG_GROUPS = "#log-groups"  # the last step (not a valid logical name)


@dataclass
class TeardownResult:
    lab: str
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # logical -> one-line error
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def teardown_lab(
    lab: str,
    store: StateStore,
    target: Target,
    *,
    on_progress: ProgressFn | None = None,
    workers: int = WORKERS,
) -> TeardownResult:
    started = time.monotonic()
    lab_state = store.lab(lab)
    result = TeardownResult(lab)
    if lab_state is None:
        return result
    records = dict(lab_state.resources)
    base_dir = Path(lab_state.spec).parent if lab_state.spec else Path.cwd()
    ctx = Context(
        target=target,
        lab=lab,
        stack_id=lab_state.stack_id,
        base_dir=base_dir,
        deleting=identities(records.values()),
    )
    notify = on_progress or (lambda _p: None)
    functions = [n for n, r in records.items() if r.kind == "lambda.function"]
    gone: list[str] = []  # functions deleted, in the order they went
    gone_lock = threading.Lock()

    def delete(logical: str) -> None:
        if logical == LOG_GROUPS:
            with gone_lock:
                names = [records[n].physical for n in gone]
            remove_log_groups(ctx, names)
            return
        rec = records[logical]
        t0 = time.monotonic()
        notify(Progress(logical, rec.kind, "delete", "start"))
        try:
            with reporting(notify, logical, rec.kind, "delete"):  # its waits and retries
                delete_recorded(store, lab, rec, ctx)
        except Exception as exc:
            err = ProvisionError(rec.kind, logical, "deleting", exc)
            notify(Progress(logical, rec.kind, "delete", "failed", str(err), time.monotonic() - t0))
            raise err from exc
        if rec.kind == "lambda.function":
            with gone_lock:
                gone.append(logical)
        notify(Progress(logical, rec.kind, "delete", "done", "", time.monotonic() - t0))

    order = delete_order(records)
    if functions:
        order[LOG_GROUPS] = set(functions)
    run = run_graph(order, delete, workers=workers, skip_dependents_of_failures=False)
    result.deleted = [n for n in run.done if n != LOG_GROUPS]
    result.failed = {n: str(e) for n, e in run.failed.items() if n != LOG_GROUPS}
    if LOG_GROUPS in run.failed:
        err = ProvisionError("logs.log_group", "log groups", "deleting", run.failed[LOG_GROUPS])
        result.failed["log groups"] = str(err)
    if not result.failed:
        store.drop_lab(lab)
    result.seconds = time.monotonic() - started
    return result


def delete_recorded(store: StateStore, lab: str, rec: Record, ctx: Context) -> None:
    """Delete one recorded resource: the record says "deleting" first (a crash leaves it to be
    deleted again), and goes once AWS has deleted it. Teardown and `up` (a replacement, or a
    resource the spec no longer has) both delete this way."""
    rec.status = "deleting"
    store.put_record(lab, rec)
    kind_class(rec.kind).delete(ctx, rec)
    store.drop_record(lab, rec.logical)


def delete_order(records: dict[str, Record]) -> dict[str, set[str]]:
    """For each resource, the ones to delete before it: its dependents whose delete needs it
    still there."""
    needs = {m: kind_class(r.kind).delete_needs(r, records) for m, r in records.items()}
    return {n: {m for m in records if n in needs[m]} for n in records}


def identities(records: Iterable[Record]) -> frozenset[str]:
    """The physical names, names and ARNs of the records' resources: what a delete compares with
    to know that a resource goes too (`Context.goes_too`)."""
    found: set[str] = set()
    for rec in records:
        found.add(rec.physical)
        found.update(str(rec.attrs[k]) for k in ("name", "arn") if rec.attrs.get(k))
    return frozenset(found)
