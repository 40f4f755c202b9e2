"""`start-execution: INPUT`: run the lab's state machine to its end."""

from __future__ import annotations

import json
from typing import ClassVar

from pydantic import BaseModel

from awslab.exercise.actions.base import Action, Check, CheckRun, Observation, register


class ExecutionOptions(BaseModel):
    state_machine: str | None = None  # logical name when the lab has several


@register
class StartExecution(Action):
    key = "start-execution"
    order = 50
    Options = ExecutionOptions
    observes: ClassVar[frozenset[str]] = frozenset({"execution_status", "output", "error", "body_contains"})

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        machine = check.options(ExecutionOptions).state_machine
        return [] if machine is None else [(machine, ("stepfunctions.state_machine",))]

    @classmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        from awslab.exercise import executions

        machine = check.options(ExecutionOptions).state_machine
        ex = executions.start_execution(run.target, run.lab, run.resolve(check.value), state_machine=machine)
        seen = {
            "execution_status": ex.status,
            "output": ex.output,
            "error": not ex.ok,
            "body": json.dumps(ex.output, default=str),
        }
        return Observation(seen, ex)
