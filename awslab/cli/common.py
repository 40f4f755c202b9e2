"""What every command shares: the options that go after any command (target, output, debug...),
turning typed errors into one line and an exit code, and opening the target and its state."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import botocore.exceptions
import typer
from rich.console import Console
from rich.markup import escape

from awslab import paths
from awslab.errors import AwslabError, TargetError, UsageError, describe_cause
from awslab.state import StateStore
from awslab.target import Target

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

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
            str | None, typer.Option("--profile", help="AWS profile (aws target)", rich_help_panel="Target")
        ],
        None,
    ),
    _opt(
        "region",
        Annotated[
            str | None, typer.Option("--region", help="AWS region (aws target)", rich_help_panel="Target")
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
            DEBUG_PARAM,
        ]
        names = {p.name for p in extra}

        @functools.wraps(fn)
        def wrapper(*args: Any, **kw: Any) -> Any:
            opts = Options(**{k: kw.pop(k) for k in list(kw) if k in names})
            if opts.output not in ("text", "json"):
                fail(UsageError(f"--output must be text or json, not '{opts.output}'"), opts.debug)
            try:
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


def fail(exc: BaseException, debug: bool) -> None:
    """Print one clear line (and a hint) for an error and exit with its code; --debug re-raises."""
    if debug:
        raise exc
    exc = translate(exc)
    if isinstance(exc, AwslabError):
        lines = str(exc).splitlines() or [type(exc).__name__]
        err.print(f"[bold red]error:[/] {escape(lines[0])}")
        for line in lines[1:]:
            err.print(f"  {line}", markup=False)
        if exc.hint:
            err.print(f"[dim]hint:[/] {escape(exc.hint)}")
        raise typer.Exit(exc.exit_code)
    err.print(f"[bold red]error:[/] {escape(describe_cause(exc))}")
    err.print("[dim]hint:[/] this looks like a bug in awslab; run again with --debug for the traceback")
    raise typer.Exit(1)


def translate(exc: BaseException) -> BaseException:
    """Botocore errors a user can cause, as typed errors with a hint."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return TargetError(
            "no AWS credentials found", hint="run 'aws configure', set AWS_PROFILE or pass --profile"
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        url = str(exc.kwargs.get("endpoint_url", "the endpoint"))
        local = url.startswith("http://127.0.0.1:")
        hint = (
            "is the local cloud running? 'awslab local start' starts it (a restarted one is empty: "
            "'awslab up LAB' deploys again)"
            if local
            else "check --endpoint-url / AWS_ENDPOINT_URL, or start the service"
        )
        return TargetError(f"cannot reach {url}", hint=hint)
    if isinstance(exc, botocore.exceptions.ClientError):
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


# ---- opening a target ------------------------------------------------------------------
def open_target(opts: Options, *, start_local: bool = True) -> Target:
    target = Target.select(
        opts.target,
        endpoint_url=opts.endpoint_url,
        profile=opts.profile,
        region=opts.region,
        local_port=opts.port,
    )
    if target.kind == "local" and start_local:
        ensure_local_cloud(target)
    return target


def ensure_local_cloud(target: Target) -> None:
    from awslab.local.daemon import LocalCloud

    assert target.local_port is not None
    status, started = LocalCloud(target.local_port).ensure_running()
    if started:
        err.print(
            f"[dim]Started the local cloud at {status.endpoint} (pid {status.pid}); "
            "'awslab local stop' stops it.[/]"
        )


def open_state(opts: Options, target: Target) -> StateStore:
    path = opts.state or paths.state_file(target.state_key)
    info: dict[str, Any] = {"kind": target.kind, "region": target.region}
    if target.endpoint_url:
        info["endpoint_url"] = target.endpoint_url
    if target.kind == "aws":
        info["account_id"] = target.account_id
    return StateStore(Path(path), info)


def confirm(opts: Options, question: str, *, required: bool) -> None:
    """Ask before a change when `required` (a real account, or every lab at once)."""
    if opts.yes or not required:
        return
    if not sys.stdin.isatty() or os.environ.get("CI"):
        raise UsageError(f"not confirmed: {question}", hint="answer in a terminal, or pass --yes")
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)
