"""The check-action contract: one class per action of a lab's `checks:` (call, invoke, upload, ...),
registered like the resource kinds (resources/base.py), and the `Check` model derived from the
registry.

An action declares the YAML key that names it (`send-message`), the type of that key's value, the
other fields it takes (an `Options` model: `api`, `json`, `queue`, `attributes`, ...), which
expectations it can observe, the resources and files its fields name (validated with the spec),
and how it runs against a deployed lab. Adding an action is adding one module to this package.

This module is imported by the spec loader: it stays light (no boto3, no exercise code). What an
action needs to run is imported when it runs.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    from awslab.exercise.labs import DeployedLab
    from awslab.target import Target

M = TypeVar("M", bound=BaseModel)


class Expect(BaseModel):
    """What a check expects; each action observes some of these (`Action.observes`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    status: int | None = None
    json_: Any = Field(default=None, alias="json")
    body_contains: str | None = None
    error: bool | None = None  # invoke, start-execution: whether it failed
    output: Any = None  # start-execution: subset of the output
    execution_status: str | None = None  # start-execution: SUCCEEDED / FAILED
    record: Any = None  # send-message / publish / upload: subset of what the consumer wrote


# How an expectation is named in YAML (and in messages) when that differs from its attribute.
EXPECT_NAMES = {"json_": "json"}


class NoOptions(BaseModel):
    """An action that takes no field besides its own key."""


class Check(BaseModel):
    """One step of a lab's end-to-end scenario: a name, exactly one action key with its value,
    that action's options, and what to expect. The model specs use is `check_model()`: this class
    with every registered action's fields added."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str | None = None
    expect: Expect = Field(default_factory=Expect)

    @model_validator(mode="after")
    def _one_action(self) -> Check:
        actions = ordered_actions()
        given = [a for a in actions if getattr(self, a.attr(), None) is not None]
        if len(given) != 1:
            raise ValueError(f"a check needs exactly one of: {', '.join(a.key for a in actions)}")
        action = given[0]
        own = set(action.Options.model_fields)
        for other in actions:
            for name in set(other.Options.model_fields) - own:
                if name in self.model_fields_set:
                    alias = other.Options.model_fields[name].alias or name
                    raise ValueError(
                        f"'{alias}' does not apply to {action.key} (it is a field of {other.key})"
                    )
        return self

    @property
    def handler(self) -> type[Action]:
        """The class of this check's action."""
        return next(a for a in ordered_actions() if getattr(self, a.attr(), None) is not None)

    @property
    def action(self) -> str:
        """The action's attribute name: send_message for `send-message`."""
        return self.handler.attr()

    @property
    def action_key(self) -> str:
        """The action as written in YAML: send-message."""
        return self.handler.key

    @property
    def value(self) -> Any:
        """The value of the action's key."""
        return getattr(self, self.action)

    def options(self, model: type[M]) -> M:
        """The action's own fields, as its `Options` model (already validated as part of this one)."""
        return model.model_construct(**{name: getattr(self, name) for name in model.model_fields})


class CheckRun(Protocol):
    """What an action gets to run: the deployed lab, the target, the spec's directory, and
    `resolve` for the `${logical.attribute}` references in its values."""

    @property
    def lab(self) -> DeployedLab: ...

    @property
    def target(self) -> Target: ...

    @property
    def base_dir(self) -> Path: ...

    def resolve(self, value: Any) -> Any: ...


@dataclass
class Observation:
    """What a check can compare (`seen`, keyed by the names of `Expect`'s attributes, plus
    `body`, the text `body_contains` looks in) and the action's result (a dataclass with
    `to_dict()`)."""

    seen: dict[str, Any]
    result: Any


class Action(ABC):
    """One check action. Subclasses set `key`, `order`, `observes` and, when they take more than
    their key, `Options`; they implement `run`."""

    key: ClassVar[str]  # as written in YAML: "send-message"
    order: ClassVar[int]  # place in lists and messages
    value_type: ClassVar[Any] = Any  # the type of the key's value
    Options: ClassVar[type[BaseModel]] = NoOptions  # the fields it takes besides its key
    observes: ClassVar[frozenset[str]]  # the Expect attributes it can compare

    @classmethod
    def attr(cls) -> str:
        return cls.key.replace("-", "_")

    @classmethod
    def resources(cls, check: Check) -> list[tuple[str, tuple[str, ...]]]:
        """(logical name, kinds it may be) of each resource the check names: validated with the spec."""
        return []

    @classmethod
    def paths(cls, check: Check) -> dict[str, str]:
        """{field as written: "file" | "directory"} of the check's fields that name a path of the
        spec's project."""
        return {}

    @classmethod
    def describe(cls, check: Check) -> str:
        """The check's name when it has none: the action and its value."""
        value = check.value
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return f"{cls.key} {text}" if text not in ("true", "{}") else cls.key

    @classmethod
    def problem(cls, check: Check, seen: Mapping[str, Any]) -> str:
        """A failure of the action's own, beyond what `expect` says ("" when none)."""
        return ""

    @classmethod
    @abstractmethod
    def run(cls, check: Check, run: CheckRun) -> Observation:
        """Do the action against the deployed lab and observe what happened."""


def shown(value: Any, limit: int = 80) -> str:
    """A value in a message: JSON (a string quoted), cut at `limit` characters."""
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


REGISTRY: dict[str, type[Action]] = {}
_ALL_LOADED = False


def register(cls: type[Action]) -> type[Action]:
    """Class decorator: make an action available to specs under `cls.key`."""
    if cls.key in REGISTRY and REGISTRY[cls.key] is not cls:
        raise RuntimeError(f"check action {cls.key} registered twice")
    REGISTRY[cls.key] = cls
    return cls


def load_actions() -> dict[str, type[Action]]:
    """Import every action module of this package once (each registers its class)."""
    global _ALL_LOADED
    if not _ALL_LOADED:
        import awslab.exercise.actions as pkg

        for mod in pkgutil.iter_modules(pkg.__path__):
            if mod.name != "base":
                importlib.import_module(f"awslab.exercise.actions.{mod.name}")
        _ALL_LOADED = True
    return REGISTRY


def ordered_actions() -> list[type[Action]]:
    return sorted(load_actions().values(), key=lambda a: (a.order, a.key))


def action_named(key: str) -> type[Action]:
    return load_actions()[key]


def _fields() -> dict[str, tuple[Any, FieldInfo]]:
    """Every action's key and options as fields of one model. Actions may share an option (both
    message actions take `attributes`) when they declare it alike."""
    fields: dict[str, tuple[Any, FieldInfo]] = {}
    owner: dict[str, str] = {}
    for action in ordered_actions():
        alias = action.key if action.attr() != action.key else None
        key_field = cast(FieldInfo, Field(default=None, alias=alias))
        wanted: dict[str, tuple[Any, FieldInfo]] = {action.attr(): (action.value_type | None, key_field)}
        for name, info in action.Options.model_fields.items():
            wanted[name] = (info.annotation, info)
        for name, (annotation, info) in wanted.items():
            if name in fields and (fields[name][0] != annotation or fields[name][1].alias != info.alias):
                raise RuntimeError(f"check field {name} of {action.key} differs from that of {owner[name]}")
            fields.setdefault(name, (annotation, info))
            owner.setdefault(name, action.key)
    return fields


def _validators() -> dict[str, Any]:
    """The field validators of every action's `Options`, to run on the same fields of `Check`."""
    out: dict[str, Any] = {}
    seen: set[Any] = set()
    for action in ordered_actions():
        for name, dec in action.Options.__pydantic_decorators__.field_validators.items():
            func = getattr(dec.func, "__func__", dec.func)  # a classmethod comes bound to its class
            if func not in seen:
                seen.add(func)
                validator = field_validator(*dec.info.fields, mode=dec.info.mode)(classmethod(func))
                out[f"_{action.attr()}_{name}"] = validator
    return out


_MODEL: type[Check] | None = None


def build_check_model() -> type[Check]:
    """`Check` with every registered action's fields: the model a spec's `checks:` validate with."""
    model: type[Check] = create_model(  # type: ignore[call-overload]
        "Check", __base__=Check, __module__=__name__, __validators__=_validators(), **_fields()
    )
    return model


def check_model() -> type[Check]:
    """The model of `build_check_model`, built once."""
    global _MODEL
    if _MODEL is None:
        _MODEL = build_check_model()
    return _MODEL
