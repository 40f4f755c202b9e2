"""References in a spec's values: finding them (for dependencies and validation) and substituting
values for them (when a resource is made).

- `${logical.attribute}`: an attribute of another resource of the lab;
- `${param.key}`, `${lab.name}`, `${aws.region}`, `${aws.account_id}`: built-in values, under
  namespaces that are no resources (`BUILTIN`); the engine resolves them from mappings under
  those names, as it does attributes;
- `${ssm:/path}`, `${secretsmanager:name}`, `${secretsmanager:name:json-key}`: values read from
  the target when `up` runs, found in the mapping under `EXTERNAL`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REF_RE = re.compile(r"\$\{([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}")
# namespaces of built-in values: no logical name may be one of them
BUILTIN = frozenset({"param", "lab", "aws"})
BUILTIN_ATTRS: Mapping[str, frozenset[str]] = {
    "lab": frozenset({"name"}),
    "aws": frozenset({"region", "account_id"}),
}
# anything that starts like an external reference, to report the malformed ones
EXTERNAL_START = re.compile(r"\$\{(ssm|secretsmanager):([^}]*)\}")
SSM_NAME = re.compile(r"/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")
SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")
EXTERNAL = "#external"  # key of the mapping: reference text -> value (not a valid logical name)


def references(value: Any) -> set[tuple[str, str]]:
    """Every (logical, attribute) of another resource that `value` mentions, at any depth."""
    return {(n, a) for n, a in all_references(value) if n not in BUILTIN}


def builtin_references(value: Any) -> set[tuple[str, str]]:
    """Every (namespace, key) of a built-in value that `value` mentions."""
    return {(n, a) for n, a in all_references(value) if n in BUILTIN}


def all_references(value: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for s in strings(value):
        found.update(REF_RE.findall(s))
    return found


def external_references(value: Any) -> set[str]:
    """The text of every `${ssm:...}` / `${secretsmanager:...}` reference in `value`."""
    return {m.group(0) for s in strings(value) for m in EXTERNAL_START.finditer(s)}


def external_problem(ref: str) -> str | None:
    """What is wrong with an external reference's text, or None."""
    m = EXTERNAL_START.fullmatch(ref)
    if m is None:
        return "not a reference"
    service, rest = m.groups()
    if service == "ssm":
        if not SSM_NAME.fullmatch(rest) or len(rest) > 2048:
            return "expected ${ssm:/parameter/name} (letters, digits, '.', '-', '_' and '/')"
        return None
    name, _, key = rest.partition(":")
    if not SECRET_NAME.fullmatch(name) or len(name) > 512 or (":" in rest and not key):
        return "expected ${secretsmanager:name} or ${secretsmanager:name:json-key}"
    return None


def strings(value: Any) -> list[str]:
    """Every string in `value` (mapping keys too), at any depth."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


def resolve(value: Any, attrs: Mapping[str, Mapping[str, Any]]) -> Any:
    """Replace references with their values. A string that is exactly one reference takes the
    value as is (it may be a list); embedded references are formatted in."""
    if isinstance(value, str):
        whole = REF_RE.fullmatch(value)
        if whole:
            return attrs[whole.group(1)][whole.group(2)]
        whole_external = EXTERNAL_START.fullmatch(value)
        if whole_external:
            return attrs[EXTERNAL][value]
        value = REF_RE.sub(lambda m: str(attrs[m.group(1)][m.group(2)]), value)
        if "${" in value and EXTERNAL_START.search(value):
            value = EXTERNAL_START.sub(lambda m: str(attrs[EXTERNAL][m.group(0)]), value)
        return value
    if isinstance(value, Mapping):
        return {resolve(k, attrs): resolve(v, attrs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, attrs) for v in value]
    return value


def substitute(value: Any, values: Mapping[str, Mapping[str, Any]], *, typed: bool = True) -> Any:
    """Resolve only the references to the namespaces in `values` (params and the lab's name, at
    load), leaving the others as they are; mapping keys are left too (their line numbers). A
    string that is one reference takes the value as is when `typed` (`memory: ${param.memory}`
    stays a number), else its text."""

    def one(m: re.Match[str]) -> str:
        ns, key = m.group(1), m.group(2)
        return str(values[ns][key]) if ns in values and key in values[ns] else m.group(0)

    if isinstance(value, str):
        whole = REF_RE.fullmatch(value)
        if typed and whole and whole.group(1) in values and whole.group(2) in values[whole.group(1)]:
            return values[whole.group(1)][whole.group(2)]
        return REF_RE.sub(one, value) if "${" in value else value
    if isinstance(value, Mapping):
        return {k: substitute(v, values, typed=typed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, values, typed=typed) for v in value]
    return value


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every secret's text (secrets: reference -> value) replaced by its reference,
    for what is written to the state file or shown. Secrets shorter than 4 characters are left:
    replacing them would garble unrelated text (and they protect nothing)."""
    shown = sorted(((v, ref) for ref, v in secrets.items() if len(v) >= 4), key=lambda p: -len(p[0]))
    if not shown:
        return value

    def one(v: Any) -> Any:
        if isinstance(v, str):
            for secret, ref in shown:
                v = v.replace(secret, ref)
            return v
        if isinstance(v, Mapping):
            return {k: one(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [one(x) for x in v]
        return v

    return one(value)
