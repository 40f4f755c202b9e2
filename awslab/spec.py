"""Lab specs: YAML -> validated `LabSpec`, with every error naming file, line, key path and
what was expected. Nothing here calls AWS.

Validation order: the file's size; YAML syntax, duplicate keys and alias expansion; the
top-level shape; logical names; each resource's kind and fields (the kind's pydantic model);
paths to handler code and files, which must stay inside the spec's project (project_files.py);
`${logical.attribute}` references (dangling, unknown attribute); dependency cycles.
"""

from __future__ import annotations

import difflib
import re
import stat
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from awslab.errors import OutsideProjectError, SpecError, UsageError
from awslab.exercise.actions import Check  # the model of `checks:`, derived from the check actions
from awslab.graph import CycleError, topological_order
from awslab.project_files import builtin_configs_dir, is_inside, project_root, shown
from awslab.references import REF_RE, references
from awslab.resources.base import Props, Resource, load_kinds
from awslab.yamlmap import KeyPath, dotted, line_for, load_yaml

# Names are matched whole (fullmatch): `$` would also accept a trailing newline ("crud\n").
LAB_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,19}")
LOGICAL_RE = re.compile(r"[a-z][a-z0-9-]{0,39}")
# Fields of each kind that name a file or a directory, relative to the spec's directory.
PATH_FIELDS: dict[str, dict[str, str]] = {
    "lambda.function": {"code": "directory"},
    "s3.files": {"source": "directory"},
    "stepfunctions.state_machine": {"definition": "file"},
}
# Checked from the file's size before reading: the largest built-in spec is a few kilobytes.
MAX_SPEC_BYTES = 256 * 1024  # PyYAML is pure Python: this parses in about a second

Path_ = KeyPath


# ---- the spec's own models -------------------------------------------------------------
class _TopLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, str] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)


# ---- the result ------------------------------------------------------------------------
@dataclass
class ResourceSpec:
    logical: str
    kind: str
    cls: type[Resource]
    fields: dict[str, Any]  # the kind's fields, references unresolved
    depends_on: set[str]
    line: int
    # resources whose predicted attributes (ARNs known from their names) this one's name-only
    # fields reference: resolved from the prediction while they do not exist, without waiting
    predicted: set[str] = field(default_factory=set)


@dataclass
class LabSpec:
    name: str
    description: str
    path: Path
    resources: dict[str, ResourceSpec]
    outputs: dict[str, str]
    checks: list[Check]
    order: list[str] = field(default_factory=list)  # dependencies first

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def kinds(self) -> set[str]:
        return {r.kind for r in self.resources.values()}


# ---- finding labs ----------------------------------------------------------------------
def builtin_labs() -> dict[str, Path]:
    return {p.stem: p for p in sorted(builtin_configs_dir().glob("*.yaml"))}


