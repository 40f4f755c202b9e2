"""The pieces of IAM policy evaluation the local cloud's checks share: a policy document's
statements, a policy element that may be one value or a list, and IAM's wildcards (`*` any run of
characters, `?` one; action names compare case-insensitively, resources and ARNs exactly). Each
caller decides what counts (Deny, Principal, Condition), as the AWS check it stands for does."""

from __future__ import annotations

import functools
import json
import re
from typing import Any


def statements(document: Any) -> list[dict[str, Any]]:
    """A policy's statements (a JSON string or parsed; a lone statement object counts as one)."""
    parsed = json.loads(document) if isinstance(document, str) else document
    found = parsed.get("Statement", []) if isinstance(parsed, dict) else []
    return [s for s in listed(found) if isinstance(s, dict)]


def listed(value: Any) -> list[Any]:
    """A policy element as a list: IAM allows a single value where a list is expected."""
    return value if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=512)  # the same few patterns come back at every request
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether `value` matches the IAM wildcard `pattern` as a whole."""
    return _regex(pattern, ignore_case).fullmatch(value) is not None


def names_action(patterns: Any, action: str) -> bool:
    """Whether a statement's Action element (one pattern or a list) covers `action`."""
    return any(isinstance(p, str) and wildcard(p, action, ignore_case=True) for p in listed(patterns))


def names_resource(patterns: Any, resource: str) -> bool:
    """Whether a statement's Resource element (one pattern or a list) covers `resource`."""
    return any(isinstance(p, str) and wildcard(p, resource) for p in listed(patterns))


def allowed(found: list[dict[str, Any]], action: str, resource: str) -> bool:
    """An identity policy's verdict, conditions not evaluated: some statement naming `action` on
    `resource` allows it and none denies it."""
    matching = [
        s
        for s in found
        if names_action(s.get("Action"), action) and names_resource(s.get("Resource"), resource)
    ]
    return any(s.get("Effect") == "Allow" for s in matching) and not any(
        s.get("Effect") == "Deny" for s in matching
    )
