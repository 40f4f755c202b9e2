"""What every command shares: the options that go after any command (target, output, debug...),
turning typed errors into one line and an exit code, and opening the target and its state."""

from __future__ import annotations

import errno
import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from awslab.errors import AwslabError, LocalCloudError, TargetError, UsageError, describe_cause

# What a command needs is imported when it runs: `--help`, `labs` and `validate` must not pay
# for boto3, pydantic or the engine (see tests/unit/test_import_discipline.py).
if TYPE_CHECKING:
    from rich.console import Console

    from awslab.spec import LabSpec
    from awslab.state import LabState, StateStore
    from awslab.target import Target


class _LazyConsole:
    """A rich Console made when first used: importing rich's console costs a quick command about
    20 ms, and `validate` (one plain line) or an exit code alone need none."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # No :emoji: codes: awslab prints none, and ARNs and event names are full of colons
            # (not looking them up also spares importing rich's emoji table).
            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True, emoji=False)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    # a with-block is looked up on the type, not through __getattr__: rich's Live enters its console
    def __enter__(self) -> Console:
        return self._get().__enter__()

    def __exit__(self, *exc: object) -> None:
        self._get().__exit__(*exc)

    def __setattr__(self, name: str, value: Any) -> None:  # `out.width = 250` sets the console's
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._get(), name, value)


out = cast("Console", _LazyConsole(stderr=False))
err = cast("Console", _LazyConsole(stderr=True))

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Options:
    target: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    state: Path | None = None
    port: int | None = None
    output: str = "text"
    yes: bool = False
    debug: bool = False
    params: list[str] | None = None  # --param KEY=VALUE, for the spec's `params:`
    explain: bool = False  # --explain: each AWS request as an AWS CLI command, on stderr

    @property
    def json(self) -> bool:
        return self.output == "json"


def _opt(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


TARGET_PARAMS = [
    _opt(
        "target",
        Annotated[
            str | None,
            typer.Option("--target", help="local (default), aws, or endpoint", rich_help_panel="Target"),
        ],
        None,
    ),
    _opt(
        "endpoint_url",
        Annotated[
            str | None,
            typer.Option(
                "--endpoint-url",
                help="any AWS-compatible endpoint (or AWS_ENDPOINT_URL)",
                rich_help_panel="Target",
            ),
        ],
        None,
    ),
    _opt(
        "profile",
        Annotated[
            str | None,
            typer.Option(
                "--profile",
                help="AWS profile for credentials (aws and endpoint targets; an error on the local cloud)",
                rich_help_panel="Target",
            ),
        ],
        None,
    ),
    _opt(
        "region",
        Annotated[
            str | None,
            typer.Option(
                "--region",
                help="AWS region (aws and endpoint targets; an error on the local cloud)",
                rich_help_panel="Target",
            ),
        ],
        None,
    ),
    _opt(
        "state",
        Annotated[
            Path | None,
            typer.Option(
                "--state", help="state file to use instead of the target's default", rich_help_panel="Target"
            ),
        ],
        None,
    ),
    _opt(
        "port",
        Annotated[
            int | None,
            typer.Option("--port", help="local cloud port (or AWSLAB_LOCAL_PORT)", rich_help_panel="Target"),
        ],
        None,
    ),
]
OUTPUT_PARAM = _opt("output", Annotated[str, typer.Option("--output", "-o", help="text or json")], "text")
YES_PARAM = _opt(
    "yes", Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")], False
)
DEBUG_PARAM = _opt("debug", Annotated[bool, typer.Option("--debug", help="show tracebacks")], False)
PARAM_PARAM = _opt(
    "params",
    Annotated[
        list[str] | None,
        typer.Option("--param", help="a value for one of the spec's params: KEY=VALUE; repeatable"),
    ],
    None,
)
EXPLAIN_PARAM = _opt(
    "explain",
    Annotated[
        bool,
        typer.Option("--explain", help="show each AWS request as the equivalent AWS CLI command (on stderr)"),
    ],
    False,
)
# the commands that call AWS for the user: they take --explain
EXPLAIN_COMMANDS = frozenset(
    {"up", "plan", "status", "teardown", "call", "invoke", "upload", "send-message", "publish",
     "send-event", "start-execution", "logs", "check"}
)  # fmt: skip
# the commands that load a lab's spec: they take --param, which every spec they load then gets
SPEC_COMMANDS = frozenset(
    {"validate", "plan", "up", "check", "graph", "call", "invoke", "upload", "send-message", "publish",
     "start-execution", "postman", "explain"}
)  # fmt: skip


def command(
    app: typer.Typer,
    name: str | None = None,
    *,
    target: bool = True,
    output: bool = False,
    yes: bool = False,
    **kwargs: Any,
) -> Callable[[F], F]:
    """Register `fn(opts: Options, ...)` as a command with the shared options appended to its own,
    so they go after the command (`awslab up crud --yes --target aws`)."""

    def decorate(fn: F) -> F:
        extra = [
            *(TARGET_PARAMS if target else []),
            *([OUTPUT_PARAM] if output else []),
            *([YES_PARAM] if yes else []),
            *([PARAM_PARAM] if name in SPEC_COMMANDS else []),
            *([EXPLAIN_PARAM] if name in EXPLAIN_COMMANDS else []),
            DEBUG_PARAM,
        ]
        names = {p.name for p in extra}

        @functools.wraps(fn)
        def wrapper(*args: Any, **kw: Any) -> Any:
            opts = Options(**{k: kw.pop(k) for k in list(kw) if k in names})
            if opts.output not in ("text", "json"):
                fail(UsageError(f"--output must be text or json, not '{opts.output}'"), opts.debug)
            try:
                if opts.params:
                    from awslab.spec import command_params

                    command_params.set(parse_params(opts.params))
                return fn(opts, *args, **kw)
            except typer.Exit:
                raise
            except KeyboardInterrupt:
                err.print(
                    "[yellow]interrupted[/]: the state file records everything done so far; "
                    "run the command again to resume or tear down"
                )
                raise typer.Exit(130) from None
            except Exception as exc:
                fail(exc, opts.debug)

        hints = typing.get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in list(inspect.signature(fn).parameters.values())[1:]
        ]
        wrapper.__signature__ = inspect.Signature([*own, *extra])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in own},
            **{p.name: p.annotation for p in extra},
        }
        app.command(name, **kwargs)(wrapper)
        return fn

    return decorate


def parse_params(given: list[str]) -> dict[str, str]:
    """`--param KEY=VALUE` options as a mapping (the value may hold '=')."""
    out: dict[str, str] = {}
    for item in given:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--param {item!r}: expected KEY=VALUE", hint="e.g. --param memory=512")
        out[key.strip()] = value
    return out


def fail(exc: BaseException, debug: bool) -> None:
    """Print one clear line (and a hint) for an error and exit with its code; --debug re-raises."""
    if debug:
        raise exc
    exc = print_error(exc)
    if isinstance(exc, AwslabError):
        raise typer.Exit(exc.exit_code)
    err.print("[dim]hint:[/] this looks like a bug in awslab; run again with --debug for the traceback")
    raise typer.Exit(1)


def print_error(exc: BaseException) -> BaseException:
    """Print an error as one clear line (and its hint); returns it as translated (an AwslabError
    when the user can fix it)."""
    from rich.markup import escape

    exc = translate(exc)
    if isinstance(exc, AwslabError):
        lines = str(exc).splitlines() or [type(exc).__name__]
        err.print(f"[bold red]error:[/] {escape(lines[0])}")
        for line in lines[1:]:
            err.print(f"  {line}", markup=False)
        if exc.hint:
            err.print(f"[dim]hint:[/] {escape(exc.hint)}")
    else:
        err.print(f"[bold red]error:[/] {escape(describe_cause(exc))}")
    return exc


def translate(exc: BaseException) -> BaseException:
    """Botocore errors a user can cause, and a state write that failed, as typed errors with a hint."""
    botocore_exceptions = sys.modules.get("botocore.exceptions")  # not imported: no botocore error
    translated = _translate_botocore(exc, botocore_exceptions) if botocore_exceptions else exc
    if translated is exc and isinstance(exc, OSError) and exc.errno in _CANNOT_WRITE and exc.filename:
        from awslab.state import write_error

        return write_error(Path(exc.filename), exc)  # a full disk is not a bug: name the file
    return translated


def _translate_botocore(exc: BaseException, botocore_exceptions: Any) -> BaseException:
    if isinstance(exc, botocore_exceptions.NoCredentialsError):
        return TargetError(
            "no AWS credentials found", hint="run 'aws configure', set AWS_PROFILE or pass --profile"
        )
    if isinstance(exc, botocore_exceptions.EndpointConnectionError):
        url = str(exc.kwargs.get("endpoint_url", "the endpoint"))
        local = url.startswith("http://127.0.0.1:")
        hint = (
            "is the local cloud running? 'awslab local start' starts it (a restarted one is empty: "
            "'awslab up LAB' deploys again)"
            if local
            else "check --endpoint-url / AWS_ENDPOINT_URL, or start the service"
        )
        return TargetError(f"cannot reach {url}", hint=hint)
    if isinstance(exc, botocore_exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in (
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
        ):
            return TargetError(
                f"the AWS credentials were refused ({code})",
                hint="refresh them: aws sso login, or aws configure",
            )
        return AwslabError(describe_cause(exc))
    return exc


_CANNOT_WRITE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


# ---- opening a target ------------------------------------------------------------------
def open_target(opts: Options, *, start_local: bool = True) -> Target:
    """The target the options name. The local cloud is started when `start_local`, else only
    looked at: either way `target.local_cloud` says which instance runs (None: none)."""
    from awslab.target import Target

    target = Target.select(
        opts.target,
        endpoint_url=opts.endpoint_url,
        profile=opts.profile,
        region=opts.region,
        local_port=opts.port,
    )
    if opts.explain:
        target.on_client = _explainer().install
    if target.kind == "local":
        if start_local:
            ensure_local_cloud(target)
        else:
            probe_local_cloud(target)
    return target


def _explainer() -> Any:
    """`--explain`: every request the target's clients make, printed to stderr as it finishes
    (stdout stays for --output json), each call's lines together."""
    import threading

    from awslab.explain.hook import Explainer

    lock = threading.Lock()

    def emit(lines: list[str]) -> None:
        with lock:
            for line in lines:
                err.print(line, markup=False, style="dim" if line.startswith("  ->") else "cyan")

    return Explainer(emit)


