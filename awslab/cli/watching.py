"""`awslab up LAB --watch`, after the first `up`: each saved change to the spec or a file the lab
deploys is planned and applied at once (the user asked for this when they started watching),
saying what changed and what was updated. On a target that asks before a change (an AWS account),
an update that deletes or replaces a resource is asked for first (no answer: it is left out). A
spec error or a failed update is said in its line, and watching goes on; Ctrl-C stops watching
and leaves the lab up (during an update: the command's "interrupted" message says what to do).

Each update is `up`'s own (awslab.cli.labs.deploy): a TTL set before keeps its reaper; one that
expired is forgotten, and said.

On the local cloud an update of a function's code or configuration retires its warm workers (see
awslab.local.moto_patches), so the next invocation runs the new code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from awslab import render
from awslab.cli.common import Options, can_ask, err, out, print_error
from awslab.errors import SpecError

if TYPE_CHECKING:
    from awslab.engine.plan import Plan
    from awslab.spec import LabSpec
    from awslab.state import StateStore
    from awslab.target import Target
    from awslab.ttl import Decision
    from awslab.watch import FileChange


def watch_lab(opts: Options, spec: LabSpec, target: Target, store: StateStore) -> None:
    from awslab.watch import FileWatcher, lab_files, watch

    current = [spec]  # the last spec that loaded: its files are watched while the spec is broken
    watcher = FileWatcher(lambda: lab_files(current[0]))
    deploying = [False]

    def on_change(changes: list[FileChange]) -> None:
        deploying[0] = True
        loaded = _redeploy(opts, spec, changes, target, store)
        # cleared only when the update ends: a Ctrl-C during it must find the flag set
        deploying[0] = False
        if loaded is not None:
            current[0] = loaded

    n = watcher.count
    err.print(
        f"[dim]Watching {n} file{'s' if n != 1 else ''} of lab '{spec.name}' for saved changes; "
        "Ctrl-C stops watching and leaves the lab up.[/]"
    )
    try:
        watch(watcher, on_change)
    except KeyboardInterrupt:
        if deploying[0]:  # cut short mid-update: the command's own "interrupted" message says what to do
            raise
        err.print(
            f"Stopped watching. Lab '{spec.name}' is still up ('awslab teardown {spec.name}' removes it)."
        )


def _redeploy(
    opts: Options, first: LabSpec, changes: list[FileChange], target: Target, store: StateStore
) -> LabSpec | None:
    """Plan and apply the lab as the files are now; the spec loaded (None: it did not load)."""
    from awslab.cli.labs import deploy
    from awslab.spec import load_spec

    err.print("Changed: " + ", ".join(c.describe(Path.cwd()) for c in changes))
    try:
        spec = load_spec(first.path)
        if spec.name != first.name:
            name = f"'{first.name}' to '{spec.name}'"
            raise SpecError([f"{first.path.name}: the lab's name changed from {name} while watching"])
    except Exception as exc:
        _say_error(exc)
        return None

    def ask(plan: Plan, decision: Decision) -> bool:
        if not plan.has_changes:
            err.print(f"Nothing to update: {render.plan_summary(plan)} Still watching.")
            return False
        return _agreed(opts, plan, target)

    def before_apply(plan: Plan, decision: Decision) -> None:
        if decision.ttl is None and decision.message:  # a TTL that expired: it is dropped, and said
            err.print(decision.message, markup=False)
        err.print(render.plan_summary(plan))

    try:
        with store.locked():
            before = dict(store.labs[spec.name].outputs) if spec.name in store.labs else {}
            done = deploy(opts, spec, target, store, None, ask=ask, before_apply=before_apply)
    except Exception as exc:
        _say_error(exc)
        return spec
    if done.result is None:
        return spec
    done_list = [f"{c.logical} ({render.PAST[c.action]})" for c in done.plan.changes if c.action != "keep"]
    err.print(
        f"[green]Lab '{spec.name}' updated[/] in {done.result.seconds:.1f}s: {', '.join(done_list)}. "
        "Still watching."
    )
    if done.result.outputs != before:  # a new URL, say
        out.print(render.outputs_table(spec.name, done.result.outputs))
    return spec


def _agreed(opts: Options, plan: Plan, target: Target) -> bool:
    """On a target that asks first: an update that deletes or replaces something is asked for, in
    a terminal (else it is left out, and said); any other update goes ahead."""
    risky = [c for c in plan.changes if c.action in ("delete", "replace")]
    if not risky or not target.needs_confirmation or opts.yes:
        return True
    names = ", ".join(f"{c.logical} ({c.action})" for c in risky)
    question = f"{render.plan_summary(plan)} It deletes or replaces {names} on {target.describe()}. Apply?"
    if can_ask():
        try:
            if typer.confirm(question, default=False, err=True):
                return True
        except typer.Abort:  # Ctrl-C or end of input at the question: a no
            pass
    err.print(
        f"[yellow]Not applied: the update deletes or replaces {names} on {target.describe()}[/] "
        f"({'declined' if can_ask() else 'no terminal to ask in; --yes applies such updates'}). "
        "Still watching: save again to be asked again."
    )
    return False


def _say_error(exc: BaseException) -> None:
    """As a command's error (one line and a hint), but watching goes on."""
    print_error(exc)
    err.print("[dim]Still watching: save a fix to deploy it.[/]")
