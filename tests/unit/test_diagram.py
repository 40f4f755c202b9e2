"""`awslab graph`: the Mermaid and DOT text of every built-in lab, read back by a parser and compared
with what the spec says (each kind's flows worked out here from the spec's fields), not with a copy
of the output; kinds without flows of their own; the command itself."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pydot
import pytest
from typer.testing import CliRunner

from awslab.diagram import Diagram, build, load
from awslab.diagram_render import mermaid_text, to_dot, to_mermaid
from awslab.references import REF_RE
from awslab.resources.base import load_kinds
from awslab.spec import LabSpec, ResourceSpec, builtin_labs, load_spec

pytestmark = pytest.mark.filterwarnings("ignore:'setParseAction' deprecated")  # pydot on new pyparsing

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted(builtin_labs())
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))
Edges = set[tuple[str, str, str, str]]  # (source, target, label, "solid" | "dashed")

# ---- reading the text back -----------------------------------------------------------------------
_NODE = re.compile(
    r'^  r_(?P<id>[a-z0-9_]+)(?P<open>\[\(|\(\[|\[\[|\{\{|\[/|\[|\()"(?P<label>[^"]*)"(?P<close>\)\]|\]\)|\]\]|\}\}|\\\]|/\]|\]|\))$'
)
_EDGE = re.compile(
    r'^  r_(?P<src>[a-z0-9_]+) (?P<arrow>-->|-\.->)\|"(?P<label>[^"]*)"\| r_(?P<dst>[a-z0-9_]+)$'
)
_OTHER = re.compile(r"^(flowchart LR|  %% .*|  classDef [a-z]+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#222|"
                    r"  class (r_[a-z0-9_]+,)*r_[a-z0-9_]+ [a-z]+)$")  # fmt: skip
_PAIRS = {"[(": ")]", "([": "])", "[[": "]]", "{{": "}}", "[/": ("\\]", "/]"), "[": "]", "(": ")"}


def parse_mermaid(text: str) -> tuple[set[tuple[str, str]], Edges]:
    """(logical, kind) of each node and the edges, one per label; every line must be understood."""
    nodes: set[tuple[str, str]] = set()
    edges: Edges = set()
    ids: dict[str, str] = {}
    for line in text.splitlines():
        if m := _NODE.match(line):
            closes = _PAIRS[m["open"]]
            assert m["close"] in (closes if isinstance(closes, tuple) else (closes,)), line
            logical, kind = m["label"].split("<br/>")
            assert m["id"] == logical.replace("-", "_"), line
            ids[m["id"]] = logical
            nodes.add((logical, kind))
        elif m := _EDGE.match(line):
            style = "solid" if m["arrow"] == "-->" else "dashed"
            for label in m["label"].split("<br/>"):
                edges.add((ids[m["src"]], ids[m["dst"]], label, style))
        else:
            assert _OTHER.match(line), f"a line Mermaid text should not have: {line!r}"
    return nodes, edges


def parse_dot(text: str) -> tuple[set[tuple[str, str]], Edges]:
    graphs = pydot.graph_from_dot_data(text)
    assert graphs is not None and len(graphs) == 1
    g = graphs[0]
    unquote = lambda s: json.loads(s) if s.startswith('"') else s  # noqa: E731
    nodes = set()
    for n in g.get_nodes():
        if n.get_name() in ("node", "edge"):
            continue
        logical, kind = unquote(n.get_attributes()["label"]).split("\n")
        assert logical == unquote(n.get_name())
        nodes.add((logical, kind))
    edges: Edges = set()
    for e in g.get_edges():
        attrs = e.get_attributes()
        style = "solid" if attrs["style"] == "solid" else "dashed"
        for label in unquote(attrs["label"]).split("\n"):
            edges.add((unquote(e.get_source()), unquote(e.get_destination()), label, style))
    return nodes, edges


# ---- what the spec says --------------------------------------------------------------------------
def named(value: Any) -> str:
    """The resource a field names: the logical name of its first reference, or the bare name."""
    m = REF_RE.search(str(value))
    return m.group(1) if m else str(value)


def asl_tasks(state_machine: Any) -> list[tuple[str, str]]:
    """(state name, function) of each Task state, branches included."""
    out = []
    for name, state in state_machine["States"].items():
        if state["Type"] == "Task":
            out += [(name, f) for f in REF_RE.findall(json.dumps(state.get("Resource", "")))]
        for branch in state.get("Branches", []):
            out += asl_tasks(branch)
    return [(name, f[0] if isinstance(f, tuple) else f) for name, f in out]


def role_fields(value: Any) -> list[str]:
    """The values of every `role` and `role_arn` field, at any depth (routes, targets)."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k in ("role", "role_arn")] + [
            x for v in value.values() for x in role_fields(v)
        ]
    return [x for v in value for x in role_fields(v)] if isinstance(value, list) else []


