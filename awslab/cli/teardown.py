"""`awslab teardown [LAB] [--sweep] [--dry-run]`: delete what the state records, forget what went
with an earlier local cloud, and (with --sweep) delete awslab's resources that no state file on
this machine records, after listing them and asking."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from awslab import render
from awslab.cli.common import Options, command, confirm, err, lost_labs, open_state, open_target, out
from awslab.errors import AwslabError

if TYPE_CHECKING:  # the engine is imported when the command runs: --help must start fast
    from awslab.engine.plan import Progress
    from awslab.engine.sweep import Orphan
    from awslab.state import StateStore
    from awslab.target import Target

app = typer.Typer()


def _progress(p: Progress) -> None:
    line = render.progress_line(p)
    if line:
        err.print(line)


@command(app, "teardown", output=True, yes=True)
def teardown_cmd(
    opts: Options,
    lab: Annotated[str | None, typer.Argument(help="one lab (default: every lab on the target)")] = None,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="also delete awslab-tagged resources that no state file on this machine records "
            "(asks first on every target, unless --yes)",
        ),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only list what would be deleted")] = False,
) -> None:
    """Delete every resource of a lab (or of all labs), dependents first; re-runnable."""
    from awslab.engine.sweep import sweep as sweep_orphans
    from awslab.engine.teardown import teardown_lab

    # Not started: a new local cloud is empty; the labs that went with the old one are forgotten.
    target = open_target(opts, start_local=False)
    store = open_state(opts, target)
    with store.locked(), contextlib.ExitStack() as other_locks:
        names = [lab] if lab else sorted(store.deployed)
        names = [n for n in names if n in store.deployed]
        gone = {n: line for n, line in lost_labs(store, target).items() if n in names}
        orphans: list[Orphan] = []
        consulted: list[Path] = []
        if sweep and (target.kind != "local" or target.local_cloud is not None):
            orphans, consulted = _find_orphans(store, target, lab, set(names), other_locks)
        if not names and not orphans:
            where = f"Lab '{lab}' is not deployed" if lab else "Nothing is deployed"
            if opts.json:
                empty = {"ok": True, "labs": {}, "swept": {"deleted": [], "failed": {}}}
                render.print_json(out, {**empty, **({"dry_run": True} if dry_run else {})})
            else:
                out.print(f"{where} on {target.describe()}: nothing to tear down.")
            return
        if dry_run:
            _print_dry_run(opts, store, names, gone, orphans, consulted)
            return
        if not opts.json:
            _print_listing(store, names, gone, orphans, consulted)
        confirm(
            opts,
            f"Delete all this from {target.describe()}?",
            required=target.needs_confirmation or bool(orphans),  # a sweep asks on every target
        )
        for name in gone:  # nothing of it is left to delete
            store.drop_lab(name)
            if not opts.json:
                err.print(f"[yellow]{gone[name]}; forgot it (nothing to delete).[/]")
        progress = None if opts.json else _progress
        results = [
            teardown_lab(name, store, target, on_progress=progress) for name in names if name not in gone
        ]
        swept = sweep_orphans(target, orphans, on_progress=progress) if orphans else None
    failed = {f"{r.lab}.{name}": msg for r in results for name, msg in r.failed.items()}
    if swept:
        failed.update(swept.failed)
    if opts.json:
        labs = {
            r.lab: {"deleted": r.deleted, "failed": r.failed, "seconds": round(r.seconds, 2)} for r in results
        }
        swept_data = swept.to_dict() if swept else {"deleted": [], "failed": {}}
        render.print_json(out, {"ok": not failed, "labs": labs, "forgotten": gone, "swept": swept_data})
    else:
        for r in results:
            if r.ok:
                err.print(
                    f"[green]Lab '{r.lab}' is torn down[/] ({len(r.deleted)} deleted in {r.seconds:.1f}s)."
                )
        if swept and swept.ok:
            err.print(f"[green]Swept {len(swept.deleted)} resources no state file knew.[/]")
    if failed:
        raise AwslabError(
            "teardown left resources behind:\n" + "\n".join(f"{k}: {v}" for k, v in failed.items()),
            hint="fix the cause and run 'awslab teardown' again: it carries on where it stopped",
        )


def _print_listing(
    store: StateStore, names: list[str], gone: dict[str, str], orphans: list[Orphan], consulted: list[Path]
) -> None:
    for name in names:
        state = store.labs[name]
        if name not in gone:  # a gone one is said when it is forgotten (or in the dry run)
            err.print(f"Lab '{name}' (stack {state.stack_id}): {len(state.resources)} resources")
    if orphans:
        files = f"{len(consulted)} state file{'s' if len(consulted) != 1 else ''} on this machine"
        err.print(f"Not recorded in any of the {files} for this target:")
    for o in orphans:
        err.print(f"  {o.kind} {o.physical} (lab '{o.lab}', stack {o.stack_id})")


def _print_dry_run(
    opts: Options,
    store: StateStore,
    names: list[str],
    gone: dict[str, str],
    orphans: list[Orphan],
    consulted: list[Path],
) -> None:
    if opts.json:
        labs = {
            n: {"stack_id": store.labs[n].stack_id, "resources": sorted(store.labs[n].resources)}
            for n in names
            if n not in gone
        }
        render.print_json(
            out,
            {
                "dry_run": True,
                "labs": labs,
                "forget": gone,
                "sweep": [o.to_dict() for o in orphans],
                "state_files": [str(p) for p in consulted],
            },
        )
        return
    _print_listing(store, names, gone, orphans, consulted)
    for line in gone.values():
        err.print(f"{line}: it would be forgotten (nothing to delete).")
    err.print("Dry run: nothing was deleted.")


def _find_orphans(
    store: StateStore, target: Target, lab: str | None, tearing_down: set[str], locks: contextlib.ExitStack
) -> tuple[list[Orphan], list[Path]]:
    """awslab's resources on the target that no state file on this machine records (its state
    was lost, or it was deployed from another machine); with a lab, only that lab's. What every
    other state file for this target records is spared: its resources, and every stack of its
    labs (they stay locked until the command ends). Of this state, what stays recorded (the labs
    not torn down now) is spared the same way. Returns the orphans and the state files read."""
    from awslab import state_files
    from awslab.engine.sweep import find_orphans

    others = state_files.lock_others_for(store, locks)
    stores = [store, *others]
    known = {
        (r.kind, r.physical) for s in stores for state in s.labs.values() for r in state.resources.values()
    }
    owned = {(n, state.stack_id) for s in others for n, state in s.labs.items()}
    owned |= {(n, state.stack_id) for n, state in store.labs.items() if n not in tearing_down}
    orphans = [o for o in find_orphans(target, known, frozenset(owned)) if lab is None or o.lab == lab]
    return orphans, [store.path, *(s.path for s in others)]
