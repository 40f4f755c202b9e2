"""Run tasks of a dependency graph in a bounded thread pool: each starts as soon as what it
depends on has finished (not in lockstep batches), independent ones in parallel. Tasks that
mostly wait (polling until AWS has made something) run in a pool of their own, so that however
many wait at once, they never hold back the others."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field


@dataclass
class RunResult:
    done: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # not run: something they wait for failed
    # each failure -> the tasks skipped because of it (its transitive dependents), in skip order;
    # a task behind two failures is listed under both
    skipped_by: dict[str, list[str]] = field(default_factory=dict)


def run_graph(
    deps: Mapping[str, Set[str]],
    task: Callable[[str], None],
    *,
    workers: int = 4,
    skip_dependents_of_failures: bool = True,
    on_skip: Callable[[str], None] | None = None,
    waits: Set[str] = frozenset(),
    wait_workers: int = 16,
) -> RunResult:
    """Run `task(name)` for every name after its dependencies (names outside `deps` are
    ignored). With `skip_dependents_of_failures` a failure skips everything waiting on it;
    without, everything still runs (teardown: delete as much as possible). The names in `waits`
    run in a second pool of `wait_workers` threads."""
    waiting = {n: {d for d in ds if d in deps} for n, ds in deps.items()}
    result = RunResult()
    # a task waiting on a failure -> the failures behind it (directly or through skipped tasks)
    blocked: dict[str, set[str]] = {}
    running: dict[Future[None], str] = {}

    def release(name: str, causes: set[str]) -> None:
        for other, ds in waiting.items():
            if name in ds:
                ds.discard(name)
                if causes and skip_dependents_of_failures:
                    blocked.setdefault(other, set()).update(causes)

    with (
        ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="awslab") as pool,
        ThreadPoolExecutor(max_workers=max(1, wait_workers), thread_name_prefix="awslab-wait") as waiters,
    ):
        while waiting or running:
            # A skip releases its dependents at once, which may make more tasks ready (to skip
            # or to run): go on until nothing more is ready, before concluding anything.
            ready = [n for n, ds in waiting.items() if not ds]
            while ready:
                for name in ready:
                    del waiting[name]
                    causes = blocked.pop(name, set())
                    if not causes:
                        running[(waiters if name in waits else pool).submit(task, name)] = name
                        continue
                    result.skipped.append(name)
                    for cause in sorted(causes):
                        result.skipped_by[cause].append(name)
                    if on_skip:
                        on_skip(name)
                    release(name, causes)
                ready = [n for n, ds in waiting.items() if not ds]
            if not running:
                if waiting:  # only possible with a cycle, which spec validation rules out
                    raise RuntimeError(f"dependency cycle among {sorted(waiting)}")
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name = running.pop(fut)
                exc = fut.exception()
                if exc is None:
                    result.done.append(name)
                    release(name, set())
                else:
                    result.failed[name] = exc
                    if skip_dependents_of_failures:
                        result.skipped_by[name] = []
                    release(name, {name})
    return result
