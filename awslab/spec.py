"""Lab specs: YAML -> validated `LabSpec`, with every error naming file, line, key path and
what was expected. Nothing here calls AWS.

Validation order: the file's size; YAML syntax, duplicate keys and alias expansion; `params:`
and their values (`--param`, AWSLAB_PARAM_<KEY>, defaults), substituted with `${lab.name}`
wherever they are used; the top-level shape; logical names; user `tags:`; each resource's kind and
fields (the kind's pydantic model); paths to handler code and files, which must stay inside the
spec's project (project_files.py); references: `${logical.attribute}` (dangling, unknown
attribute), built-in values, `${ssm:...}` / `${secretsmanager:...}`; dependency cycles.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import types
import typing
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from awslab.errors import OutsideProjectError, SpecError, UsageError
from awslab.exercise.actions import Check  # the model of `checks:`, derived from the check actions
from awslab.graph import CycleError, topological_order
from awslab.project_files import builtin_configs_dir, is_inside, project_root, shown
from awslab.references import (
    BUILTIN,
    BUILTIN_ATTRS,
    REF_RE,
    builtin_references,
    external_problem,
    external_references,
    references,
    substitute,
)
from awslab.resources.base import (
    TAG_CREATED,
    TAG_LAB,
    TAG_LOGICAL,
    TAG_STACK,
    Props,
    Resource,
    find_kind,
    load_kinds,
)
from awslab.spec_tags import tag_problems
from awslab.yamlmap import KeyPath, dotted, line_for, load_yaml

# Names are matched whole (fullmatch): `$` would also accept a trailing newline ("crud\n").
LAB_NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,19}")
LOGICAL_RE = re.compile(r"[a-z][a-z0-9-]{0,39}")
# The key that names a resource's kind, and the one older specs use (still read when there is no
# `kind:`; then it is no field of the kind).
KIND_KEY = "kind"
LEGACY_KIND_KEY = "type"

# Fields of each kind that name a file or a directory, relative to the spec's directory.
PATH_FIELDS: dict[str, dict[str, str]] = {
    "lambda.function": {"code": "directory"},
    "s3.files": {"source": "directory"},
    "stepfunctions.state_machine": {"definition": "file"},
}
# Checked from the file's size before reading: the largest built-in spec is a few kilobytes.
MAX_SPEC_BYTES = 256 * 1024  # PyYAML is pure Python: this parses in about a second

Path_ = KeyPath


PARAM_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
PARAM_ENV = "AWSLAB_PARAM_"  # + the key in upper case: AWSLAB_PARAM_MEMORY
# the command line's --param values: every spec the command loads gets them (`up`, and `check`
# loading the spec again from the state), unless `load_spec` is given its own
command_params: ContextVar[Mapping[str, str]] = ContextVar(
    "command_params", default=types.MappingProxyType({})
)
# awslab's own tags, on every resource: the user's may not set them
OWN_TAGS = (TAG_LAB, TAG_STACK, TAG_LOGICAL, TAG_CREATED)


# ---- the spec's own models -------------------------------------------------------------
class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: str | int | float | bool | None = None
    description: str = ""


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, _Param] = Field(default_factory=dict)


class _TopLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    params: dict[str, _Param] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    resources: dict[str, dict[str, Any]]
    outputs: dict[str, str] = Field(default_factory=dict)
    checks: list[Check] = Field(default_factory=list)


# ---- the result ------------------------------------------------------------------------
@dataclass
class ResourceSpec:
    logical: str
    kind: str
    cls: type[Resource[Any]]
    fields: dict[str, Any]  # the kind's fields, references unresolved
    depends_on: set[str]
    line: int
    # resources whose predicted attributes (ARNs known from their names) this one's name-only
    # fields reference: resolved from the prediction while they do not exist, without waiting
    predicted: set[str] = field(default_factory=set)
    tags: dict[str, str] = field(default_factory=dict)  # the user's: the spec's and its own, merged
    # `fields` as the kind's model validated them (references unresolved), kept by `load_spec`
    # so that watch, pricing and plan do not validate them again; `props` fills it on first use
    validated: Props | None = field(default=None, repr=False, compare=False)

    @property
    def props(self) -> Props:
        """The kind's model of `fields`, references unresolved (a resource is built from its
        resolved fields instead: see `build_resource`)."""
        if self.validated is None:
            self.validated = self.cls.props_model.model_validate(self.fields)
        return self.validated


@dataclass
class LabSpec:
    name: str
    description: str
    path: Path
    resources: dict[str, ResourceSpec]
    outputs: dict[str, str]
    checks: list[Check]
    order: list[str] = field(default_factory=list)  # dependencies first
    params: dict[str, Any] = field(default_factory=dict)  # each declared param's value
    # `${ssm:...}` / `${secretsmanager:...}` references -> where the spec has the first one
    externals: dict[str, str] = field(default_factory=dict)

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
def load_spec(
    path: Path | str, params: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> LabSpec:
    """Read and validate a spec; raise SpecError listing every problem found. `params` are the
    values given on the command line (`--param key=value`), `environ` the environment
    (AWSLAB_PARAM_<KEY>; os.environ when None)."""
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
    return validate(data, lines, path, where, params, environ)


def validate(
    data: Any,
    lines: Mapping[Path_, int],
    path: Path,
    where: str,
    params: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LabSpec:
    if not isinstance(data, dict):
        raise SpecError(
            [
                f"{where}:1: expected a mapping with name, description, resources, outputs, checks; "
                f"got {type(data).__name__}"
            ]
        )
    given = command_params.get() if params is None else params
    values, problems = _param_values(data, lines, where, given, os.environ if environ is None else environ)
    if problems:
        raise SpecError(problems, file=where)
    builtin: dict[str, Mapping[str, Any]] = {"param": values}
    if isinstance(data.get("name"), str):
        builtin["lab"] = {"name": data["name"]}
    # outputs and tags are text: a number a param gives them is written out
    data = {
        k: v if k in ("name", "params") else substitute(v, builtin, typed=k not in ("outputs", "tags"))
        for k, v in data.items()
    }
    try:
        top = _TopLevel.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_pydantic_problems(exc, (), lines, where, _TopLevel)) from None

    root = project_root(path.parent)
    if not LAB_NAME_RE.fullmatch(top.name):
        problems.append(
            f"{where}:{line_for(lines, ('name',))}: name: invalid lab name {top.name!r}; "
            "expected lowercase letters, digits and '-', starting with a letter, at most 20"
        )
    if not top.resources:
        problems.append(
            f"{where}:{line_for(lines, ('resources',))}: resources: a lab needs at least one resource"
        )

    problems += tag_problems(top.tags, ("tags",), lines, where)
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
        if logical in BUILTIN:
            problems.append(
                f"{where}:{line}: {dotted(rpath)}: '{logical}' is reserved for built-in values "
                f"(${{{logical}.…}}); choose another name"
            )
            continue
        tags = _resource_tags(raw.get("tags", {}), top.tags, rpath, lines, where)
        if isinstance(tags, list):
            problems += tags
            continue
        # `kind:` names the kind; older specs say `type:`, which is then no field of the kind (a
        # state machine's own `type` needs `kind:`)
        key = KIND_KEY if KIND_KEY in raw else LEGACY_KIND_KEY
        kind = raw.get(key)
        if key not in raw:
            known = ", ".join(sorted(load_kinds()))
            problems.append(f"{where}:{line}: resources.{logical}: missing 'kind' (one of: {known})")
            continue
        if not isinstance(kind, str):
            problems.append(
                f"{where}:{line_for(lines, (*rpath, key))}: resources.{logical}.{key}: expected the name "
                f"of a kind (a string such as 'dynamodb.table'), got a {type(kind).__name__}"
            )
            continue
        cls = find_kind(kind)
        if cls is None:
            kinds = load_kinds()  # every kind, to name them
            close = difflib.get_close_matches(kind, list(kinds), n=1)
            suggestion = f"did you mean '{close[0]}'? " if close else ""
            # `type: EXPRESS` with no `kind:`: a field of the kind taken for the kind
            legacy = (
                "; without 'kind:', 'type:' names the kind: give the kind as 'kind:'"
                if key == LEGACY_KIND_KEY and "." not in kind
                else ""
            )
            problems.append(
                f"{where}:{line_for(lines, (*rpath, key))}: resources.{logical}.{key}: unknown kind "
                f"'{kind}'; {suggestion}known kinds: {', '.join(sorted(kinds))}{legacy}"
            )
            continue
        fields = {k: v for k, v in raw.items() if k not in (key, "tags")}
        try:
            props: Props = cls.props_model.model_validate(fields)
        except ValidationError as exc:
            problems += _pydantic_problems(exc, rpath, lines, where, cls.props_model, what=f" for {kind}")
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
            extra = cls.dependencies(
                cls.props_model.model_validate({**fields, **absolute}) if absolute else props
            )
        except SpecError as exc:
            problems += [f"{where}:{line}: resources.{logical}: {p}" for p in exc.problems]
            continue
        extra -= BUILTIN  # a state machine definition's ${aws.region}: no resource
        deps = {name for name, _ in references(fields)} | extra
        specs[logical] = ResourceSpec(logical, kind, cls, fields, deps, line, tags=tags, validated=props)
        extras[logical] = extra

    for i, check in enumerate(top.checks):  # files a check sends (an upload) must be the project's too
        problems += _check_paths(check.handler.paths(check), check.model_dump(by_alias=True), ("checks", i),
                                 lines, where, path.parent, root, must_exist=False)  # fmt: skip
    problems += _check_references(top, specs, lines, where)
    problems += _check_builtins(top, values, lines, where)
    externals, external_errors = _externals(top, lines, where)
    problems += external_errors
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
    return LabSpec(
        top.name, top.description, path, specs, dict(top.outputs), list(top.checks), order, values, externals
    )


def _param_values(
    data: Mapping[str, Any],
    lines: Mapping[Path_, int],
    where: str,
    given: Mapping[str, str],
    environ: Mapping[str, str],
) -> tuple[dict[str, Any], list[str]]:
    """Each declared param's value: from the command line, else the environment, else its
    default. A value given for an undeclared param, or none at all for one without default, is
    a problem."""
    try:
        declared = _Params.model_validate({"params": data.get("params") or {}}).params
    except ValidationError as exc:
        return {}, _pydantic_problems(exc, (), lines, where, _Params)
    problems = []
    at = f"{where}:{line_for(lines, ('params',)) if 'params' in data else 1}"
    for key in declared:
        if not PARAM_RE.fullmatch(key):
            problems.append(
                f"{where}:{line_for(lines, ('params', key))}: params.{key}: invalid param name; expected "
                "letters, digits and '_', starting with a letter or '_', at most 64"
            )
    for key in sorted(set(given) - set(declared)):
        close = difflib.get_close_matches(key, list(declared), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        known = ", ".join(declared) or "none"
        problems.append(
            f"{at}: params: --param {key}: the spec declares no such param; {hint}declared: {known}"
        )
    values: dict[str, Any] = {}
    for key, decl in declared.items():
        env = environ.get(PARAM_ENV + key.upper())
        value = given.get(key, decl.default if env is None else env)
        if value is None:
            problems.append(
                f"{where}:{line_for(lines, ('params', key))}: params.{key}: no value: give one with "
                f"--param {key}=VALUE or {PARAM_ENV}{key.upper()}, or a default"
            )
        values[key] = value
    return values, problems


def _resource_tags(
    raw: Any, spec_tags: Mapping[str, str], rpath: Path_, lines: Mapping[Path_, int], where: str
) -> dict[str, str] | list[str]:
    """A resource's user tags merged over the spec's (the resource's win), or its problems."""
    tpath = (*rpath, "tags")
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        return [
            f"{where}:{line_for(lines, tpath)}: {dotted(tpath)}: expected a mapping of tag names to "
            "strings (quote numbers and booleans)"
        ]
    problems = tag_problems(raw, tpath, lines, where, inherited=spec_tags)
    merged = {**spec_tags, **raw}
    limit = 50 - len(OWN_TAGS)
    if len(merged) > limit:
        problems.append(
            f"{where}:{line_for(lines, tpath if raw else rpath)}: {dotted(tpath)}: {len(merged)} tags with "
            f"the spec's; AWS allows 50 per resource and awslab uses {len(OWN_TAGS)}: at most {limit}"
        )
    return problems or merged


def _check_builtins(
    top: _TopLevel, values: Mapping[str, Any], lines: Mapping[Path_, int], where: str
) -> list[str]:
    """`${param.x}` of an undeclared param, `${lab.x}` / `${aws.x}` of an unknown value."""
    problems = []
    for place, value in _places(top):
        for ns, key in sorted(builtin_references(value)):
            ppath = _find_path(value, f"${{{ns}.{key}}}", place) or place
            at = f"{where}:{line_for(lines, ppath)}: {dotted(ppath)}"
            if ns == "param" and key not in values:
                close = difflib.get_close_matches(key, list(values), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append(
                    f"{at}: unknown param '{key}'; {hint}declare it under params: (declared: "
                    f"{', '.join(values) or 'none'})"
                )
            elif ns in BUILTIN_ATTRS and key not in BUILTIN_ATTRS[ns]:
                known = ", ".join(f"${{{ns}.{k}}}" for k in sorted(BUILTIN_ATTRS[ns]))
                problems.append(f"{at}: unknown built-in value ${{{ns}.{key}}}; known: {known}")
            elif ns == "aws" and place[0] in ("checks", "tags"):  # known at `up`, in resources and outputs
                problems.append(f"{at}: ${{{ns}.{key}}} is resolved in resources and outputs only")
    return problems


def _externals(top: _TopLevel, lines: Mapping[Path_, int], where: str) -> tuple[dict[str, str], list[str]]:
    """The `${ssm:...}` / `${secretsmanager:...}` references of the resources and outputs, with
    where each first is; malformed ones, and those where `up` does not resolve them, are problems."""
    found: dict[str, str] = {}
    problems = []
    for place, value in _places(top):
        for ref in sorted(external_references(value)):
            ppath = _find_path(value, ref, place) or place
            at = f"{where}:{line_for(lines, ppath)}: {dotted(ppath)}"
            problem = external_problem(ref)
            if problem:
                problems.append(f"{at}: {ref}: {problem}")
            elif place[0] in ("checks", "tags"):
                problems.append(f"{at}: {ref}: resolved in resources and outputs only")
            else:
                found.setdefault(ref, at)
    return found, problems


def _places(top: _TopLevel) -> list[tuple[Path_, Any]]:
    """Where references may be: each resource, output, check, and the spec's tags."""
    places: list[tuple[Path_, Any]] = [(("resources", n), top.resources[n]) for n in top.resources]
    places += [(("outputs", k), v) for k, v in top.outputs.items()]
    places += [(("checks", i), c.model_dump(by_alias=True)) for i, c in enumerate(top.checks)]
    places += [(("tags",), top.tags)]
    return places


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
    for place, value in _places(top):
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
