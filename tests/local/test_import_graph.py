"""No import circle in awslab/local: every import counts, also one inside a function (a circle that
only works because one side imports late is still a circle to the reader)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import awslab.local

LOCAL = Path(awslab.local.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(LOCAL.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the awslab.local modules it imports (anywhere in its code)."""
    modules = {_module(p): p for p in LOCAL.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_the_graph_sees_the_imports() -> None:
    graph = import_graph()
    assert "awslab.local.executor" in graph["awslab.local.moto_patches"]
    assert "awslab.local.processes" in graph["awslab.local.daemon"]


def test_no_import_circle_in_the_local_cloud() -> None:
    try:
        list(graphlib.TopologicalSorter(import_graph()).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(exc.args[1])}") from None