def ensure_local_cloud(target: Target, why: str = "") -> None:
    """Start the local cloud unless it runs; `why`: said when it is started (by a command that
    would not start it otherwise)."""
    from awslab.local.daemon import LocalCloud

    assert target.local_port is not None
    # booted=False: this command's own start-up overlaps the server's boot; its AWS calls wait for it
    status, started = LocalCloud(target.local_port).ensure_running(booted=False)
    target.local_cloud, target.local_cloud_since = status.identity, status.started_at
    # started empty (a start that restored a snapshot brought the labs' resources back)
    target.local_cloud_started = started and not status.restored_data
    if started:
        err.print(
            f"[dim]Started the local cloud at {status.endpoint} (pid {status.pid}){why}; "
            "'awslab local stop' stops it.[/]"
        )
        if status.restored:
            from awslab.local.snapshot import restore_line

            err.print(restore_line(status.restored), style="dim", markup=False, highlight=False)


def probe_local_cloud(target: Target) -> None:
    """Which local cloud instance runs, without starting one, unless a stopped one kept resources
    in its snapshot: it is started (restoring them), and says why, as only a running one can tell
    what is there and delete it (`teardown` must really delete). One that is alive but
    does not answer (starting, or hung) is an error: it may hold resources, so it is not "gone"."""
    from awslab.local.daemon import LocalCloud

    assert target.local_port is not None
    cloud = LocalCloud(target.local_port)
    status = cloud.status()
    if status is None and not cloud.pid_path.exists() and cloud.snapshot_info() is not None:
        ensure_local_cloud(target, " to look at the resources its snapshot keeps (it was stopped)")
        return
    if status is None and cloud.pid_path.exists():  # status() removes the file of a dead server
        raise LocalCloudError(
            f"the local cloud on port {target.local_port} runs but does not answer",
            hint="wait a moment and run the command again; 'awslab local stop' stops it",
        )
    target.local_cloud = status.identity if status else None
    target.local_cloud_since = status.started_at if status else None
    target.local_cloud_started = False


