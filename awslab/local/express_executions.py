"""EXPRESS state machines in the local cloud as on AWS (Step Functions Developer Guide, "Choosing
workflow type"; API reference, StartSyncExecution and DescribeExecution):

- StartSyncExecution runs an EXPRESS machine's execution to its end and answers with its status,
  output or error (moto 5.2.5 has no such action); a STANDARD machine is refused
  (StateMachineTypeNotSupported). Its execution ARN is AWS's express form
  (arn:aws:states:REGION:ACCOUNT:express:MACHINE:NAME:ID). AWS ends an Express execution after
  five minutes (TIMED_OUT).
- DescribeExecution and GetExecutionHistory refuse the executions of an EXPRESS machine: AWS keeps
  no history of them ("Executions of an EXPRESS state machine aren't supported").

Installed process-wide by moto_fidelity.install. Not done locally: an EXPRESS machine's execution
is not written to its log group.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

EXPRESS_LIMIT_S = 300.0  # AWS: an Express execution runs at most five minutes


@functools.cache  # patch once: a second install would wrap the wrappers
def install() -> None:
    """Patch moto's Step Functions responses (idempotent)."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    describe = StepFunctionResponse.describe_execution
    history = StepFunctionResponse.get_execution_history

    def start_sync_execution(self: Any) -> Any:
        backend = self.stepfunction_backend
        return ActionResult(run_sync(backend, self._get_param("stateMachineArn"), self._get_param("name"),
                                     self._get_param("input")))  # fmt: skip

    def refusing(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(self: Any) -> Any:
            refuse_express(self.stepfunction_backend, self._get_param("executionArn"))
            return original(self)

        return call

    StepFunctionResponse.start_sync_execution = start_sync_execution  # type: ignore[attr-defined]
    StepFunctionResponse.describe_execution = refusing(describe)  # type: ignore[method-assign, assignment]
    StepFunctionResponse.get_execution_history = refusing(history)  # type: ignore[method-assign, assignment]


def _error(message: str, code: str) -> Exception:
    from moto.core.exceptions import AWSError

    return AWSError(message, code)


def refuse_express(backend: Any, execution_arn: str) -> None:
    """InvalidArn, as AWS, for an EXPRESS machine's execution (its ARN, in AWS's express form or
    moto's execution form)."""
    express = execution_arn.split(":")[5:6] == ["express"]
    if not express:
        try:
            execution = backend.describe_execution(execution_arn)
            express = backend.describe_state_machine(execution.state_machine_arn).type == "EXPRESS"
        except Exception:  # not found: moto's own answer (ExecutionDoesNotExist)
            return
    if express:
        raise _error(f"Invalid Arn: 'Resource type not valid in this context: express': {execution_arn}",
                     "InvalidArn")  # fmt: skip


def run_sync(backend: Any, machine_arn: str, name: str | None, text: str | None, *,
             sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:  # fmt: skip
    """StartSyncExecution's answer: the execution run to its end (or to Express' time limit)."""
    machine = backend.describe_state_machine(machine_arn)
    if machine.type != "EXPRESS":
        raise _error("This operation is not supported by this type of state machine",
                     "StateMachineTypeNotSupported")  # fmt: skip
    name = name or str(uuid.uuid4())
    execution = backend.start_execution(machine_arn, name=name, execution_input=text or "{}")
    if not hasattr(execution, "exec_worker"):  # moto not running machines: its simulated outcome
        return _answer(
            machine,
            machine_arn,
            name,
            text,
            execution,
            "SUCCEEDED" if _status(execution) == "RUNNING" else "FAILED",
        )
    started, pause = clock(), 0.005
    while _status(execution) == "RUNNING" and clock() - started < EXPRESS_LIMIT_S:
        sleep(pause)
        pause = min(pause * 2, 0.1)
    status = _status(execution)
    if status == "RUNNING":  # AWS stops it at the limit
        backend.stop_execution(execution.exec_arn)
    sync_status = (
        "SUCCEEDED"
        if status == "SUCCEEDED"
        else "TIMED_OUT"
        if status in ("RUNNING", "TIMED_OUT")
        else "FAILED"
    )
    return _answer(machine, machine_arn, name, text, execution, sync_status)


def _answer(machine: Any, machine_arn: str, name: str, text: str | None, execution: Any,
            sync_status: str) -> dict[str, Any]:  # fmt: skip
    _, partition, _, region, account = machine_arn.split(":")[:5]
    answer: dict[str, Any] = {
        "executionArn": f"arn:{partition}:states:{region}:{account}:express:{machine.name}:{name}:{uuid.uuid4()}",
        "stateMachineArn": machine_arn,
        "name": name,
        "startDate": execution.start_date,
        "stopDate": execution.stop_date or execution.start_date,
        "status": sync_status,
        "input": text or "{}",
        "inputDetails": {"included": True},
    }
    if sync_status == "SUCCEEDED":
        output = execution.output
        answer["output"] = output if isinstance(output, str) else json.dumps(output)
        answer["outputDetails"] = {"included": True}
    else:
        answer.update({k: v for k, v in (("error", execution.error), ("cause", execution.cause)) if v})
        answer.setdefault("error", "States.Timeout" if sync_status == "TIMED_OUT" else "States.Runtime")
    return answer


def _status(execution: Any) -> str:
    status = getattr(execution, "status", None) or getattr(execution, "exec_status", None)
    return str(getattr(status, "value", status))
