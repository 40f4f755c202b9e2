"""The dependency graph (awslab/graph.py) and the parallel runner (awslab/engine/runner.py):
ordering, cycles named, skip semantics, real parallelism within a bounded pool. No AWS."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from awslab.engine.runner import RunResult, run_graph
from awslab.graph import CycleError, reverse_dependencies, topological_order

Deps = dict[str, set[str]]


def assert_deps_first(order: list[str], deps: Deps) -> None:
    for name, ds in deps.items():
        for d in ds:
            if d in deps:
                assert order.index(d) < order.index(name), f"{d} must come before {name} in {order}"


# ---- topological_order -------------------------------------------------------------------
@pytest.mark.parametrize(
    "deps",
    [
        pytest.param({"c": {"b"}, "b": {"a"}, "a": set()}, id="chain"),
        pytest.param({"top": {"l", "r"}, "l": {"base"}, "r": {"base"}, "base": set()}, id="diamond"),
        pytest.param({"x": set(), "y": {"x"}, "z": {"x", "y"}, "w": {"z"}, "v": set()}, id="mixed"),
    ],
)
def test_order_puts_dependencies_first(deps: Deps) -> None:
    order = topological_order(deps)
    assert sorted(order) == sorted(deps)
    assert_deps_first(order, deps)


def test_order_keeps_spec_order_between_independent_names() -> None:
    assert topological_order({"zeta": set(), "alpha": set(), "mid": set()}) == ["zeta", "alpha", "mid"]
    # a dependency declared later is pulled before its dependent, the rest keeps its place
    assert topological_order({"b": set(), "c": {"a"}, "a": set()}) == ["b", "a", "c"]


def test_order_ignores_names_outside_the_graph() -> None:
    assert topological_order({"a": {"elsewhere"}, "b": {"a", "gone"}}) == ["a", "b"]


def test_empty_graph() -> None:
    assert topological_order({}) == []
    assert reverse_dependencies({}) == {}


@pytest.mark.parametrize(
    ("deps", "cycle"),
    [
        pytest.param({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"], id="two"),
        pytest.param({"a": {"a"}}, ["a", "a"], id="self"),
        pytest.param({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"], id="three"),
        # 'x' leads into the cycle but is not part of it: the cycle named must not include it
        pytest.param({"x": {"a"}, "a": {"b"}, "b": {"a"}}, ["a", "b", "a"], id="reached-from-outside"),
    ],
)
def test_cycle_is_named(deps: Deps, cycle: list[str]) -> None:
    with pytest.raises(CycleError) as info:
        topological_order(deps)
    assert info.value.cycle == cycle
    assert str(info.value) == " -> ".join(cycle)


def test_cycle_beside_an_acyclic_part_is_still_found() -> None:
    with pytest.raises(CycleError) as info:
        topological_order({"ok": set(), "uses-ok": {"ok"}, "p": {"q"}, "q": {"p"}})
    assert set(info.value.cycle) == {"p", "q"}


def test_reverse_dependencies() -> None:
    deps = {"fn": {"role", "table"}, "role": {"table"}, "table": set(), "api": {"fn", "outside"}}
    assert reverse_dependencies(deps) == {
        "fn": {"api"},
        "role": {"fn"},
        "table": {"fn", "role"},
        "api": set(),
    }


# ---- run_graph ---------------------------------------------------------------------------
class Recorder:
    """A task that logs starts and ends (thread-safe) and can be told to fail or to block."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = fail or set()
        self.events: list[tuple[str, str]] = []
        self.before: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self.running = 0
        self.max_running = 0

    def __call__(self, name: str) -> None:
        with self._lock:
            self.events.append(("start", name))
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            if name in self.before:
                self.before[name]()
            if name in self.fail:
                raise RuntimeError(f"{name} failed")
        finally:
            with self._lock:
                self.running -= 1
                self.events.append(("end", name))

    def started(self) -> list[str]:
        return [n for e, n in self.events if e == "start"]

    def index(self, event: str, name: str) -> int:
        return self.events.index((event, name))


def test_every_task_starts_after_its_dependencies_ended() -> None:
    deps = {"api": {"fn"}, "fn": {"role", "table"}, "role": {"table"}, "table": set(), "site": set(),
            "files": {"site", "api"}}  # fmt: skip
    task = Recorder()
    result = run_graph(deps, task, workers=4)
    assert sorted(result.done) == sorted(deps)
    assert result.failed == {} and result.skipped == []
    for name, ds in deps.items():
        for d in ds:
            assert task.index("end", d) < task.index("start", name)


