"""The local cloud's snapshots within one server process: what the start found, the restore, and
a saver thread that writes a new snapshot soon after each change.

- At start (before anything is served) `Snapshots` reads the snapshot's header: its `data_id`
  becomes this process's (the health check shows it at once), or a new one when there is none.
  `restore` (in the boot, before the first AWS call is answered) puts its resources back; one that
  cannot be read is set aside and the local cloud starts empty, with a new `data_id`, and says so.
- `changed()` is called by the server after each request that may have changed something. It
  only sets a flag: the saver thread takes the snapshot `DEBOUNCE` seconds later (a burst of
  requests gives one snapshot), so no request waits for a snapshot. Every `PERIODIC` seconds it
  also takes one if anything changed without a request (an SQS batch deleted by the poller, a
  schedule that deleted itself); an unchanged one is not written again.
- A capture passes the state gate (awslab.local.state_gate): it waits for the changes in flight
  (requests, pollers, deliveries) to end and holds them off only while it pickles; the hash and the
  write come after. One that finds no quiet moment is tried again a moment later.
- `stop()` writes the last snapshot, marked clean. A marker file (`snapshot.bin.open`) exists while
  a server runs: a start that finds it knows the last one did not stop cleanly (a kill -9, a crash,
  a power cut) and says that it restored the last snapshot, with its age.
- `reset()` (POST /moto-api/reset, `awslab local reset`) deletes the snapshot and starts a new
  `data_id`: the labs recorded in the old one are gone.
- Before anything is unpickled, the file must be the user's own and writable by no one else
  (snapshot.check_private: a start refuses otherwise), and made by this moto: one made by another
  version is set aside ("made by moto X, this is moto Y") and the local cloud starts empty.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from awslab.local import snapshot
from awslab.local.like_aws.calls import read_body
from awslab.local.snapshot import SnapshotFormatError, SnapshotInfo
from awslab.local.state_gate import GATE, Busy, StateGate

log = logging.getLogger("awslab.local.snapshot")

DEBOUNCE = 0.3  # seconds from a change to its snapshot
PERIODIC = 10.0  # seconds between looks for a change no request made
CAPTURE_WAIT = 2.0  # seconds a capture waits for a quiet moment before it tries again later
STOP_WAIT = 10.0  # the same for the last one, at a stop (nothing is served any more by then)

Capture = Callable[[], tuple[bytes, int]]


class Snapshots:
    def __init__(self, directory: Path, *, moto_version: str = "", gate: StateGate = GATE) -> None:
        self.path = directory / snapshot.FILE_NAME
        self.marker = snapshot.marker(self.path)
        self.moto_version = moto_version
        self.gate = gate
        self.unclean_stop = self.marker.exists()
        self.found: SnapshotInfo | None = None
        self.restored: dict[str, Any] | None = None  # what the health check says of the restore
        self._unreadable: str | None = None
        try:
            self.found = snapshot.read_info(self.path)
        except (SnapshotFormatError, OSError) as exc:
            self._unreadable = str(exc)
        self.data_id = self.found.data_id if self.found is not None else snapshot.new_data_id()
        self._capture: Capture | None = None
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one snapshot at a time
        self._last_digest: bytes | None = None
        self._thread: threading.Thread | None = None
        self._saving = False
        # Nothing is written for a local cloud that never held anything (a start, then a stop).
        self._has_data = self.found is not None
        self.saved = 0  # snapshots written by this process
        self.last_seconds: float | None = None  # how long the last one took to take and write
        self.last_held: float | None = None  # how long the last one held changes off (its pickle)
        self.busy = 0  # captures put off: changes were in flight all along
        self.last_size: int | None = None

    @property
    def restoring(self) -> bool:
        """Whether the boot has a snapshot (or an unreadable one) to deal with."""
        return self.restored is None and (self.found is not None or self._unreadable is not None)

    # ---- restore ------------------------------------------------------------------------------------
    def restore(self, apply: Callable[[bytes], int]) -> None:
        """Put the found snapshot back with `apply` (snapshot_state.restore); see module doc."""
        if self._unreadable is not None:
            self._set_aside(self._unreadable)
            return
        if self.found is None:
            return
        started = time.perf_counter()
        snapshot.check_private(self.path)  # never unpickle a file someone else could have written
        try:
            info, payload = snapshot.read(self.path)
            if info.moto_version and self.moto_version and info.moto_version != self.moto_version:
                self._set_aside(f"made by moto {info.moto_version}, this is moto {self.moto_version}")
                return
            count = apply(payload)
        except Exception as exc:  # an older moto's classes, a damaged file: never fail the start for it
            log.exception("the snapshot %s could not be restored", self.path)
            self._set_aside(f"{type(exc).__name__}: {exc}")
            return
        # A clean stop wrote it, and no server has run since (the marker says one did, and died).
        clean = info.clean and not self.unclean_stop
        self.restored = {**info.to_dict(), "clean": clean}
        log.info("restored %d backends from %s (%d bytes, saved %s%s) in %.3f s", count, self.path, info.size,
                 info.saved_at, "" if clean else ", after an unclean stop", time.perf_counter() - started)  # fmt: skip

    def _set_aside(self, error: str) -> None:
        aside = snapshot.set_aside(self.path)
        self.data_id = snapshot.new_data_id()
        self._has_data = False
        self.restored = {"error": error, "set_aside": str(aside) if aside else None}
        log.error("the snapshot could not be read (%s); set aside as %s; starting empty", error, aside)

    # ---- saving -------------------------------------------------------------------------------------
    def start(self, capture: Capture) -> None:
        """Start saving (after the restore): the marker, then the saver thread."""
        self._capture = capture
        self.marker.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.marker.touch(mode=0o600)
        self._thread = threading.Thread(target=self._loop, name="awslab-snapshot", daemon=True)
        self._thread.start()

    def changed(self) -> None:
        """Something may have changed: a snapshot follows soon (never blocks)."""
        self._has_data = True
        self._dirty.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            requested = self._dirty.wait(timeout=PERIODIC)
            if self._stopping.is_set():
                return
            if requested:  # let a burst of changes end, and be taken in one snapshot
                self._stopping.wait(DEBOUNCE)
            self._saving = True  # before the flag is cleared: `pending` is never false too early
            self._dirty.clear()
            try:
                self.save(clean=False)
            except Busy as exc:  # a long change in flight (an invoke): try again a moment later
                self.busy += 1
                log.debug("snapshot put off: %s", exc)
                self._stopping.wait(CAPTURE_WAIT)  # meanwhile new changes need not let it go first
                self._dirty.set()
            except Exception:  # a failed snapshot must not end the saver: the next change retries
                log.exception("taking a snapshot of the local cloud failed")
            finally:
                self._saving = False

    @property
    def pending(self) -> bool:
        """Whether a change waits for its snapshot (or one is being taken)."""
        return self._dirty.is_set() or self._saving

    def save(self, *, clean: bool) -> bool:
        """Take a snapshot and write it unless it is the same as the last one; True if written."""
        if self._capture is None:
            return False
        with self._lock:
            if not self._has_data:
                return False
            started = time.perf_counter()
            with self.gate.capturing(STOP_WAIT if clean else CAPTURE_WAIT):
                held = time.perf_counter()
                payload, count = self._capture()
                self.last_held = time.perf_counter() - held
            digest = hashlib.blake2b(payload, digest_size=16).digest()
            if digest == self._last_digest and not clean:
                return False
            info = SnapshotInfo(self.data_id, snapshot.now_iso(), clean, moto_version=self.moto_version,
                                resources=count)  # fmt: skip
            self.last_size = snapshot.write(self.path, info, payload)
            self._last_digest = digest
            self.saved += 1
            self.last_seconds = time.perf_counter() - started
            log.debug("snapshot: %d bytes in %.3f s", self.last_size, self.last_seconds)
            return True

    def stop(self) -> None:
        """The last snapshot, marked clean, then the marker goes (see module doc)."""
        self._stopping.set()
        self._dirty.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._capture is None:
            return
        try:
            self.save(clean=True)
        except Exception:  # the marker stays: the next start says the last snapshot may be behind
            log.exception("the last snapshot of the local cloud could not be written")
            return
        log.info("snapshot saved at stop: %s (%d bytes)", self.path, self.last_size or 0)
        self.marker.unlink(missing_ok=True)

    def reset(self) -> None:
        """Everything was deleted: a new lineage of data, and no snapshot of the old one (until
        something is made again)."""
        with self._lock:
            self.data_id = snapshot.new_data_id()
            snapshot.wipe(self.path)
            self._last_digest = None
            self._has_data = False
            self.found, self._unreadable, self.restored = None, None, None

    def health(self) -> dict[str, Any]:
        return {
            "data_id": self.data_id,
            "restoring": self.restoring,
            "restored": self.restored,
            "snapshot": {
                "path": str(self.path),
                "saved": self.saved,
                "pending": self.pending,
                "last_size": self.last_size,
                "last_seconds": self.last_seconds,
                "last_held_seconds": self.last_held,
                "put_off": self.busy,
            },
        }


# botocore's operations that only read start so, whatever the protocol: X-Amz-Target's operation
# (JSON protocol), the query protocol's Action; the REST protocols read with GET and HEAD.
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Scan", "Query", "BatchGet")
# ... except these, which change something although they are named so.
_CHANGING_READS = frozenset({"GetShardIterator", "GetId", "GetOpenIdToken", "GetCredentialsForIdentity"})
_FORM = "application/x-www-form-urlencoded"
_MAX_FORM = 1024 * 1024  # a query-protocol body larger than this is not looked into: it may change


def operation(environ: dict[str, Any]) -> str:
    """The AWS operation a JSON- or query-protocol request calls ("" for the REST protocols). A
    query-protocol body is read to find its Action and put back for the app to read again."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    from urllib.parse import parse_qs

    action = parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    if action:
        return action[0]
    if not str(environ.get("CONTENT_TYPE", "")).startswith(_FORM):
        return ""
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not (length.isdigit() and 0 < int(length) <= _MAX_FORM):
        return ""
    # The AWS-like layer's Call reads bodies the same way (it reads this one again, from memory).
    body = read_body(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    return action[0] if action else ""


def may_change(environ: dict[str, Any]) -> bool:
    """Whether a request to moto may have changed something (a snapshot follows). GET, HEAD and
    OPTIONS do not, nor a JSON- or query-protocol call whose operation only reads (Get*, List*,
    Describe*, ...: see _READ_PREFIXES); everything else may: ReceiveMessage does (it changes the
    messages' visibility), as does every REST call but GET and HEAD."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    name = operation(environ)
    return not (name.startswith(_READ_PREFIXES) and name not in _CHANGING_READS)
