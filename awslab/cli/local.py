"""`awslab local start | stop | status | logs | reset`: control the local cloud."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from awslab import render
from awslab.cli.common import Options, command, err, out
from awslab.local.like_aws.settings import LikeAws, describe
from awslab.target import Target

if TYPE_CHECKING:  # imported when a command runs: --help must not pay for the daemon's imports
    from awslab.local.daemon import LocalCloud, LocalStatus

app = typer.Typer(
    help="Control the local cloud (moto + a Docker-free Lambda runtime), started on first use.",
    no_args_is_help=True,
)

_LIKE_AWS_HELP = (
    "behave between calls as AWS does (also AWSLAB_LIKE_AWS=1); "
    "AWSLAB_LIKE_AWS_SCALE multiplies its delays (see awslab/local/like_aws)"
)
PortOpt = Annotated[int | None, typer.Option("--port", help="port (default 4580, or AWSLAB_LOCAL_PORT)")]


def _cloud(port: int | None) -> LocalCloud:
    from awslab.local.daemon import LocalCloud

    target = Target.select("local", local_port=port)
    assert target.local_port is not None
    return LocalCloud(target.local_port)


def _status_dict(s: LocalStatus) -> dict[str, object]:
    return {
        "endpoint": s.endpoint,
        "pid": s.pid,
        "port": s.port,
        "uptime": round(s.uptime, 1),
        "started_at": s.started_at,
        "log": str(s.log_path),
        "rss_mb": s.rss_mb,
        "like_aws": s.like_aws,
    }


@command(app, "start", target=False, output=True)
def start_cmd(
    opts: Options,
    port: PortOpt = None,
    foreground: Annotated[bool, typer.Option("--foreground", help="run in this terminal")] = False,
    like_aws: Annotated[bool, typer.Option("--like-aws", help=_LIKE_AWS_HELP)] = False,
) -> None:
    """Start the local cloud in the background (or --foreground)."""
    from awslab.local.daemon import LocalCloud

    cloud = _cloud(port)
    if like_aws:
        cloud = LocalCloud(cloud.port, like_aws=LikeAws.from_env(os.environ, force=True))
    if foreground:
        err.print(f"Local cloud on http://127.0.0.1:{cloud.port} (Ctrl-C stops it)")
        cloud.run_foreground()
        return
    status, started = cloud.ensure_running()
    if opts.json:
        render.print_json(out, {**_status_dict(status), "started": started})
    elif started:
        mode = " in the AWS-like mode" if status.like_aws is not None else ""
        out.print(f"Started the local cloud{mode} at {status.endpoint} (pid {status.pid}).")
    else:
        out.print(f"The local cloud is already running at {status.endpoint} (pid {status.pid}).")


@command(app, "stop", target=False, output=True)
def stop_cmd(opts: Options, port: PortOpt = None) -> None:
    """Stop the local cloud and every Lambda worker it started. Its resources are forgotten."""
    stopped = _cloud(port).stop()
    if opts.json:
        render.print_json(out, {"stopped": stopped})
    else:
        out.print("Stopped the local cloud." if stopped else "The local cloud was not running.")


@command(app, "status", target=False, output=True)
def status_cmd(opts: Options, port: PortOpt = None) -> None:
    """Is the local cloud running? Endpoint, pid, port, uptime, memory."""
    status = _cloud(port).status()
    if opts.json:
        render.print_json(out, _status_dict(status) if status else {"running": False})
        return
    if status is None:
        out.print("The local cloud is not running ('awslab local start', or any 'awslab up', starts it).")
        raise typer.Exit(1)
    rss = f", {status.rss_mb:.0f} MB" if status.rss_mb else ""
    out.print(
        f"Running at {status.endpoint} (pid {status.pid}, up {status.uptime:.0f}s{rss}); "
        f"log: {status.log_path}"
    )
    mode = f"on ({describe(status.like_aws)})" if status.like_aws is not None else "off"
    out.print(f"AWS-like mode: {mode}", markup=False, highlight=False)


@command(app, "logs", target=False)
def logs_cmd(
    opts: Options,
    port: PortOpt = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="how many lines")] = 50,
) -> None:
    """Show the end of the local cloud's log."""
    path = _cloud(port).log_path
    if not path.exists():
        out.print(f"No log yet at {path}.")
        return
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    out.print("\n".join(tail), markup=False, highlight=False)


@command(app, "reset", target=False)
def reset_cmd(opts: Options, port: PortOpt = None) -> None:
    """Forget every resource in the local cloud (it keeps running)."""
    _cloud(port).reset()
    out.print("The local cloud is empty now; awslab's state for it will show resources missing.")