def test_done_lists_completion_order() -> None:
    task = Recorder()
    result = run_graph({"b": {"a"}, "a": set()}, task, workers=2)
    assert result.done == ["a", "b"]


def test_names_outside_the_graph_are_ignored() -> None:
    task = Recorder()
    result = run_graph({"a": {"not-here"}}, task)
    assert result.done == ["a"]
    assert task.started() == ["a"]


def test_empty_graph_runs_nothing() -> None:
    task = Recorder()
    assert run_graph({}, task) == RunResult()
    assert task.events == []


def test_failure_skips_dependents_transitively_and_independent_ones_still_run() -> None:
    deps = {"a": set(), "b": {"a"}, "c": {"b"}, "d": {"c"}, "solo": set(), "after-solo": {"solo"}}
    task = Recorder(fail={"b"})
    skipped_seen: list[str] = []
    result = run_graph(deps, task, workers=3, on_skip=skipped_seen.append)
    assert set(result.failed) == {"b"}
    assert isinstance(result.failed["b"], RuntimeError) and str(result.failed["b"]) == "b failed"
    assert sorted(result.skipped) == ["c", "d"]
    assert sorted(skipped_seen) == ["c", "d"]
    assert sorted(result.done) == ["a", "after-solo", "solo"]
    assert "c" not in task.started() and "d" not in task.started()


def test_a_task_with_a_failed_and_a_running_dependency_waits_then_is_skipped() -> None:
    # 'slow' finishes only after 'bad' has failed: 'both' must not start, and 'slow' must finish.
    bad_done = threading.Event()
    task = Recorder(fail={"bad"})
    task.before["bad"] = bad_done.set
    task.before["slow"] = lambda: bad_done.wait(10) or pytest.fail("'bad' never ran")
    result = run_graph({"bad": set(), "slow": set(), "both": {"bad", "slow"}}, task, workers=2)
    assert set(result.failed) == {"bad"}
    assert result.done == ["slow"]
    assert result.skipped == ["both"]
    assert "both" not in task.started()


def test_without_skipping_every_task_runs_despite_failures() -> None:
    deps = {"a": set(), "b": {"a"}, "c": {"b"}}
    task = Recorder(fail={"a", "b"})
    skipped_seen: list[str] = []
    result = run_graph(deps, task, workers=2, skip_dependents_of_failures=False, on_skip=skipped_seen.append)
    assert set(result.failed) == {"a", "b"}
    assert result.done == ["c"]
    assert result.skipped == [] and skipped_seen == []
    # order still holds: a dependent starts only once what it waits for has ended (failed or not)
    assert (
        task.index("end", "a") < task.index("start", "b") < task.index("end", "b") < task.index("start", "c")
    )


def test_independent_tasks_run_in_parallel() -> None:
    barrier = threading.Barrier(2, timeout=10)  # breaks unless both creates are inside it at once
    task = Recorder()
    task.before["x"] = barrier.wait
    task.before["y"] = barrier.wait
    result = run_graph({"x": set(), "y": set()}, task, workers=2)
    assert result.failed == {}
    assert sorted(result.done) == ["x", "y"]


def test_one_worker_runs_one_task_at_a_time() -> None:
    # the same barrier cannot be passed with a single worker: shows the barrier test can fail
    barrier = threading.Barrier(2, timeout=0.5)
    task = Recorder()
    task.before["x"] = barrier.wait
    task.before["y"] = barrier.wait
    result = run_graph({"x": set(), "y": set()}, task, workers=1)
    # the first times out waiting for a partner; the second meets the broken barrier
    assert set(result.failed) == {"x", "y"}
    assert all(isinstance(e, threading.BrokenBarrierError) for e in result.failed.values())
    assert task.max_running == 1


def test_the_pool_is_bounded() -> None:
    task = Recorder()
    gate = threading.Barrier(2, timeout=10)
    for n in ("a", "b"):  # the first two meet, so at least two really run together
        task.before[n] = gate.wait
    deps = {n: set() for n in ("a", "b", "c", "d", "e", "f", "g")}
    result = run_graph(deps, task, workers=2)
    assert sorted(result.done) == sorted(deps)
    assert task.max_running == 2


