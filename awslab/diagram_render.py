"""A `Diagram` as text: a Mermaid flowchart (GitHub and most Markdown viewers draw it) or Graphviz
DOT. Edges that join the same two resources the same way are merged into one arrow whose label
lists each (an API's five routes to one function: one arrow, five lines)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from awslab.diagram import Diagram, Edge, EdgeStyle, Shape

Format = Literal["mermaid", "dot"]

# Mermaid node shapes: the text goes between the two halves.
MERMAID_SHAPES: dict[Shape, tuple[str, str]] = {
    "box": ("[", "]"),
    "rounded": ("(", ")"),
    "cylinder": ("[(", ")]"),
    "hexagon": ("{{", "}}"),
    "stadium": ("([", "])"),
    "queue": ("[[", "]]"),
    "role": ("[/", "\\]"),
    "connector": ("[/", "/]"),
}
MERMAID_ARROWS: dict[EdgeStyle, str] = {"flow": "-->", "call": "-->", "assumed": "-.->", "depends": "-.->"}
DOT_SHAPES: dict[Shape, str] = {
    "box": "box",
    "rounded": "box",
    "cylinder": "cylinder",
    "hexagon": "hexagon",
    "stadium": "ellipse",
    "queue": "box3d",
    "role": "trapezium",
    "connector": "parallelogram",
}
DOT_STYLES: dict[EdgeStyle, str] = {
    "flow": "solid",
    "call": "solid",
    "assumed": "dashed",
    "depends": "dotted",
}
# fill and stroke per colour group, after the AWS console's service colours
COLOURS: dict[str, tuple[str, str]] = {
    "compute": ("#fdebd0", "#e07b00"),
    "storage": ("#dcefd6", "#3b8c2a"),
    "api": ("#e8defa", "#7b4fc9"),
    "messaging": ("#fadbe7", "#c7245f"),
    "workflow": ("#f9ddd2", "#d4542b"),
    "security": ("#fbe0e0", "#c62828"),
    "other": ("#eeeeee", "#777777"),
}


def render(diagram: Diagram, fmt: Format = "mermaid") -> str:
    return to_dot(diagram) if fmt == "dot" else to_mermaid(diagram)


def merged(diagram: Diagram) -> Iterator[tuple[str, str, EdgeStyle, list[str]]]:
    """(source, target, style, labels): one per pair and style, in the order edges first appear."""
    groups: dict[tuple[str, str, EdgeStyle], list[str]] = {}
    for e in diagram.edges:
        labels = groups.setdefault((e.source, e.target, e.style), [])
        if e.label not in labels:
            labels.append(e.label)
    for (source, target, style), labels in groups.items():
        yield source, target, style, labels


# ---- Mermaid -------------------------------------------------------------------------------------
def mermaid_id(logical: str) -> str:
    """Logical names are lowercase letters, digits and '-': '-' reads as part of an arrow in Mermaid,
    and a bare `end` closes a block, so ids are `r_` + the name with '_' for '-' (one to one)."""
    return "r_" + logical.replace("-", "_")


def mermaid_text(text: str) -> str:
    """Text for inside a quoted Mermaid label: quotes and markup as entity codes."""
    for raw, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, code)
    return text


def to_mermaid(diagram: Diagram) -> str:
    lines = ["flowchart LR"]
    if diagram.description:
        lines.append(f"  %% {diagram.lab}: {diagram.description}")
    for n in diagram.nodes:
        opening, closing = MERMAID_SHAPES[n.shape]
        label = f"{mermaid_text(n.logical)}<br/>{mermaid_text(n.kind)}"
        lines.append(f'  {mermaid_id(n.logical)}{opening}"{label}"{closing}')
    for source, target, style, labels in merged(diagram):
        label = "<br/>".join(mermaid_text(x) for x in labels)
        lines.append(f'  {mermaid_id(source)} {MERMAID_ARROWS[style]}|"{label}"| {mermaid_id(target)}')
    for group in dict.fromkeys(n.group for n in diagram.nodes):
        fill, stroke = COLOURS.get(group, COLOURS["other"])
        members = ",".join(mermaid_id(n.logical) for n in diagram.nodes if n.group == group)
        lines.append(f"  classDef {group} fill:{fill},stroke:{stroke},color:#222")
        lines.append(f"  class {members} {group}")
    return "\n".join(lines) + "\n"


# ---- Graphviz DOT --------------------------------------------------------------------------------
def dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(diagram: Diagram) -> str:
    lines = [
        f"digraph {dot_string(diagram.lab)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11, style=filled];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for n in diagram.nodes:
        fill, stroke = COLOURS.get(n.group, COLOURS["other"])
        style = "rounded,filled" if n.shape == "rounded" else "filled"
        label = dot_string(f"{n.logical}\n{n.kind}").replace("\n", "\\n")
        lines.append(
            f"  {dot_string(n.logical)} [label={label}, shape={DOT_SHAPES[n.shape]}, style={dot_string(style)}, "
            f"fillcolor={dot_string(fill)}, color={dot_string(stroke)}];"
        )
    for source, target, style, labels in merged(diagram):
        label = dot_string("\n".join(labels)).replace("\n", "\\n")
        lines.append(
            f"  {dot_string(source)} -> {dot_string(target)} [label={label}, style={DOT_STYLES[style]}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = ["Edge", "Format", "merged", "mermaid_id", "render", "to_dot", "to_mermaid"]
