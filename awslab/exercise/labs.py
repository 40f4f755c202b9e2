"""Finding what to act on: the deployed lab that has the kind a command needs (or the one named
with `--lab`), and the resource of that kind in it, from the state file alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awslab.errors import ExerciseError, UsageError
from awslab.resources.base import Record
from awslab.state import LabState, StateStore
from awslab.ttl_names import LOGICALS

TTL_REAPER = frozenset(LOGICALS)  # the resources `up --ttl` adds

# What a kind is called in messages.
KIND_LABELS = {
    "apigateway.rest_api": "an API",
    "apigateway.http_api": "an HTTP API",
    "lambda.url": "a function URL",
    "sqs.queue": "an SQS queue",
    "sns.topic": "an SNS topic",
    "stepfunctions.state_machine": "a state machine",
    "s3.notification": "an S3 notification",
    "lambda.function": "a Lambda function",
    "dynamodb.table": "a table",
}


def label(kind: str) -> str:
    return KIND_LABELS.get(kind, f"a {kind}")


def builtin_lab_with(accepts: Callable[[Mapping[str, Any]], bool]) -> str | None:
    """The first built-in lab (by name) whose spec `accepts`: the one to suggest deploying. Read
    as plain YAML, on the error path only."""
    import yaml

    from awslab.lab_index import builtin_labs

    for name, path in builtin_labs().items():
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and accepts(data):
            return name
    return None


def has_kind(spec: Mapping[str, Any], kinds: Iterable[str]) -> bool:
    resources = spec.get("resources")
    wanted = set(kinds)
    return isinstance(resources, dict) and any(
        isinstance(r, dict) and r.get("kind", r.get("type")) in wanted for r in resources.values()
    )


@dataclass
class DeployedLab:
    """One lab of the state file, with lookups the exercise commands share."""

    name: str
    state: LabState

    def records(self, kind: str | tuple[str, ...]) -> list[Record]:
        kinds = (kind,) if isinstance(kind, str) else kind
        return [r for _, r in sorted(self.state.resources.items()) if r.kind in kinds]

    def has(self, kind: str | tuple[str, ...]) -> bool:
        return bool(self.records(kind))

    def record(self, logical: str) -> Record | None:
        return self.state.resources.get(logical)

    def attrs(self) -> dict[str, Mapping[str, Any]]:
        """logical -> attributes, for resolving `${logical.attr}` in checks."""
        return {name: r.attrs for name, r in self.state.resources.items()}

    def tables(self) -> dict[str, str]:
        """logical -> physical name of every table the lab created."""
        return {r.logical: r.attrs.get("name") or r.physical for r in self.records("dynamodb.table")}

    def logical_of(self, ref: str) -> str | None:
        """The logical name of the resource an ARN, URL or physical name designates."""
        if not ref:
            return None
        for name, r in self.state.resources.items():
            if ref == r.physical or ref in (r.attrs.get("arn"), r.attrs.get("url"), r.attrs.get("name")):
                return name
        if ref.startswith("arn:"):  # a qualified Lambda ARN (…:function:name:alias) or a bare name
            return self.logical_of(ref.split(":")[6]) if ref.count(":") >= 7 else None
        return None

    @property
    def spec_path(self) -> Path | None:
        p = Path(self.state.spec) if self.state.spec else None
        return p if p is not None and p.is_file() else None


def ready(lab: DeployedLab, record: Record) -> Record:
    """The record, if its resource was created completely (not an interrupted create)."""
    if record.status != "created":
        raise ExerciseError(
            f"{record.kind} '{record.logical}' of lab '{lab.name}' is not fully created (status {record.status})",
            hint=f"run 'awslab up {lab.name}' to finish it",
        )
    return record


def pick_lab(
    store: StateStore,
    lab: str | None,
    *,
    where: str,
    what: str,
    accepts: Callable[[DeployedLab], bool],
    suggest: str | Callable[[], str | None] | None,
) -> DeployedLab:
    """The lab named `lab`, or the one deployed lab that `accepts`. `what` names what it needs
    ("an SQS queue (sqs.queue)"); `suggest` is the built-in lab to deploy when none has it (or
    finds it: it is called only then)."""
    labs = {name: DeployedLab(name, state) for name, state in sorted(store.deployed.items())}

    def up_hint() -> str:
        lab_name = suggest() if callable(suggest) else suggest
        return f"run 'awslab up {lab_name}' first" if lab_name else "deploy a lab that does with 'awslab up'"

    if lab is not None:
        chosen = labs.get(lab)
        if chosen is None:
            deployed = ", ".join(labs) or "none"
            raise UsageError(
                f"lab '{lab}' is not deployed on {where} (deployed: {deployed})",
                hint=f"run 'awslab up {lab}' first",
            )
        if not accepts(chosen):
            others = [n for n, d in labs.items() if accepts(d)]
            hint = f"labs that do: {', '.join(others)}" if others else up_hint()
            raise UsageError(f"lab '{lab}' does not have {what}", hint=hint)
        return chosen
    candidates = [d for d in labs.values() if accepts(d)]
    if not candidates:
        raise UsageError(f"no lab deployed on {where} has {what}", hint=up_hint())
    if len(candidates) > 1:
        names = ", ".join(d.name for d in candidates)
        raise UsageError(
            f"several deployed labs have {what}: {names}",
            hint=f"pick one with --lab, e.g. --lab {candidates[0].name}",
        )
    return candidates[0]


def pick_lab_with(
    store: StateStore, kind: str | tuple[str, ...], lab: str | None, *, where: str
) -> DeployedLab:
    """The lab (named, or the only one) that has a resource of `kind` (or of one of the kinds)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    return pick_lab(
        store,
        lab,
        where=where,
        what=f"{label(kinds[0])} ({kinds[0]})" if len(kinds) == 1 else " or ".join(label(k) for k in kinds),
        accepts=lambda d: d.has(kinds),
        suggest=lambda: builtin_lab_with(lambda spec: has_kind(spec, kinds)),
    )


