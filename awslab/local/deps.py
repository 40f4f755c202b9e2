"""A handler's requirements.txt, made importable for the local Lambda executor, for the Python the
function runs on (awslab.local.runtimes).

On the local cloud's own Python, requirements its environment already satisfies (by name and
version, as Pillow or requests often are) are used from there, without pip and without the
network; the worker is told their import names so its guard lets them through. Anything else (an
unsatisfied or unparsable line, a local path, a pip option, another Python) makes the whole file go
through `python -m pip install --target` into a cache directory keyed by the file's hash and the
Python's version, once, under a file lock so two servers or threads never install the same set
twice. The packages the AWS runtime ships (boto3 and its dependencies) come from the local cloud's
environment when they support the function's Python, else they are installed for it the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from filelock import FileLock

from awslab.errors import LocalCloudError
from awslab.local.runtimes import Interpreter, own_interpreter

REQUIREMENTS = "requirements.txt"
PIP_TIMEOUT_S = 900
# Distributions of the packages the AWS Python runtime ships next to the handler (worker.RUNTIME_PACKAGES).
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# pip's own words for "this package is the problem", most specific first.
_PIP_BLAME = (
    re.compile(r"No matching distribution found for (\S+)"),
    re.compile(r"Could not find a version that satisfies the requirement (\S+)"),
    re.compile(r"Failed to build installable wheels for some pyproject\.toml based projects \((.+?)\)"),
    re.compile(r"Failed building wheel for (\S+)"),
    re.compile(r"Invalid requirement: '([^']+)'"),
    re.compile(r"(?:Directory|File) '([^']+)' (?:is not installable|does not exist)"),
    re.compile(r"Could not install requirement (\S+)"),
)


class RequirementsError(LocalCloudError):
    """A handler's requirements.txt could not be installed; `package` names the culprit if pip did."""

    def __init__(self, message: str, *, package: str | None, output: str) -> None:
        super().__init__(message, hint="fix the requirement or check that the package index is reachable")
        self.package = package
        self.output = output


@dataclass(frozen=True)
class Dependencies:
    """What the worker needs: directories to put after the task root, and import names it may take
    from the local cloud's own environment."""

    paths: tuple[Path, ...] = ()
    allowed: frozenset[str] = field(default_factory=frozenset)


def prepare(task_root: Path, cache_root: Path, python: Interpreter | None = None) -> Dependencies:
    """Make the requirements of the code extracted at `task_root` importable on `python` (default:
    the local cloud's own) (see module doc)."""
    python = python or own_interpreter("")
    req_file = task_root / REQUIREMENTS
    if not req_file.is_file():
        return Dependencies()
    text = req_file.read_text(encoding="utf-8", errors="replace")
    allowed = satisfied_by_environment(text) if python.own else None
    if allowed is not None:
        return Dependencies(allowed=allowed)
    return Dependencies(paths=(install(text, task_root, cache_root, python),))


def runtime_packages(python: Interpreter, cache_root: Path) -> tuple[Path, ...]:
    """Where `python` finds boto3 and the rest of what the AWS runtime ships: nothing to add on the
    local cloud's own Python; the local cloud's copies when they support `python` (pure Python), else
    a pip install for it."""
    if python.own:
        return ()
    dirs: list[Path] = []
    for name in RUNTIME_DISTRIBUTIONS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            break
        if not _supports((dist.metadata.get_all("Requires-Python") or [None])[0], python.version):
            break
        where = Path(str(dist.locate_file("")))
        if where not in dirs:
            dirs.append(where)
    else:
        return tuple(dirs)
    return (install("boto3\n", cache_root, cache_root, python),)


