"""Workflow lab, step 1a: is the applicant's name acceptable?

Input: the application ({"name": ..., ...}) or the state machine's state
({"application": {...}, "execution": "<execution name>"}). Output: the input plus
"name_ok" (bool) and "name_reason" ("ok" or why not). Pure: no AWS calls.
"""

from __future__ import annotations

import unicodedata
from typing import Any

MIN_LENGTH = 2
MAX_LENGTH = 64
PUNCTUATION = " '-"


def validate_name(name: Any) -> tuple[bool, str]:
    if name is None:
        return False, "name is required"
    if not isinstance(name, str):
        return False, "name must be a string"
    # NFC so a letter with combining accents ("Nguye\u0302\u0303n") counts as one letter.
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name:
        return False, "name is required"
    if not MIN_LENGTH <= len(name) <= MAX_LENGTH:
        return False, f"name must be {MIN_LENGTH}-{MAX_LENGTH} characters, got {len(name)}"
    bad = sorted({c for c in name if not c.isalpha() and c not in PUNCTUATION})
    if bad:
        return False, "name may contain only letters, spaces, apostrophes and hyphens (found {})".format(
            " ".join(repr(c) for c in bad)
        )
    if not name[0].isalpha():
        return False, "name must start with a letter"
    return True, "ok"


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    application = event.get("application") if isinstance(event.get("application"), dict) else event
    ok, reason = validate_name(application.get("name"))
    return {**event, "name_ok": ok, "name_reason": reason}
