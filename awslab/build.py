"""Handler bundles: a Lambda code directory (plus its requirements, for real targets) as a zip.

The zip is deterministic: entries sorted by path, fixed timestamps and modes, so the same tree
gives the same bytes and the same CodeSha256, and an unchanged handler never triggers an update.

Requirements are installed as wheels for the Lambda runtime's platform (not this machine's)
into a cache keyed by what decides the result: the requirements, local files they name, the
runtime and the architecture. The local cloud installs requirements itself, so its bundles keep
`requirements.txt` and carry no dependencies.

Symlinks in the code directory are followed only inside the spec's project (project_files.py):
one leading anywhere else is refused, naming the link, rather than zipping what it points at.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from awslab import paths
from awslab.errors import AwslabError, SpecError
from awslab.project_files import project_root, walk_files

DEFAULT_EXCLUDES: tuple[str, ...] = ("__pycache__", "*.pyc", ".*", "tests", "site")
# Dependencies keep their own `tests`/`site` packages; only bytecode is dropped.
DEPS_EXCLUDES: tuple[str, ...] = ("__pycache__", "*.pyc")
REQUIREMENTS = "requirements.txt"
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--: Lambda only needs to read the code
PIP_TIMEOUT = 900.0


@dataclass(frozen=True)
class Bundle:
    zip_bytes: bytes
    sha256: str  # base64 of the zip's sha256, as Lambda reports CodeSha256
    files: int


def build_bundle(
    code_dir: Path,
    *,
    exclude: list[str] | None = None,
    bundle_requirements: bool,
    runtime: str,
    architecture: str,
    spec_dir: Path | None = None,
) -> Bundle:
    """Zip `code_dir` (minus the default and given excludes) for Lambda.

    Symlinks may point anywhere in the project of the spec in `spec_dir` (without one: inside
    `code_dir`); OutsideProjectError names one that leads elsewhere or nowhere.

    With `bundle_requirements` and a `requirements.txt`, the requirements are installed as wheels
    for `runtime`/`architecture` (cached) and zipped alongside the code; the code wins when both
    have the same path.
    """
    code_dir = Path(code_dir)
    if not code_dir.is_dir():
        raise SpecError([f"Lambda code directory '{code_dir}' does not exist (or is not a directory)"])
    entries: dict[str, Path] = {}
    if bundle_requirements and (code_dir / REQUIREMENTS).is_file():
        deps = install_requirements(code_dir, runtime=runtime, architecture=architecture)
        entries.update(_walk(deps, deps, DEPS_EXCLUDES))
    entries.update(code_files(code_dir, spec_dir, exclude or ()))
    zip_bytes = _zip(entries)
    digest = base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")
    return Bundle(zip_bytes=zip_bytes, sha256=digest, files=len(entries))


# ---- the zip -----------------------------------------------------------------------------------
def _excluded(rel: str, patterns: Iterable[str]) -> bool:
    """gitignore-like: a pattern without '/' matches any path component, one with '/' the
    relative path (or a leading part of it)."""
    parts = rel.split("/")
    for pattern in patterns:
        pattern = pattern.strip().rstrip("/")
        if not pattern:
            continue
        if "/" in pattern:
            pattern = pattern.lstrip("/")
            if any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), pattern) for i in range(len(parts))):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def code_files(
    code_dir: Path, spec_dir: Path | None, exclude: Iterable[str] = ()
) -> Iterator[tuple[str, Path]]:
    """The handler files a bundle holds: symlinks may point anywhere in the project of the spec in
    `spec_dir` (without one, only inside `code_dir`)."""
    root = project_root(spec_dir) if spec_dir is not None else code_dir
    return _walk(code_dir, root, (*DEFAULT_EXCLUDES, *exclude))


def _walk(top: Path, root: Path, patterns: Iterable[str]) -> Iterator[tuple[str, Path]]:
    patterns = tuple(patterns)
    # excluded directories are pruned, so their contents (and links) are never read
    return walk_files(top, root, skip=lambda rel: _excluded(rel, patterns))


def _zip(entries: dict[str, Path]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in sorted(entries):
            info = zipfile.ZipInfo(rel, date_time=ZIP_DATE)
            info.create_system = 3  # unix, so external_attr's mode is honoured everywhere
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[rel].read_bytes(), compresslevel=6)
    return buf.getvalue()


# ---- requirements ------------------------------------------------------------------------------
def python_version(runtime: str) -> str:
    """'python3.12' -> '3.12'."""
    m = re.fullmatch(r"python(\d+\.\d+)", runtime)
    if not m:
        raise SpecError([f"requirements.txt can only be bundled for a Python runtime, not '{runtime}'"])
    return m.group(1)


def platform_of(architecture: str) -> str:
    try:
        return PLATFORMS[architecture]
    except KeyError:
        raise SpecError(
            [f"unknown Lambda architecture '{architecture}' (expected x86_64 or arm64)"]
        ) from None


def requirements_key(code_dir: Path, *, runtime: str, architecture: str) -> str:
    """Cache key of an install: the requirements text, the bytes of local files it names (a
    vendored wheel that changes must not hit the old cache), the runtime and the architecture."""
    text = (code_dir / REQUIREMENTS).read_bytes()
    h = hashlib.sha256()
    for part in (text, runtime.encode(), architecture.encode()):
        h.update(len(part).to_bytes(8, "big") + part)
    for local in sorted(_local_files(code_dir, text.decode("utf-8", "replace"))):
        h.update(local.name.encode() + b"\0" + hashlib.sha256(local.read_bytes()).digest())
    return h.hexdigest()[:24]


def _local_files(code_dir: Path, text: str) -> set[Path]:
    found: set[Path] = set()
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for token in line.split():
            candidate = token.removeprefix("file://")
            if candidate.startswith("-"):
                continue
            p = Path(candidate)
            p = p if p.is_absolute() else code_dir / p
            try:
                if p.is_file():
                    found.add(p.resolve())
            except OSError:  # a token too long or odd for a path is just not a file
                continue
    return found


def pip_command(requirements: Path, target_dir: Path, *, runtime: str, architecture: str) -> list[str]:
    """The pip call that installs `requirements` as wheels for Lambda's platform into `target_dir`."""
    return [
        sys.executable, "-m", "pip", "install",
        "--requirement", str(requirements),
        "--target", str(target_dir),
        "--platform", platform_of(architecture),
        "--only-binary=:all:",
        "--implementation", "cp",
        "--python-version", python_version(runtime),
        "--no-compile",  # .pyc files would be for this interpreter, and are not reproducible
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
    ]  # fmt: skip


