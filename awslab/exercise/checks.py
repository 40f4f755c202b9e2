"""`awslab check LAB`: run a lab's `checks` (its end-to-end scenario) in order and compare what
happened with each `expect`. Every check runs, whatever the ones before it did.

`json`, `output` and `record` expectations are subsets: an object matches when every key it
names matches, recursively; a list matches when each expected element matches a different
element of the actual list, in any order. Numbers compare by value, but true is not 1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from awslab.errors import AwslabError, describe_cause
from awslab.exercise import executions, http, invoke, messages, upload
from awslab.exercise.labs import DeployedLab
from awslab.spec import Check, LabSpec, resolve
from awslab.state import LabState
from awslab.target import Target

# What each action observes; an expectation about anything else cannot pass.
APPLIES = {
    "call": {"status", "json_", "body_contains"},
    "invoke": {"status", "json_", "body_contains", "error"},
    "send_message": {"record", "body_contains"},
    "publish": {"record", "body_contains"},
    "start_execution": {"execution_status", "output", "error", "body_contains"},
    "upload": {"status", "json_", "record", "body_contains"},
}
EXPECT_NAMES = {"json_": "json"}


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
def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
            return f"{path}: expected an object, got {_show(actual)}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing (expected {_show(value)})"
            problem = subset_mismatch(value, actual[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected a list, got {_show(actual)}"
        return _list_mismatch(expected, actual, path)
    if not _same_scalar(expected, actual):
        return f"{path}: {_show(actual)}, expected {_show(expected)}"
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
                return f"{path}: no element matches {_show(e)}" + (f" ({closest})" if closest else "")
            return f"{path}: {_show(e)} needs an element of its own; the list has {len(actual)}"
    return None


# ---- running ----------------------------------------------------------------------------
def _action_label(check: Check) -> str:
    return check.action.replace("_", "-")


def check_name(check: Check) -> str:
    if check.name:
        return check.name
    value = getattr(check, check.action)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return f"{_action_label(check)} {text}" if text not in ("true", "{}") else _action_label(check)


def _message_body(value: Any) -> str | None:
    """`send-message: true` sends the sample order; a string goes as is; anything else as JSON."""
    return None if value is True else messages.message_text(value)


def _observe(check: Check, spec: LabSpec, lab: DeployedLab, target: Target) -> tuple[dict[str, Any], Any]:
    """Run the check's action: (what can be compared, the action's result)."""
    attrs = lab.attrs()
    if check.action == "call":
        method, _, path = str(resolve(check.call, attrs)).strip().partition(" ")
        api = http.api_record(lab, check.api)
        body = {"json_body": resolve(check.json_, attrs)} if check.json_ is not None else {}
        resp = http.call(
            api.attrs["url"],
            method,
            path.strip() or "/",
            data=resolve(check.body, attrs),
            headers=resolve(check.headers, attrs),
            **body,
        )
        return {"status": resp.status, "json_": resp.json, "body": resp.body}, resp
    if check.action == "invoke":
        res = invoke.invoke(target, lab, str(check.invoke), resolve(check.payload, attrs))
        text = res.payload if isinstance(res.payload, str) else json.dumps(res.payload)
        return {
            "status": res.status_code,
            "json_": res.payload,
            "body": text,
            "error": res.function_error is not None,
        }, res
    if check.action in ("send_message", "publish"):
        body = _message_body(resolve(getattr(check, check.action), attrs))
        out: Any = (
            messages.send_message(target, lab, body)
            if check.action == "send_message"
            else messages.publish(target, lab, body)
        )
        records = out.effects.items()
        return {"record": records, "body": json.dumps(records, default=str), "waited": out.effects}, out
    if check.action == "start_execution":
        ex = executions.start_execution(target, lab, resolve(check.start_execution, attrs))
        return {
            "execution_status": ex.status,
            "output": ex.output,
            "error": not ex.ok,
            "body": json.dumps(ex.output, default=str),
        }, ex
    up = upload.upload(target, lab, spec.base_dir / str(check.upload))
    records = [up.record] if up.record is not None else []
    return {
        "status": up.status,
        "json_": up.response,
        "record": records,
        "body": json.dumps(up.response, default=str),
    }, up


def _compare(check: Check, seen: Mapping[str, Any]) -> str:
    """Every expectation the observation fails, joined; empty when all hold."""
    exp = check.expect
    problems: list[str] = []
    for key in ("status", "json_", "body_contains", "error", "output", "execution_status", "record"):
        want = getattr(exp, key)
        if want is None:
            continue
        if key not in APPLIES[check.action]:
            problems.append(f"expect.{EXPECT_NAMES.get(key, key)} does not apply to {_action_label(check)}")
        elif key == "status" and seen.get("status") != want:
            problems.append(
                f"status {seen.get('status')}, expected {want} (body: {_show(seen.get('body', ''), 120)})"
            )
        elif key in ("json_", "output"):
            problem = subset_mismatch(want, seen.get(key))
            if problem:
                problems.append(f"{EXPECT_NAMES.get(key, key)}: {problem}")
        elif key == "body_contains" and str(want) not in str(seen.get("body", "")):
            problems.append(f"body does not contain {want!r} (body: {_show(seen.get('body', ''), 120)})")
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
    name, action = check_name(check), _action_label(check)
    try:
        seen, result = _observe(check, spec, lab, target)
        detail = _compare(check, seen)
        if check.action == "invoke" and check.expect.error is None and seen["error"] and not detail:
            detail = f"the function failed: {_show(seen['json_'], 120)}"  # an error must be expected to pass
        data = result.to_dict()
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
