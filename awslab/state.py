"""The state file: what awslab created on one target, written after every create and delete.

One JSON file per target (`awslab.paths.state_file`), or `--state PATH`:

    {"schema_version": 1, "target": {...}, "labs": {"crud": {"stack_id": "3fa2c1",
     "spec": "/path/crud.yaml", "created_at": ..., "updated_at": ..., "outputs": {...},
     "local_cloud": {"data_id": "5be0c1a9e2f4"}, "priced": {"version": 1, "resources": {...}},
     "resources": {"items": {kind, logical, physical, status, attrs, fingerprint, depends_on}}}}}

`local_cloud` (local target only) is the data of the local cloud the lab's resources were created
in (LocalStatus.identity): kept across its restarts by its snapshot, new after a reset; an older
awslab recorded the instance ({"pid", "started_at"}), which no restart keeps.

`priced` is what the cost of the spec last applied in full depends on (`awslab.pricing.priced_record`:
each resource's kind and the facts of its spec that its charges depend on), written by `up` once
its apply succeeded, so that `status` prices what was deployed without reading the spec. Files of
an older awslab have none: `status` prices their spec as it is now.

A lab's keys this awslab does not know (a newer awslab's) are kept as they are on every save, so
that its fields survive a command of this one (an awslab before this rule dropped them).

Writes are atomic (temp file in the same directory, fsync, rename, fsync of the directory) and
the file is private (0600). It never holds secrets: attributes are names, ARNs, URLs, hashes.
A lock (filelock: flock on POSIX, so a lock of a dead process is free again at once) is held by
every command that changes things.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from awslab.errors import LockError, StateError

if TYPE_CHECKING:  # imported when records are read: it needs pydantic, which 'labs' does without
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
    local_cloud: dict[str, Any] | None = None  # the local cloud's data (LocalStatus.identity)
    ttl: dict[str, Any] | None = None  # {"ttl": "4h", "expires_at": ISO UTC}: `up --ttl` (awslab/ttl.py)
    priced: dict[str, Any] | None = None  # what its cost depends on, as last applied (above)
    unknown: dict[str, Any] = field(default_factory=dict)  # a newer awslab's keys, kept as they are

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.unknown,
            "stack_id": self.stack_id,
            "spec": self.spec,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "outputs": self.outputs,
            **({"local_cloud": self.local_cloud} if self.local_cloud else {}),
            **({"ttl": self.ttl} if self.ttl else {}),
            **({"priced": self.priced} if self.priced else {}),
            "resources": {k: r.to_dict() for k, r in self.resources.items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabState:
        from awslab.resources.base import Record

        return cls(
            stack_id=d["stack_id"],
            spec=d.get("spec", ""),
            created_at=d.get("created_at", ""),
            updated_at=d.get("updated_at", ""),
            outputs=dict(d.get("outputs") or {}),
            resources={k: Record.from_dict(v) for k, v in (d.get("resources") or {}).items()},
            local_cloud=dict(d["local_cloud"]) if d.get("local_cloud") else None,
            ttl=dict(d["ttl"]) if d.get("ttl") else None,
            priced=dict(d["priced"]) if d.get("priced") else None,
            unknown={k: v for k, v in d.items() if k not in _KNOWN},
        )


_KNOWN = frozenset(f.name for f in dataclasses.fields(LabState)) - {"unknown"}


class StateStore:
    """Load, change and save one target's state; thread-safe within a process, locked across.

    `local_cloud` (the running local cloud's identity) is stamped on every lab this store creates
    or changes; `on_create` is called with the path once this store has created the file."""

    def __init__(
        self,
        path: Path,
        target_info: dict[str, Any],
        *,
        local_cloud: dict[str, Any] | None = None,
        on_create: Callable[[Path], None] | None = None,
    ) -> None:
        self.path = path
        self.target_info = target_info
        self.local_cloud = local_cloud
        self.on_create = on_create
        self.recorded_target: dict[str, Any] = {}  # the target the file says it is for
        self._labs: dict[str, LabState] | None = None
        self._mutex = threading.RLock()
        self._lock = filelock.FileLock(str(path) + ".lock")

    # ---- locking ------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, timeout: float = LOCK_WAIT_SECONDS) -> Iterator[StateStore]:
        owner_file = Path(str(self.path) + ".lock.owner")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock.acquire(timeout=timeout)
        except filelock.Timeout:
            holder = _read_text(owner_file) or "another process"
            raise LockError(
                f"another awslab command ({holder}) is changing this target (lock {self.path}.lock)",
                hint="wait for it to finish, then run this command again",
            ) from None
        except OSError as exc:
            raise write_error(Path(exc.filename or str(self.path) + ".lock"), exc) from exc
        try:
            try:
                owner_file.write_text(f"pid {os.getpid()} since {now_iso()}")
            except OSError as exc:
                raise write_error(owner_file, exc) from exc
            self._labs = None  # re-read: another process may have written since
            yield self
        finally:
            with contextlib.suppress(OSError):  # only a note for the error message; the lock is what counts
                owner_file.unlink()
            self._lock.release()

    @property
    def holds_lock(self) -> bool:
        """Whether this thread is inside `locked()` (so a change needs no lock of its own)."""
        return self._lock.is_locked

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
        self.recorded_target, labs = read_document(self.path)
        with _malformed(self.path):
            return {name: LabState.from_dict(lab) for name, lab in labs.items()}

    @property
    def deployed(self) -> dict[str, LabState]:
        """The labs that have resources: a lab only planned so far holds just its stack id."""
        return {name: lab for name, lab in self.labs.items() if lab.resources}

    def lab(self, name: str) -> LabState | None:
        return self.labs.get(name)

    # ---- changing -----------------------------------------------------------------------
    def ensure_lab(self, name: str, spec_path: str) -> LabState:
        with self._mutex:
            lab = self.labs.get(name)
            if lab is None:
                lab = self.labs[name] = LabState(stack_id=new_stack_id(), spec=spec_path)
                self._stamp(lab)
                self.save()
            else:
                if spec_path and lab.spec != spec_path:
                    lab.spec = spec_path
                gone = lab.local_cloud is not None  # when stamped anew: went with another instance
                if self._stamp(lab):
                    if gone:  # `up` makes it again: its age counts from now, not from the lost one
                        lab.created_at = now_iso()
                    self.save()
            return lab

    def put_record(self, lab: str, record: Record) -> None:
        with self._mutex:
            state = self.labs[lab]
            state.resources[record.logical] = record
            state.updated_at = now_iso()
            self._stamp(state)
            self.save()

    def _stamp(self, lab: LabState) -> bool:
        """Record that the lab's resources are now in the running local cloud; True if it changed
        (what was in another instance is gone with it)."""
        if self.local_cloud is None or lab.local_cloud == self.local_cloud:
            return False
        lab.local_cloud = dict(self.local_cloud)
        return True

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

    def set_ttl(self, lab: str, ttl: dict[str, Any] | None) -> None:
        with self._mutex:
            if self.labs[lab].ttl != ttl:
                self.labs[lab].ttl = ttl
                self.save()

    def set_priced(self, lab: str, priced: dict[str, Any]) -> None:
        with self._mutex:
            if self.labs[lab].priced != priced:
                self.labs[lab].priced = priced
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
            created = not self.path.exists()
            try:
                atomic_write(self.path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
            except OSError as exc:
                raise write_error(self.path, exc) from exc
            if created and self.on_create is not None:
                self.on_create(self.path)


_UNREADABLE_HINT = "restore it from a backup, or move it away and run 'awslab teardown --sweep'"


def read_document(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A state file's target and its labs, as stored (JSON); StateError if it is unreadable or
    of another schema version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"state file {path} is unreadable: {exc}", hint=_UNREADABLE_HINT) from None
    if not isinstance(data, dict):
        raise StateError(f"state file {path} is not a JSON object", hint=_UNREADABLE_HINT)
    target = dict(data.get("target") or {})
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise StateError(
            f"state file {path} has schema_version {version!r}; this awslab reads {SCHEMA_VERSION}",
            hint="use the awslab version that wrote it",
        )
    with _malformed(path):
        return target, dict(data.get("labs") or {})


@contextlib.contextmanager
def _malformed(path: Path) -> Iterator[None]:
    try:
        yield
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StateError(
            f"state file {path} is malformed ({type(exc).__name__}: {exc})", hint=_UNREADABLE_HINT
        ) from None


@dataclass
class LabSummary:
    """What `awslab labs` shows of a deployed lab, read without its records (which need pydantic)."""

    stack_id: str
    spec: str
    updated_at: str
    resources: int
    local_cloud: dict[str, Any] | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LabSummary:
        return cls(
            stack_id=str(d["stack_id"]),
            spec=str(d.get("spec", "")),
            updated_at=str(d.get("updated_at", "")),
            resources=len(dict(d.get("resources") or {})),
            local_cloud=dict(d["local_cloud"]) if d.get("local_cloud") else None,
        )


def read_summaries(path: Path) -> tuple[dict[str, Any], dict[str, LabSummary]]:
    """A state file's target and a summary of each lab in it."""
    target, labs = read_document(path)
    with _malformed(path):
        return target, {name: LabSummary.from_dict(lab) for name, lab in labs.items()}


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
        with contextlib.suppress(OSError):  # tidying up; the error being raised is the one to show
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def lost_with_local_cloud(
    labs: Mapping[str, LabState], running: Mapping[str, Any] | None, started_now: bool
) -> list[str]:
    """The labs whose resources were in another instance of the local cloud than `running` (None:
    none runs), so they are gone: it keeps everything in memory. A lab that recorded no instance
    (an older awslab wrote it) is lost when no local cloud ran before this command."""

    return sorted(
        name
        for name, lab in labs.items()
        if lab.resources and lost_cloud(lab.local_cloud, running, started_now)
    )


def lost_cloud(
    recorded: Mapping[str, Any] | None, running: Mapping[str, Any] | None, started_now: bool
) -> bool:
    """Whether what was created in the local cloud instance `recorded` is gone (see above)."""
    if running is None or started_now:
        return True
    return recorded is not None and dict(recorded) != dict(running)


# What a failed write of the state means to the user, by errno: (what happened, what to do).
_WRITE_ERRORS = {
    errno.ENOSPC: ("the disk is full", "free some space"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space"),
    errno.EROFS: ("the file system is read-only", "use a writable place (--state PATH)"),
    errno.EACCES: ("permission denied", "make it writable by you, or use --state PATH elsewhere"),
    errno.EPERM: ("operation not permitted", "make it writable by you, or use --state PATH elsewhere"),
}


def write_error(path: Path, exc: OSError) -> StateError:
    """A failed write of `path` as one line naming the file, and what to do about it. The file
    itself is intact: writes are atomic, so it holds everything up to the step that failed."""
    what, todo = _WRITE_ERRORS.get(exc.errno or 0, (exc.strerror or str(exc), "fix the cause"))
    return StateError(
        f"cannot write {path}: {what}",
        hint=f"{todo}, then run the command again: it carries on from what the state file records",
    )


def _read_text(path: Path) -> str:
    for _ in range(3):  # the holder may be writing it this instant
        with contextlib.suppress(OSError):
            text = path.read_text().strip()
            if text:
                return text
        time.sleep(0.01)
    return ""