def install_requirements(code_dir: Path, *, runtime: str, architecture: str) -> Path:
    """Install `code_dir/requirements.txt` for Lambda, once per cache key; return the directory."""
    key = requirements_key(code_dir, runtime=runtime, architecture=architecture)
    root = paths.cache_dir() / "requirements"
    final = root / key
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    # Install beside the cache entry, then rename: a concurrent or interrupted install never
    # leaves a half-filled entry that a later build would trust.
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        cmd = pip_command(
            (code_dir / REQUIREMENTS).resolve(), work / "site", runtime=runtime, architecture=architecture
        )
        try:
            proc = subprocess.run(
                cmd, cwd=code_dir, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AwslabError(f"could not run pip for {code_dir / REQUIREMENTS}: {exc}") from exc
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-8:])
            raise AwslabError(
                f"installing {code_dir / REQUIREMENTS} for {runtime}/{architecture} failed "
                f"(pip exit {proc.returncode}):\n{tail}",
                hint="each requirement needs a wheel for manylinux2014 and this Python version; "
                "check the names and versions, and the network or index settings",
            )
        (work / "site").mkdir(exist_ok=True)  # a requirements file of comments installs nothing
        try:
            (work / "site").rename(final)
        except OSError:
            if not final.is_dir():  # lost a race to an identical install: use the winner's
                raise
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)
