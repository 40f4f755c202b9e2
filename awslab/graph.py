"""Dependency graphs of named things (a spec's resources, a state's records): an order with each
name after what it depends on, the cycle that prevents one, and the reverse graph."""

from __future__ import annotations

import graphlib
import heapq
from collections.abc import Mapping, Set


class CycleError(Exception):
    """`cycle` reads in the direction of dependency: ["a", "b", "a"] is a needing b needing a."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(" -> ".join(cycle))


def topological_order(deps: Mapping[str, Set[str]]) -> list[str]:
    """Names ordered so each comes after what it depends on, each as early in the order of `deps`
    (the spec's) as its dependencies allow. Dependencies on names outside `deps` are ignored.
    Raises CycleError naming one cycle.

    graphlib does the bookkeeping and finds the cycle; it hands out whatever is ready at once, in
    no promised order, so a heap picks among the ready names the first in spec order: plans,
    `validate` and teardown list resources in the same order on every run."""
    position = {name: i for i, name in enumerate(deps)}
    sorter = graphlib.TopologicalSorter({name: {d for d in ds if d in deps} for name, ds in deps.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        # graphlib walks from a name to its dependents; reversed, the cycle reads as dependencies
        raise CycleError(list(reversed(exc.args[1]))) from None
    ready: list[tuple[int, str]] = []
    order: list[str] = []
    while sorter.is_active():
        for name in sorter.get_ready():
            heapq.heappush(ready, (position[name], name))
        _, name = heapq.heappop(ready)
        order.append(name)
        sorter.done(name)
    return order


def reverse_dependencies(deps: Mapping[str, Set[str]]) -> dict[str, set[str]]:
    """For each name, the names that depend on it (restricted to names in `deps`): run as a graph,
    dependents go first (teardown, and `up` deleting what left the spec)."""
    rdeps: dict[str, set[str]] = {name: set() for name in deps}
    for name, ds in deps.items():
        for d in ds:
            if d in rdeps:
                rdeps[d].add(name)
    return rdeps
