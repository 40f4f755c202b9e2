"""`invoke: FUNCTION` (a lambda.function's logical name) with an optional `payload`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register, shown


class InvokeOptions(BaseModel):
    payload: Any = None  # the event (default {})


@register
class Invoke(Action):
    key = "invoke"
    order = 20
    value_type = str
    Options = InvokeOptions
    observes: ClassVar[frozenset[str]] = frozenset({"status", "json_", "body_contains", "error"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        return [(str(check.value), ("lambda.function",))]

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise import invoke

        payload = run.resolve(check.options(InvokeOptions).payload)
        res = invoke.invoke(run.target, run.lab, str(check.value), payload)
        text = res.payload if isinstance(res.payload, str) else json.dumps(res.payload)
        seen = {"status": res.status_code, "json_": res.payload, "body": text, "error": not res.ok}
        return Observation(seen, res)

    @classmethod
    def problem(cls, check: Check, seen: Mapping[str, Any]) -> str:
        if check.expect.error is None and seen["error"]:  # a failure passes only when expected
            return f"the function failed: {shown(seen['json_'], 120)}"
        return ""
