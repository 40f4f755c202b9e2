"""`awslab start-execution`: start the lab's state machine, wait (bounded) for the end, and turn
the execution history into a tree of states (Parallel branches and Map iterations nested).

The history is a flat list of events; each names the event before it in its own branch
(`previousEventId`), which is what places a state under its Parallel or Map parent even when
branches interleave.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from awslab.exercise.defaults import EXECUTION_TIMEOUT as DEFAULT_TIMEOUT
from awslab.exercise.labs import DeployedLab, pick_resource
from awslab.target import Target

_CONTAINERS = ("Parallel", "Map", "Iteration", "Execution")
_SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled", "ActivityScheduled")
_SUCCEEDED = (
    "LambdaFunctionSucceeded",
    "TaskSucceeded",
    "ActivitySucceeded",
    "ParallelStateSucceeded",
    "MapStateSucceeded",
)
_FAILED_SUFFIXES = ("Failed", "TimedOut", "Aborted")


@dataclass
class StateNode:
    name: str
    type: str  # Pass, Task, Choice, Wait, Parallel, Map, Succeed, Fail; Iteration for a Map item
    status: str = "RUNNING"  # SUCCEEDED, FAILED, CAUGHT (failed, then a Catch moved on), ABORTED, RUNNING
    input: Any = None
    output: Any = None
    started: datetime | None = None
    ended: datetime | None = None
    error: str | None = None
    cause: str | None = None
    attempts: int = 0  # Lambda/task invocations: 1 + retries
    children: list[StateNode] = field(default_factory=list)
    parent: StateNode | None = field(default=None, repr=False)
    exited: bool = field(default=False, repr=False)
    outcome: str = field(default="", repr=False)  # the last task outcome seen: failed | succeeded

    @property
    def duration_ms(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return round((self.ended - self.started).total_seconds() * 1000, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "attempts": self.attempts,
            "error": self.error,
            "cause": self.cause,
            "input": self.input,
            "output": self.output,
            "started": _iso(self.started),
            "ended": _iso(self.ended),
            "children": [c.to_dict() for c in self.children],
        }


@dataclass
class ExecutionResult:
    lab: str
    state_machine: str  # logical name
    state_machine_arn: str
    execution_arn: str
    name: str
    status: str  # RUNNING (when the wait ran out), SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    input: Any
    output: Any
    error: str | None
    cause: str | None
    started: datetime | None
    stopped: datetime | None
    states: list[StateNode]
    waited_out: bool = False  # the wait ended before the execution did

    @property
    def ok(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def duration_ms(self) -> float | None:
        if self.started is None or self.stopped is None:
            return None
        return round((self.stopped - self.started).total_seconds() * 1000, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "state_machine": self.state_machine,
            "state_machine_arn": self.state_machine_arn,
            "execution_arn": self.execution_arn,
            "name": self.name,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "started": _iso(self.started),
            "stopped": _iso(self.stopped),
            "duration_ms": self.duration_ms,
            "waited_out": self.waited_out,
            "states": [s.to_dict() for s in self.states],
        }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, Mapping)), {})


# ---- the tree ---------------------------------------------------------------------------
def build_tree(events: Iterable[Mapping[str, Any]], execution_status: str = "RUNNING") -> list[StateNode]:
    """States of an execution as a tree, from its history events (oldest first)."""
    root = StateNode(name="", type="Execution")
    owner: dict[int, StateNode] = {}  # event id -> the state it belongs to
    closing: set[int] = set()  # ids of events that close their state (…StateExited, MapIteration…)
    open_nodes: list[StateNode] = []

    def open_named(name: str, near: StateNode) -> StateNode | None:
        node: StateNode | None = near  # the branch's own line first, then any open state of that name
        while node is not None:
            if node.name == name and not node.exited and node is not root:
                return node
            node = node.parent
        return next((n for n in reversed(open_nodes) if n.name == name), None)

    for e in sorted(events, key=lambda ev: int(ev["id"])):
        eid, etype, ts = int(e["id"]), str(e["type"]), e.get("timestamp")
        prev = int(e.get("previousEventId") or 0)
        prev_node = owner.get(prev, root)
        # after a state closed, the next event of that line belongs to its parent
        here = (prev_node.parent or root) if prev in closing else prev_node
        d = _details(e)
        if etype.endswith("StateEntered"):
            parent = here if here.type in _CONTAINERS else (here.parent or root)
            node = StateNode(
                name=str(d.get("name", "")),
                type=etype[: -len("StateEntered")],
                parent=parent,
                input=_json(d.get("input")),
                started=ts,
                ended=ts,
            )
            parent.children.append(node)
            open_nodes.append(node)
            owner[eid] = node
        elif etype.endswith("StateExited"):
            node = open_named(str(d.get("name", "")), prev_node) or root
            if node is not root:
                node.output, node.ended, node.exited = _json(d.get("output")), ts, True
                open_nodes.remove(node)
            owner[eid] = node
            closing.add(eid)
        elif etype == "MapIterationStarted":
            parent = here if here.type == "Map" else (open_named(str(d.get("name", "")), here) or here)
            node = StateNode(
                name=f"{d.get('name', '')} #{d.get('index', len(parent.children))}",
                type="Iteration",
                parent=parent,
                started=ts,
                ended=ts,
            )
            parent.children.append(node)
            open_nodes.append(node)
            owner[eid] = node
        elif etype.startswith("MapIteration"):  # Succeeded / Failed / Aborted
            wanted = f"{d.get('name', '')} #{d.get('index', '')}"
            node = next((n for n in open_nodes if n.type == "Iteration" and n.name == wanted), None) or here
            if node.type == "Iteration" and not node.exited:
                node.exited, node.ended = True, ts
                node.outcome = "succeeded" if etype.endswith("Succeeded") else "failed"
                open_nodes.remove(node)
            owner[eid] = node
            closing.add(eid)
        elif etype.startswith("Execution"):
            owner[eid] = root
            if etype != "ExecutionStarted" and here is not root and not here.exited and here.error is None:
                here.error, here.cause = d.get("error"), d.get("cause")  # a Fail state, or an uncaught error
        else:
            if etype.startswith(("ParallelState", "MapState")):  # may follow an event of a branch
                while here.type not in ("Parallel", "Map", "Execution") and here.parent is not None:
                    here = here.parent
            owner[eid] = here
            if here is root:
                continue
            here.ended = ts or here.ended
            if etype in _SCHEDULED:
                here.attempts += 1
            elif etype in _SUCCEEDED:
                here.outcome = "succeeded"
            elif etype.endswith(_FAILED_SUFFIXES):
                here.outcome = "failed"
                here.error, here.cause = d.get("error"), d.get("cause")

    _settle(root, execution_status)
    for top in root.children:
        top.parent = None
    return root.children


def _settle(node: StateNode, execution_status: str) -> None:
    for child in node.children:
        _settle(child, execution_status)
    if node.type == "Execution":
        return
    if node.exited:
        node.status = "CAUGHT" if node.outcome == "failed" else "SUCCEEDED"
    elif node.outcome == "failed" or node.error:
        node.status = "FAILED"
    elif execution_status != "RUNNING":  # the execution ended without this state finishing
        node.status = "FAILED" if node.type == "Fail" else "ABORTED"
    else:
        node.status = "RUNNING"


# ---- running ----------------------------------------------------------------------------
def execution_name() -> str:
    """Unique and readable; StartExecution without a name is not portable (moto gives ':None')."""
    return f"awslab-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"


def history(target: Target, execution_arn: str) -> list[dict[str, Any]]:
    sfn = target.client("stepfunctions")
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [e for page in pages for e in page.get("events", [])]


def start_execution(
    target: Target,
    lab: DeployedLab,
    input_value: Any = None,
    *,
    state_machine: str | None = None,
    name: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ExecutionResult:
    """Start the lab's state machine (the one named `state_machine` when it has several) with
    `input_value` (JSON-able; None means {}), wait up to `timeout` seconds for it to end, and
    return its status, output and state tree."""
    machine = pick_resource(lab, "stepfunctions.state_machine", state_machine, option="--state-machine")
    arn = machine.attrs.get("arn") or ""
    sfn = target.client("stepfunctions")
    name = name or execution_name()
    if machine.attrs.get("type") == "EXPRESS":
        # AWS keeps no history of an EXPRESS execution (DescribeExecution refuses it): it runs
        # synchronously and answers with its result; the local cloud does the same
        return _run_express(_sync_client(target), lab, machine.logical, arn, name, input_value)
    started = sfn.start_execution(
        stateMachineArn=arn, name=name, input=json.dumps({} if input_value is None else input_value)
    )
    execution_arn = started["executionArn"]
    start, delay = clock(), 0.1
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        waited = clock() - start
        if desc["status"] != "RUNNING" or waited >= timeout:
            break
        sleep(min(delay, max(timeout - waited, 0.0)))
        delay = min(delay * 1.5, 2.0)
    status = desc["status"]
    return ExecutionResult(
        lab=lab.name,
        state_machine=machine.logical,
        state_machine_arn=arn,
        execution_arn=execution_arn,
        name=name,
        status=status,
        input=_json(desc.get("input")),
        output=_json(desc.get("output")),
        error=desc.get("error"),
        cause=desc.get("cause"),
        started=desc.get("startDate"),
        stopped=desc.get("stopDate"),
        states=build_tree(history(target, execution_arn), status),
        waited_out=status == "RUNNING",
    )


def _sync_client(target: Target) -> Any:
    """The client for StartSyncExecution. AWS serves it on its sync-states endpoint (botocore puts
    the operation's `sync-` host prefix on the host); an endpoint of one's own (the local cloud)
    serves it on its own host, where a prefixed name would not resolve. An execution runs up to
    five minutes and must not be started twice: one attempt, a read timeout past that."""
    if target.kind == "aws" and not target.endpoint_url:
        return target.client("stepfunctions")
    from botocore.config import Config

    config = Config(inject_host_prefix=False, read_timeout=330, retries={"total_max_attempts": 1})
    client = target.session.create_client(
        "stepfunctions", endpoint_url=target.endpoint_url, region_name=target.region, config=config
    )
    if target.on_client is not None:
        target.on_client(client)
    return client


def _run_express(
    sfn: Any, lab: DeployedLab, logical: str, arn: str, name: str, input_value: Any
) -> ExecutionResult:
    """StartSyncExecution of an EXPRESS machine: its result, with no state tree (no history)."""
    text = json.dumps({} if input_value is None else input_value)
    done = sfn.start_sync_execution(stateMachineArn=arn, name=name, input=text)
    return ExecutionResult(
        lab=lab.name,
        state_machine=logical,
        state_machine_arn=arn,
        execution_arn=str(done.get("executionArn", "")),
        name=name,
        status=str(done["status"]),
        input=_json(done.get("input", text)),
        output=_json(done.get("output")),
        error=done.get("error"),
        cause=done.get("cause"),
        started=done.get("startDate"),
        stopped=done.get("stopDate"),
        states=[],
    )