def find_lab(name_or_path: str) -> Path:
    """A built-in lab by name, or any path to a spec."""
    p = Path(name_or_path).expanduser()
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in name_or_path:
        if not p.is_file():
            raise UsageError(f"no lab spec at {p}", hint="give a path to a YAML file or a built-in lab name")
        return p.resolve()
    labs = builtin_labs()
    if name_or_path in labs:
        return labs[name_or_path]
    close = difflib.get_close_matches(name_or_path, list(labs), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"built-in labs: {', '.join(labs) or 'none'}"
    raise UsageError(f"unknown lab '{name_or_path}'", hint=hint)


def _pydantic_problems(
    exc: ValidationError,
    prefix: Path_,
    lines: Mapping[Path_, int],
    where: str,
    model: type[BaseModel],
    what: str = "",
) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = (*prefix, *loc)
        msg = err["msg"].removeprefix("Value error, ")
        if loc and loc[-1] == "[key]":  # a mapping key YAML read as a number or a boolean
            key, parent = loc[-2], (*prefix, *loc[:-2])
            problems.append(
                f"{where}:{line_for(lines, (*parent, key))}: {dotted(parent)}.{key}: this name is read "
                f'as a {type(key).__name__}; quote it ("{key}") or use a name starting with a letter'
            )
            continue
        if err["type"] == "extra_forbidden":
            msg = f"unknown field{what}" + _valid_fields_note(model, loc)
        elif err["type"] == "missing":
            msg = f"missing required field{what}"
        elif (
            "input" in err
            and err["type"] not in ("model_type", "dict_type")
            and not isinstance(err["input"], dict | list)
        ):
            msg += f" (got {err['input']!r})"
        problems.append(f"{where}:{line_for(lines, path)}: {dotted(path)}: {msg}")
    return problems


# ---- the validator ---------------------------------------------------------------------
def load_spec(path: Path | str) -> LabSpec:
    """Read and validate a spec; raise SpecError listing every problem found."""
    path = Path(path).resolve()
    where = shown(path)
    too_big = SpecError(
        [f"{where}: the file is larger than {MAX_SPEC_BYTES:,} bytes (256 KB); a lab spec is a few kilobytes"]
    )
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise SpecError([f"{where}: not a regular file; expected a YAML lab spec"])
        if info.st_size > MAX_SPEC_BYTES:
            raise too_big
        with path.open("rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)  # a file growing meanwhile still stops here
    except OSError as exc:
        raise SpecError([f"{where}: cannot read the file: {exc.strerror}"]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise too_big
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError([f"{where}: not a text file (expected UTF-8 YAML)"]) from None
    data, lines = load_yaml(text, where)
    return validate(data, lines, path, where)


def validate(data: Any, lines: Mapping[Path_, int], path: Path, where: str) -> LabSpec:
    if not isinstance(data, dict):
        raise SpecError(
            [
                f"{where}:1: expected a mapping with name, description, resources, outputs, checks; "
                f"got {type(data).__name__}"
            ]
        )
    try:
        top = _TopLevel.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_pydantic_problems(exc, (), lines, where, _TopLevel)) from None

    root = project_root(path.parent)
    problems: list[str] = []
    if not LAB_NAME_RE.fullmatch(top.name):
        problems.append(
            f"{where}:{line_for(lines, ('name',))}: name: invalid lab name {top.name!r}; "
            "expected lowercase letters, digits and '-', starting with a letter, at most 20"
        )
    if not top.resources:
        problems.append(
            f"{where}:{line_for(lines, ('resources',))}: resources: a lab needs at least one resource"
        )

    kinds = load_kinds()
    specs: dict[str, ResourceSpec] = {}
    extras: dict[str, set[str]] = {}  # dependencies a kind declares besides its references
    for logical, raw in top.resources.items():
        rpath: Path_ = ("resources", logical)
        line = line_for(lines, rpath)
        if not LOGICAL_RE.fullmatch(str(logical)):
            problems.append(
                f"{where}:{line}: {dotted(rpath)}: invalid logical name; expected lowercase "
                "letters, digits and '-', starting with a letter, at most 40"
            )
            continue
        kind = raw.get("type")
        if "type" not in raw:
            problems.append(
                f"{where}:{line}: resources.{logical}: missing 'type' (one of: {', '.join(sorted(kinds))})"
            )
            continue
        if not isinstance(kind, str):
            problems.append(
                f"{where}:{line_for(lines, (*rpath, 'type'))}: resources.{logical}.type: expected the name "
                f"of a kind (a string such as 'dynamodb.table'), got a {type(kind).__name__}"
            )
            continue
        if kind not in kinds:
            close = difflib.get_close_matches(kind, list(kinds), n=1)
            suggestion = f"did you mean '{close[0]}'? " if close else ""
            problems.append(
                f"{where}:{line_for(lines, (*rpath, 'type'))}: resources.{logical}.type: unknown kind "
                f"'{kind}'; {suggestion}known kinds: {', '.join(sorted(kinds))}"
            )
            continue
        cls = kinds[kind]
        fields = {k: v for k, v in raw.items() if k != "type"}
        try:
            props: Props = cls.Props.model_validate(fields)
        except ValidationError as exc:
            problems += _pydantic_problems(exc, rpath, lines, where, cls.Props, what=f" for {kind}")
            continue
        path_problems = _check_paths(
            PATH_FIELDS.get(kind, {}), fields, rpath, lines, where, path.parent, root
        )
        problems += path_problems
        if path_problems:
            continue
        # kinds read files named by their fields (a state machine's definition): give them
        # absolute paths, since the spec's directory is not the current one
        absolute = {
            k: str((path.parent / v).resolve())
            for k, v in fields.items()
            if k in PATH_FIELDS.get(kind, {}) and isinstance(v, str) and not REF_RE.search(v)
        }
        if not any(
            isinstance(fields.get(k), str) and REF_RE.search(fields[k]) for k in PATH_FIELDS.get(kind, {})
        ):
            try:
                for _ in cls.local_files(props, path.parent):  # the walk build and upload make
                    pass
            except OutsideProjectError as exc:
                problems.append(f"{where}:{line}: resources.{logical}: {exc}; {exc.hint}")
                continue
        try:
            extra = cls.dependencies(cls.Props.model_validate({**fields, **absolute}) if absolute else props)
        except SpecError as exc:
            problems += [f"{where}:{line}: resources.{logical}: {p}" for p in exc.problems]
            continue
        deps = {name for name, _ in references(fields)} | extra
        specs[logical] = ResourceSpec(logical, kind, cls, fields, deps, line)
        extras[logical] = extra

    for i, check in enumerate(top.checks):  # files a check sends (an upload) must be the project's too
        problems += _check_paths(check.handler.paths(check), check.model_dump(by_alias=True), ("checks", i),
                                 lines, where, path.parent, root, must_exist=False)  # fmt: skip
    problems += _check_references(top, specs, lines, where)
    if problems:
        raise SpecError(problems, file=where)
    for r in specs.values():
        _use_predictions(r, specs, extras[r.logical])

    try:
        order = topological_order({name: r.depends_on for name, r in specs.items()})
    except CycleError as exc:
        first = exc.cycle[0]
        raise SpecError(
            [
                f"{where}:{specs[first].line}: resources: dependency cycle "
                f"{' -> '.join(exc.cycle)}; break it by removing one reference"
            ]
        ) from None
    return LabSpec(top.name, top.description, path, specs, dict(top.outputs), list(top.checks), order)


def _use_predictions(r: ResourceSpec, specs: Mapping[str, ResourceSpec], extra: set[str]) -> None:
    """Drop the dependencies that only the kind's name-only fields make, on attributes known before
    the resource exists: a role granting access to a function is made with it, not after it."""
    named = references({k: v for k, v in r.fields.items() if k in r.cls.name_only_fields})
    if not named:
        return
    other_fields = {k: v for k, v in r.fields.items() if k not in r.cls.name_only_fields}
    needed = {n for n, _ in references(other_fields)} | extra
    needed |= {n for n, attr in named if attr not in specs[n].cls.predictable}
    r.predicted = {n for n, _ in named} - needed
    r.depends_on -= r.predicted


def _check_paths(
    path_fields: Mapping[str, str],
    fields: Mapping[str, Any],
    rpath: Path_,
    lines: Mapping[Path_, int],
    where: str,
    base: Path,
    root: Path,
    *,
    must_exist: bool = True,
) -> list[str]:
    """Each path field names a file or directory inside the project `root` (symlinks followed)."""
    problems = []
    for name, what in path_fields.items():
        value = fields.get(name)
        if not isinstance(value, str) or REF_RE.search(value):
            continue
        at = f"{where}:{line_for(lines, (*rpath, name))}: {dotted((*rpath, name))}"
        target = (base / value).resolve()
        if not is_inside(target, root):
            holder = (
                "the directory that holds the spec" if root == base.resolve() else "the built-in labs' tree"
            )
            problems.append(
                f"{at}: {value!r} leads outside {root} ({holder}); a lab may only use files under it: "
                f"move the {what} there, or the spec up to a directory that contains both"
            )
            continue
        ok = target.is_dir() if what == "directory" else target.is_file()
        if must_exist and not ok:
            problems.append(f"{at}: {what} '{value}' not found (looked in {shown(target)})")
    return problems


def _valid_fields_note(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """'; did you mean 'memory'? valid fields: code, handler, ...' for an unknown field at `loc`
    (its last part) of `model`, or "" when the model there cannot be found."""
    owner = _model_at(model, loc[:-1])
    if owner is None:
        return ""
    names = sorted(f.alias or name for name, f in owner.model_fields.items())
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    return "; " + (f"did you mean '{close[0]}'? " if close else "") + f"valid fields: {', '.join(names)}"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that validates the value at `loc` inside `model` (through optional
    values, lists and dicts), following pydantic's error locations."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return next((t for t in _members(current) if _is_model(t)), None)


def _step(annotation: Any, part: Any) -> Any:
    for t in _members(annotation):
        if _is_model(t) and isinstance(part, str):
            for name, f in t.model_fields.items():
                if part in (name, f.alias):
                    return f.annotation
            if part == t.__name__:  # a union member's tag in the location
                return t
        origin, args = typing.get_origin(t), typing.get_args(t)
        if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def _members(annotation: Any) -> list[Any]:
    """The types an annotation allows: Optional and unions split, Annotated unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _check_references(
    top: _TopLevel, specs: Mapping[str, ResourceSpec], lines: Mapping[Path_, int], where: str
) -> list[str]:
    """Dangling references and unknown attributes. A resource that has errors of its own is
    still a known name (no second, false "unknown resource" error about it)."""
    declared = set(top.resources)
    problems = []
    places: list[tuple[Path_, Any]] = [(("resources", n), top.resources[n]) for n in top.resources]
    places += [(("outputs", k), v) for k, v in top.outputs.items()]
    places += [(("checks", i), c.model_dump(by_alias=True)) for i, c in enumerate(top.checks)]
    for place, value in places:
        for logical, attr in sorted(references(value)):
            ppath = _find_path(value, f"${{{logical}.{attr}}}", place) or place
            line = line_for(lines, ppath)
            if logical not in declared:
                close = difflib.get_close_matches(logical, list(declared), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append(
                    f"{where}:{line}: {dotted(ppath)}: reference to unknown resource '{logical}'{hint}"
                )
            elif logical in specs and attr not in specs[logical].cls.attributes:
                known = ", ".join(specs[logical].cls.attributes)
                problems.append(
                    f"{where}:{line}: {dotted(ppath)}: {specs[logical].kind} '{logical}' has no "
                    f"attribute '{attr}'; it has: {known}"
                )
    for name, r in specs.items():
        wanted = r.cls.dependency_kind
        for dep in sorted(r.depends_on - {n for n, _ in references(r.fields)}):
            dpath = _find_value(r.fields, dep, ("resources", name)) or ("resources", name)
            at = f"{where}:{line_for(lines, dpath)}: {dotted(dpath)}"
            if dep not in declared:
                problems.append(f"{at}: refers to unknown resource '{dep}'")
            elif wanted and dep in specs and specs[dep].kind != wanted:
                problems.append(f"{at}: '{dep}' is a {specs[dep].kind}; expected a {wanted}")
    for i, c in enumerate(top.checks):
        for logical, wanted_kinds in c.handler.resources(c):
            at = f"{where}:{line_for(lines, ('checks', i))}: checks[{i}]"
            if logical not in declared:
                problems.append(f"{at}: unknown resource '{logical}'")
            elif logical in specs and specs[logical].kind not in wanted_kinds:
                wanted_text = " or a ".join(wanted_kinds)
                problems.append(f"{at}: '{logical}' is a {specs[logical].kind}; expected a {wanted_text}")
    return problems


def _find_value(value: Any, needle: str, path: Path_) -> Path_:
    """The key path of the first string equal to `needle` (a bare-name reference)."""
    if isinstance(value, str):
        return path if value == needle else ()
    items = (
        value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else []
    )
    for k, v in items:
        found = _find_value(v, needle, (*path, k))
        if found:
            return found
    return ()


def _find_path(value: Any, needle: str, path: Path_) -> Path_:
    """The key path of the first string in `value` containing `needle` (for line numbers)."""
    if isinstance(value, str):
        return path if needle in value else ()
    items = (
        value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else []
    )
    for k, v in items:
        found = _find_path(v, needle, (*path, k))
        if found:
            return found
    return ()
