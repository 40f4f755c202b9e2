"""The contract every resource kind follows, and the registry that maps a spec's `type:` to it.

A kind is one class, generic over its fields (`class Bucket(Resource[BucketProps])`, a pydantic
`Props` model), the attributes it exposes to
`${logical.attribute}` references, the other resources it needs (references are found by the
spec; `dependencies()` adds the ones a kind knows of, such as route targets named bare), and its
boto3 calls: `create`, `read`, `delete`, and `update` where that is cheap.

`create` returns as soon as AWS has named the resource; `wait_ready` finishes it: it waits until
AWS has made it usable (a function Pending, a table CREATING) and makes what only its use needs
(a role's policies, a bucket's website settings, an API's methods). The engine runs that apart,
so that what needs only the name (an ARN in a policy, a route's integration) goes on meanwhile,
and before the dependents that declare they need the resource usable (`needs_ready`) and before
`up` ends. What needs other resources to exist (an API's invoke permissions on its functions) is
`link`, a step of its own after them (`link_dependencies`), beside `wait_ready`: they hold back
neither `create` nor `wait_ready`.

Some attributes are known before the resource exists, from its physical name (`predictable`,
`predict`: ARNs are built from the service, region, account and name). A reference to one of
them from a field that only names resources (`name_only_fields`: an IAM policy's statements, a
function's environment) adds no dependency, so a role that grants access to functions is created
with them, not after, and a function whose environment names a topic beside the topic.

`read` and `delete` are classmethods that work from the state record alone, so `status` and
`teardown` work even when the spec has changed or is gone. `read` returns the live values of
the settings awslab manages under the same keys as the attributes `create` / `update` record
(`drift_keys`): a difference is a change made outside awslab (drift), which `status` reports,
`plan` plans to repair and `up` repairs by calling `update`. A record whose `status` is
"creating" (the process died between the call and the write) may have empty `attrs`: `delete`
must then find the resource by its physical name.

Every kind also says how `teardown --sweep` finds what awslab made of it when no state records
it (`list_made`: its `awslab-` names with their tags, shared listings through a `Survey`) and
where it goes in the delete order (`sweep_rank`); a test fails for a kind that does not. A kind
whose resources carry tags keeps the user's in line with the spec (`retag`), which `up` calls
when only the spec's `tags:` changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict

if TYPE_CHECKING:
    from awslab.target import Target

TAG_LAB = "awslab:lab"
TAG_STACK = "awslab:stack"
TAG_LOGICAL = "awslab:logical"
TAG_CREATED = "awslab:created"  # the stack's creation time (ISO-8601 UTC): sweep ages orphans by it
NAME_PREFIX = "awslab"
# how a sweep shows a log group left after the function or state machine that wrote it went;
# deleted last of all, through the kind that made it
LOG_GROUP_KIND = "logs.log_group"
LOG_GROUP_RANK = 90


class Props(BaseModel):
    """Base of every kind's fields: unknown fields are errors."""

    # defer_build: a kind's validator is built when a spec first uses the kind, not at import
    # (`awslab validate` of one lab pays for its 5 kinds, not all of them)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


RecordStatus = Literal["creating", "created", "deleting"]


