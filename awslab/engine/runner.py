"""Run tasks of a dependency graph in a bounded thread pool: each starts as soon as what it
depends on has finished (not in lockstep batches), independent ones in parallel."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field


@dataclass
class RunResult:
    done: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # not run: something they wait for failed


def run_graph(
    deps: Mapping[str, Set[str]],
    task: Callable[[str], None],
    *,
    workers: int = 4,
    skip_dependents_of_failures: bool = True,
    on_skip: Callable[[str], None] | None = None,
) -> RunResult:
    """Run `task(name)` for every name after its dependencies (names outside `deps` are
    ignored). With `skip_dependents_of_failures` a failure skips everything waiting on it;
    without, everything still runs (teardown: delete as much as possible)."""
    waiting = {n: {d for d in ds if d in deps} for n, ds in deps.items()}
    result = RunResult()
    blocked: set[str] = set()
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="awslab") as pool:
        while waiting or running:
            ready = [n for n, ds in waiting.items() if not ds]
            for name in ready:
                del waiting[name]
                if name in blocked:
                    result.skipped.append(name)
                    if on_skip:
                        on_skip(name)
                    _release(waiting, name, blocked if skip_dependents_of_failures else None)
                    continue
                running[pool.submit(task, name)] = name
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
                    _release(waiting, name, None)
                else:
                    result.failed[name] = exc
                    _release(waiting, name, blocked if skip_dependents_of_failures else None)
    return result


def _release(waiting: dict[str, set[str]], name: str, block: set[str] | None) -> None:
    for other, ds in waiting.items():
        if name in ds:
            ds.discard(name)
            if block is not None:
                block.add(other)