def lab_named(store: StateStore, lab: str, *, where: str) -> DeployedLab:
    state = store.lab(lab)
    if state is None:
        deployed = ", ".join(sorted(store.deployed)) or "none"
        raise UsageError(
            f"lab '{lab}' is not deployed on {where} (deployed: {deployed})",
            hint=f"run 'awslab up {lab}' first",
        )
    return DeployedLab(lab, state)


def pick_resource(
    lab: DeployedLab, kind: str | tuple[str, ...], logical: str | None = None, *, option: str = ""
) -> Record:
    """The lab's one resource of `kind` (or of one of the kinds), or the one named `logical`;
    several -> UsageError naming the option that picks one."""
    records = lab.records(kind)
    if logical is None and lab.state.ttl:  # a TTL's reaper is never the one meant by default
        records = [r for r in records if r.logical not in TTL_REAPER]
    what = kind if isinstance(kind, str) else " / ".join(kind)
    if logical is not None:
        match = [r for r in records if r.logical == logical]
        if not match:
            raise UsageError(
                f"lab '{lab.name}' has no {what} named '{logical}'", hint=_choices(r.logical for r in records)
            )
        return ready(lab, match[0])
    if not records:
        raise UsageError(f"lab '{lab.name}' has no {what}")
    if len(records) > 1:
        names = [r.logical for r in records]
        how = f"pick one with {option}, e.g. {option} {names[0]}" if option else "name one"
        raise UsageError(f"lab '{lab.name}' has several {what} resources: {', '.join(names)}", hint=how)
    return ready(lab, records[0])


def function_record(lab: DeployedLab, function: str) -> Record:
    """A lambda.function of the lab by logical name (its physical name works too)."""
    records = lab.records("lambda.function")
    for r in records:
        if function in (r.logical, r.physical, r.attrs.get("name")):
            return ready(lab, r)
    raise UsageError(
        f"lab '{lab.name}' has no Lambda function '{function}'", hint=_choices(r.logical for r in records)
    )


def _choices(names: Iterable[str]) -> str:
    names = list(names)
    return f"it has: {', '.join(names)}" if names else "it has none"