@dataclass
class Record:
    """What the state file keeps of one resource."""

    kind: str
    logical: str
    physical: str
    status: RecordStatus = "creating"
    attrs: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    depends_on: list[str] = field(default_factory=list)
    # hash of each spec field as last applied: lets a plan say which fields changed
    inputs: dict[str, str] = field(default_factory=dict)
    # False while `up` waits for it to become usable (a function Pending, a table CREATING)
    ready: bool = True
    # the user's tags (the spec's `tags:`) as last put on it: `up` retags when the spec's change.
    # None: not known (a record written before awslab recorded them, with no `tags` key): no
    # tags-only update is planned for it, the next real update puts the spec's and records them
    tags: dict[str, str] | None = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "logical": self.logical,
            "physical": self.physical,
            "status": self.status,
            "attrs": self.attrs,
            "fingerprint": self.fingerprint,
            "depends_on": list(self.depends_on),
            "inputs": dict(self.inputs),
            **({} if self.ready else {"ready": False}),
            **({} if self.tags is None else {"tags": dict(self.tags)}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Record:
        return cls(
            kind=d["kind"],
            logical=d["logical"],
            physical=d["physical"],
            status=d.get("status", "created"),
            attrs=dict(d.get("attrs") or {}),
            fingerprint=d.get("fingerprint", ""),
            depends_on=list(d.get("depends_on") or []),
            inputs=dict(d.get("inputs") or {}),
            ready=bool(d.get("ready", True)),
            tags=dict(d["tags"] or {}) if "tags" in d else None,
        )


@dataclass(frozen=True)
class NameRule:
    """A service's rules for a physical name."""

    max_len: int = 64
    lowercase: bool = False
    # characters allowed besides letters and digits; others become '-'
    allowed: str = "-_"
    suffix: str = ""  # e.g. ".fifo"


@dataclass
class Context:
    """What a resource needs to act: the target (clients, URLs), who owns it, where files are,
    and the attributes of resources created before it (for bare-name references)."""

    target: Target
    lab: str
    stack_id: str
    base_dir: Path
    resolved: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # the physical names and ARNs of the resources the same run deletes (a teardown): a delete
    # skips what their own deletes remove anyway (its grant on a function that goes too)
    deleting: frozenset[str] = frozenset()
    # the user's tags (the spec's `tags:`) for the resource being built; awslab's own win
    user_tags: Mapping[str, str] = field(default_factory=dict)
    # when the lab's stack was first created (the state's `created_at`): the same on every resource
    # and every `up`, so re-applying tags never changes it
    created_at: str = ""

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def physical_name(self, logical: str, rule: NameRule = NameRule()) -> str:
        return physical_name(self.lab, logical, self.stack_id, rule)

    def tags(self, logical: str) -> dict[str, str]:
        own = {TAG_LAB: self.lab, TAG_STACK: self.stack_id, TAG_LOGICAL: logical}
        return {**self.user_tags, **own, **({TAG_CREATED: self.created_at} if self.created_at else {})}

    def attrs_of(self, logical: str) -> Mapping[str, Any]:
        """Attributes of another resource of this lab (one this resource depends on)."""
        return self.resolved[logical]

    def goes_too(self, name_or_arn: str) -> bool:
        """Whether the resource of this name or ARN is deleted by the same run."""
        return name_or_arn in self.deleting

    def path(self, relative: str) -> Path:
        """A path from the spec, resolved against the spec file's directory."""
        p = Path(relative)
        return p if p.is_absolute() else (self.base_dir / p).resolve()


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def arn_of(
    target: Target, service: str, resource: str, *, regional: bool = True, account: bool = True
) -> str:
    """The ARN AWS gives a resource of `service` on `target`: arn:partition:service:region:
    account:resource (IAM's have no region, S3 buckets' neither region nor account)."""
    region = target.region if regional else ""
    owner = target.account_id if account else ""
    return f"arn:{partition_of(target.region)}:{service}:{region}:{owner}:{resource}"


def physical_name(lab: str, logical: str, stack_id: str, rule: NameRule = NameRule()) -> str:
    """`awslab-<lab>-<logical>-<stack id>`, within the service's length and charset rules.

    When too long, the middle is shortened and a short hash of the full name keeps it unique.
    """
    full = f"{NAME_PREFIX}-{lab}-{logical}-{stack_id}"
    name = full.lower() if rule.lowercase else full
    allowed = re.escape(rule.allowed)
    name = re.sub(rf"[^A-Za-z0-9{allowed}]", "-", name)
    limit = rule.max_len - len(rule.suffix)
    if len(name) > limit:
        digest = hashlib.sha256(full.encode()).hexdigest()[:6]
        tail = f"-{digest}-{stack_id}".lower() if rule.lowercase else f"-{digest}-{stack_id}"
        name = name[: limit - len(tail)].rstrip("-._") + tail
    return name + rule.suffix


@dataclass
class Made:
    """One resource awslab made, as a kind's `list_made` finds it for `teardown --sweep`: its
    physical name, its tags (awslab's say whose it is), what the kind's `delete` needs besides the
    name (attrs of a "creating" record), and a line for the user."""

    physical: str
    tags: dict[str, str]
    attrs: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    # (kind, physical) of the tagged resource that owns this untaggable one (an event source
    # mapping without tags, its function): claimed only when that owner is
    owner: tuple[str, str] | None = None
    # something the kind made alongside its own resources, found after they went (a function's
    # log group): the name it is shown under, and its own place in the delete order
    kind: str = ""
    rank: int | None = None


_T = TypeVar("_T")


class Survey:
    """What one sweep has read so far, shared by the kinds' `list_made`: a listing several kinds
    need (functions, buckets) is asked once, and what a state records (`known`: kind, physical)
    is not even asked for its tags."""

    def __init__(self, target: Target, known: Collection[tuple[str, str]] = ()) -> None:
        self.target = target
        self._known = set(known)
        self._read: dict[str, Any] = {}

    def known(self, kind: str, physical: str) -> bool:
        return (kind, physical) in self._known

    def once(self, key: str, read: Callable[[], _T]) -> _T:
        if key not in self._read:
            self._read[key] = read()
        return self._read[key]  # type: ignore[no-any-return]


# Error codes that mean "this candidate cannot be ours here": no access, another region.
NOT_OURS = ("AccessDenied", "AccessDeniedException", "PermanentRedirect", "AuthorizationHeaderMalformed")


def read_tags(call: Callable[[], dict[str, str]], *untagged: str) -> dict[str, str] | None:
    """The tags `call` returns; {} for the error codes that mean "no tags"; None when the resource
    went away or cannot be read here (then a sweep does not claim it)."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as exc:
        if error_code(exc) in untagged:
            return {}
        if is_not_found(exc) or error_code(exc) in NOT_OURS:
            return None
        raise


def logical_from_name(name: str, lab: str, stack: str) -> str:
    """The logical name in `awslab-<lab>-<logical>-<stack>` ("" when the name is not so made)."""
    head, tail = f"{NAME_PREFIX}-{lab}-".lower(), f"-{stack}".lower()
    low = name.lower()
    if low.startswith(head) and low.endswith(tail) and len(low) > len(head) + len(tail):
        return name[len(head) : len(name) - len(tail)]
    return ""


# a candidate for `tagged_made`: its name, how to read its tags, its delete attrs, a detail line
Candidate = tuple[str, Callable[[], dict[str, str]], dict[str, Any], str]


def tagged_made(
    survey: Survey, kind: str, candidates: Iterable[Candidate], prefix: str = f"{NAME_PREFIX}-"
) -> list[Made]:
    """The candidates named with awslab's prefix that no state records, with their tags (those
    gone meanwhile or not readable here are left out)."""
    out: list[Made] = []
    for name, tags, attrs, detail in candidates:
        if name.startswith(prefix) and not survey.known(kind, name):
            found = read_tags(tags)
            if found is not None:
                out.append(Made(name, found, attrs, detail))
    return out


def pages(client: Any, operation: str, key: str, **params: Any) -> Iterable[Any]:
    """Every item under `key` of every page of a paginated listing."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


