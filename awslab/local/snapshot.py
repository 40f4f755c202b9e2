"""The local cloud's snapshot file: what it holds (moto's resources and data, see
awslab.local.snapshot_state), written atomically, read back at the next start.

One file, `snapshot.bin` in the local cloud's directory (awslab.paths.local_cloud_snapshot):

    AWSLAB-SNAPSHOT 1\\n
    {"data_id": ..., "saved_at": ..., "clean": false, "moto_version": ..., ...}\\n
    <pickle of the resources>

The header line and the JSON line can be read without unpickling (nor importing moto): the
command that starts the local cloud reads them, and `awslab local status` shows them. `data_id`
names one lineage of resources: it is made when the local cloud starts empty (or is reset) and is
kept by every snapshot of it, so a lab's state knows its resources are still there after a
restart (awslab.cli.common stamps it on each lab). `clean` is true only in the snapshot written by a
clean stop: a start that finds `clean: false` restores after a crash (or a kill -9), and says so.

The file is written to a temporary file in the same directory, fsynced and renamed over the old
one, so a crash mid-write leaves the previous snapshot whole. It is the user's alone (0600, in a
0700 directory): it holds the lab's data, and a pickle is only ever read from there, and only if
it is the user's own and writable by no one else (check_private).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awslab.durations import human

MAGIC = b"AWSLAB-SNAPSHOT 1\n"
FILE_NAME = "snapshot.bin"


def marker(path: Path) -> Path:
    """The file that exists while a server that keeps `path` runs (awslab.local.snapshot_saver)."""
    return path.with_name(path.name + ".open")


def new_data_id() -> str:
    return secrets.token_hex(6)


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot's header: which data it holds and when and how it was written."""

    data_id: str
    saved_at: str  # ISO 8601, UTC
    clean: bool  # written by a clean stop
    size: int = 0  # bytes of the whole file
    moto_version: str = ""
    resources: int = 0  # top-level moto backends with something in them (for status)

    def to_dict(self) -> dict[str, Any]:
        return {"data_id": self.data_id, "saved_at": self.saved_at, "clean": self.clean, "size": self.size,
                "moto_version": self.moto_version, "resources": self.resources}  # fmt: skip

    def age_seconds(self, now: dt.datetime | None = None) -> float:
        saved = dt.datetime.fromisoformat(self.saved_at.replace("Z", "+00:00"))
        return max(0.0, ((now or dt.datetime.now(dt.UTC)) - saved).total_seconds())


class SnapshotFormatError(ValueError):
    """The file is not a snapshot this awslab can read."""


def check_private(path: Path) -> None:
    """Refuse (LocalCloudError) a snapshot that is not the user's own, or that someone else could
    have written: unpickling it would run whatever they put in it. Nothing to check if none."""
    from awslab.errors import LocalCloudError

    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if not hasattr(os, "getuid"):  # Windows: the user's profile directory keeps it private
        return
    if st.st_uid != os.getuid():
        problem = f"belongs to another user (uid {st.st_uid})"
    elif st.st_mode & 0o022:
        problem = f"can be written by others (mode {st.st_mode & 0o777:o})"
    else:
        return
    raise LocalCloudError(
        f"the local cloud's snapshot {path} {problem}: it is not read",
        hint=f"if it is yours, 'chmod 600 {path}'; 'awslab local reset' deletes it",
    )


def write(path: Path, info: SnapshotInfo, payload: bytes) -> int:
    """Write the snapshot atomically (see module doc); returns its size in bytes."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    header = MAGIC + json.dumps(info.to_dict(), separators=(",", ":")).encode() + b"\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # tidying up: the error being raised is the one to show
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename's durability; some file systems refuse a dir fsync
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return len(header) + len(payload)


def read_info(path: Path) -> SnapshotInfo | None:
    """The snapshot's header, without its payload; None if there is no snapshot."""
    try:
        with open(path, "rb") as f:
            info, _ = _header(f, path)
    except FileNotFoundError:
        return None
    return info


def read(path: Path) -> tuple[SnapshotInfo, bytes]:
    """The header and the payload (FileNotFoundError if there is none, SnapshotFormatError)."""
    with open(path, "rb") as f:
        info, _ = _header(f, path)
        return info, f.read()


def _header(f: Any, path: Path) -> tuple[SnapshotInfo, int]:
    if f.readline() != MAGIC:
        raise SnapshotFormatError(f"{path} is not an awslab snapshot (or one of another format)")
    try:
        meta = json.loads(f.readline())
        info = SnapshotInfo(
            data_id=str(meta["data_id"]),
            saved_at=str(meta["saved_at"]),
            clean=bool(meta["clean"]),
            size=os.fstat(f.fileno()).st_size,
            moto_version=str(meta.get("moto_version", "")),
            resources=int(meta.get("resources", 0)),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotFormatError(f"{path} has a damaged header: {exc}") from exc
    return info, f.tell()


def set_aside(path: Path) -> Path | None:
    """Move an unreadable snapshot out of the way (kept for a look, never read again)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.unreadable-{stamp}")
    try:
        path.replace(aside)
    except FileNotFoundError:
        return None
    return aside


def wipe(path: Path) -> bool:
    """Delete the snapshot and any set aside; True if there was one."""
    existed = path.exists()
    for stale in [
        path,
        *path.parent.glob(f"{path.name}.unreadable-*"),
        *path.parent.glob(f".{path.name}.*.tmp"),
    ]:
        stale.unlink(missing_ok=True)
    return existed


def restore_line(restored: dict[str, Any], now: dt.datetime | None = None) -> str:
    """What a learner is told when a start restored a snapshot (`restored`: the health document's
    `restored`: SnapshotInfo.to_dict() plus `labs`, or `error`), in one line."""
    if restored.get("error"):
        return (f"The local cloud's snapshot could not be read ({restored['error']}); it was set aside "
                f"as {restored.get('set_aside')} and the local cloud started empty.")  # fmt: skip
    info = SnapshotInfo(str(restored["data_id"]), str(restored["saved_at"]), bool(restored["clean"]))
    age = human(info.age_seconds(now))
    if info.clean:
        return f"Restored the local cloud's resources and data as it left them when it stopped ({age} ago)."
    return (f"The local cloud did not stop cleanly (killed or crashed): restored its last snapshot, "
            f"taken {age} ago; a change made in the second before it stopped may be missing.")  # fmt: skip
