"""`up --watch`: notice a saved change to a lab's spec or to the files its resources deploy (a
function's code, a site's files, a state machine's definition), and hand the changes over.

Polling, not inotify: it needs no dependency, works the same on every OS and filesystem, and a lab
has tens of files, whose stat every 0.3 s costs nothing. A file whose modification time or size
changed is read again and compared by content, so an editor that saves an unchanged file (or a
`touch`) redeploys nothing. An editor saves in steps (a temporary file, a rename): the changes are
handed over once a poll sees nothing newer. The clock (`sleep`) is injected: tests do not wait.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from awslab.spec import LabSpec

INTERVAL = 0.3  # seconds between polls: a saved change is deployed within a second
MAX_SETTLE_POLLS = 10  # a file rewritten without pause (a build writing) is deployed after 3 s

How = Literal["changed", "added", "removed"]


@dataclass(frozen=True)
class FileChange:
    path: Path
    how: How

    def describe(self, base: Path | None = None) -> str:
        shown = self.path
        if base is not None:
            with contextlib.suppress(ValueError):
                shown = self.path.relative_to(base)
        return f"{shown} ({self.how})"


@dataclass(frozen=True)
class Stamp:
    mtime_ns: int
    size: int
    digest: str


def lab_files(spec: LabSpec) -> set[Path]:
    """The spec and every file its resources deploy, by the walks that build and upload make."""
    from awslab.spec import PATH_FIELDS

    files = {spec.path}
    for rs in spec.resources.values():
        # a path only `up` knows (a reference), or one not there yet
        with contextlib.suppress(ValueError, OSError):
            files.update(path for _, path in rs.cls.local_files(rs.props, spec.base_dir))
        for name, what in PATH_FIELDS.get(rs.kind, {}).items():
            value = rs.fields.get(name)
            if what == "file" and isinstance(value, str) and "${" not in value:  # not a reference
                files.add(spec.base_dir / value)
    return files


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stat_stamp(path: Path, before: Stamp | None) -> Stamp | None:
    """The file's stamp (None: not there); its content is read again only when its modification
    time or size differ from `before`."""
    try:
        st = os.stat(path)
        if before is not None and (st.st_mtime_ns, st.st_size) == (before.mtime_ns, before.size):
            return before
        return Stamp(st.st_mtime_ns, st.st_size, _digest(path))
    except OSError:  # removed (or replaced) between the stat and the read
        return None


class FileWatcher:
    """Compares the files `files()` names now with those it saw last."""

    def __init__(
        self,
        files: Callable[[], Iterable[Path]],
        stamp: Callable[[Path, Stamp | None], Stamp | None] = stat_stamp,
    ) -> None:
        self._files = files
        self._stamp = stamp
        self._seen: dict[Path, Stamp] = self._snapshot({})

    @property
    def count(self) -> int:
        return len(self._seen)

    def _snapshot(self, before: dict[Path, Stamp]) -> dict[Path, Stamp]:
        now: dict[Path, Stamp] = {}
        for path in self._files():
            stamp = self._stamp(path, before.get(path))
            if stamp is not None:
                now[path] = stamp
        return now

    def poll(self) -> list[FileChange]:
        """What changed since the last poll, by content, in path order."""
        before = self._seen
        now = self._snapshot(before)
        self._seen = now
        changes = [FileChange(p, "removed") for p in before if p not in now]
        for path, stamp in now.items():
            old = before.get(path)
            if old is None:
                changes.append(FileChange(path, "added"))
            elif old.digest != stamp.digest:
                changes.append(FileChange(path, "changed"))
        return sorted(changes, key=lambda c: str(c.path))


def merge(first: list[FileChange], then: list[FileChange]) -> list[FileChange]:
    """Two polls' changes as one: a file added then changed was added; added then removed, nothing."""
    out = {c.path: c for c in first}
    for c in then:
        old = out.get(c.path)
        if old is not None and old.how == "added" and c.how == "removed":
            del out[c.path]
        elif old is not None and old.how == "added":
            continue
        elif old is not None and old.how == "removed" and c.how == "added":
            out[c.path] = FileChange(c.path, "changed")
        else:
            out[c.path] = c
    return sorted(out.values(), key=lambda c: str(c.path))


def watch(
    watcher: FileWatcher,
    on_change: Callable[[list[FileChange]], None],
    *,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = INTERVAL,
    keep_going: Callable[[], bool] = lambda: True,
) -> None:
    """Poll every `interval` while `keep_going()`; call `on_change` with what changed once it has
    settled (a poll that sees nothing newer). Ends by `keep_going` or an exception (Ctrl-C)."""
    while keep_going():
        sleep(interval)
        changes = watcher.poll()
        if not changes:
            continue
        for _ in range(MAX_SETTLE_POLLS):
            sleep(interval)
            more = watcher.poll()
            if not more:
                break
            changes = merge(changes, more)
        if changes:
            on_change(changes)