def satisfied_by_environment(text: str) -> frozenset[str] | None:
    """Import names of every requirement and its dependencies, if all are installed here in a
    matching version; None when pip is needed."""
    requirement_cls = _requirement_class()
    if requirement_cls is None:
        return None
    pending: list[Any] = []
    for line in _lines(text):
        if line.startswith("-") or _is_local(line):
            return None
        try:
            req = requirement_cls(line)
        except ValueError:  # InvalidRequirement: pip will parse it and say what is wrong
            return None
        if req.url:
            return None
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            return None
        if not req.specifier.contains(version, prereleases=True):
            return None
        pending.append(req)
    names: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        req = pending.pop()
        key = (_canonical(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # an optional dependency not installed: the handler cannot have it anywhere
        names |= _import_names(dist)
        for spec in dist.requires or []:
            # A dependency line or marker this `packaging` cannot read (InvalidRequirement,
            # UndefinedEnvironmentName... are ValueErrors) cannot name a package it must allow.
            with contextlib.suppress(ValueError):
                dep = requirement_cls(spec)
                extras = [{"extra": e} for e in req.extras] or [{"extra": ""}]
                if dep.marker is None or any(dep.marker.evaluate(env) for env in extras):
                    pending.append(dep)
    return frozenset(names)


def install(text: str, task_root: Path, cache_root: Path, python: Interpreter | None = None) -> Path:
    """pip-install the requirements for `python` into the cache (once per content and Python
    version) and return the directory."""
    python = python or own_interpreter("")
    key = hashlib.sha256()
    for part in (text, python.version, sys.platform):
        key.update(part.encode() + b"\0")
    for line in _lines(text):
        if _is_local(line):  # a wheel or directory in the bundle: its content is part of the result
            _hash_path(key, _local_path(task_root, line))
    return _install_once(text, task_root, cache_root, key.hexdigest()[:32], python)


def _install_once(text: str, task_root: Path, cache_root: Path, key: str, python: Interpreter) -> Path:
    cache_root.mkdir(parents=True, exist_ok=True)
    target = cache_root / key
    if target.is_dir():
        return target
    with FileLock(str(cache_root / f"{key}.lock")):
        if target.is_dir():  # another process installed it while we waited
            return target
        staging = cache_root / f"{key}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            _run_pip(text, task_root, staging, python)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            staging.with_name(staging.name + ".txt").unlink(missing_ok=True)
    return target


def _run_pip(text: str, task_root: Path, staging: Path, python: Interpreter) -> None:
    """pip with the bundle as working directory, so `./vendor/x.whl` lines resolve inside it."""
    req_file = staging.with_name(staging.name + ".txt")
    req_file.write_text(text, encoding="utf-8")
    options = ["--target", str(staging), "--disable-pip-version-check", "--no-input",
               "--no-warn-script-location", "--quiet", "-r", str(req_file)]  # fmt: skip
    done = _pip([python.executable, "-m", "pip", "install", *options], task_root)
    if not python.own and done.returncode != 0 and "No module named pip" in done.stderr:
        # That Python has no pip: the local cloud's, for its version (wheels only: a build needs it).
        shutil.rmtree(staging, ignore_errors=True)
        done = _pip([sys.executable, "-m", "pip", "install", "--python-version", python.minor,
                     "--only-binary=:all:", *options], task_root)  # fmt: skip
    if done.returncode == 0:
        return
    output = (done.stderr or "") + (done.stdout or "")
    package = blame(output)
    last = next((ln.strip() for ln in reversed(output.splitlines()) if ln.strip().startswith("ERROR")), "")
    what = f"package '{package}'" if package else "requirements.txt"
    raise RequirementsError(f"pip could not install {what}: {last or output.strip()[-300:]}", package=package,
                            output=output)  # fmt: skip


def _pip(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                              check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise RequirementsError(
            f"installing requirements.txt timed out after {PIP_TIMEOUT_S} s",
            package=None,
            output=str(exc.output),
        ) from None


def blame(pip_output: str) -> str | None:
    """The requirement pip's output names as the cause of a failure."""
    for pattern in _PIP_BLAME:
        match = pattern.search(pip_output)
        if match:
            return match.group(1).strip().rstrip(".")
    return None


def _local_path(root: Path, line: str) -> Path:
    ref = line.split(";", 1)[0].strip()
    if " @ " in ref:  # "name @ file:///..."
        ref = ref.split(" @ ", 1)[1].strip()
    if ref.startswith("file:"):
        ref = url2pathname(urlsplit(ref).path)
    path = Path(ref)
    return path if path.is_absolute() else root / path


def _hash_path(digest: Any, path: Path) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode() + b"\0")
        with contextlib.suppress(OSError):  # unreadable: pip fails on it next and says so
            digest.update(hashlib.sha256(file.read_bytes()).digest())


def _lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _is_local(line: str) -> bool:
    return (
        line.startswith((".", "/", "file:", "\\"))
        or " @ file:" in line
        or (len(line) > 1 and line[1] == ":")  # a Windows drive path
        or line.endswith((".whl", ".zip", ".tar.gz"))
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _import_names(dist: Any) -> set[str]:
    top = dist.read_text("top_level.txt")
    if top:
        return {ln.strip() for ln in top.splitlines() if ln.strip()}
    names: set[str] = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".data")) or first in ("..", "__pycache__"):
            continue
        names.add(first.split(".", 1)[0] if len(file.parts) == 1 else first)
    return names


def _supports(requires_python: str | None, version: str) -> bool:
    """Whether a distribution's Requires-Python admits `version` (unreadable: assumed not)."""
    if not requires_python:
        return True
    with contextlib.suppress(ImportError, ValueError):
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(requires_python).contains(version, prereleases=True)
    with contextlib.suppress(ImportError, ValueError):
        from pip._vendor.packaging.specifiers import SpecifierSet as PipSpecifierSet

        return PipSpecifierSet(requires_python).contains(version, prereleases=True)
    return False


def _requirement_class() -> Any:
    """PEP 508 parsing: `packaging` if installed, else the copy pip vendors (pip is needed anyway)."""
    with contextlib.suppress(ImportError):
        from packaging.requirements import Requirement

        return Requirement
    with contextlib.suppress(ImportError):
        from pip._vendor.packaging.requirements import Requirement as PipRequirement

        return PipRequirement
    return None
