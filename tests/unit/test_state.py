"""The state file (awslab/state.py): atomic private writes, schema_version, corrupt files refused
with StateError, round trips, and the cross-process lock (a live holder named, a dead one ignored)."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awslab import paths
from awslab.errors import LockError, StateError
from awslab.resources.base import Record
from awslab.state import SCHEMA_VERSION, LabState, StateStore, atomic_write, lost_with_local_cloud

TARGET = {"kind": "local", "region": "us-east-1", "endpoint_url": "http://127.0.0.1:4580"}


@pytest.fixture
def state_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path))
    return paths.state_file("local-4580")


def store_at(path: Path) -> StateStore:
    return StateStore(path, dict(TARGET))


def a_record(logical: str = "items", status: str = "created", **kw: Any) -> Record:
    return Record(
        kind="dynamodb.table",
        logical=logical,
        physical=f"awslab-crud-{logical}-abc123",
        status=status,  # type: ignore[arg-type]
        attrs=kw.pop(
            "attrs", {"name": f"awslab-crud-{logical}-abc123", "arn": f"arn:aws:dynamodb:::{logical}"}
        ),
        fingerprint=kw.pop("fingerprint", "f00d"),
        depends_on=kw.pop("depends_on", []),
        inputs=kw.pop("inputs", {"key": "1234"}),
    )


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- paths, format, round trip -----------------------------------------------------------
def test_default_path_is_under_awslab_state_dir(state_path: Path, tmp_path: Path) -> None:
    assert state_path == tmp_path / "state" / "local-4580.json"
    store = store_at(state_path)
    store.ensure_lab("crud", "/labs/crud.yaml")
    assert state_path.is_file()
    assert mode_of(state_path.parent) == 0o700


def test_nothing_is_written_until_something_changes(state_path: Path) -> None:
    store = store_at(state_path)
    assert store.labs == {}
    assert store.lab("crud") is None
    assert not state_path.exists()


def test_document_shape(state_path: Path) -> None:
    store = store_at(state_path)
    lab = store.ensure_lab("crud", "/labs/crud.yaml")
    store.put_record("crud", a_record())
    doc = json.loads(state_path.read_text())
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    assert doc["target"] == TARGET
    saved = doc["labs"]["crud"]
    assert saved["stack_id"] == lab.stack_id and len(lab.stack_id) == 6
    assert saved["spec"] == "/labs/crud.yaml"
    assert saved["resources"]["items"]["status"] == "created"
    assert saved["resources"]["items"]["physical"] == "awslab-crud-items-abc123"
    assert state_path.read_text().endswith("\n")


def test_round_trip(state_path: Path) -> None:
    store = store_at(state_path)
    store.ensure_lab("crud", "/labs/crud.yaml")
    store.ensure_lab("image", "/labs/image.yaml")
    items = a_record(
        "items", attrs={"name": "t", "arn": "arn:t", "stream_arn": None, "nested": {"a": [1, 2]}}
    )
    fn = a_record("fn", status="creating", attrs={}, fingerprint="", depends_on=["items", "role"], inputs={})
    store.put_record("crud", items)
    store.put_record("crud", fn)
    store.set_outputs("crud", {"api_url": "http://x/dev", "n": 3})

    again = store_at(state_path)
    assert set(again.labs) == {"crud", "image"}
    crud = again.lab("crud")
    assert crud is not None
    assert crud.resources == {"items": items, "fn": fn}
    assert crud.outputs == {"api_url": "http://x/dev", "n": 3}
    assert crud.stack_id == store.labs["crud"].stack_id
    assert crud.stack_id != again.labs["image"].stack_id
    assert crud.to_dict() == store.labs["crud"].to_dict()
    assert LabState.from_dict(crud.to_dict()) == crud


def test_a_newer_awslabs_keys_of_a_lab_survive_a_save_of_this_one(state_path: Path) -> None:
    store = store_at(state_path)
    store.ensure_lab("crud", "/labs/crud.yaml")
    doc = json.loads(state_path.read_text())
    doc["labs"]["crud"]["budget"] = {"usd": 5, "alerts": ["a@b.c"]}  # a field this awslab does not know
    state_path.write_text(json.dumps(doc))

    again = store_at(state_path)
    again.set_outputs("crud", {"n": 1})  # a save of this awslab
    saved = json.loads(state_path.read_text())["labs"]["crud"]
    assert saved["budget"] == {"usd": 5, "alerts": ["a@b.c"]} and saved["outputs"] == {"n": 1}
    assert LabState.from_dict(saved).to_dict() == saved


def test_ensure_lab_keeps_the_stack_id(state_path: Path) -> None:
    store = store_at(state_path)
    first = store.ensure_lab("crud", "/a/crud.yaml")
    again = store_at(state_path).ensure_lab("crud", "/b/crud.yaml")
    assert again.stack_id == first.stack_id
    assert again.spec == "/b/crud.yaml"


def test_drop_record_and_drop_lab(state_path: Path) -> None:
    store = store_at(state_path)
    store.ensure_lab("crud", "")
    store.put_record("crud", a_record("items"))
    store.put_record("crud", a_record("role"))
    store.drop_record("crud", "items")
    store.drop_record("crud", "never-there")  # no error
    store.drop_record("no-such-lab", "items")
    assert list(store_at(state_path).labs["crud"].resources) == ["role"]
    store.drop_lab("crud")
    store.drop_lab("crud")
    assert store_at(state_path).labs == {}
    assert json.loads(state_path.read_text())["labs"] == {}


def test_old_records_without_status_count_as_created(state_path: Path) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_text(json.dumps({"schema_version": 1, "labs": {"crud": {"stack_id": "abc123", "resources": {
        "items": {"kind": "dynamodb.table", "logical": "items", "physical": "p"}}}}}))  # fmt: skip
    rec = store_at(state_path).labs["crud"].resources["items"]
    assert (rec.status, rec.attrs, rec.depends_on, rec.inputs) == ("created", {}, [], {})


def test_concurrent_writers_in_one_process_lose_nothing(state_path: Path) -> None:
    store = store_at(state_path)
    store.ensure_lab("crud", "")
    threads = [threading.Thread(target=store.put_record, args=("crud", a_record(f"r{i}"))) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store_at(state_path).labs["crud"].resources) == sorted(f"r{i}" for i in range(24))


# ---- atomic, private -----------------------------------------------------------------------
def test_file_is_private_whatever_the_umask(state_path: Path) -> None:
    old = os.umask(0)
    try:
        store = store_at(state_path)
        store.ensure_lab("crud", "")
        assert mode_of(state_path) == 0o600
        store.put_record("crud", a_record())
        assert mode_of(state_path) == 0o600
    finally:
        os.umask(old)


def test_an_existing_file_with_loose_mode_becomes_private_on_the_next_write(state_path: Path) -> None:
    store = store_at(state_path)
    store.ensure_lab("crud", "")
    state_path.chmod(0o644)
    store.put_record("crud", a_record())
    assert mode_of(state_path) == 0o600


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failure_mid_write_leaves_the_old_file_intact(
    state_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    store = store_at(state_path)
    store.ensure_lab("crud", "")
    store.put_record("crud", a_record("items"))
    before = state_path.read_bytes()

    def boom(*_a: Any, **_k: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(StateError) as e:  # a full disk is the user's to fix, not a bug
        store.put_record("crud", a_record("role"))
    monkeypatch.undo()
    assert str(e.value) == f"cannot write {state_path}: the disk is full"
    assert e.value.hint is not None and e.value.hint.startswith("free some space, then run the command again")

    assert state_path.read_bytes() == before
    assert sorted(p.name for p in state_path.parent.iterdir()) == [state_path.name]  # no temp file left
    assert list(store_at(state_path).labs["crud"].resources) == ["items"]


def test_atomic_write_replaces_whole_content(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "f.json"
    atomic_write(target, "x" * 10_000)
    atomic_write(target, "short")
    assert target.read_text() == "short"
    assert mode_of(target) == 0o600


# ---- unreadable files ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "gist"),
    [
        pytest.param('{"schema_version": 1, "labs": {', "unreadable", id="truncated"),
        pytest.param("", "unreadable", id="empty"),
        pytest.param("not json at all", "unreadable", id="garbage"),
        pytest.param('{"labs": {}}', "schema_version None", id="no-schema-version"),
        pytest.param(
            '{"schema_version": 2, "labs": {}}', "schema_version 2; this awslab reads 1", id="newer"
        ),
        pytest.param('{"schema_version": "1", "labs": {}}', "schema_version '1'", id="string-version"),
    ],
)
def test_unreadable_or_foreign_files_raise_state_error(state_path: Path, content: str, gist: str) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_text(content)
    store = store_at(state_path)
    with pytest.raises(StateError) as info:
        _ = store.labs
    assert gist in str(info.value)
    assert str(state_path) in str(info.value)
    assert info.value.hint
    # and nothing was overwritten by trying
    assert state_path.read_text() == content


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"[]", id="json-list"),
        pytest.param(b"null", id="json-null"),
        pytest.param(b'{"schema_version": 1, "labs": [{"stack_id": "a"}]}', id="labs-a-list"),
        pytest.param(
            b'{"schema_version": 1, "labs": {"crud": {"resources": {}}}}', id="lab-without-stack-id"
        ),
        pytest.param(
            b'{"schema_version": 1, "labs": {"crud": {"stack_id": "a", "resources": {"x": {}}}}}',
            id="record-without-kind",
        ),
        pytest.param(b'\xff\xfe{"schema_version": 1}', id="not-utf8"),
    ],
)
def test_malformed_state_raises_state_error(state_path: Path, content: bytes) -> None:
    state_path.parent.mkdir(parents=True)
    state_path.write_bytes(content)
    with pytest.raises(StateError):
        _ = store_at(state_path).labs


# ---- the lock -----------------------------------------------------------------------------
HOLDER = """
import sys
from pathlib import Path
from awslab.state import StateStore
store = StateStore(Path(sys.argv[1]), {})
with store.locked(timeout=30):
    print("locked", flush=True)
    sys.stdin.readline()  # hold the lock until the test says so
