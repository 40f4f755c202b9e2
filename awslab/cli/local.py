"""`awslab local start | stop | status | logs | reset`: control the local cloud.

The local cloud remembers: `stop` keeps its resources and data in a snapshot that the next `start`
restores (awslab.local.snapshot); `reset` deletes them, running or stopped. `reset` asks first
(unless --yes), naming the labs whose resources go with it; it does not refuse: their state then
says they are gone, and `awslab up` deploys them again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from awslab import render
from awslab.cli.common import Options, command, err, out
from awslab.durations import human
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
        "data_id": s.data_id,
        "restored": s.restored,
        "snapshot": s.snapshot,
    }


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


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
        if status.restored:
            from awslab.local.snapshot import restore_line

            out.print(restore_line(status.restored), markup=False, highlight=False)
    else:
        out.print(f"The local cloud is already running at {status.endpoint} (pid {status.pid}).")


@command(app, "stop", target=False, output=True)
def stop_cmd(opts: Options, port: PortOpt = None) -> None:
    """Stop the local cloud and every Lambda worker it started. Its resources and data are kept:
    the next start restores them ('awslab local reset' deletes them)."""
    cloud = _cloud(port)
    stopped = cloud.stop()
    kept = cloud.snapshot_info()
    if opts.json:
        render.print_json(out, {"stopped": stopped, "snapshot": kept.to_dict() if kept else None})
    elif not stopped:
        out.print("The local cloud was not running.")
    elif kept is not None and (labs := _recorded_labs(cloud.port)):
        out.print(f"Stopped the local cloud; its resources (labs {', '.join(labs)}) are kept in "
                  f"{cloud.snapshot_path} ({_size(kept.size)}) and come back at the next start.",
                  markup=False, highlight=False)  # fmt: skip
    elif kept is not None:  # e.g. after a full teardown: no lab's resources to speak of
        out.print(f"Stopped the local cloud; no lab is deployed in it (anything else it held is kept in "
                  f"{cloud.snapshot_path} for the next start).", markup=False, highlight=False)  # fmt: skip
    else:
        out.print("Stopped the local cloud (it held nothing to keep).")


@command(app, "status", target=False, output=True)
def status_cmd(opts: Options, port: PortOpt = None) -> None:
    """Is the local cloud running? Endpoint, pid, port, uptime, memory."""
    status = _cloud(port).status()
    if opts.json:
        render.print_json(out, _status_dict(status) if status else {"running": False})
        return
    if status is None:
        out.print("The local cloud is not running ('awslab local start', or any 'awslab up', starts it).")
        kept = _cloud(port).snapshot_info()
        if kept is not None:
            out.print(f"Its resources are kept in its snapshot ({_size(kept.size)}, taken {human(kept.age_seconds())} "
                      "ago); they come back when it starts.", markup=False, highlight=False)  # fmt: skip
        raise typer.Exit(1)
    rss = f", {status.rss_mb:.0f} MB" if status.rss_mb else ""
    out.print(
        f"Running at {status.endpoint} (pid {status.pid}, up {human(status.uptime)}{rss}); "
        f"log: {status.log_path}"
    )
    mode = f"on ({describe(status.like_aws)})" if status.like_aws is not None else "off"
    out.print(f"AWS-like mode: {mode}", markup=False, highlight=False)
    kept = _cloud(port).snapshot_info()
    if kept is not None:
        out.print(f"Snapshot: {_size(kept.size)}, taken {human(kept.age_seconds())} ago "
                  "(a stop keeps the resources; 'awslab local reset' deletes them)", markup=False, highlight=False)  # fmt: skip


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


@command(app, "reset", target=False, yes=True)
def reset_cmd(opts: Options, port: PortOpt = None) -> None:
    """Delete every resource and all data in the local cloud, running or stopped (its snapshot too)."""
    from awslab.cli.common import confirm

    cloud = _cloud(port)
    labs = _recorded_labs(cloud.port)
    named = f" (labs {', '.join(labs)} with it)" if labs else ""
    confirm(opts, f"Delete every resource in the local cloud on port {cloud.port}{named}?", required=True)
    running = cloud.reset()
    where = "The local cloud is empty now" if running else "The stopped local cloud's snapshot is deleted"
    after = f"; 'awslab status' shows {', '.join(labs)} gone, 'awslab up' deploys again" if labs else ""
    out.print(where + after + ".", markup=False, highlight=False)


def _recorded_labs(port: int) -> list[str]:
    """The labs the local target's state file records on this port (their resources go with a reset)."""
    from awslab import paths
    from awslab.errors import AwslabError
    from awslab.state import read_summaries

    path = paths.state_file(Target.select("local", local_port=port).state_key)
    try:
        return sorted(read_summaries(path)[1]) if path.exists() else []
    except AwslabError:  # an unreadable state file: the question names no lab
        return []
