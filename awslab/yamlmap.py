"""YAML with line numbers: a document loaded into plain data plus a map from each key path to
its line, so every spec error can say where it is. Duplicate keys are errors (PyYAML keeps the
last silently); keys merged in with `<<: *anchor` may be overridden, as YAML allows.

Loading is bounded: an alias is a pointer to its anchor's node, and building data copies that
node at every use, so nested aliases grow exponentially (a 500-byte "billion laughs" spec once
took a minute and 3 GB). Values reached again through an alias or a merge count against
`MAX_ALIAS_NODES`, and nesting against `MAX_DEPTH`; past either the load stops with a SpecError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from awslab.errors import SpecError

# a key YAML reads as a number stays one (the spec error says to quote it)
KeyPath = tuple[str | int | float, ...]

# Far above what `<<: *defaults` and shared lists use in a lab (tens to hundreds of values), far
# below what makes loading slow: an alias bomb stops in milliseconds.
MAX_ALIAS_NODES = 10_000
# Lab specs nest a handful of levels; the bound keeps the recursive build (and Python's stack) safe.
MAX_DEPTH = 64
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    def __init__(self, text: str, where: str) -> None:
        super().__init__(text)
        self.where = where
        self.visited: set[int] = set()  # ids of nodes built once (the graph holds them alive)
        self.repeated = 0  # values built again: through an alias, or merged in
        self.merging: set[int] = set()  # mappings whose merges are being resolved (a self-merge loops)

    # The scanner is quadratic in bracket depth and the composer recursive: stop deep nesting as
    # it is read, not after.
    def fetch_flow_collection_start(self, token_class: type[yaml.Token]) -> None:
        if self.flow_level >= MAX_DEPTH:
            self._too_deep()
        super().fetch_flow_collection_start(token_class)

    def add_indent(self, column: int) -> bool:
        added: bool = super().add_indent(column)
        if len(self.indents) > MAX_DEPTH:
            self._too_deep()
        return added

    def _too_deep(self) -> None:
        line = self.get_mark().line + 1
        raise SpecError([f"{self.where}:{line}: nested more than {MAX_DEPTH} levels deep"], file=self.where)

    def charge(self, count: int, site: KeyPath, lines: Mapping[KeyPath, int]) -> None:
        self.repeated += count
        if self.repeated > MAX_ALIAS_NODES:
            raise SpecError(
                [
                    f"{self.where}:{line_for(lines, site)}: {dotted(site) or 'top level'}: YAML aliases "
                    f"expand to more than {MAX_ALIAS_NODES:,} values (each use of an alias copies its "
                    "anchor); a lab spec needs far fewer: write the values out or nest fewer aliases"
                ],
                file=self.where,
            )

    def merge_pairs(self, node: yaml.MappingNode, site: KeyPath, lines: Mapping[KeyPath, int]) -> None:
        """PyYAML's `flatten_mapping` (the `<<` merge key), metered: each merged pair counts,
        and a key merged twice is taken once (the first mapping listed wins, as YAML says)."""
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        seen: set[Any] = set()
        own: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                if key_node.tag == "tag:yaml.org,2002:value":
                    key_node.tag = "tag:yaml.org,2002:str"
                own.append((key_node, value_node))
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping or list of mappings for merging, but found {source.id}",
                        source.start_mark,
                    )
                if id(source) in self.merging:
                    raise yaml.constructor.ConstructorError(
                        None, None, "a mapping merges itself (<< names its own anchor)", source.start_mark
                    )
                self.merging.add(id(node))
                try:
                    self.merge_pairs(source, site, lines)
                finally:
                    self.merging.discard(id(node))
                self.charge(len(source.value), site, lines)
                for pair in source.value:
                    key = (
                        (pair[0].tag, pair[0].value) if isinstance(pair[0], yaml.ScalarNode) else id(pair[0])
                    )
                    if key not in seen:
                        seen.add(key)
                        merged.append(pair)
        node.value = merged + own


def _build(
    loader: _Loader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], site: KeyPath | None
) -> Any:
    where = loader.where
    if len(path) > MAX_DEPTH:
        raise SpecError(
            [
                f"{where}:{line_for(lines, path)}: {dotted(path[:3])}...: nested more than {MAX_DEPTH} levels deep"
            ]
        )
    if id(node) in loader.visited:  # built before: an alias (or a merge) repeats it here
        if site is None:
            site = path if path in lines else path[:-1]
        loader.charge(1, site, lines)
    else:
        loader.visited.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        own = sum(1 for k, _ in node.value if k.tag != _MERGE)
        loader.merge_pairs(node, site or path, lines)
        merged = len(node.value) - own  # `<<: *anchor` pairs come first; own keys override them
        out: dict[Any, Any] = {}
        own_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            line = key_node.start_mark.line + 1
            key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool):
                raise SpecError(
                    [f"{where}:{line}: {dotted(path) or 'top level'}: keys must be plain scalars"]
                )
            if index >= merged and key in own_keys:
                raise SpecError(
                    [
                        f"{where}:{line}: {dotted((*path, key))}: duplicate key '{key}' (first on line "
                        f"{lines[(*path, key)]}); each key may appear once"
                    ]
                )
            if index >= merged:
                own_keys.add(key)
            lines[(*path, key)] = line
            out[key] = _build(loader, value_node, (*path, key), lines, site)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), lines, site) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, where: str) -> tuple[Any, dict[KeyPath, int]]:
    lines: dict[KeyPath, int] = {}
    loader = _Loader(text, where)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([f"{where}:1: the file is empty; expected a lab spec (name, resources, ...)"])
        data = _build(loader, node, (), lines, None)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        context = getattr(exc, "context_mark", None)
        if mark is not None and context is not None and mark.line >= len(text.splitlines()):
            mark = context  # an unclosed quote or bracket: where it opened, not the end of file
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError([f"{where}:{line}: not valid YAML: {problem}"]) from None
    finally:
        loader.dispose()
    return data, lines


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def dotted(path: KeyPath) -> str:
    """('resources', 'api', 'routes', 'GET /x') -> 'resources.api.routes["GET /x"]'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(str(part)):
            out += f"[{json.dumps(part, ensure_ascii=False)}]"  # quoted, a newline escaped
        else:
            out += f".{part}" if out else str(part)
    return out


def line_for(lines: Mapping[KeyPath, int], path: KeyPath) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)
