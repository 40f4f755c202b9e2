"""The layers import one way: the spec parser is below the engine (the dependency graph it uses is
a module of its own, below both), and `${...}` substitution is not the parser's job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from awslab.graph import topological_order

REPO = Path(__file__).resolve().parents[2]


def test_the_spec_parser_imports_nothing_from_the_engine() -> None:
    code = "import json, sys, awslab.spec; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert [m for m in json.loads(proc.stdout) if m.startswith("awslab.engine")] == []


def test_resolving_references_is_not_the_parsers_job() -> None:
    import awslab.spec

    assert not hasattr(awslab.spec, "resolve")


def test_each_name_comes_as_early_as_its_dependencies_allow() -> None:
    """What graphlib hands out at once is put in spec order: a chain declared backwards comes
    first, then the independent name declared after it."""
    deps = {"c": {"b"}, "b": {"a"}, "a": set(), "x": set()}
    assert topological_order(deps) == ["a", "b", "c", "x"]
    assert topological_order({"x": set(), **deps}) == ["x", "a", "b", "c"]
