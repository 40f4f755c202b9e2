"""Every state file on this machine: the default ones (one per target, in the state directory)
and each `--state PATH` awslab has written, recorded in a registry next to them
(`state-files.json`). Sweep reads them all so that it never deletes what another state owns;
`awslab labs` reads them to show where each lab is deployed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from awslab import paths
from awslab.errors import StateError
from awslab.state import (
    LOCK_WAIT_SECONDS,
    LabState,
    StateStore,
    atomic_write,
    lost_cloud,
    read_summaries,
    write_error,
)

REGISTRY_VERSION = 1


def registry_path() -> Path:
    return paths.state_dir() / "state-files.json"


def default_dir() -> Path:
    """Where the default state files are (one per target)."""
    return paths.state_file("x").parent


def register(path: Path) -> None:
    """Record a `--state` file; entries whose file no longer exists are dropped on the way. Written
    under a lock, so two commands registering at once both stay recorded."""
    path = Path(path).resolve()
    if path.parent == default_dir().resolve():
        return  # the default directory is listed anyway
    registry = registry_path()
    if path in _registered(registry):
        return  # the common case: nothing to write
    try:
        registry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with filelock.FileLock(str(registry) + ".lock", timeout=LOCK_WAIT_SECONDS):
            kept = [p for p in _registered(registry) if p.exists() and p != path]
            doc = {"schema_version": REGISTRY_VERSION, "state_files": [str(p) for p in [*kept, path]]}
            atomic_write(registry, json.dumps(doc, indent=2) + "\n")
    except filelock.Timeout:
        raise StateError(
            f"the registry of state files {registry} stays locked",
            hint="another awslab command is writing it; run this command again",
        ) from None
    except OSError as exc:
        raise write_error(Path(exc.filename or registry), exc) from exc


def _registered(registry: Path) -> list[Path]:
    try:
        data = json.loads(registry.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(
            f"the registry of state files {registry} is unreadable: {exc}",
            hint="fix it, or delete it (then 'awslab teardown --sweep' no longer knows the --state "
            "files used so far: run each once again to record it)",
        ) from None
    files = data.get("state_files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise StateError(f"the registry of state files {registry} is malformed", hint="fix it, or delete it")
    return [Path(f) for f in files]


def state_file_paths() -> list[Path]:
    """The default state files and the registered ones that still exist, each once."""
    found: dict[Path, None] = {}
    defaults = default_dir()
    candidates = sorted(defaults.glob("*.json")) if defaults.is_dir() else []
    for path in [*candidates, *_registered(registry_path())]:
        if path.is_file():
            found.setdefault(path.resolve(), None)
    return list(found)


@dataclass
class StateFile:
    path: Path
    target: dict[str, Any]  # what the file says it is for (see cli.common.open_state)
    labs: dict[str, LabState]

    def store(self) -> StateStore:
        return StateStore(self.path, self.target)


def read_state_files(*, strict: bool = True) -> tuple[list[StateFile], list[StateError]]:
    """Every state file on this machine, read. With `strict`, an unreadable one raises (nobody
    can tell what it owns); otherwise it is returned among the errors."""
    files: list[StateFile] = []
    errors: list[StateError] = []
    for path in state_file_paths():
        store = StateStore(path, {})
        try:
            labs = store.labs
        except StateError as exc:
            if strict:
                raise
            errors.append(exc)
            continue
        files.append(StateFile(path, store.recorded_target, labs))
    return files, errors


def same_target(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two state files are for the same place. Regions are not compared for an account
    or an endpoint: IAM roles are global, so a lab deployed in another region owns its role here
    too (and its regional resources are not seen from this region anyway)."""
    kind = a.get("kind")
    if not kind or kind != b.get("kind"):
        return False
    if kind == "aws":
        return bool(a.get("account_id")) and a.get("account_id") == b.get("account_id")
    return bool(a.get("endpoint_url")) and a.get("endpoint_url") == b.get("endpoint_url")


def where(target: Mapping[str, Any]) -> str:
    """Where a state file's labs are, in a few words: local:4580, aws 123456789012 us-east-1."""
    kind = target.get("kind", "?")
    if kind == "local":
        return "local:" + str(target.get("endpoint_url", "")).rsplit(":", 1)[-1]
    if kind == "aws":
        return f"aws {target.get('account_id', '?')} {target.get('region', '?')}"
    return f"{target.get('endpoint_url', kind)} {target.get('region', '')}".strip()


def lock_others_for(store: StateStore, locks: contextlib.ExitStack) -> list[StateStore]:
    """Every other state file on this machine for the target of `store`, each locked in `locks`
    (so no command adds to it meanwhile) and read once locked. An unreadable one is an error:
    nobody can tell what it owns."""
    files, _ = read_state_files(strict=True)
    mine = store.path.resolve()
    others: list[StateStore] = []
    for f in sorted(files, key=lambda f: str(f.path)):  # one order for all: no lock-order cycles
        if f.path != mine and same_target(f.target, store.target_info):
            other = f.store()
            locks.enter_context(other.locked())
            others.append(other)
    return others


def deployments(
    running_local_cloud: Callable[[str], Mapping[str, Any] | None],
) -> tuple[dict[str, list[dict[str, Any]]], list[StateError]]:
    """lab -> where it is deployed, from every state file on this machine (and the files that
    could not be read). `running_local_cloud(endpoint)` says which instance of a local cloud runs
    there (None: none), asked once per endpoint, to mark the labs that went with another as gone."""
    defaults = default_dir().resolve()
    running: dict[str, Mapping[str, Any] | None] = {}
    found: dict[str, list[dict[str, Any]]] = {}
    unreadable: list[StateError] = []
    for path in state_file_paths():
        try:  # summaries, not records: reading records needs pydantic, and 'labs' stays fast without
            target, labs = read_summaries(path)
        except StateError as exc:
            unreadable.append(exc)
            continue
        for name, lab in sorted(labs.items()):
            if not lab.resources:
                continue  # planned, never deployed
            entry: dict[str, Any] = {
                "where": where(target),
                "stack_id": lab.stack_id,
                "updated_at": lab.updated_at,
                "state_file": str(path),
                "default_state": path.parent == defaults,
                "spec": lab.spec,
                "resources": lab.resources,
            }
            if target.get("kind") == "local":
                endpoint = str(target.get("endpoint_url", ""))
                if endpoint not in running:
                    running[endpoint] = running_local_cloud(endpoint)
                entry["gone"] = lost_cloud(lab.local_cloud, running[endpoint], False)
            found.setdefault(name, []).append(entry)
    return found, unreadable