def fingerprint_of(*parts: Any) -> str:
    """A stable hash of JSON-able parts (resolved props, code hashes): changes mean update."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Drift:
    """One managed setting changed outside awslab: its recorded (applied) and live values."""

    key: str
    label: str
    applied: Any
    live: Any
    shown: bool = False  # the values are short and safe to print

    def __str__(self) -> str:
        if isinstance(self.applied, dict) and isinstance(self.live, dict):
            # e.g. an environment: name the variables that differ, never their values
            names = sorted(k for k in {*self.applied, *self.live} if self.applied.get(k) != self.live.get(k))
            return f"{self.label} ({', '.join(names)})"
        if not self.shown:
            return self.label
        return f"{self.label} {_shown(self.applied)} -> {_shown(self.live)}"


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


P = TypeVar("P", bound=Props)


class UpdateNotSupported(Exception):
    """Raised by `update` when the change needs a replacement (delete, then create)."""


class Resource(ABC, Generic[P]):
    """One resource kind: `class Bucket(Resource[BucketProps])`. Subclasses set `kind`,
    `attributes`, `name_rule`; `props_model` is taken from the type argument."""

    kind: ClassVar[str]
    # the kind's fields, the class its type argument names (set by __init_subclass__)
    props_model: ClassVar[type[Props]]
    # attributes a `${logical.attr}` reference may name; `create` returns at least these
    attributes: ClassVar[tuple[str, ...]] = ("name", "arn")
    name_rule: ClassVar[NameRule] = NameRule()
    # attrs that `read` returns live and `create` / `update` record as applied: a difference is
    # drift, repaired by `update` (which must set every one of them from the props)
    drift_keys: ClassVar[tuple[str, ...]] = ()
    # how a drift key is named to the user (default: the key with spaces)
    drift_labels: ClassVar[Mapping[str, str]] = {}
    # drift keys whose values are short and safe to show ("memory 128 -> 512"); others by name
    drift_shown: ClassVar[frozenset[str]] = frozenset()
    # fields whose change needs a replacement (delete, then create), so a plan can say so
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    # the kind that bare logical names in `dependencies()` must name (route targets), if any
    dependency_kind: ClassVar[str | None] = None
    # attributes `predict` knows from the physical name alone, before the resource exists
    predictable: ClassVar[frozenset[str]] = frozenset()
    # fields that only name other resources (policy statements): a reference there to a
    # predictable attribute is resolved from the prediction and adds no dependency
    name_only_fields: ClassVar[frozenset[str]] = frozenset()
    # kinds of dependencies that must be finished (`wait_ready` and `link` done), not only named,
    # before this resource is created or updated
    needs_ready: ClassVar[frozenset[str]] = frozenset()
    # whether `delete` needs the resources this one depends on to be there still (it takes out
    # what it put in them: objects from a bucket), so that a teardown deletes it first; False
    # for kinds whose delete is done without them (or skips them when they go too, `goes_too`)
    delete_needs_dependencies: ClassVar[bool] = True
    # whether AWS makes what uses it wait a while after it is made (a role propagating to the
    # services that assume it): then `up` starts it before the others that are ready with it
    starts_first: ClassVar[bool] = False
    # where `teardown --sweep` deletes what it finds of the kind: lower ranks first, so what uses
    # others goes before what it uses (a mapping 10, an API 20, a function 40, a role 80)
    sweep_rank: ClassVar[int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):  # its own bases (a subclass of a kind inherits)
            if get_origin(base) is Resource:
                (model,) = get_args(base)
                if not (isinstance(model, type) and issubclass(model, Props)):
                    raise TypeError(f"{cls.__name__}: Resource[...] takes the kind's Props model")
                cls.props_model = model
        if not hasattr(cls, "props_model"):
            raise TypeError(
                f"{cls.__name__}: name the kind's fields, e.g. class {cls.__name__}(Resource[XProps])"
            )

    def __init__(self, ctx: Context, logical: str, props: P) -> None:
        self.ctx = ctx
        self.logical = logical
        self.props: P = props

    # ---- identity ------------------------------------------------------------------------
    @property
    def physical(self) -> str:
        return self.ctx.physical_name(self.logical, self.name_rule)

    @classmethod
    def dependencies(cls, props: P) -> set[str]:
        """Logical names this resource needs besides its `${...}` references (e.g. route targets
        given as bare names). Spec validation checks they exist."""
        return set()

    @classmethod
    def delete_needs(cls, record: Record, records: Mapping[str, Record]) -> set[str]:
        """Of the resources this one depends on (logical names, among the lab's `records`),
        those its delete needs still there: all of them when `delete_needs_dependencies`."""
        return set(record.depends_on) if cls.delete_needs_dependencies else set()

    @classmethod
    def link_dependencies(cls, props: P) -> set[str]:
        """Of the dependencies, those that only `link` needs made, not `create` nor `wait_ready`:
        meanwhile these read their `predictable` attributes (an API's methods name the functions
        they invoke by ARN; only the invoke permissions need them to exist). None by default."""
        return set()

    @classmethod
    def local_files(cls, props: P, spec_dir: Path) -> Iterable[tuple[str, Path]]:
        """(relative path, path) of the files of the spec's project this kind zips or uploads, by
        the same walk that build and upload use: validation walks them too, so a symlink leading
        outside the project is refused before anything is created. None by default."""
        return ()

    def fingerprint(self) -> str:
        """Changes when the resource must be updated: by default its resolved props. Kinds with
        code or files add their content hash."""
        return fingerprint_of(self.kind, self.props.model_dump(mode="json"))

    # ---- boto3 calls ---------------------------------------------------------------------
    @abstractmethod
    def create(self) -> dict[str, Any]:
        """Create the resource; return its attributes (at least `attributes`)."""

    def wait_ready(self) -> bool:
        """After `create` (or `update`) of this instance: finish the resource (see above) and wait
        until AWS has made it usable. True when it had to wait. By default usable at once."""
        return False

    def link(self) -> bool:
        """After `create` (or `update`) of this instance, once its `link_dependencies` exist: what
        needs them (an API's invoke permissions on its functions). It runs beside `wait_ready`, as
        a step of its own. True when it had work to do. By default nothing."""
        return False

    def ready_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The attributes to record once every finishing step of this instance has succeeded,
        from those recorded with its create or update. The same by default; an API records the
        invoke permissions `link` may add until it has run, then only those it added."""
        return attrs

    @classmethod
    def has_wait_ready(cls) -> bool:
        """Whether the kind overrides `wait_ready`."""
        return cls.wait_ready is not Resource.wait_ready

    @classmethod
    def has_link(cls) -> bool:
        """Whether the kind overrides `link`."""
        return cls.link is not Resource.link

    @classmethod
    def has_readiness(cls) -> bool:
        """Whether `create` may return before the resource is usable: the kind finishes it in
        steps of their own (`wait_ready`, `link`)."""
        return cls.has_wait_ready() or cls.has_link()

    @classmethod
    def predict(cls, target: Target, physical: str) -> dict[str, Any]:
        """The `predictable` attributes of the resource named `physical` on `target`."""
        return {}

    @classmethod
    def retag(cls, ctx: Context, record: Record, tags: Mapping[str, str], dropped: Collection[str]) -> None:
        """The spec's user tags changed: put `tags` (the user's, all of them) on the resource and
        take the `dropped` keys (user tags no longer in the spec) off; awslab's own stay. Kinds
        whose resources have no tags of their own (a notification, a URL) do not override it."""

    @classmethod
    def has_tags(cls) -> bool:
        """Whether the kind's resources carry tags that `retag` keeps in line with the spec."""
        return getattr(cls.retag, "__func__", None) is not Resource.retag.__func__  # type: ignore[attr-defined]

    @classmethod
    def can_update(cls) -> bool:
        """Whether the kind updates in place at all (it overrides `update`)."""
        return cls.update is not Resource.update

    def update(self, record: Record) -> dict[str, Any]:
        """Bring an existing resource in line with `props`; return its new attributes.
        Raise UpdateNotSupported when it must be replaced."""
        raise UpdateNotSupported(self.kind)

    @classmethod
    @abstractmethod
    def read(cls, ctx: Context, record: Record) -> dict[str, Any] | None:
        """Live attributes of the resource (with the live values of `drift_keys`), or None when
        it does not exist."""

    # Kinds whose AWS API lists them with what `read` needs override `read_many` and say so here.
    reads_many: ClassVar[bool] = False

    @classmethod
    def read_many(cls, ctx: Context, records: list[Record]) -> dict[str, dict[str, Any] | None]:
        """`read` of several resources of this kind (physical name -> live attributes), with one
        listing where `reads_many` (resources/listing.py); by default one `read` each."""
        return {r.physical: cls.read(ctx, r) for r in records}

    @classmethod
    def drift(cls, record: Record, live: Mapping[str, Any]) -> list[Drift]:
        """The managed settings whose live value differs from the one recorded when awslab last
        applied the spec. A key the record lacks (written by an older awslab) is not compared:
        the next update records it."""
        return [
            Drift(
                key,
                cls.drift_labels.get(key, key.replace("_", " ")),
                record.attrs[key],
                live[key],
                key in cls.drift_shown,
            )
            for key in cls.drift_keys
            if key in record.attrs and key in live and live[key] != record.attrs[key]
        ]

    @classmethod
    @abstractmethod
    def delete(cls, ctx: Context, record: Record) -> None:
        """Delete it and everything that belongs only to it. "Not found" is success."""

    @classmethod
    def list_made(cls, target: Target, survey: Survey | None = None) -> list[Made]:
        """What awslab made of this kind on `target`, for `teardown --sweep`: resources named
        `awslab-...` with their tags (the sweep claims those whose awslab tags say so), untaggable
        ones through their owner (`Made.owner`). `survey` shares listings between kinds and skips
        the tags of what a state records. Every kind says (a test checks), with its `sweep_rank`."""
        raise NotImplementedError(f"{cls.kind} does not say how to find what awslab made of it")


REGISTRY: dict[str, type[Resource[Any]]] = {}
R = TypeVar("R", bound="Resource[Any]")


def register(cls: type[R]) -> type[R]:
    """Class decorator: make a kind available to specs under `cls.kind`."""
    if cls.kind in REGISTRY and REGISTRY[cls.kind] is not cls:
        raise RuntimeError(f"resource kind {cls.kind} registered twice")
    REGISTRY[cls.kind] = cls
    return cls


def kind_class(kind: str) -> type[Resource[Any]]:
    cls = find_kind(kind)
    if cls is None:
        raise KeyError(kind)
    return cls


def find_kind(kind: str) -> type[Resource[Any]] | None:
    """The class of `kind` (None: no module defines it), importing only the module its name
    points to when it can: kind `svc.thing` lives in awslab/resources/svc_thing.py, or with the
    other kinds of its service in svc.py (`lambda`, a keyword, in awslambda.py). A kind in a module
    named otherwise is still found, by importing every module (`load_kinds`): `up` of a lab then
    pays for all of them (about 11 ms), not for its own few."""
    if kind in REGISTRY:
        return REGISTRY[kind]
    import importlib

    service, _, thing = kind.partition(".")
    named = service.isidentifier() and thing.isidentifier()  # never a path of the user's making
    for module in (f"{service}_{thing}", service, f"aws{service}") if named else ():
        name = f"awslab.resources.{module}"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a module that is there but fails to import is an error
                raise
            continue
        if kind in REGISTRY:
            return REGISTRY[kind]
    return load_kinds().get(kind)


def load_kinds() -> dict[str, type[Resource[Any]]]:
    """Import every kind module once (each registers its classes). A module imported directly
    before (by a command that needs one kind) does not count as all of them loaded."""
    global _ALL_LOADED
    if not _ALL_LOADED:
        import importlib
        import pkgutil

        import awslab.resources as pkg

        for mod in pkgutil.iter_modules(pkg.__path__):
            if mod.name not in ("base", "retry", "idempotent", "fanout"):
                importlib.import_module(f"awslab.resources.{mod.name}")
        _ALL_LOADED = True
    return REGISTRY


_ALL_LOADED = False


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _arn_or_reference(value: str) -> str:
    if not (value.startswith("arn:") or "${" in value):
        raise ValueError("must be an ARN, e.g. a ${logical.arn} reference")
    return value


# A field that takes an ARN, usually given as a `${logical.arn}` reference.
ArnRef = Annotated[str, AfterValidator(_arn_or_reference)]


def is_not_found(exc: BaseException, *codes: str) -> bool:
    """True for a botocore ClientError whose code says the resource does not exist."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    known = {
        "NoSuchEntity",
        "ResourceNotFoundException",
        "NotFoundException",
        "NoSuchBucket",
        "NoSuchKey",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "StateMachineDoesNotExist",
        "404",
        "NoSuchWebsiteConfiguration",
        "NoSuchCORSConfiguration",
        "NoSuchBucketPolicy",
        "NoSuchUpload",
    }
    return code in known or code in codes or (status == 404 and not codes)


@contextmanager
def missing_ok(*codes: str) -> Iterator[None]:
    """Run the block; when AWS answers that what it names does not exist (`is_not_found`, given
    `codes`), end it quietly: deleting what is gone is done. The one way to say "not found is
    fine"; `ignore_missing` is its form for one call, `or_none` for a read."""
    try:
        yield
    except Exception as exc:
        if not is_not_found(exc, *codes):
            raise


def or_none(call: Callable[[], _T]) -> _T | None:
    """What `call` reads, or None when AWS answers that it does not exist (a `read` finds nothing)."""
    with missing_ok():
        return call()
    return None


def ignore_missing(call: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
    """`call(*args, **kwargs)` under `missing_ok()`: for calls made together (`fanout.together`)."""
    with missing_ok():
        call(*args, **kwargs)
