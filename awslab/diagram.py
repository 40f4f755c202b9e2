"""A lab as a picture: its resources and the flows between them, from the spec alone (nothing is
deployed or called). `build(spec)` returns a `Diagram`; diagram_render.py turns it into Mermaid or
Graphviz text.

A flow goes the way data or an invocation goes, labelled with what travels: `GET /items` from an API
to its function, `s3:ObjectCreated:*` from a bucket to its notification, the actions a function's
role allows it on a table. Each kind's flows come from one entry of `KINDS` (a shape, a colour group
and a function of the resource and the spec): a new kind adds its flows by adding its entry. A kind
without one is drawn with its `depends on` edges only.

Two kinds of edges come from the IAM role rather than from one resource: who assumes the role, and
the calls it lets them make (`GetItem, PutItem` from a function to a table). A call that an explicit
flow already shows (a state machine invoking its tasks, a queue's consumer receiving from it) is not
drawn twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from awslab.errors import SpecError
from awslab.references import REF_RE
from awslab.spec import LabSpec, ResourceSpec

EdgeStyle = Literal["flow", "call", "assumed", "depends"]
Shape = Literal["box", "rounded", "cylinder", "hexagon", "stadium", "queue", "role", "connector"]


@dataclass(frozen=True)
class Node:
    logical: str
    kind: str
    shape: Shape
    group: str  # colour group: compute, storage, api, messaging, workflow, security, other


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    style: EdgeStyle = "flow"


@dataclass(frozen=True)
class Diagram:
    lab: str
    description: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, logical: str) -> Node:
        return next(n for n in self.nodes if n.logical == logical)


FlowRule = Callable[[ResourceSpec, LabSpec], Iterable[Edge]]


@dataclass(frozen=True)
class KindView:
    shape: Shape
    group: str
    flows: FlowRule | None = None  # None: the kind has no flows of its own (a table, a bucket)
    # (principal, resource) pairs whose calls this resource makes with the principal's role: an
    # event source mapping polls its queue with its function's role, so those are not the function's
    acts_for: Callable[[ResourceSpec, LabSpec], Iterable[tuple[str, str]]] | None = None


# ---- reading raw spec fields ---------------------------------------------------------------------
def refs(value: Any) -> list[str]:
    """The logical names `value` references, in order of appearance, each once."""
    found: list[str] = []
    if isinstance(value, str):
        found = [m.group(1) for m in REF_RE.finditer(value)]
    elif isinstance(value, Mapping):
        found = [n for v in value.values() for n in refs(v)]
    elif isinstance(value, list | tuple):
        found = [n for v in value for n in refs(v)]
    return list(dict.fromkeys(found))


def target_of(value: Any, spec: LabSpec) -> str | None:
    """The resource a field names: a `${x.attr}` reference or a bare logical name (route targets,
    an event source's function), or None when it names something outside the lab."""
    if not isinstance(value, str):
        return None
    named = refs(value)
    if named:
        return named[0]
    return value if value in spec.resources else None


def _short_action(action: str) -> str:
    return action.split(":", 1)[1] if ":" in action else action


# ---- each kind's flows ---------------------------------------------------------------------------
def _cors_origins(r: ResourceSpec) -> Iterator[Edge]:
    """A website bucket named in an API's CORS origins is where the browser page calling it comes from."""
    cors = r.fields.get("cors") or {}
    origins = cors.get("allow_origins", []) if isinstance(cors, Mapping) else []
    for site in refs(origins):
        yield Edge(site, r.logical, "page calls (CORS)")


def _rest_api(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    for route, fn in (r.fields.get("routes") or {}).items():
        target = target_of(fn, spec)
        if target:
            yield Edge(r.logical, target, str(route))
    yield from _cors_origins(r)


def _http_api(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    """Routes to a function, or direct service integrations (`service`, `action`, `parameters`)."""
    for route, value in (r.fields.get("routes") or {}).items():
        if isinstance(value, Mapping):
            what = " ".join(str(value[k]) for k in ("service", "action") if value.get(k))
            for target in refs(value.get("parameters") or {}):
                yield Edge(r.logical, target, f"{route} ({what})" if what else str(route))
        else:
            function = target_of(value, spec)
            if function:
                yield Edge(r.logical, function, str(route))
    yield from _cors_origins(r)


def _function_url(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    target = target_of(r.fields.get("function"), spec)
    if target:
        yield Edge(r.logical, target, f"HTTPS (auth {r.fields.get('auth', 'AWS_IAM')})")


def _s3_notification(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    events = r.fields.get("events") or ["s3:ObjectCreated:*"]
    where = "".join(f" {r.fields[k]}" for k in ("prefix", "suffix") if r.fields.get(k))
    bucket = target_of(r.fields.get("bucket"), spec)
    if bucket:
        yield Edge(bucket, r.logical, ", ".join(map(str, events)) + where)
    function = target_of(r.fields.get("function"), spec)
    if function:
        yield Edge(r.logical, function, "invoke (async)")


def _event_source(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    source = target_of(r.fields.get("source"), spec)
    if source:
        yield Edge(source, r.logical, f"poll (batch {r.fields.get('batch_size', 10)})")
    function = target_of(r.fields.get("function"), spec)
    if function:
        yield Edge(r.logical, function, "invoke")


def _polled_for(r: ResourceSpec, spec: LabSpec) -> Iterator[tuple[str, str]]:
    function, source = (target_of(r.fields.get(k), spec) for k in ("function", "source"))
    if function and source:
        yield function, source


def _topic(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    for sub in r.fields.get("subscriptions") or []:
        target = target_of(sub.get("endpoint"), spec) if isinstance(sub, Mapping) else None
        if target:
            notes = [n for n, on in (("raw", sub.get("raw")), ("filtered", sub.get("filter_policy"))) if on]
            extra = f", {', '.join(notes)}" if notes else ""
            yield Edge(r.logical, target, f"subscription ({sub.get('protocol')}{extra})")


def _queue(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    dead = r.fields.get("dead_letter")
    if isinstance(dead, Mapping):
        target = target_of(dead.get("target"), spec)
        if target:
            yield Edge(r.logical, target, f"after {dead.get('max_receive_count', 3)} receives")


def _files(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    bucket = target_of(r.fields.get("bucket"), spec)
    if bucket:
        yield Edge(r.logical, bucket, "uploads files")


def _state_machine(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    """A Task state's resource or parameters name what it invokes; the label is the state's name."""
    definition = r.fields.get("definition")
    if not isinstance(definition, str) or REF_RE.search(definition):
        return
    from awslab.resources.stepfunctions import load_definition, placeholders

    try:
        asl = load_definition((spec.base_dir / definition).resolve())
    except SpecError:  # validated by load_spec; a file changed since is drawn without its tasks
        return
    for name, state in _task_states(asl):
        for logical, _ in placeholders({k: state.get(k) for k in ("Resource", "Parameters", "Arguments")}):
            if logical in spec.resources:
                yield Edge(r.logical, logical, name)


def _task_states(asl: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(name, state) of every Task state, inside Parallel branches and Map iterators too."""
    states = asl.get("States") if isinstance(asl, Mapping) else None
    for name, state in (states or {}).items():
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Task":
            yield str(name), state
        for branch in state.get("Branches") or []:
            yield from _task_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            yield from _task_states(state.get(key))


def _rule(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    bus = target_of(r.fields.get("bus"), spec)
    if bus:
        yield Edge(bus, r.logical, "events")
    trigger = r.fields.get("schedule") or "matching events"
    for t in r.fields.get("targets") or []:
        target = target_of(t.get("arn"), spec) if isinstance(t, Mapping) else None
        if target:
            yield Edge(r.logical, target, str(trigger))


def _schedule(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    t = r.fields.get("target")
    target = target_of(t.get("arn"), spec) if isinstance(t, Mapping) else None
    if target:
        yield Edge(r.logical, target, str(r.fields.get("schedule_expression", "schedule")))


ROLE_FIELDS = ("role", "role_arn")  # fields, at any depth, that name the role a resource acts as


def _role_holders(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k in ROLE_FIELDS and isinstance(v, str):
                yield from refs(v)
            else:
                yield from _role_holders(v)
    elif isinstance(value, list):
        for v in value:
            yield from _role_holders(v)


def _role(r: ResourceSpec, spec: LabSpec) -> Iterator[Edge]:
    """Who assumes the role, and the calls its statements allow them on the lab's resources."""
    principals = [p for p in spec.resources.values() if r.logical in _role_holders(p.fields)]
    for p in principals:
        yield Edge(r.logical, p.logical, "assumed by", "assumed")
    for p in principals:
        calls: dict[str, list[str]] = {}
        for statement in r.fields.get("allow") or []:
            if not isinstance(statement, Mapping):
                continue
            for target in refs(statement.get("resources") or []):
                if target != p.logical and target in spec.resources:
                    actions = calls.setdefault(target, [])
                    actions += [
                        a for a in map(_short_action, statement.get("actions") or []) if a not in actions
                    ]
        for target, actions in calls.items():
            yield Edge(p.logical, target, ", ".join(actions), "call")


KINDS: dict[str, KindView] = {
    "iam.role": KindView("role", "security", _role),
    "lambda.function": KindView("rounded", "compute"),
    "lambda.event_source": KindView("connector", "compute", _event_source, _polled_for),
    "lambda.url": KindView("stadium", "api", _function_url),
    "apigateway.rest_api": KindView("stadium", "api", _rest_api),
    "apigateway.http_api": KindView("stadium", "api", _http_api),
    "dynamodb.table": KindView("cylinder", "storage"),
    "s3.bucket": KindView("cylinder", "storage"),
    "s3.files": KindView("box", "storage", _files),
    "s3.notification": KindView("connector", "storage", _s3_notification),
    "sqs.queue": KindView("queue", "messaging", _queue),
    "sns.topic": KindView("hexagon", "messaging", _topic),
    "events.bus": KindView("hexagon", "messaging"),
    "events.rule": KindView("connector", "messaging", _rule),
    "scheduler.schedule": KindView("connector", "messaging", _schedule),
    "stepfunctions.state_machine": KindView("box", "workflow", _state_machine),
}
UNKNOWN = KindView("box", "other")


def build(spec: LabSpec) -> Diagram:
    """The lab's nodes (spec order) and edges: each kind's flows, calls not already shown as a flow,
    and `depends on` edges for kinds without an entry in `KINDS`."""
    nodes = tuple(
        Node(r.logical, r.kind, KINDS.get(r.kind, UNKNOWN).shape, KINDS.get(r.kind, UNKNOWN).group)
        for r in spec.resources.values()
    )
    edges: list[Edge] = []
    for r in spec.resources.values():
        view = KINDS.get(r.kind)
        if view is None:
            edges += [Edge(r.logical, d, "depends on", "depends") for d in sorted(r.depends_on)]
        elif view.flows is not None:
            edges += [
                e for e in view.flows(r, spec) if e.source in spec.resources and e.target in spec.resources
            ]
    shown = {(e.source, e.target) for e in edges if e.style == "flow"}
    shown |= {(b, a) for a, b in shown}
    for r in spec.resources.values():
        acts_for = KINDS.get(r.kind, UNKNOWN).acts_for
        if acts_for is not None:
            shown |= set(acts_for(r, spec))
    kept = [e for e in edges if e.style != "call" or (e.source, e.target) not in shown]
    return Diagram(spec.name, spec.description, nodes, tuple(dict.fromkeys(kept)))


def load(name_or_path: str | Path) -> Diagram:
    """The diagram of a built-in lab by name, or of any spec file."""
    from awslab.spec import find_lab, load_spec

    return build(load_spec(find_lab(str(name_or_path))))
