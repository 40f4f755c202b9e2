"""The README's "How fast" section quotes bench/RESULTS.md: the figures of the last run, not older
ones (issue 9). Reads two files; times nothing."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_quotes_the_figures_of_the_last_run() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from results import readme_quotes  # bench/ is a directory of scripts, not a package
    finally:
        sys.path.remove(str(ROOT / "bench"))
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## How fast") :]
    section = section[: section.index("\n## ", 1)]
    quotes = readme_quotes((ROOT / "bench" / "RESULTS.md").read_text())
    assert len(quotes) >= 10  # every section of RESULTS.md was found
    missing = [q for q in quotes if q not in section]
    assert not missing, f"README's 'How fast' does not quote these figures of bench/RESULTS.md: {missing}"