def expected(spec: LabSpec) -> Edges:
    flows: Edges = set()
    for r in spec.resources.values():
        f = r.fields
        if r.kind == "apigateway.rest_api":
            flows |= {(r.logical, fn, route, "solid") for route, fn in f["routes"].items()}
            flows |= {(named(o), r.logical, "page calls (CORS)", "solid")
                      for o in f.get("cors", {}).get("allow_origins", []) if "${" in o}  # fmt: skip
        elif r.kind == "s3.notification":
            events = ", ".join(f.get("events", ["s3:ObjectCreated:*"])) + (
                f" {f['prefix']}" if "prefix" in f else ""
            )
            flows |= {(named(f["bucket"]), r.logical, events, "solid")}
            flows |= {(r.logical, named(f["function"]), "invoke (async)", "solid")}
        elif r.kind == "lambda.event_source":
            flows |= {(named(f["source"]), r.logical, f"poll (batch {f.get('batch_size', 10)})", "solid")}
            flows |= {(r.logical, named(f["function"]), "invoke", "solid")}
        elif r.kind == "sns.topic":
            for s in f.get("subscriptions", []):
                notes = "".join(
                    f", {n}" for n, k in (("raw", "raw"), ("filtered", "filter_policy")) if s.get(k)
                )
                flows.add(
                    (r.logical, named(s["endpoint"]), f"subscription ({s['protocol']}{notes})", "solid")
                )
        elif r.kind == "sqs.queue" and "dead_letter" in f:
            dl = f["dead_letter"]
            flows |= {(r.logical, named(dl["target"]), f"after {dl['max_receive_count']} receives", "solid")}
        elif r.kind == "s3.files":
            flows |= {(r.logical, named(f["bucket"]), "uploads files", "solid")}
        elif r.kind == "stepfunctions.state_machine":
            asl = json.loads((spec.base_dir / f["definition"]).read_text())
            flows |= {(r.logical, fn, state, "solid") for state, fn in asl_tasks(asl)}
        elif r.kind == "apigateway.http_api":
            for route, to in f["routes"].items():
                if isinstance(to, str):
                    flows.add((r.logical, named(to), route, "solid"))
                else:
                    label = f"{route} ({to['service']} {to['action']})"
                    flows |= {
                        (r.logical, named(v), label, "solid") for v in to["parameters"].values() if "${" in v
                    }
        elif r.kind == "events.rule":
            label = f.get("schedule", "matching events")
            flows |= {(r.logical, named(t["arn"]), label, "solid") for t in f.get("targets", [])}
        elif r.kind == "scheduler.schedule":
            flows.add((r.logical, named(f["target"]["arn"]), f["schedule_expression"], "solid"))
    linked = {(a, b) for a, b, _, _ in flows} | {(b, a) for a, b, _, _ in flows}
    polled = {(named(r.fields["function"]), named(r.fields["source"]))
              for r in spec.resources.values() if r.kind == "lambda.event_source"}  # fmt: skip
    roles: Edges = set()
    for role in (r for r in spec.resources.values() if r.kind == "iam.role"):
        for p in spec.resources.values():
            if f"${{{role.logical}.arn}}" not in role_fields(p.fields):
                continue
            roles.add((role.logical, p.logical, "assumed by", "dashed"))
            allowed: dict[str, list[str]] = {}
            for statement in role.fields["allow"]:
                for target in {named(x) for x in statement["resources"]}:
                    allowed.setdefault(target, []).extend(a.split(":")[1] for a in statement["actions"])
            roles |= {(p.logical, t, ", ".join(actions), "solid") for t, actions in allowed.items()
                      if (p.logical, t) not in linked | polled}  # fmt: skip
    return flows | roles


