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


def readme_quotes(text: str) -> list[str]:
    """The figures of `text` (RESULTS.md) that the README's "How fast" section quotes, as it quotes
    them: each command's median, crud's row of each phase (awslab / script, directly and behind the
    proxy, requests, critical path), every lab's `up` in the AWS-like mode, and the local cloud's
    memory warm. tests/unit/test_bench_results.py checks that the README holds each of them."""
    quotes = []
    for label, seconds in re.findall(
        r"^\| `([^`]+)` \| ([\d.]+) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \w+ \|$", text, re.M
    ):
        quotes.append(f"| `{label}` | {seconds} s |")
    crud = r"^\| crud \| (\w+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+x) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+x) \| ([^|]+) \| ([^|]+) \|$"
    for phase, a, s, r, pa, ps, pr, requests, path in re.findall(crud, text, re.M):
        quotes.append(
            f"| `{phase}` | {a} / {s} s ({r}) | {pa} / {ps} s ({pr}) | {requests.strip()} | {path.strip()} |"
        )
    for lab, seconds in re.findall(r"^\| (\w+) \| ([\d.]+) \| [\d.]+ \| (?:yes|no) \|$", text, re.M):
        quotes.append(f"{lab} {seconds} s")
    warm = re.search(r"workers warm \(server \+ (\d+) workers\) \| (\d+) MB / (\d+) MB \|", text)
    if warm:
        quotes.append(
            f"{warm.group(2)} MB resident ({warm.group(3)} MB proportional) with {warm.group(1)} warm"
        )
    return quotes


def load_note(at_start: float) -> str:
    """The machine's load while a benchmark ran (1-minute averages, at its start and end): on a
    shared 2-core machine other work slows wall-clock times, and this says how much there was."""
    import os

    return (
        f"machine load {at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (1-minute averages)"
    )
