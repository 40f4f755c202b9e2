"""YAML with line numbers: a document loaded into plain data plus a map from each key path to
its line, so every spec error can say where it is. Duplicate keys are errors (PyYAML keeps the
last silently); keys merged in with `<<: *anchor` may be overridden, as YAML allows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from awslab.errors import SpecError

KeyPath = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    pass


def _build(loader: _Loader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], where: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
        loader.flatten_mapping(node)
        merged = len(node.value) - own  # `<<: *anchor` pairs come first; own keys override them
        out: dict[Any, Any] = {}
        own_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
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
            out[key] = _build(loader, value_node, (*path, key), lines, where)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), lines, where) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_yaml(text: str, where: str) -> tuple[Any, dict[KeyPath, int]]:
    lines: dict[KeyPath, int] = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([f"{where}:1: the file is empty; expected a lab spec (name, resources, ...)"])
        data = _build(loader, node, (), lines, where)
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


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dotted(path: KeyPath) -> str:
    """('resources', 'api', 'routes', 'GET /x') -> 'resources.api.routes["GET /x"]'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.match(str(part)):
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else str(part)
    return out


def line_for(lines: Mapping[KeyPath, int], path: KeyPath) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)