@pytest.mark.parametrize("lab", LABS + EXAMPLES)
def test_mermaid_of_each_lab_has_its_resources_and_flows(lab: str) -> None:
    spec = load_spec(builtin_labs().get(lab) or ROOT / lab)
    nodes, edges = parse_mermaid(to_mermaid(build(spec)))
    assert nodes == {(r.logical, r.kind) for r in spec.resources.values()}
    assert edges == expected(spec)


@pytest.mark.parametrize("lab", LABS + EXAMPLES)
def test_dot_of_each_lab_parses_and_says_the_same(lab: str) -> None:
    diagram = load(builtin_labs().get(lab) or ROOT / lab)
    assert parse_dot(to_dot(diagram)) == parse_mermaid(to_mermaid(diagram))


def test_flows_a_learner_should_see() -> None:
    """The paths the issue names, spelled out once for the built-in labs."""
    crud, image, messaging, workflow = (
        parse_mermaid(to_mermaid(load(n)))[1] for n in ("crud", "image", "messaging", "workflow")
    )
    assert {("api", "items-fn", "GET /items", "solid"), ("items-fn", "items", "GetItem, PutItem, UpdateItem, DeleteItem, Scan", "solid"),
            ("role", "items-fn", "assumed by", "dashed")} <= crud  # fmt: skip
    assert {("input", "on-upload", "s3:ObjectCreated:* uploads/", "solid"), ("on-upload", "resize", "invoke (async)", "solid"),
            ("resize", "input", "GetObject", "solid")} <= image  # fmt: skip
    assert {("topic", "queue", "subscription (sqs)", "solid"), ("queue", "consume-orders", "poll (batch 10)", "solid"),
            ("consume-orders", "consumer", "invoke", "solid")} <= messaging  # fmt: skip
    # the consumer's queue permissions are the event source's polling, not calls of its own
    assert not {e for e in messaging if e[:2] == ("consumer", "queue")}
    assert ("machine", "check-name", "CheckName", "solid") in workflow
    # invoking its tasks is the machine's flow: its role's lambda:InvokeFunction is not drawn again
    assert not {e for e in workflow if e[:2] == ("machine", "check-name") and e[2] != "CheckName"}


# ---- kinds beyond the built-in labs --------------------------------------------------------------
def _spec(tmp_path: Path, resources: dict[str, dict[str, Any]]) -> LabSpec:
    """A LabSpec built directly, for kinds whose modules may not exist yet (or never do)."""
    kinds = load_kinds()
    specs = {
        name: ResourceSpec(
            name,
            fields["type"],
            kinds["lambda.function"],
            {k: v for k, v in fields.items() if k != "type"},
            {m.group(1) for m in REF_RE.finditer(json.dumps(fields))},
            1,
        )
        for name, fields in resources.items()
    }
    return LabSpec("t", "", tmp_path / "t.yaml", specs, {}, [], list(specs))


def test_a_kind_without_an_entry_is_drawn_with_its_dependencies(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {
        "fn": {"type": "lambda.function", "code": "x", "role": "arn:aws:iam::1:role/r"},
        "mystery": {"type": "brand.new_kind", "target": "${fn.arn}", "other": "${fn.name}"},
    })  # fmt: skip
    nodes, edges = parse_mermaid(to_mermaid(build(spec)))
    assert nodes == {("fn", "lambda.function"), ("mystery", "brand.new_kind")}
    assert edges == {("mystery", "fn", "depends on", "dashed")}


