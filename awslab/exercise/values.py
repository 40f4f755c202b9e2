"""Values given on the command line: JSON options (`--json`, `--payload`, `--input`) and bodies,
each given inline, as `@FILE` (the file's contents) or `@-` (standard input), as curl and the AWS
CLI take them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from awslab.errors import UsageError


def _stdin() -> str:
    return sys.stdin.read()


def option_text(text: str, option: str, *, stdin: Callable[[], str] = _stdin) -> str:
    """`text` itself; with `@FILE` the file's contents; with `@-` all of standard input."""
    if not text.startswith("@"):
        return text
    if text == "@-":
        return stdin()
    path = Path(text[1:]).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{option} {text}: not a UTF-8 text file") from None
    except OSError as exc:
        raise UsageError(f"{option} {text}: cannot read the file: {exc.strerror}") from None


def json_option(text: str, option: str, *, stdin: Callable[[], str] = _stdin) -> Any:
    """The JSON value of an option given inline, as `@FILE` or as `@-`; UsageError naming it."""
    source = option if not text.startswith("@") else f"{option} {text}"
    value = option_text(text, option, stdin=stdin)
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint=f'quote it for the shell, e.g. {option} \'{{"id": "1"}}\', or give a file: {option} @event.json',
        ) from None
