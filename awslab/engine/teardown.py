"""Teardown: delete every resource a lab's state records, dependents first, carrying on past
failures, and report what is left. Works from the state alone (the spec may be gone). Last, the
log groups of the deleted functions that an invocation made again after their delete."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from awslab.engine.plan import Progress, ProgressFn
from awslab.engine.runner import run_graph
from awslab.errors import ProvisionError
from awslab.resources.awslambda import remove_log_groups
from awslab.resources.base import Context, kind_class
from awslab.state import StateStore
from awslab.target import Target


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
    lab: str, store: StateStore, target: Target, *, on_progress: ProgressFn | None = None, workers: int = 4
) -> TeardownResult:
    started = time.monotonic()
    lab_state = store.lab(lab)
    result = TeardownResult(lab)
    if lab_state is None:
        return result
    base_dir = Path(lab_state.spec).parent if lab_state.spec else Path.cwd()
    ctx = Context(target=target, lab=lab, stack_id=lab_state.stack_id, base_dir=base_dir)
    records = dict(lab_state.resources)
    notify = on_progress or (lambda _p: None)

    def delete(logical: str) -> None:
        rec = records[logical]
        t0 = time.monotonic()
        notify(Progress(logical, rec.kind, "delete", "start"))
        try:
            rec.status = "deleting"
            store.put_record(lab, rec)
            kind_class(rec.kind).delete(ctx, rec)
        except Exception as exc:
            err = ProvisionError(rec.kind, logical, "deleting", exc)
            notify(Progress(logical, rec.kind, "delete", "failed", str(err), time.monotonic() - t0))
            raise err from exc
        store.drop_record(lab, logical)
        notify(Progress(logical, rec.kind, "delete", "done", "", time.monotonic() - t0))

    # dependents first: a resource waits for everything that depends on it
    reverse = {n: {m for m, r in records.items() if n in r.depends_on} for n in records}
    run = run_graph(reverse, delete, workers=workers, skip_dependents_of_failures=False)
    result.deleted = run.done
    result.failed = {n: str(e) for n, e in run.failed.items()}
    functions = [records[n].physical for n in run.done if records[n].kind == "lambda.function"]
    try:
        remove_log_groups(ctx, functions)
    except Exception as exc:
        result.failed["log groups"] = str(ProvisionError("logs.log_group", "log groups", "deleting", exc))
    if not result.failed:
        store.drop_lab(lab)
    result.seconds = time.monotonic() - started
    return result
