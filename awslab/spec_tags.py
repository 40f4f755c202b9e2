"""User tags in a spec (`tags:` at the top and on each resource), checked as AWS checks them: a key
of 1 to 128 characters, a value of at most 256, letters, digits, spaces and `_ . : / = + - @`
only, no key starting with `aws:` (AWS's own) or `awslab:` (those awslab puts on every resource
to find it again: a user's value would break teardown and sweep), no two keys differing only by case
(IAM compares a role's tag keys case-insensitively: CreateRole refuses `Team` with `team`)."""

from __future__ import annotations

from collections.abc import Mapping

from awslab.yamlmap import KeyPath, dotted, line_for

MAX_KEY = 128
MAX_VALUE = 256
ALLOWED = set("_.:/=+-@")


def _bad_chars(text: str) -> list[str]:
    return sorted({c for c in text if not (c.isalnum() or c.isspace() or c in ALLOWED)})


def tag_problems(
    tags: Mapping[str, str],
    path: KeyPath,
    lines: Mapping[KeyPath, int],
    where: str,
    inherited: Mapping[str, str] | None = None,
) -> list[str]:
    """What is wrong with each of `tags` (at key path `path` of the spec), as spec problems;
    `inherited`: the spec's tags a resource's are merged over (a key of another case clashes)."""
    problems = []
    seen = {k.lower(): k for k in (inherited or {})}
    for key, value in tags.items():
        kpath = (*path, key)
        at = f"{where}:{line_for(lines, kpath)}: {dotted(kpath)}"
        other = seen.setdefault(key.lower(), key)
        if other != key:
            problems.append(f"{at}: tag keys {other!r} and {key!r} differ only by case, which IAM refuses "
                            "(its tag keys ignore case); keep one")  # fmt: skip
        if not 1 <= len(key) <= MAX_KEY:
            problems.append(f"{at}: a tag key has 1 to {MAX_KEY} characters (this one has {len(key)})")
        elif key.lower().startswith("awslab:"):
            problems.append(f"{at}: tag keys starting with 'awslab:' are awslab's own; choose another key")
        elif key.lower().startswith("aws:"):
            problems.append(f"{at}: tag keys starting with 'aws:' are reserved by AWS; choose another key")
        elif _bad_chars(key):
            problems.append(f"{at}: character(s) {''.join(_bad_chars(key))!r} not allowed in a tag key "
                            "(letters, digits, spaces and _ . : / = + - @)")  # fmt: skip
        if not isinstance(value, str):
            continue
        if len(value) > MAX_VALUE:
            problems.append(
                f"{at}: a tag value has at most {MAX_VALUE} characters (this one has {len(value)})"
            )
        elif "${" in value:
            problems.append(
                f"{at}: a tag value takes ${{param.…}} and ${{lab.name}} only (known when the spec is loaded)"
            )
        elif _bad_chars(value):
            problems.append(f"{at}: character(s) {''.join(_bad_chars(value))!r} not allowed in a tag value "
                            "(letters, digits, spaces and _ . : / = + - @)")  # fmt: skip
    return problems
