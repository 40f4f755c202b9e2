"""The calls of a recorded `up` as a runnable bash script of AWS CLI commands: in the order they
were made (dependencies first), a comment naming each resource, every value AWS assigned (an
API's id, a function's ARN) captured in a shell variable by the command that got it and used
from there, the account, region and awslab's stack suffix as variables, binary arguments (a
function's zip) as files, and after each create the wait AWS needs before the next step."""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel

from awslab.explain.cli_form import CliCommand, Secrets, to_cli
from awslab.explain.hook import blob_namer
from awslab.explain.record import Recording
from awslab.references import strings

_MARK = "\x00"  # around a variable's name inside an argument, until it is rendered
_READ = re.compile(r"^(Get|Describe|List|Head)[A-Z]")
# the response fields that hold what AWS assigns, whose values later calls use
_CAPTURED_KEY = re.compile(r"(Id|id|Arn|ARN|Url|URL|Account|UUID)$")
_WORD = "A-Za-z0-9"
IAM_PAUSE_SECONDS = 10  # a new role is not assumable by Lambda or Step Functions for some seconds


@dataclass
class Script:
    text: str
    files: dict[str, bytes] = field(default_factory=dict)  # file name -> content (zips, site files)


@dataclass
class _Step:
    resource: str
    model: OperationModel
    cmd: CliCommand
    response: Mapping[str, Any]
    captures: list[tuple[str, str]] = field(default_factory=list)  # (JMESPath, variable) used later
    waits: list[str] = field(default_factory=list)


def build_script(recording: Recording, *, files_dir: str | None = None) -> Script:
    """The script. With `files_dir` (a directory name next to the script) its files are written
    there by the caller; without, the script carries them itself (base64)."""
    lab = recording.spec.name
    secrets = Secrets()
    known: list[tuple[str, str]] = []  # (value AWS assigned, variable), longest first when used
    fixed = [(recording.region, "REGION"), (recording.stack_id, "STACK")]
    variables: set[str] = {"REGION", "STACK"}
    producers: dict[str, tuple[_Step, str]] = {}  # variable -> the step that captures it, path
    steps: list[_Step] = []
    files: dict[str, bytes] = {}
    seen_in_requests: set[str] = set()

    for rec in recording.calls:
        call = rec.call
        if call.response is None:  # a failed attempt (retried, or expected): not part of the recipe
            continue
        cmd = to_cli(call.model, call.params, blob_name=blob_namer(call.params), secrets=secrets)
        _name_files(cmd, files)
        request_text = " ".join(cmd.words())
        seen_in_requests.update(strings(call.params))
        used = _substitute(cmd, [*sorted(known, key=lambda p: -len(p[0])), *fixed])
        step = _Step(rec.resource, call.model, cmd, call.response)
        for var in used:
            if var in producers:
                producer, path = producers.pop(var)
                producer.captures.append((path, var))
        for path, value in _assigned(call.response):
            if value in seen_in_requests or value in request_text or any(value == v for v, _ in known):
                continue
            var = _variable(call.model.name, path, variables)
            variables.add(var)
            known.append((value, var))
            producers[var] = (step, path)
        step.waits = _waits(call.model, call.params, cmd)
        steps.append(step)

    kept = [s for s in steps if not _READ.match(s.model.name) or s.captures]
    lines = _header(lab, recording, files_dir)
    if files and files_dir is None:
        lines += _embedded(files)
    resource = None
    for step in kept:
        if step.resource != resource:
            resource = step.resource
            lines += ["", f"# ---- {resource or 'values the spec reads'} ----"]
        lines.append(_render(step))
        for wait in step.waits:
            lines.append(wait)
    lines += ["", f'echo "lab {lab} built (stack $STACK)"', ""]
    return Script("\n".join(lines), files)