def test_http_api_function_url_rule_and_schedule_flows(tmp_path: Path) -> None:
    spec = _spec(tmp_path, {
        "fn": {"type": "lambda.function", "code": "x", "role": "${fn-role.arn}"},
        "fn-role": {"type": "iam.role", "service": "lambda", "allow": []},
        "queue": {"type": "sqs.queue"},
        "api-role": {"type": "iam.role", "service": "apigateway",
                     "allow": [{"actions": ["sqs:SendMessage"], "resources": ["${queue.arn}"]}]},
        "http": {"type": "apigateway.http_api", "routes": {
            "GET /items": "fn",
            "POST /orders": {"service": "sqs", "action": "SendMessage", "role": "${api-role.arn}",
                             "parameters": {"QueueUrl": "${queue.url}", "MessageBody": "$request.body"}}}},
        "url": {"type": "lambda.url", "function": "${fn.name}", "auth": "AWS_IAM"},
        "bus": {"type": "events.bus"},
        "rule": {"type": "events.rule", "bus": "${bus.name}", "pattern": {"source": ["shop"]},
                 "targets": [{"arn": "${fn.arn}"}, {"arn": "${queue.arn}"}]},
        "tick": {"type": "scheduler.schedule", "schedule_expression": "rate(5 minutes)",
                 "target": {"arn": "${fn.arn}", "role_arn": "${fn-role.arn}"}},
    })  # fmt: skip
    _, edges = parse_mermaid(to_mermaid(build(spec)))
    assert edges == {
        ("fn-role", "fn", "assumed by", "dashed"),
        ("fn-role", "tick", "assumed by", "dashed"),
        ("api-role", "http", "assumed by", "dashed"),  # its SendMessage is the route's flow, not drawn twice
        ("http", "fn", "GET /items", "solid"),
        ("http", "queue", "POST /orders (sqs SendMessage)", "solid"),
        ("url", "fn", "HTTPS (auth AWS_IAM)", "solid"),
        ("bus", "rule", "events", "solid"),
        ("rule", "fn", "matching events", "solid"),
        ("rule", "queue", "matching events", "solid"),
        ("tick", "fn", "rate(5 minutes)", "solid"),
    }


def test_a_scheduled_rule_from_a_real_spec(tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(e, c):\n    return e\n")
    (tmp_path / "lab.yaml").write_text(
        textwrap.dedent("""
        name: ticks
        resources:
          role: {type: iam.role, service: lambda}
          fn: {type: lambda.function, code: code, role: "${role.arn}"}
          every-hour:
            type: events.rule
            schedule: rate(1 hour)
            targets: [{arn: "${fn.arn}"}]
    """)
    )
    _, edges = parse_mermaid(to_mermaid(load(tmp_path / "lab.yaml")))
    assert ("every-hour", "fn", "rate(1 hour)", "solid") in edges


def test_labels_cannot_break_out_of_their_quotes() -> None:
    diagram = Diagram("x", "", (), ())
    assert mermaid_text('GET /a"b<c>#') == "GET /a#quot;b#lt;c#gt;#35;"
    assert to_mermaid(diagram) == "flowchart LR\n"


# ---- the command ---------------------------------------------------------------------------------
def test_graph_command_prints_mermaid_and_dot() -> None:
    from awslab.cli.main import app

    runner = CliRunner()
    mermaid = runner.invoke(app, ["graph", "crud"])
    assert mermaid.exit_code == 0, mermaid.output
    assert mermaid.output == to_mermaid(load("crud"))
    dot = runner.invoke(app, ["graph", "workflow", "--format", "dot"])
    assert dot.exit_code == 0 and dot.output == to_dot(load("workflow"))
    unknown = runner.invoke(app, ["graph", "crd"])
    assert unknown.exit_code == 2 and "did you mean 'crud'" in unknown.output