def open_state(opts: Options, target: Target) -> StateStore:
    from awslab import paths, state_files
    from awslab.state import StateStore

    path = Path(opts.state or paths.state_file(target.state_key))
    store = StateStore(
        path,
        target_info(target),
        local_cloud=target.local_cloud if target.kind == "local" else None,
        # a --state file is recorded so that sweep knows what it owns, and 'labs' where it is
        on_create=state_files.register if opts.state else None,
    )
    if opts.state and path.exists():
        state_files.register(path)
    return store


def target_info(target: Target) -> dict[str, Any]:
    """What a state file records about its target (state_files.same_target compares these)."""
    info: dict[str, Any] = {"kind": target.kind, "region": target.region}
    if target.endpoint_url:
        info["endpoint_url"] = target.endpoint_url
    if target.kind == "aws":
        info["account_id"] = target.account_id
    return info


def lost_labs(store: StateStore, target: Target) -> dict[str, str]:
    """Labs whose resources went with an earlier instance of the local cloud -> what happened, in
    one line ("lab 'crud' was deployed at ... in the local cloud on port 4580, which has stopped
    since: its resources are gone"); each command adds what it does about it."""
    if target.kind != "local":
        return {}
    from awslab.state import lost_with_local_cloud

    lost = lost_with_local_cloud(store.deployed, target.local_cloud, target.local_cloud_started)
    return {name: _gone_line(name, store.deployed[name], target) for name in lost}


