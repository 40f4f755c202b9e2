"""`awslab new NAME --from TEMPLATE`: start a lab of one's own from a template.

A template is data, a directory of `awslab/templates/` (see its README.md): `about.yaml` and a tree
of files with `{{name}}` placeholders. `create_lab` writes that tree with the lab's name, plus a
sample event for the template's function (`events/NAME.json`, from `awslab event`'s generator), and
returns what it wrote. It never overwrites a file unless told to, and checks every path before it
writes the first, so a refusal leaves the directory as it was.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awslab.errors import UsageError

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATE = "function"
PLACEHOLDER = "{{name}}"
TEMPLATE_SUFFIX = ".tmpl"  # dropped from file names: handlers ship as app.py.tmpl


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    order: int
    function: str  # logical name of the function the sample event is for
    event: dict[str, Any]  # {payload: ...} or {kind, method?, path?, body?}
    tries: list[str]  # commands to try, with {{name}}, {{spec}} and {{event}} placeholders
    root: Path

    @property
    def files_dir(self) -> Path:
        return self.root / "files"


@dataclass
class NewLab:
    name: str
    template: str
    directory: Path
    spec: Path
    event: Path
    function: str
    files: list[Path]  # every file written, the spec and the event included
    overwritten: list[Path] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "template": self.template,
            "directory": str(self.directory),
            "spec": str(self.spec),
            "event": str(self.event),
            "function": self.function,
            "files": [str(p) for p in self.files],
            "overwritten": [str(p) for p in self.overwritten],
            "next_steps": self.next_steps,
        }


def templates() -> dict[str, Template]:
    """Every template, in their `order`."""
    found = [_load(d) for d in TEMPLATES_DIR.iterdir() if (d / "about.yaml").is_file()]
    return {t.name: t for t in sorted(found, key=lambda t: (t.order, t.name))}


def _load(root: Path) -> Template:
    import yaml

    about = yaml.safe_load((root / "about.yaml").read_text(encoding="utf-8"))
    event = dict(about["event"])
    function = str(event.pop("function"))
    return Template(
        name=root.name,
        description=str(about["description"]),
        order=int(about.get("order", 100)),
        function=function,
        event=event,
        tries=[str(t) for t in about.get("try") or []],
        root=root,
    )


def get_template(name: str) -> Template:
    """The template `name`; UsageError naming the close one and every one for another name."""
    known = templates()
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(known), n=1)
    raise UsageError(
        f"unknown template '{name}'",
        hint=(f"did you mean '{close[0]}'? " if close else "") + f"templates: {', '.join(known)}",
    )


def check_name(name: str) -> None:
    """A lab name the spec accepts, and not one of a built-in lab (deploying both on one target
    would make them the same lab: each `up` would replace the other's resources)."""
    from awslab.lab_index import builtin_labs
    from awslab.spec import LAB_NAME_RE

    if not LAB_NAME_RE.fullmatch(name):
        raise UsageError(
            f"invalid lab name {name!r}",
            hint="1 to 20 characters: lowercase letters, digits and '-', starting with a letter "
            "(it prefixes the name of every resource)",
        )
    if name in builtin_labs():
        raise UsageError(
            f"'{name}' is the name of a built-in lab",
            hint=f"pick another name, e.g. my-{name}" if len(name) <= 17 else "pick another name",
        )


def event_for(template: Template) -> Any:
    """The template's sample event: its payload as is, or `awslab event KIND`'s, with its body."""
    if "payload" in template.event:
        return template.event["payload"]
    from awslab.exercise.events import EventParams, sample_event

    spec = template.event
    params: dict[str, Any] = {k: spec[k] for k in ("method", "path") if k in spec}
    if "body" in spec:
        body = spec["body"]
        params["body"] = body if isinstance(body, str) else json.dumps(body)
    return sample_event(str(spec["kind"]), EventParams(**params))


def render(template: Template, name: str) -> dict[Path, str]:
    """Relative path -> text of every file the template writes for lab `name`, the event included."""
    out: dict[Path, str] = {}
    for src in sorted(template.files_dir.rglob("*")):
        if not src.is_file() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(template.files_dir).as_posix().replace(PLACEHOLDER, name)
        rel = rel.removesuffix(TEMPLATE_SUFFIX)
        out[Path(rel)] = src.read_text(encoding="utf-8").replace(PLACEHOLDER, name)
    out[event_path(name)] = json.dumps(event_for(template), indent=2) + "\n"
    spec = Path(f"{name}.yaml")
    return {spec: out.pop(spec)} | out  # the spec first: it is what a learner opens next


def event_path(name: str) -> Path:
    return Path("events") / f"{name}.json"


def create_lab(
    name: str, template: str = DEFAULT_TEMPLATE, directory: Path | None = None, *, force: bool = False
) -> NewLab:
    """Write lab `name` from `template` into `directory` (default: the current one; made when
    missing). An existing file is a UsageError unless `force`; nothing is written then."""
    check_name(name)
    chosen = get_template(template)
    base = Path(directory) if directory is not None else Path(".")
    files = render(chosen, name)
    targets = {rel: base / rel for rel in files}
    existing = [p for p in targets.values() if p.exists() or p.is_symlink()]
    for path in existing:
        if path.is_dir():
            raise UsageError(f"{path} is a directory", hint="pick another name or directory")
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise UsageError(
            f"{existing[0]} already exists{more}; nothing was written",
            hint="pick another name or --dir, or add --force to overwrite",
        )
    written: list[Path] = []
    for rel, text in files.items():
        path = targets[rel]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():  # replace the link itself, never write where it points
                path.unlink()
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="pick a directory you can write to with --dir",
            ) from None
        written.append(path)
    result = NewLab(
        name=name,
        template=chosen.name,
        directory=base,
        spec=base / f"{name}.yaml",
        event=base / event_path(name),
        function=chosen.function,
        files=written,
        overwritten=existing,
    )
    result.next_steps = next_steps(result, chosen)
    return result


def _shown(path: Path) -> str:
    """A path as a command line takes it from the current directory: ./x.yaml, sub/x.yaml."""
    text = os.path.relpath(path) if not path.is_absolute() or path.is_relative_to(Path.cwd()) else str(path)
    return text if "/" in text or os.sep in text else f"./{text}"


def next_steps(lab: NewLab, template: Template) -> list[str]:
    """What to run next, from the current directory."""
    spec, event = _shown(lab.spec), _shown(lab.event)
    fill = {"{{name}}": lab.name, "{{spec}}": spec, "{{event}}": event}
    tries = []
    for line in template.tries:
        for key, value in fill.items():
            line = line.replace(key, value)
        tries.append(line)
    return [
        f"awslab up {spec}",
        f"awslab check {spec}",
        f"awslab invoke {lab.name} {lab.function} --payload @{event}",
        *tries,
        f"awslab teardown {lab.name}",
    ]