print("released", flush=True)
"""


@pytest.fixture
def holder(state_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process holding the lock of `state_path`."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(state_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "locked", proc.stderr.read() if proc.stderr else ""
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream:
                stream.close()


def test_a_second_store_fails_with_a_message_naming_the_holder(
    state_path: Path, holder: subprocess.Popen[str]
) -> None:
    store = store_at(state_path)
    with pytest.raises(LockError) as info, store.locked(timeout=0.3):
        pytest.fail("got a lock another process holds")
    assert f"pid {holder.pid}" in str(info.value)
    assert f"{state_path}.lock" in str(info.value)
    assert info.value.hint and "again" in info.value.hint


def test_a_waiting_store_gets_the_lock_once_the_holder_releases_it(
    state_path: Path, holder: subprocess.Popen[str]
) -> None:
    store = store_at(state_path)
    trying, acquired = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def take() -> None:
        trying.set()
        try:
            with store.locked(timeout=30):
                acquired.set()
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=take)
    t.start()
    assert trying.wait(10)
    assert not acquired.is_set()  # the child still holds it
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    t.join(30)
    assert not t.is_alive()
    assert errors == []
    assert acquired.is_set()


def test_a_lock_left_by_a_killed_process_is_free_at_once(
    state_path: Path, holder: subprocess.Popen[str]
) -> None:
    owner = Path(f"{state_path}.lock.owner")
    assert f"pid {holder.pid}" in owner.read_text()
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    store = store_at(state_path)
    with store.locked(timeout=0):  # a single try: no waiting for a stale lock
        assert owner.read_text().startswith(f"pid {os.getpid()} ")
        store.ensure_lab("crud", "")
    assert not owner.exists()
    assert "crud" in store_at(state_path).labs


def test_locked_rereads_what_another_store_wrote(state_path: Path) -> None:
    mine, theirs = store_at(state_path), store_at(state_path)
    assert mine.labs == {}  # cached: empty
    with theirs.locked():
        theirs.ensure_lab("crud", "")
    with mine.locked():
        assert "crud" in mine.labs
        mine.ensure_lab("image", "")
    assert set(store_at(state_path).labs) == {"crud", "image"}


# ---- the local cloud instance a lab lives in (issue 7, item 9) -------------------------------
INSTANCE = {"pid": 4242, "started_at": "2025-01-01T10:00:00.000Z"}
RESTARTED = {"pid": 4343, "started_at": "2025-01-01T11:00:00.000Z"}


def test_the_local_cloud_instance_is_stamped_on_what_a_store_creates_or_changes(state_path: Path) -> None:
    store = StateStore(state_path, dict(TARGET), local_cloud=dict(INSTANCE))
    store.ensure_lab("crud", "")
    store.put_record("crud", a_record())
    assert json.loads(state_path.read_text())["labs"]["crud"]["local_cloud"] == INSTANCE
    assert store_at(state_path).labs["crud"].local_cloud == INSTANCE
    # an `up` in a restarted local cloud: the lab now lives in the new instance
    StateStore(state_path, dict(TARGET), local_cloud=dict(RESTARTED)).ensure_lab("crud", "")
    assert store_at(state_path).labs["crud"].local_cloud == RESTARTED
    # a store without an instance (another target, or nothing known) leaves it as it is
    store_at(state_path).put_record("crud", a_record("role"))
    assert store_at(state_path).labs["crud"].local_cloud == RESTARTED


def test_which_labs_went_with_the_local_cloud() -> None:
    def lab(instance: dict[str, Any] | None, resources: bool = True) -> LabState:
        return LabState("abc123", local_cloud=instance, resources={"t": a_record()} if resources else {})

    labs = {
        "same": lab(INSTANCE),
        "other": lab(RESTARTED),
        "older": lab(None),  # written by an awslab that did not record the instance
        "empty": lab(RESTARTED, resources=False),  # planned only: nothing to lose
    }
    assert lost_with_local_cloud(labs, INSTANCE, started_now=False) == ["other"]
    assert lost_with_local_cloud(labs, None, started_now=False) == ["older", "other", "same"]
    assert lost_with_local_cloud(labs, INSTANCE, started_now=True) == ["older", "other", "same"]


# ---- a full disk or a read-only place is the user's to fix (issue 7, item 9) -----------------
@pytest.mark.parametrize(
    ("code", "what", "todo"),
    [
        (errno.ENOSPC, "the disk is full", "free some space"),
        (errno.EROFS, "the file system is read-only", "use a writable place (--state PATH)"),
        (errno.EACCES, "permission denied", "make it writable by you"),
    ],
)
def test_a_failed_write_names_the_file_and_what_to_do(
    state_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, what: str, todo: str
) -> None:
    store = store_at(state_path)

    def refuse(*_a: Any, **_k: Any) -> Any:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(StateError) as e:
        store.ensure_lab("crud", "")
    assert str(e.value) == f"cannot write {state_path}: {what}"
    assert e.value.hint is not None and e.value.hint.startswith(todo)


def test_a_lock_in_a_read_only_place_names_it(state_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, *_a: Any, **_k: Any) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(StateError) as e, store_at(state_path).locked():
        pass
    assert str(e.value) == f"cannot write {state_path.parent}: the file system is read-only"
