"""Every state file on this machine (awslab/state_files.py): the default ones, the `--state`
files recorded in the registry (gone ones dropped, concurrent registrations all kept), which of
them are for the same target, and how `awslab labs` names where a lab is."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from awslab import paths, state_files
from awslab.errors import StateError
from awslab.state import StateStore

LOCAL = {"kind": "local", "region": "us-east-1", "endpoint_url": "http://127.0.0.1:4580"}
AWS = {"kind": "aws", "region": "us-east-1", "account_id": "123456789012"}


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWSLAB_STATE_DIR", str(tmp_path / "state-dir"))
    return tmp_path / "state-dir"


def write_state(path: Path, target: dict[str, str], lab: str = "crud") -> Path:
    store = StateStore(path, dict(target))
    store.ensure_lab(lab, "")
    return path


def registered() -> list[str]:
    return list(json.loads(state_files.registry_path().read_text())["state_files"])


def test_a_state_file_given_with_state_is_registered_when_created(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "other.json"
    store = StateStore(other, dict(LOCAL), on_create=state_files.register)
    assert not state_files.registry_path().exists()  # nothing written, nothing registered
    store.ensure_lab("crud", "")
    assert registered() == [str(other.resolve())]
    store.ensure_lab("workflow", "")  # later writes do not register again
    assert registered() == [str(other.resolve())]


def test_default_and_registered_files_are_listed_once_and_gone_ones_dropped(tmp_path: Path) -> None:
    default = write_state(paths.state_file("local-4580"), LOCAL)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for p in (first, second):
        write_state(p, LOCAL)
        state_files.register(p)
        state_files.register(p)  # once only
    state_files.register(default)  # the default directory is not recorded: it is listed anyway
    assert registered() == [str(first.resolve()), str(second.resolve())]
    assert state_files.state_file_paths() == [default.resolve(), first.resolve(), second.resolve()]

    first.unlink()
    assert state_files.state_file_paths() == [default.resolve(), second.resolve()]
    third = write_state(tmp_path / "c.json", LOCAL)
    state_files.register(third)  # the next write drops the entry of the deleted file
    assert registered() == [str(second.resolve()), str(third.resolve())]


def test_concurrent_registrations_are_all_kept(tmp_path: Path) -> None:
    files = [write_state(tmp_path / f"s{i}.json", LOCAL) for i in range(12)]
    threads = [threading.Thread(target=state_files.register, args=(p,)) for p in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(registered()) == sorted(str(p.resolve()) for p in files)


def test_an_unreadable_state_file_is_an_error_when_strict(tmp_path: Path) -> None:
    good = write_state(paths.state_file("local-4580"), LOCAL)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    state_files.register(bad)
    with pytest.raises(StateError, match=r"bad\.json is unreadable"):
        state_files.read_state_files(strict=True)
    files, errors = state_files.read_state_files(strict=False)
    assert [f.path for f in files] == [good.resolve()] and files[0].target == LOCAL
    assert len(errors) == 1 and "bad.json" in str(errors[0])


def test_a_broken_registry_is_named() -> None:
    state_files.registry_path().parent.mkdir(parents=True)
    state_files.registry_path().write_text("[]")
    with pytest.raises(StateError, match=r"state-files\.json is malformed"):
        state_files.state_file_paths()


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (LOCAL, LOCAL, True),
        (LOCAL, {**LOCAL, "endpoint_url": "http://127.0.0.1:4581"}, False),
        (AWS, {**AWS, "region": "eu-west-1"}, True),  # IAM is global: every region of the account
        (AWS, {**AWS, "account_id": "210987654321"}, False),
        (LOCAL, AWS, False),
        (
            {"kind": "endpoint", "endpoint_url": "http://h:1", "region": "us-east-1"},
            {**LOCAL, "kind": "endpoint"},
            False,
        ),
        ({}, {}, False),
    ],
)
def test_same_target(a: dict[str, str], b: dict[str, str], same: bool) -> None:
    assert state_files.same_target(a, b) is same
    assert state_files.same_target(b, a) is same


def test_where_a_lab_is() -> None:
    assert state_files.where(LOCAL) == "local:4580"
    assert state_files.where(AWS) == "aws 123456789012 us-east-1"
    endpoint = {"kind": "endpoint", "endpoint_url": "http://127.0.0.1:5000", "region": "eu-west-1"}
    assert state_files.where(endpoint) == "http://127.0.0.1:5000 eu-west-1"
