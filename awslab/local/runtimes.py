"""Which Python runs a Lambda function of the local cloud: the one its runtime declares.

A function declaring `python3.X` runs on a Python 3.X of this machine when there is one: found on
PATH, then where pyenv, uv, mise, asdf, Homebrew and the system put them, or with Windows' `py -3.X`
launcher. Each candidate is asked for its version once (a pyenv shim of a version not selected, or
a broken link, is skipped), and the answer is kept for the life of the process. Without one, the
function runs on the local cloud's own Python, never silently: `Interpreter.note` is the line the
executor writes first in the logs of each cold start, and `report` (the health document) lets
`awslab up` say it too.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The Python runtimes AWS Lambda offers that the worker (awslab/local/worker.py) can run on.
SUPPORTED = tuple(f"python3.{minor}" for minor in range(9, 15))
PROBE_TIMEOUT_S = 15.0
_RUNTIME = re.compile(r"^python(3\.\d{1,2})$")
# Asks a candidate for its version and its path (a shim's or a launcher's real one); -S: fast.
_PROBE = "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"


@dataclass(frozen=True)
class Interpreter:
    """The Python a function runs on."""

    runtime: str  # as declared: "python3.12"
    executable: str
    version: str  # "3.12.1"
    native: bool  # the declared version; False: the local cloud's own Python stands in
    own: bool  # the local cloud's own interpreter (its environment serves the runtime's packages)

    @property
    def minor(self) -> str:
        """'3.12'."""
        return ".".join(self.version.split(".")[:2])

    @property
    def note(self) -> str | None:
        """Why this is not the declared runtime (None when it is): a log line."""
        if self.native:
            return None
        if self.runtime in SUPPORTED:
            return f"awslab: runtime {self.runtime} is not installed here; running on Python {self.version}"
        return (
            f"awslab: runtime {self.runtime} cannot run in the local cloud ({SUPPORTED[0]} to "
            f"{SUPPORTED[-1]} can); running on Python {self.version}"
        )


def own_interpreter(runtime: str) -> Interpreter:
    """The local cloud's own Python, for `runtime`."""
    version = platform.python_version()
    minor = ".".join(version.split(".")[:2])
    return Interpreter(runtime, sys.executable, version, native=runtime == f"python{minor}", own=True)


class RuntimeFinder:
    """Finds and remembers the interpreter of each runtime (see module doc). `search_path` (default:
    PATH) and `places` (default: `common_places()`) are there for tests."""

    def __init__(self, search_path: str | None = None, places: list[Path] | None = None) -> None:
        self.search_path = search_path
        self.places = places
        self._found: dict[str, Interpreter] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._prefetched = False

    def resolve(self, runtime: str) -> Interpreter:
        """The interpreter `runtime` runs on here (looked up once, then remembered)."""
        with self._lock:
            if runtime in self._found:
                return self._found[runtime]
            lock = self._locks.setdefault(runtime, threading.Lock())
        with lock:  # one lookup per runtime, while others proceed
            if runtime not in self._found:
                found = self._lookup(runtime)
                with self._lock:
                    self._found[runtime] = found
        return self._found[runtime]

    def prefetch(self) -> None:
        """Look every supported runtime up in the background, once (the health document lists them)."""
        with self._lock:
            if self._prefetched:
                return
            self._prefetched = True
        for runtime in SUPPORTED:
            threading.Thread(
                target=self.resolve, args=(runtime,), name=f"awslab-{runtime}", daemon=True
            ).start()

    def report(self) -> dict[str, Any]:
        """What the health document says: the local cloud's own Python version, and the version
        each supported runtime runs on here (None: not installed, the own Python stands in;
        "pending": still being looked up). It never waits for a lookup: the health document is
        what `awslab` polls while the local cloud starts."""
        with self._lock:
            found = dict(self._found)
        runtimes: dict[str, str | None] = {}
        for runtime in SUPPORTED:
            f = found.get(runtime)
            runtimes[runtime] = PENDING if f is None else (f.version if f.native else None)
        return {"python": platform.python_version(), "runtimes": runtimes}

    def _lookup(self, runtime: str) -> Interpreter:
        own = own_interpreter(runtime)
        match = _RUNTIME.match(runtime)
        if own.native or match is None or runtime not in SUPPORTED:
            return own
        minor = match.group(1)
        for command in self._candidates(minor):
            probed = probe(command)
            if probed is not None and ".".join(probed[0].split(".")[:2]) == minor:
                version, executable = probed
                return Interpreter(runtime, executable or command[0], version, native=True, own=False)
        return own

    def _candidates(self, minor: str) -> Iterator[list[str]]:
        seen: set[str] = set()
        name = f"python{minor}" + (".exe" if os.name == "nt" else "")
        path = os.environ.get("PATH", "") if self.search_path is None else self.search_path
        dirs = [Path(d) for d in path.split(os.pathsep) if d]
        # Version managers' shims last: they fail for a version not selected (slowly), and the
        # versions they lead to are usually among the common places.
        shims = [d for d in dirs if d.name == "shims"]
        places = common_places(minor) if self.places is None else self.places
        for directory in [*(d for d in dirs if d not in shims), *places, *shims]:
            exe = directory / name
            key = os.path.normcase(str(exe))
            if key not in seen and exe.is_file() and os.access(exe, os.X_OK):
                seen.add(key)
                yield [str(exe)]
        if os.name == "nt" and self.places is None and (launcher := shutil.which("py")):
            yield [launcher, f"-{minor}"]


