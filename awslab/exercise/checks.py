"""`awslab check LAB`: run a lab's `checks` (its end-to-end scenario) in order and compare what
happened with each `expect`. Every check runs, whatever the ones before it did.

`json`, `output` and `record` expectations are subsets: an object matches when every key it
names matches, recursively; a list matches when each expected element matches a different
element of the actual list, in any order. Numbers compare by value, but true is not 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awslab.errors import AwslabError, describe_cause
from awslab.exercise.actions import Check
from awslab.exercise.actions.base import EXPECT_NAMES, Expect, Observation, shown
from awslab.exercise.labs import DeployedLab
from awslab.references import resolve
from awslab.spec import LabSpec
from awslab.state import LabState
from awslab.target import Target


@dataclass
class CheckResult:
    index: int  # 1-based
    name: str
    action: str  # call, invoke, send-message, publish, start-execution, upload
    passed: bool
    detail: str  # why it failed (empty when it passed)
    elapsed_ms: float
    result: dict[str, Any] = field(default_factory=dict)  # what the action returned (to_dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "action": self.action,
            "passed": self.passed,
            "detail": self.detail,
            "elapsed_ms": self.elapsed_ms,
            "result": self.result,
        }


@dataclass
class CheckReport:
    lab: str
    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "passed": self.passed,
            "total": len(self.results),
            "failed": len(self.failed),
            "results": [r.to_dict() for r in self.results],
        }


# ---- subset matching --------------------------------------------------------------------
def _same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def subset_mismatch(expected: Any, actual: Any, path: str = "$") -> str | None:
    """None when `expected` is a subset of `actual`, else where and how they differ."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected an object, got {shown(actual)}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing (expected {shown(value)})"
            problem = subset_mismatch(value, actual[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected a list, got {shown(actual)}"
        return _list_mismatch(expected, actual, path)
    if not _same_scalar(expected, actual):
        return f"{path}: {shown(actual)}, expected {shown(expected)}"
    return None


def _list_mismatch(expected: list[Any], actual: list[Any], path: str) -> str | None:
    fits = [[j for j, a in enumerate(actual) if subset_mismatch(e, a) is None] for e in expected]
    owner: dict[int, int] = {}  # actual index -> expected index (a bipartite matching)

    def assign(i: int, tried: set[int]) -> bool:
        for j in fits[i]:
            if j not in tried:
                tried.add(j)
                if j not in owner or assign(owner[j], tried):
                    owner[j] = i
                    return True
        return False

    for i, e in enumerate(expected):
        if not assign(i, set()):
            if not fits[i]:
                closest = subset_mismatch(e, actual[i], f"{path}[{i}]") if i < len(actual) else None
                return f"{path}: no element matches {shown(e)}" + (f" ({closest})" if closest else "")
            return f"{path}: {shown(e)} needs an element of its own; the list has {len(actual)}"
    return None


# ---- running ----------------------------------------------------------------------------
def check_name(check: Check) -> str:
    return check.name or check.handler.describe(check)


@dataclass
class Run:
    """What an action runs with (actions.base.CheckRun)."""

    lab: DeployedLab
    target: Target
    base_dir: Path
    attrs: Mapping[str, Mapping[str, Any]]

    def resolve(self, value: Any) -> Any:
        return resolve(value, self.attrs)


def _compare(check: Check, seen: Mapping[str, Any]) -> str:
    """Every expectation the observation fails, joined; empty when all hold."""
    exp = check.expect
    problems: list[str] = []
    for key in Expect.model_fields:
        want = getattr(exp, key)
        if want is None:
            continue
        if key not in check.handler.observes:
            problems.append(f"expect.{EXPECT_NAMES.get(key, key)} does not apply to {check.action_key}")
        elif key == "status" and seen.get("status") != want:
            problems.append(
                f"status {seen.get('status')}, expected {want} (body: {shown(seen.get('body', ''), 120)})"
            )
        elif key in ("json_", "output"):
            problem = subset_mismatch(want, seen.get(key))
            if problem:
                problems.append(f"{EXPECT_NAMES.get(key, key)}: {problem}")
        elif key == "body_contains" and str(want) not in str(seen.get("body", "")):
            problems.append(f"body does not contain {want!r} (body: {shown(seen.get('body', ''), 120)})")
        elif key == "error" and bool(want) != seen.get("error"):
            problems.append("expected an error, got none" if want else "unexpected error")
        elif key == "execution_status" and str(want).upper() != str(seen.get("execution_status")).upper():
            problems.append(f"execution {seen.get('execution_status')}, expected {str(want).upper()}")
        elif key == "record":
            problems.extend(_record_problem(want, seen))
    return "; ".join(problems)


def _record_problem(want: Any, seen: Mapping[str, Any]) -> list[str]:
    records = seen.get("record") or []
    if not records:
        waited = seen.get("waited")
        within = f" within {waited.waited_ms / 1000:.1f}s" if waited is not None else ""
        return [f"no record was written{within}"]
    if any(subset_mismatch(want, r) is None for r in records):
        return []
    return [
        f"record: {subset_mismatch(want, records[0])}"
        + (f" (and {len(records) - 1} other records)" if len(records) > 1 else "")
    ]


def run_check(index: int, check: Check, spec: LabSpec, lab: DeployedLab, target: Target) -> CheckResult:
    start = time.perf_counter()
    name, action = check_name(check), check.action_key
    try:
        observed: Observation = check.handler.run(check, Run(lab, target, spec.base_dir, lab.attrs()))
        detail = _compare(check, observed.seen) or check.handler.problem(check, observed.seen)
        data = observed.result.to_dict()
    except AwslabError as exc:
        detail, data = str(exc) + (f" (hint: {exc.hint})" if exc.hint else ""), {}
    except Exception as exc:  # one broken check must not stop the others
        detail, data = describe_cause(exc), {}
    elapsed = round((time.perf_counter() - start) * 1000, 1)
    return CheckResult(index, name, action, not detail, detail, elapsed, data)


def run_checks(
    spec: LabSpec,
    lab_state: LabState,
    target: Target,
    *,
    on_start: Callable[[int, str], None] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> CheckReport:
    """Run every check of `spec` against the deployed lab, in order, never stopping early."""
    lab = DeployedLab(spec.name, lab_state)
    results = []
    for i, check in enumerate(spec.checks, 1):
        if on_start:
            on_start(i, check_name(check))
        result = run_check(i, check, spec, lab, target)
        results.append(result)
        if on_result:
            on_result(result)
    return CheckReport(spec.name, results)