# ---- values ---------------------------------------------------------------------------------
def _assigned(response: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, str]]:
    """(JMESPath, value) of the ids, ARNs and URLs in a response, top level and one level down."""
    out: list[tuple[str, str]] = []
    for key, value in response.items():
        if key == "ResponseMetadata" or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        path = f"{prefix}{key}"
        if (
            isinstance(value, str)
            and _CAPTURED_KEY.search(key)
            and len(value) >= 5
            and not re.search(r"\s", value)
        ):
            out.append((path, value))
        elif isinstance(value, Mapping) and depth == 0:
            out.extend(_assigned(value, f"{path}.", depth + 1))
    return out


def _variable(operation: str, path: str, taken: set[str]) -> str:
    """API_ID for CreateRestApi's `id`, FUNCTION_ARN for CreateFunction's FunctionArn, ACCOUNT
    for GetCallerIdentity's Account; a number when taken."""
    noun = re.sub(r"^(Create|Put|Get|Describe|Add|Publish|Update|Start)", "", operation)
    key = xform_name(path.rsplit(".", 1)[-1]).upper()
    base = key if key not in ("ID", "ARN", "URL") else f"{xform_name(noun).upper()}_{key}"
    base = re.sub(r"[^A-Z0-9_]", "_", base)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _substitute(cmd: CliCommand, known: list[tuple[str, str]]) -> set[str]:
    """Replace every known value in the command's arguments by its variable (whole words only);
    returns the variables used."""
    used: set[str] = set()

    def one(text: str) -> str:
        if f"{_MARK}FILES{_MARK}" in text:  # a file of the script's: its name stays as written
            return text
        for value, var in known:
            if value and value in text:
                pattern = re.compile(rf"(?<![{_WORD}]){re.escape(value)}(?![{_WORD}])")
                text, n = pattern.subn(f"{_MARK}{var}{_MARK}", text)
                if n:
                    used.add(var)
        return text

    cmd.args = [(flag, [one(v) for v in values]) for flag, values in cmd.args]
    return used


def _name_files(cmd: CliCommand, files: dict[str, bytes]) -> None:
    """Each binary argument becomes a file of the script's; two different contents of one name
    (index.html of two buckets) get distinct names."""
    renames: dict[str, str] = {}  # flag -> the file's name in the script
    for blob in cmd.blobs:
        name, n = blob.name, 2
        while name in files and files[name] != blob.data:
            name, n = f"{n}-{blob.name}", n + 1
        files[name] = blob.data
        renames[blob.flag] = name
    cmd.args = [
        (flag, [_file_ref(v, renames[flag]) for v in values] if flag in renames else values)
        for flag, values in cmd.args
    ]


def _file_ref(value: str, name: str) -> str:
    prefix = "fileb://" if value.startswith("fileb://") else ""
    return f"{prefix}{_MARK}FILES{_MARK}/{name}"


# ---- waits ----------------------------------------------------------------------------------
def _waits(model: OperationModel, params: Mapping[str, Any], cmd: CliCommand) -> list[str]:
    """After a create or an update, the AWS CLI waiter of the service that waits for what it
    made to be usable (`aws lambda wait function-active-v2`), from botocore's waiter models;
    after a new role, the pause until other services may assume it."""
    import botocore.session

    name = model.name
    suffixes: tuple[str, ...]
    if name.startswith("Create"):
        rest, suffixes = name.removeprefix("Create"), ("ActiveV2", "Active", "Exists")
    elif name.startswith("Update"):
        rest, suffixes = name.removeprefix("Update"), ("UpdatedV2", "Updated")
    else:
        return []
    service = model.service_model.service_name
    try:
        waiters = botocore.session.get_session().get_waiter_model(service)
    except Exception:  # a service without waiters
        return []
    by_name = set(waiters.waiter_names)
    nouns = sorted({w for w in by_name if rest.startswith(re.sub(r"(ActiveV2|Active|Exists|UpdatedV2|Updated)$", "", w))},
                   key=len, reverse=True)  # fmt: skip
    for noun_waiter in nouns:
        noun = re.sub(r"(ActiveV2|Active|Exists|UpdatedV2|Updated)$", "", noun_waiter)
        for suffix in suffixes:
            waiter = noun + suffix
            if waiter in by_name:
                line = _wait_line(model, waiters.get_waiter(waiter), waiter, cmd)
                if line is None:
                    return []
                out = [line]
                if service == "iam" and waiter == "RoleExists":
                    out.append(
                        'sleep "$IAM_PROPAGATION_SECONDS"  # a new role is not assumable by Lambda or Step '
                        "Functions for some seconds after it exists"
                    )
                return out
    return []


