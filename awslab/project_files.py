"""The files a lab may use: those under its project root, reached without leaving it.

A spec's project root is the directory that holds the spec; for the built-in labs it is the
lab tree, the parent of configs/ (their specs name ../handlers/<lab>). Every path a spec names
must resolve inside it. The directories awslab zips or uploads (a Lambda's code, a website) may
hold symlinks only to places inside it: a link leading out, or nowhere, is refused and named,
because following it would ship whatever it points at (/etc/shadow, ~/.aws/credentials) to the
cloud, or serve it from a public website.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from awslab.errors import OutsideProjectError

LINK_HINT = (
    "replace the link with a copy of what it points at, or point it inside the project; awslab "
    "never zips or uploads files from outside the directory that holds the spec"
)


def builtin_configs_dir() -> Path:
    """configs/ of a source checkout (editable install), else the copy packed in the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "configs", here / "_labs" / "configs"):
        if candidate.is_dir():
            return candidate
    return here / "_labs" / "configs"


def project_root(spec_dir: Path) -> Path:
    """The tree a spec in `spec_dir` may use: the lab tree for the built-in labs (and any spec
    kept beside them), else the spec's own directory."""
    spec_dir = spec_dir.resolve()
    configs = builtin_configs_dir().resolve()
    if spec_dir == configs or configs in spec_dir.parents:
        return configs.parent
    return spec_dir


def is_inside(path: Path, root: Path) -> bool:
    """Whether `path` (resolved, symlinks followed) is `root` or under it."""
    return path.resolve().is_relative_to(root.resolve())


def shown(path: Path) -> str:
    """A path as a user would type it: relative to the current directory when under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def walk_files(
    top: Path, root: Path, *, skip: Callable[[str], bool] = lambda rel: False
) -> Iterator[tuple[str, Path]]:
    """(path relative to `top` with '/', path) of every regular file under `top`, by name.

    `skip(rel)` drops an entry (and a directory's contents) before anything else is looked at, so
    an excluded `.venv` may link where it likes. A symlink is followed when it resolves inside
    `root`; one that leads outside, dangles or loops raises OutsideProjectError naming it.
    Sockets, FIFOs and devices are not files to ship and are passed over.
    """
    root = root.resolve()
    yield from _walk(top, "", root, (top.resolve(),), skip)


def _walk(
    here: Path, prefix: str, root: Path, chain: tuple[Path, ...], skip: Callable[[str], bool]
) -> Iterator[tuple[str, Path]]:
    with os.scandir(here) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        rel = prefix + entry.name
        if skip(rel):
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            real = _link_target(path, root)
            if real.is_dir():
                if real in chain:
                    raise OutsideProjectError(
                        f"{shown(path)}: a symlink to {shown(real)}, which contains it (a loop)",
                        hint="remove the link, or point it at a directory that does not contain it",
                    )
                yield from _walk(path, rel + "/", root, (*chain, real), skip)
            elif real.is_file():
                yield rel, path
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(path, rel + "/", root, (*chain, chain[-1] / entry.name), skip)
        elif entry.is_file(follow_symlinks=False):
            yield rel, path


def _link_target(link: Path, root: Path) -> Path:
    try:
        real = link.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, or a loop of links (RuntimeError before 3.13)
        raise OutsideProjectError(
            f"{shown(link)}: a symlink to {os.readlink(link)}, which does not exist (or loops)",
            hint="remove the link or make it point at a file inside the project",
        ) from None
    if not real.is_relative_to(root):
        raise OutsideProjectError(
            f"{shown(link)}: a symlink to {shown(real)}, outside the lab's project {root}",
            hint=LINK_HINT,
        )
    return real
