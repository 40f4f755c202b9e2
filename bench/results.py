"""`bench/RESULTS.md` is written by several benchmarks: each owns one section, between
`<!-- begin NAME -->` and `<!-- end NAME -->`, and leaves the others as they are."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
_TITLE = (
    "# awslab benchmarks\n\nEach section is written by the script it names; run it again to refresh it.\n"
)


def write_section(name: str, text: str, path: Path = RESULTS) -> None:
    """Put `text` in the section `name` of `path`, replacing what was there, appending if new."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    old = path.read_text() if path.exists() else _TITLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    new = pattern.sub(lambda _: block, old) if pattern.search(old) else f"{old.rstrip()}\n\n{block}\n"
    path.write_text(new if new.endswith("\n") else new + "\n")