def deployed_lab(store: StateStore, target: Target, lab: str) -> tuple[LabSpec, LabState]:
    """The spec and state of a deployed lab named by `lab` (a name or a spec path): its spec is the
    file its state recorded while that is there. A usage error when it is not deployed, a target
    error when its resources went with an earlier local cloud."""
    from awslab.spec import find_lab, load_spec

    state = store.lab(lab)
    spec_path = Path(state.spec) if state is not None and state.spec and Path(state.spec).is_file() else None
    spec = load_spec(spec_path or find_lab(lab))
    state = store.lab(spec.name)
    if state is None:
        raise UsageError(
            f"lab '{spec.name}' is not deployed on {target.describe()}: run 'awslab up {lab}' first"
        )
    gone = lost_labs(store, target).get(spec.name)
    if gone:
        raise TargetError(gone, hint=f"run '{redeploy(spec.name, state)}' to deploy it again")
    return spec, state


def redeploy(name: str, lab: LabState) -> str:
    """The command that deploys a lab again: by name for a built-in lab, else by its spec."""
    from awslab.lab_index import builtin_labs

    builtin = builtin_labs().get(name)
    if lab.spec and (builtin is None or Path(lab.spec).resolve() != builtin.resolve()):
        return f"awslab up {lab.spec}"
    return f"awslab up {name}"


def _gone_line(name: str, lab: LabState, target: Target) -> str:
    if target.local_cloud is None:
        since = "has stopped since"
    elif target.local_cloud_started:
        since = "was not running any more (a new, empty one was started)"
    else:
        since = "was reset since" if _reset_since(lab, target) else "was restarted since"
    return (
        f"lab '{name}' was deployed at {lab.updated_at} in the local cloud on port {target.local_port}, "
        f"which {since}: its resources are gone"
    )


def _reset_since(lab: LabState, target: Target) -> bool:
    """Whether the running local cloud was already running when the lab last changed: then its
    resources went with a reset (`awslab local reset`), not with a restart. The start is the one
    the command's probe saw (ensure_local_cloud, probe_local_cloud): not asked again for each lab."""
    from awslab.lab_age import parse_time

    since = target.local_cloud_since
    changed, started = parse_time(lab.updated_at), parse_time(since) if since else None
    return changed is not None and started is not None and changed >= started


def can_ask() -> bool:
    """Whether a question can be asked: a terminal, and not CI."""
    return sys.stdin.isatty() and not os.environ.get("CI")


def confirm(opts: Options, question: str, *, required: bool) -> None:
    """Ask before a change when `required` (a real account, or every lab at once)."""
    if opts.yes or not required:
        return
    if not can_ask():
        raise UsageError(f"not confirmed: {question}", hint="answer in a terminal, or pass --yes")
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)