def common_places(minor: str, env: Mapping[str, str] | None = None) -> list[Path]:
    """Directories where Python version managers and systems install `python{minor}`, newest
    patch release first."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    managed = [
        (Path(env.get("PYENV_ROOT") or home / ".pyenv") / "versions", f"{minor}*", "bin"),
        (Path(env["UV_PYTHON_INSTALL_DIR"]) if env.get("UV_PYTHON_INSTALL_DIR") else data / "uv" / "python",
         f"cpython-{minor}*", "bin"),
        (Path(env.get("MISE_DATA_DIR") or data / "mise") / "installs" / "python", f"{minor}*", "bin"),
        (Path(env.get("ASDF_DATA_DIR") or home / ".asdf") / "installs" / "python", f"{minor}*", "bin"),
    ]  # fmt: skip
    places: list[Path] = []
    for root, pattern, sub in managed:
        try:
            versions = sorted(root.glob(pattern), key=_version_key, reverse=True)
        except OSError:
            continue
        places += [v / sub for v in versions if re.match(rf"^(cpython-)?{re.escape(minor)}(\.|$|-)", v.name)]
    places += [Path("/usr/local/bin"), Path("/usr/bin"), Path("/opt/homebrew/bin")]
    return places


def probe(command: list[str]) -> tuple[str, str] | None:
    """(version, sys.executable) of the interpreter `command` starts, None if it does not run."""
    try:
        done = subprocess.run([*command, "-I", "-S", "-c", _PROBE], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or len(lines) != 2 or not re.match(r"^3\.\d+\.\d+$", lines[0]):
        return None
    return lines[0], lines[1]


PENDING = "pending"


def stand_ins(functions: Mapping[str, str], report: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """(function, declared runtime, Python it runs on) for each function of `functions` (name ->
    runtime) the local cloud whose health `report` this is runs on another Python."""
    if not report:
        return []
    known = report.get("runtimes") or {}
    own = str(report.get("python") or "")
    own_runtime = "python" + ".".join(own.split(".")[:2])
    # a runtime still being looked up is not named: the function's log says it at its cold start
    return [(name, runtime, own) for name, runtime in functions.items()
            if runtime != own_runtime and not known.get(runtime)]  # fmt: skip


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name)[:3])


_default: RuntimeFinder | None = None
_default_lock = threading.Lock()


def default_finder() -> RuntimeFinder:
    """The process's finder on PATH and the common places (lookups are shared by every executor)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = RuntimeFinder()
        return _default
