"""Dependency order: a topological order with cycle detection, and ready-sets for parallel runs."""

from __future__ import annotations

from collections.abc import Mapping, Set


class CycleError(Exception):
    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(" -> ".join(cycle))


def topological_order(deps: Mapping[str, Set[str]]) -> list[str]:
    """Names ordered so each comes after what it depends on (stable: spec order breaks ties).
    Dependencies on names outside `deps` are ignored. Raises CycleError naming one cycle."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for dep in sorted(d for d in deps[name] if d in deps):
            if state.get(dep) == 1:
                raise CycleError([*stack[stack.index(dep) :], dep])
            if dep not in state:
                visit(dep)
        stack.pop()
        state[name] = 2
        order.append(name)

    for name in deps:
        if name not in state:
            visit(name)
    return order


def reverse_dependencies(deps: Mapping[str, Set[str]]) -> dict[str, set[str]]:
    """For each name, the names that depend on it (restricted to names in `deps`)."""
    rdeps: dict[str, set[str]] = {name: set() for name in deps}
    for name, ds in deps.items():
        for d in ds:
            if d in rdeps:
                rdeps[d].add(name)
    return rdeps
