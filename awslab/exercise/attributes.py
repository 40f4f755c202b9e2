"""Message attributes for SQS SendMessage and SNS Publish: from a check's YAML (`attributes:
{colour: red, size: 5}`) or the command line (`--attribute colour=red`, `--attribute
size:Number=5`), in the forms the APIs take and SNS's filter policies read.

Light on purpose: the check actions' models use it while a spec is validated.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from awslab.errors import UsageError

# SQS and SNS take at most 10 attributes per message; names of letters, digits, '_', '-', '.'.
MAX_ATTRIBUTES = 10
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,256}")
# A type is one of these, optionally with a custom suffix ("Number.float"), as the APIs allow.
TYPES = ("String", "Number", "Binary", "String.Array")


@dataclass(frozen=True)
class MessageAttribute:
    data_type: str  # String, Number, Binary, String.Array (SNS only), maybe with a ".suffix"
    value: str  # as sent: a number's text, an array's JSON, binary content in base64

    @property
    def base_type(self) -> str:
        return "String.Array" if self.data_type.startswith("String.Array") else self.data_type.split(".")[0]


def _name(name: str) -> str:
    if not _NAME_RE.fullmatch(name) or name.startswith(("AWS.", "Amazon.")) or ".." in name:
        raise ValueError(
            f"invalid attribute name {name!r}: letters, digits, '_', '-' and '.', not starting "
            "with AWS. or Amazon."
        )
    return name


def _checked(data_type: str, value: str) -> MessageAttribute:
    base = data_type.split(".")[0] if not data_type.startswith("String.Array") else "String.Array"
    if base not in TYPES:
        raise ValueError(f"unknown attribute type {data_type!r}; use one of {', '.join(TYPES)}")
    if base == "Number":
        try:
            float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    elif base == "Binary":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a Binary attribute's value is base64") from None
    elif base == "String.Array":
        try:
            ok = isinstance(json.loads(value), list)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"a String.Array attribute's value is a JSON array, got {value!r}")
    return MessageAttribute(data_type, value)


def from_value(name: str, value: Any) -> MessageAttribute:
    """A YAML value as an attribute: text as String, a number as Number, a list as String.Array,
    a mapping {type, value} as written."""
    _name(name)
    if isinstance(value, Mapping):
        if set(value) != {"type", "value"}:
            raise ValueError(f"attribute {name}: expected a value, or {{type: ..., value: ...}}")
        raw = value["value"]
        text = json.dumps(raw) if isinstance(raw, list) else str(raw)
        return _checked(str(value["type"]), text)
    if isinstance(value, bool):
        return MessageAttribute("String", "true" if value else "false")
    if isinstance(value, int | float):
        return MessageAttribute("Number", str(value))
    if isinstance(value, list):
        return MessageAttribute("String.Array", json.dumps(value))
    if isinstance(value, str):
        return MessageAttribute("String", value)
    raise ValueError(f"attribute {name}: expected text, a number or a list, got {type(value).__name__}")


def from_values(values: Mapping[str, Any] | None) -> dict[str, MessageAttribute]:
    """A check's `attributes:` mapping; ValueError on anything SQS or SNS would refuse."""
    if not values:
        return {}
    if len(values) > MAX_ATTRIBUTES:
        raise ValueError(f"at most {MAX_ATTRIBUTES} message attributes, got {len(values)}")
    return {str(k): from_value(str(k), v) for k, v in values.items()}


def parse_options(items: Iterable[str]) -> dict[str, MessageAttribute]:
    """`--attribute NAME=VALUE` (a String) or `--attribute NAME:TYPE=VALUE`; UsageError naming it."""
    out: dict[str, MessageAttribute] = {}
    for item in items:
        head, sep, value = item.partition("=")
        name, _, data_type = head.partition(":")
        try:
            if not sep:
                raise ValueError("expected NAME=VALUE")
            out[_name(name.strip())] = _checked(data_type.strip() or "String", value)
        except ValueError as exc:
            raise UsageError(
                f"--attribute {item!r}: {exc}",
                hint="e.g. --attribute colour=red, --attribute size:Number=5, "
                '--attribute tags:String.Array=\'["a", "b"]\'',
            ) from None
    if len(out) > MAX_ATTRIBUTES:
        raise UsageError(f"at most {MAX_ATTRIBUTES} message attributes, got {len(out)}")
    return out


def api_form(attributes: Mapping[str, MessageAttribute], *, service: str) -> dict[str, dict[str, Any]]:
    """MessageAttributes as SendMessage (service "sqs") and Publish ("sns") take them."""
    out: dict[str, dict[str, Any]] = {}
    for name, a in attributes.items():
        if a.base_type == "String.Array" and service == "sqs":
            raise UsageError(
                f"attribute {name}: String.Array is an SNS type; an SQS message takes String, Number or Binary"
            )
        if a.base_type == "Binary":
            out[name] = {"DataType": a.data_type, "BinaryValue": base64.b64decode(a.value)}
        else:
            out[name] = {"DataType": a.data_type, "StringValue": a.value}
    return out


def sns_form(attributes: Mapping[str, MessageAttribute]) -> dict[str, dict[str, str]]:
    """{name: {Type, Value}}: how SNS shows attributes (in its envelopes, to filter policies)."""
    return {name: {"Type": a.data_type, "Value": a.value} for name, a in attributes.items()}


def to_dict(attributes: Mapping[str, MessageAttribute]) -> dict[str, dict[str, str]]:
    return {name: {"type": a.data_type, "value": a.value} for name, a in attributes.items()}
