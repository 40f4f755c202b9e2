"""The state file: what awslab created on one target, written after every create and delete.

One JSON file per target (`awslab.paths.state_file`), or `--state PATH`:

    {"schema_version": 1, "target": {...}, "labs": {"crud": {"stack_id": "3fa2c1",
     "spec": "/path/crud.yaml", "created_at": ..., "updated_at": ..., "outputs": {...},
     "resources": {"items": {kind, logical, physical, status, attrs, fingerprint, depends_on}}}}}

Writes are atomic (temp file in the same directory, fsync, rename, fsync of the directory) and
the file is private (0600). It never holds secrets: attributes are names, ARNs, URLs, hashes.
A lock (filelock: flock on POSIX, so a lock of a dead process is free again at once) is held by
every command that changes things.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock

from awslab.errors import LockError, StateError
from awslab.resources.base import Record

SCHEMA_VERSION = 1
LOCK_WAIT_SECONDS = 5.0


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_stack_id() -> str:
    return secrets.token_hex(3)


@dataclass
class LabState:
    stack_id: str
    spec: str = ""
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    outputs: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Record] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack_id": self.stack_id,
            "spec": self.spec,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "outputs": self.outputs,
            "resources": {k: r.to_dict() for k, r in self.resources.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabState:
        return cls(
            stack_id=d["stack_id"],
            spec=d.get("spec", ""),
            created_at=d.get("created_at", ""),
            updated_at=d.get("updated_at", ""),
            outputs=dict(d.get("outputs") or {}),
            resources={k: Record.from_dict(v) for k, v in (d.get("resources") or {}).items()},
        )


class StateStore:
    """Load, change and save one target's state; thread-safe within a process, locked across."""

    def __init__(self, path: Path, target_info: dict[str, Any]) -> None:
        self.path = path
        self.target_info = target_info
        self._labs: dict[str, LabState] | None = None
        self._mutex = threading.RLock()
        self._lock = filelock.FileLock(str(path) + ".lock")

    # ---- locking ------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, timeout: float = LOCK_WAIT_SECONDS) -> Iterator[StateStore]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        owner_file = Path(str(self.path) + ".lock.owner")
        try:
            self._lock.acquire(timeout=timeout)
        except filelock.Timeout:
            holder = _read_text(owner_file) or "another process"
            raise LockError(
                f"another awslab command ({holder}) is changing this target (lock {self.path}.lock)",
                hint="wait for it to finish, then run this command again",
            ) from None
        try:
            owner_file.write_text(f"pid {os.getpid()} since {now_iso()}")
            self._labs = None  # re-read: another process may have written since
            yield self
        finally:
            with contextlib.suppress(OSError):
                owner_file.unlink()
            self._lock.release()

    # ---- reading ------------------------------------------------------------------------
    @property
    def labs(self) -> dict[str, LabState]:
        with self._mutex:
            if self._labs is None:
                self._labs = self._read()
            return self._labs

    def _read(self) -> dict[str, LabState]:
        if not self.path.exists():
            return {}
        hint = "restore it from a backup, or move it away and run 'awslab teardown --sweep'"
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StateError(f"state file {self.path} is unreadable: {exc}", hint=hint) from None
        if not isinstance(data, dict):
            raise StateError(f"state file {self.path} is not a JSON object", hint=hint)
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise StateError(
                f"state file {self.path} has schema_version {version!r}; this awslab reads {SCHEMA_VERSION}",
                hint="use the awslab version that wrote it",
            )
        try:
            return {name: LabState.from_dict(lab) for name, lab in (data.get("labs") or {}).items()}
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StateError(
                f"state file {self.path} is malformed ({type(exc).__name__}: {exc})", hint=hint
            ) from None

    def lab(self, name: str) -> LabState | None:
        return self.labs.get(name)

    # ---- changing -----------------------------------------------------------------------
    def ensure_lab(self, name: str, spec_path: str) -> LabState:
        with self._mutex:
            lab = self.labs.get(name)
            if lab is None:
                lab = self.labs[name] = LabState(stack_id=new_stack_id(), spec=spec_path)
                self.save()
            elif spec_path and lab.spec != spec_path:
                lab.spec = spec_path
            return lab

    def put_record(self, lab: str, record: Record) -> None:
        with self._mutex:
            state = self.labs[lab]
            state.resources[record.logical] = record
            state.updated_at = now_iso()
            self.save()

    def drop_record(self, lab: str, logical: str) -> None:
        with self._mutex:
            state = self.labs.get(lab)
            if state and state.resources.pop(logical, None) is not None:
                state.updated_at = now_iso()
                self.save()

    def set_outputs(self, lab: str, outputs: dict[str, Any]) -> None:
        with self._mutex:
            self.labs[lab].outputs = outputs
            self.save()

    def drop_lab(self, lab: str) -> None:
        with self._mutex:
            if self.labs.pop(lab, None) is not None:
                self.save()

    def save(self) -> None:
        """Atomically replace the file with the current state."""
        with self._mutex:
            doc = {
                "schema_version": SCHEMA_VERSION,
                "target": self.target_info,
                "labs": {name: lab.to_dict() for name, lab in self.labs.items()},
            }
            atomic_write(self.path, json.dumps(doc, indent=2, sort_keys=False) + "\n")


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read_text(path: Path) -> str:
    for _ in range(3):  # the holder may be writing it this instant
        with contextlib.suppress(OSError):
            text = path.read_text().strip()
            if text:
                return text
        time.sleep(0.01)
    return ""
