"""`up --watch` (issue 11, item 6): which files a lab's watch covers, what a poll sees (by content,
not by modification time alone), how changes settle before they are handed over, and what the
command says about a spec error while watching. The clock is injected: nothing sleeps."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from awslab.spec import LabSpec, builtin_labs, load_spec
from awslab.state import StateStore
from awslab.target import Target
from awslab.watch import FileChange, FileWatcher, lab_files, merge, watch
from tests.unit.fake_kind import (
    LAB,
    FakeCloud,
    cloud_fixture,  # noqa: F401 (fixture)
    fake,
    saved,
    store_fixture,  # noqa: F401 (fixture)
    target_fixture,  # noqa: F401 (fixture)
    up,
    write_spec_fixture,  # noqa: F401 (fixture)
)


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_a_lab_watches_its_spec_and_the_files_its_kinds_deploy() -> None:
    crud = load_spec(builtin_labs()["crud"])
    files = lab_files(crud)
    handlers = crud.base_dir.parent / "handlers" / "crud"
    assert crud.path in files and (handlers / "app.py").resolve() in {f.resolve() for f in files}
    assert (handlers / "site" / "index.html").resolve() in {f.resolve() for f in files}  # s3.files source
    assert not any("__pycache__" in f.parts for f in files)

    workflow = load_spec(builtin_labs()["workflow"])
    definitions = [f for f in lab_files(workflow) if f.suffix in (".json", ".yaml") and f != workflow.path]
    assert definitions, "the state machine's definition file is watched"


def test_a_poll_sees_changed_added_and_removed_files_by_content(tmp_path: Path) -> None:
    a, b, c = (tmp_path / n for n in ("a.py", "b.py", "c.py"))
    a.write_text("one")
    b.write_text("two")
    watcher = FileWatcher(lambda: sorted(tmp_path.glob("*.py")))
    assert watcher.count == 2 and watcher.poll() == []

    bump_mtime(a)  # saved unchanged (or touched): nothing to deploy
    assert watcher.poll() == []
    a.write_text("ONE")
    bump_mtime(a)
    c.write_text("three")
    b.unlink()
    assert watcher.poll() == [FileChange(a, "changed"), FileChange(b, "removed"), FileChange(c, "added")]
    assert watcher.poll() == []


def test_changes_are_handed_over_once_a_poll_sees_nothing_newer(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text("v1")
    watcher = FileWatcher(lambda: [app])

    # what "happens" at each tick of the injected clock: an editor saving in two steps
    def save(text: str) -> Callable[[], None]:
        def write() -> None:
            app.write_text(text)
            bump_mtime(app)  # a new modification time even on a coarse-grained filesystem

        return write

    script = {2: save("v2-partial"), 3: save("v2")}
    ticks = [0]
    slept: list[float] = []
    handed: list[tuple[int, list[FileChange]]] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        ticks[0] += 1
        script.get(ticks[0], lambda: None)()

    watch(
        watcher,
        lambda changes: handed.append((ticks[0], changes)),
        sleep=sleep,
        interval=0.3,
        keep_going=lambda: ticks[0] < 8,
    )
    assert handed == [(4, [FileChange(app, "changed")])]  # one deploy, after the save settled
    assert set(slept) == {0.3}


def test_merged_changes_say_what_happened_overall(tmp_path: Path) -> None:
    p = tmp_path / "x"
    assert merge([FileChange(p, "added")], [FileChange(p, "changed")]) == [FileChange(p, "added")]
    assert merge([FileChange(p, "added")], [FileChange(p, "removed")]) == []
    assert merge([FileChange(p, "removed")], [FileChange(p, "added")]) == [FileChange(p, "changed")]


def test_a_spec_error_while_watching_is_one_line_and_watching_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from awslab.cli.common import Options
    from awslab.cli.watching import _redeploy

    spec_path = tmp_path / "lab.yaml"
    spec_path.write_text("name: lab\nresources:\n  q: {type: sqs.queue}\n")
    spec = load_spec(spec_path)
    spec_path.write_text("name: lab\nresources: [\n")
    got = _redeploy(Options(), spec, [FileChange(spec_path, "changed")], None, None)  # type: ignore[arg-type]
    assert got is None  # nothing deployed; the last good spec stays watched
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("Changed: ") and lines[0].endswith("lab.yaml (changed)")
    assert lines[1].startswith("error: ") and "lab.yaml" in lines[1] and "not valid YAML" in lines[1]
    assert lines[-1] == "Still watching: save a fix to deploy it."


# ---- what `up --watch` does with an update (the fake kind: no cloud) ---------------------------
def test_ctrl_c_during_an_update_is_not_taken_for_stopping_watching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from awslab.cli import watching
    from awslab.cli.common import Options

    spec_path = tmp_path / "lab.yaml"
    spec_path.write_text("name: lab\nresources:\n  q: {type: sqs.queue}\n")
    spec = load_spec(spec_path)

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    def one_change(_watcher: FileWatcher, on_change: Callable[[list[FileChange]], None]) -> None:
        on_change([FileChange(spec_path, "changed")])

    monkeypatch.setattr(watching, "_redeploy", interrupted)
    monkeypatch.setattr("awslab.watch.watch", one_change)
    with pytest.raises(KeyboardInterrupt):  # the command's "interrupted" message follows
        watching.watch_lab(Options(), spec, None, None)  # type: ignore[arg-type]
    said = capsys.readouterr().err
    assert "Watching 1 file of lab 'lab'" in said and "Stopped watching" not in said

    def idle(_watcher: FileWatcher, _on_change: Callable[[list[FileChange]], None]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("awslab.watch.watch", idle)
    watching.watch_lab(Options(), spec, None, None)  # type: ignore[arg-type]
    assert "Stopped watching. Lab 'lab' is still up" in capsys.readouterr().err


def test_on_aws_a_watched_update_that_deletes_is_asked_for_and_else_left_out(
    cloud: FakeCloud,
    store: StateStore,
    target: Target,
    write_spec: Callable[..., LabSpec],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from awslab.cli.common import Options
    from awslab.cli.watching import _redeploy

    target._account_id = "123456789012"  # described in the question: no STS call
    assert target.needs_confirmation
    up(write_spec({"a": fake(value="1"), "b": fake(value="2")}), store, target)
    spec = write_spec({"a": fake(value="1")})  # b removed from the spec
    change = [FileChange(spec.path, "changed")]
    assert _redeploy(Options(), spec, change, target, store) == spec  # no terminal to ask in
    said = " ".join(capsys.readouterr().err.split())
    assert "Not applied: the update deletes or replaces b (delete)" in said and "--yes" in said
    assert set(saved(store)) == {"a", "b"} and cloud.calls("delete") == []

    _redeploy(Options(yes=True), spec, change, target, store)  # `up --watch --yes`: no question
    assert set(saved(store)) == {"a"} and "updated" in capsys.readouterr().err

    # an update that deletes nothing goes ahead without a question
    _redeploy(Options(), write_spec({"a": fake(value="3")}), change, target, store)
    assert cloud.of(store, "a")["value"] == "3"


def test_a_watched_update_forgets_a_ttl_that_expired_and_says_so(
    cloud: FakeCloud,
    store: StateStore,
    target: Target,
    write_spec: Callable[..., LabSpec],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from awslab.cli.common import Options
    from awslab.cli.watching import _redeploy

    up(write_spec({"a": fake(value="1")}), store, target)
    store.set_ttl(LAB, {"ttl": "1h", "expires_at": "2020-01-01T00:00:00Z"})  # long expired
    spec = write_spec({"a": fake(value="2")})
    _redeploy(Options(), spec, [FileChange(spec.path, "changed")], target, store)
    assert "The TTL set before expired at 2020-01-01 00:00:00 UTC" in capsys.readouterr().err
    assert store.labs[LAB].ttl is None  # as `up` does: not kept recorded without its reaper
