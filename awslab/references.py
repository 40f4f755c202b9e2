"""`${logical.attribute}` references in a spec's values: finding them (for dependencies and
validation) and substituting attribute values for them (when a resource is made)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REF_RE = re.compile(r"\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}")


def references(value: Any) -> set[tuple[str, str]]:
    """Every (logical, attribute) that `value` mentions, at any depth."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, str):
        found.update(REF_RE.findall(value))
    elif isinstance(value, Mapping):
        for k, v in value.items():
            found |= references(k) | references(v)
    elif isinstance(value, list | tuple):
        for v in value:
            found |= references(v)
    return found


def resolve(value: Any, attrs: Mapping[str, Mapping[str, Any]]) -> Any:
    """Replace references with attribute values. A string that is exactly one reference takes
    the attribute's value as is (it may be a list); embedded references are formatted in."""
    if isinstance(value, str):
        whole = REF_RE.fullmatch(value)
        if whole:
            return attrs[whole.group(1)][whole.group(2)]
        return REF_RE.sub(lambda m: str(attrs[m.group(1)][m.group(2)]), value)
    if isinstance(value, Mapping):
        return {resolve(k, attrs): resolve(v, attrs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, attrs) for v in value]
    return value