def test_a_dependent_starts_as_soon_as_its_own_dependencies_end() -> None:
    # 'long' blocks until 'after-short' has started: lockstep batches (wait for the whole level)
    # would deadlock here and the wait would time out.
    child_started = threading.Event()
    task = Recorder()
    task.before["after-short"] = child_started.set
    task.before["long"] = lambda: child_started.wait(10) or pytest.fail("'after-short' waited for 'long'")
    result = run_graph({"short": set(), "long": set(), "after-short": {"short"}}, task, workers=3)
    assert result.failed == {}
    assert sorted(result.done) == ["after-short", "long", "short"]


def test_a_cycle_cannot_run() -> None:
    task = Recorder()
    with pytest.raises(RuntimeError, match=r"dependency cycle among \['a', 'b'\]"):
        run_graph({"a": {"b"}, "b": {"a"}, "free": set()}, task)
    assert task.started() == ["free"]


# ---- failures with dependents several levels deep (issue 7, item 3) ---------------------------
def chain(depth: int) -> Deps:
    """root <- n1 <- n2 ... <- n<depth>: `depth` levels of dependents on the root."""
    deps: Deps = {"root": set()}
    for i in range(1, depth + 1):
        deps[f"n{i}"] = {"root" if i == 1 else f"n{i - 1}"}
    return deps


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("workers", [1, 4])
def test_a_failed_root_skips_a_chain_of_any_depth(depth: int, workers: int) -> None:
    deps = {**chain(depth), "solo": set()}
    task = Recorder(fail={"root"})
    seen: list[str] = []
    result = run_graph(deps, task, workers=workers, on_skip=seen.append)
    dependents = [f"n{i}" for i in range(1, depth + 1)]
    assert list(result.failed) == ["root"]
    assert result.skipped == dependents == seen  # in dependency order
    assert result.skipped_by == {"root": dependents}
    assert result.done == ["solo"]
    assert task.started() in (["root", "solo"], ["solo", "root"])


def test_a_diamond_under_a_failure_is_skipped_once() -> None:
    #      root
    #     /    \
    #   left  right
    #     \    /
    #      top - crown
    deps = {"root": set(), "left": {"root"}, "right": {"root"}, "top": {"left", "right"}, "crown": {"top"}}
    result = run_graph(deps, Recorder(fail={"root"}), workers=4)
    assert sorted(result.skipped) == ["crown", "left", "right", "top"]
    assert len(result.skipped) == len(set(result.skipped))
    assert sorted(result.skipped_by["root"]) == ["crown", "left", "right", "top"]
    assert result.skipped.index("top") < result.skipped.index("crown")


def test_failures_in_several_branches_at_once() -> None:
    # two independent failing roots with chains of their own, a shared dependent behind both, a
    # failure in the middle of a third branch, and a branch that succeeds
    deps = {
        "a": set(), "a1": {"a"}, "a2": {"a1"},
        "b": set(), "b1": {"b"}, "b2": {"b1"}, "b3": {"b2"},
        "both": {"a2", "b1"}, "after-both": {"both"},
        "c": set(), "c1": {"c"}, "c2": {"c1"}, "c3": {"c2"},
        "ok": set(), "ok1": {"ok"},
    }  # fmt: skip
    task = Recorder(fail={"a", "b", "c1"})
    result = run_graph(deps, task, workers=3)
    assert set(result.failed) == {"a", "b", "c1"}
    assert sorted(result.done) == ["c", "ok", "ok1"]
    assert {k: sorted(v) for k, v in result.skipped_by.items()} == {
        "a": sorted(["a1", "a2", "both", "after-both"]),
        "b": sorted(["b1", "b2", "b3", "both", "after-both"]),
        "c1": ["c2", "c3"],
    }
    for behind in result.skipped_by.values():  # each list in dependency order
        assert_deps_first(behind, {n: deps[n] & set(behind) for n in behind})
    assert sorted(result.skipped) == sorted(["a1", "a2", "b1", "b2", "b3", "both", "after-both", "c2", "c3"])
    assert not set(result.skipped) & set(task.started())


def test_without_skipping_nothing_is_recorded_as_skipped_by() -> None:
    result = run_graph(chain(3), Recorder(fail={"root", "n2"}), skip_dependents_of_failures=False)
    assert result.skipped == [] and result.skipped_by == {}
    assert set(result.failed) == {"root", "n2"} and sorted(result.done) == ["n1", "n3"]