def _wait_line(model: OperationModel, waiter: Any, name: str, cmd: CliCommand) -> str | None:
    """`aws SERVICE wait WAITER --arg value`, the arguments being those the waiter's operation
    requires, taken from the create's own."""
    op = model.service_model.operation_model(waiter.operation)
    required = op.input_shape.required_members if op.input_shape is not None else []
    given = dict(cmd.args)
    words = ["aws", cmd.service, "wait", xform_name(name, "-")]
    for member in required:
        flag = f"--{xform_name(member, '-')}"
        if flag not in given:
            return None
        words += [flag, *given[flag]]
    return _shell(words)


# ---- rendering ------------------------------------------------------------------------------
def _render(step: _Step) -> str:
    words = step.cmd.words()
    if not step.captures:
        return _shell(words)
    if len(step.captures) == 1:
        path, var = step.captures[0]
        return f"{var}=$({_shell([*words, '--query', path, '--output', 'text'])})"
    paths = ", ".join(p for p, _ in step.captures)
    names = " ".join(v for _, v in step.captures)
    return f"read -r {names} < <({_shell([*words, '--query', f'[{paths}]', '--output', 'text'])})"


def _shell(words: list[str]) -> str:
    return " ".join(_quote(w) for w in words)


def _quote(word: str) -> str:
    """A word for bash: single-quoted when plain; double-quoted with its variables spliced in."""
    if _MARK not in word:
        return shlex.quote(word)
    parts = word.split(_MARK)
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a variable's name
            out.append("${" + part + "}")
        else:
            out.append(re.sub(r'([\\"$`])', r"\\\1", part))
    return '"' + "".join(out) + '"'


def _header(lab: str, recording: Recording, files_dir: str | None) -> list[str]:
    files = f'"$HERE/{files_dir}"' if files_dir else '"$(mktemp -d)"'
    lines = [
        "#!/usr/bin/env bash",
        f"# Builds lab '{lab}' by hand with the AWS CLI: the requests `awslab up {lab}` makes, in",
        "# dependency order, with the waits AWS needs. Written by `awslab explain`.",
        "#",
        f"#   bash {lab}.sh                        # on the account and region of your AWS CLI setup",
        f"#   bash {lab}.sh --endpoint-url URL     # on an emulator (or set AWS_ENDPOINT_URL)",
        "#",
        "# Every name ends in the stack suffix $STACK: set STACK=... to build a second copy.",
        "# Remove what it made with the matching delete-* commands (or `awslab teardown --sweep`:",
        "# the resources carry awslab's tags).",
        "set -euo pipefail",
        'if [ "${1:-}" = "--endpoint-url" ]; then export AWS_ENDPOINT_URL="$2"; fi',
        f'REGION="${{AWS_REGION:-${{AWS_DEFAULT_REGION:-{recording.region}}}}}"',
        'export AWS_DEFAULT_REGION="$REGION"',
        'export AWS_PAGER=""  # AWS CLI v2: print each answer instead of paging it',
        f'STACK="${{STACK:-{recording.stack_id}}}"',
        f'IAM_PROPAGATION_SECONDS="${{IAM_PROPAGATION_SECONDS:-{IAM_PAUSE_SECONDS}}}"',
        'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
        f"FILES={files}  # the zips and files the commands upload",
    ]
    if not files_dir:
        lines.append("trap 'rm -rf \"$FILES\"' EXIT")
    return lines


def _embedded(files: Mapping[str, bytes]) -> list[str]:
    lines = ["", "# ---- the files the commands upload (function zips, site files) ----"]
    for name, data in files.items():
        encoded = base64.b64encode(data).decode()
        chunks = [encoded[i : i + 76] for i in range(0, len(encoded), 76)] or [""]
        lines += [f"base64 -d > \"$FILES/{name}\" <<'EOF'", *chunks, "EOF"]
    return lines
