"""The `awslab` entry point: assembles the command groups."""

from __future__ import annotations

import gc
import os
import sys
import threading

# A command is short and leaves little garbage, but Python's collector runs hundreds of times while
# imports build the heap, each full pass over all of it: 15-20% of a start. So it runs rarely while
# this module imports and while a command runs (`run`); cycles made and dropped at once still go.
_FEW_COLLECTIONS = (50_000, 50, 1000)
_thresholds = gc.get_threshold()
gc.set_threshold(*_FEW_COLLECTIONS)
try:
    import typer

    from awslab import __version__
    from awslab.cli import exercise, labs, local, teardown
finally:
    gc.set_threshold(*_thresholds)

app = typer.Typer(
    name="awslab",
    help="Provision, exercise and clean up serverless AWS labs from YAML specs — on a local cloud "
    "(default: no account, no Docker) or a real AWS account (--target aws).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a crash must never print credentials
    rich_markup_mode="rich",
)
app.registered_commands += labs.app.registered_commands
app.registered_commands += teardown.app.registered_commands
app.registered_commands += exercise.app.registered_commands
app.add_typer(local.app, name="local")


@app.command("version")
def version_cmd() -> None:
    """Print awslab's version."""
    typer.echo(__version__)


def run() -> None:
    """The console script: run the command, then exit at once (see `_exit`)."""
    gc.set_threshold(*_FEW_COLLECTIONS)
    try:
        app()
    except SystemExit as exc:
        _exit(exc.code)
    _exit(0)


def _exit(code: object) -> None:
    """Flush and end the process without the interpreter's shutdown, which spends 0.1-0.2 s
    tearing down modules and objects (boto3's above all) that no one needs any more. Only when
    the command left nothing running: another thread falls back to the normal exit, which waits
    for it. A local cloud the command started runs detached (its own session, its output in its
    log) and is not affected either way."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # what sys.exit("message") does
        print(code, file=sys.stderr)
        status = 1
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a pipe whose reader left: as Python exits then
            status = status or 120
    os._exit(status)


if __name__ == "__main__":
    run()
