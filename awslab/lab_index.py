"""The built-in labs and what `awslab labs` shows of a spec: its description and how many
resources it declares, read without validating it. Validation needs pydantic and every resource
kind (a quarter of a second for five labs); `awslab validate`, `plan` and `up` validate in full,
so a spec listed here may still be refused there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awslab.project_files import builtin_configs_dir, shown

MAX_BYTES = 256 * 1024  # awslab.spec.MAX_SPEC_BYTES: what is larger is no spec


def builtin_labs() -> dict[str, Path]:
    """Lab name -> spec, for the specs in configs/ (awslab.spec.builtin_labs, without pydantic)."""
    return {p.stem: p for p in sorted(builtin_configs_dir().glob("*.yaml"))}


@dataclass(frozen=True)
class SpecSummary:
    description: str
    resources: int
    problem: str | None = None  # why the spec cannot be read as one; None when it can


def summarize(path: Path) -> SpecSummary:
    """The description and resource count of the spec at `path`, or why it is no spec at all."""
    import yaml  # the C loader when there is one: a few milliseconds for every lab

    where = shown(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        return _problem(f"{where}: cannot read the file: {exc.strerror}")
    if len(raw) > MAX_BYTES:
        return _problem(f"{where}: the file is larger than {MAX_BYTES:,} bytes")
    try:
        data: Any = yaml.load(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except UnicodeDecodeError:
        return _problem(f"{where}: not a text file (expected UTF-8 YAML)")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        return _problem(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})")
    if not isinstance(data, dict):
        return _problem(f"{where}: expected a mapping with name, description and resources")
    resources = data.get("resources")
    if not isinstance(resources, dict) or not resources:
        return _problem(f"{where}: 'resources' must be a mapping of at least one resource")
    description = data.get("description")
    return SpecSummary(description if isinstance(description, str) else "", len(resources))


def _problem(text: str) -> SpecSummary:
    return SpecSummary("", 0, text)
