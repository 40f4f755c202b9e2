"""`awslab teardown [LAB] [--sweep] [--older-than AGE] [--dry-run]`: delete what the state records,
forget what went with an earlier local cloud, and (with --sweep) delete awslab's resources that no
state file on this machine records, after listing them and asking. `--older-than` keeps to the labs
older than that (by the state's creation time) and, with --sweep, to the resources whose
`awslab:created` tag is older: a resource without that tag is never removed by age."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from awslab import render
from awslab.cli.common import Options, command, confirm, err, lost_labs, open_state, open_target, out
from awslab.errors import AwslabError

if TYPE_CHECKING:  # the engine is imported when the command runs: --help must start fast
    from awslab.engine.sweep import Orphan
    from awslab.lab_age import LabAge
    from awslab.state import StateStore
    from awslab.target import Target

app = typer.Typer()


@dataclass(frozen=True)
class _Found:
    """What a teardown found to do, as the listing and the dry run show it."""

    store: StateStore
    names: list[str]  # the labs torn down
    gone: dict[str, str]  # of those, the ones that went with an earlier local cloud: name -> why
    orphans: list[Orphan]  # with --sweep: awslab's resources that no state file records
    unaged: list[Orphan]  # orphans without an awslab:created tag: --older-than leaves them
    consulted: list[Path]  # the state files read to find the orphans
    ages: dict[str, LabAge]
    now: datetime


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
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="only the labs older than AGE (30m, 2h, 1d; units s, m, h, d), from their first 'up'; "
            "with --sweep, only the resources whose awslab:created tag is older (untagged ones stay). "
            "Lists them and asks first, unless --yes",
        ),
    ] = None,
) -> None:
    """Delete every resource of a lab (or of all labs), dependents first; re-runnable."""
    from awslab.cli.live import progress_for, sweep_view, teardown_view
    from awslab.durations import utc_now
    from awslab.engine.sweep import by_age
    from awslab.engine.sweep import sweep as sweep_orphans
    from awslab.engine.teardown import teardown_lab
    from awslab.lab_age import lab_age
    from awslab.lab_age import older_than as parse_older_than

    limit = parse_older_than(older_than) if older_than is not None else None

    # Not started: a new local cloud is empty; the labs that went with the old one are forgotten.
    target = open_target(opts, start_local=False)
    store = open_state(opts, target)
    with store.locked(), contextlib.ExitStack() as other_locks:
        names = [lab] if lab else sorted(store.deployed)
        names = [n for n in names if n in store.deployed]
        now = utc_now()
        ages = {n: lab_age(store.labs[n], store.path) for n in names}
        if limit is not None:  # as lab_age.labs_older_than chooses, with the ages worked out once
            names = [n for n in names if ages[n].age(now) > limit]
            ages = {n: ages[n] for n in names}
        gone = {n: line for n, line in lost_labs(store, target).items() if n in names}
        orphans: list[Orphan] = []
        unaged: list[Orphan] = []  # orphans without an awslab:created tag: --older-than leaves them
        consulted: list[Path] = []
        if sweep and (target.kind != "local" or target.local_cloud is not None):
            orphans, consulted = _find_orphans(store, target, lab, set(names), other_locks)
            if limit is not None:
                orphans, unaged = by_age(orphans, limit, now)
        if not names and not orphans:
            where = f"Lab '{lab}' is not deployed" if lab else "Nothing is deployed"
            if limit is not None and (not lab or lab in store.deployed):
                where = f"{f'Lab {lab!r} is not' if lab else 'Nothing is'} older than {older_than}"
            if opts.json:
                empty = {"ok": True, "labs": {}, "swept": {"deleted": [], "failed": {}}}
                render.print_json(out, {**empty, **({"dry_run": True} if dry_run else {})})
            else:
                out.print(f"{where} on {target.describe()}: nothing to tear down.")
                _print_unaged(unaged)
            return
        found = _Found(store, names, gone, orphans, unaged, consulted, ages, now)
        if dry_run:
            _print_dry_run(opts, found)
            return
        if not opts.json:
            _print_listing(found)
            _print_unaged(unaged)
        confirm(
            opts,
            f"Delete all this from {target.describe()}?",
            # a sweep, or a choice by age, asks on every target: what it picks is not named
            required=target.needs_confirmation or bool(orphans) or limit is not None,
        )
        for name in gone:  # nothing of it is left to delete
            store.drop_lab(name)
            if not opts.json:
                err.print(f"[yellow]{gone[name]}; forgot it (nothing to delete).[/]")
        results = []
        for name in (n for n in names if n not in gone):  # each lab in a live view of its own
            view = functools.partial(teardown_view, name, store.labs[name].resources)
            with progress_for(opts.json, err, view) as shown:
                results.append(teardown_lab(name, store, target, on_progress=shown))
        swept = None
        if orphans:  # in a live view too
            with progress_for(opts.json, err, functools.partial(sweep_view, orphans)) as shown:
                swept = sweep_orphans(target, orphans, on_progress=shown)
    failed = {f"{r.lab}.{name}": msg for r in results for name, msg in r.failed.items()}
    if swept:
        failed.update(swept.failed)
    if opts.json:
        labs = {
            r.lab: {"deleted": r.deleted, "failed": r.failed, "seconds": round(r.seconds, 2)} for r in results
        }
        swept_data = swept.to_dict() if swept else {"deleted": [], "failed": {}}
        aged = {"not_aged": [o.to_dict() for o in unaged]} if limit is not None else {}
        render.print_json(
            out, {"ok": not failed, "labs": labs, "forgotten": gone, "swept": swept_data, **aged}
        )
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


def _print_listing(found: _Found) -> None:
    store, gone, ages, consulted, orphans = (
        found.store,
        found.gone,
        found.ages,
        found.consulted,
        found.orphans,
    )
    for name in found.names:
        state = store.labs[name]
        if name not in gone:  # a gone one is said when it is forgotten (or in the dry run)
            age = f", up {ages[name].shown(found.now)}" if name in ages else ""
            err.print(f"Lab '{name}' (stack {state.stack_id}{age}): {len(state.resources)} resources")
    if orphans:
        files = f"{len(consulted)} state file{'s' if len(consulted) != 1 else ''} on this machine"
        err.print(f"Not recorded in any of the {files} for this target:")
    for o in orphans:
        created = f", created {o.created}" if o.created else ""
        err.print(f"  {o.kind} {o.physical} (lab '{o.lab}', stack {o.stack_id}{created})")


def _print_unaged(unaged: list[Orphan]) -> None:
    if unaged:
        n = len(unaged)
        err.print(
            f"{n} resource{'s' if n != 1 else ''} no state file records carr{'y' if n != 1 else 'ies'} no "
            "awslab:created tag (made by an older awslab, or a kind without tags): --older-than never "
            f"removes {'them' if n != 1 else 'it'}; 'awslab teardown --sweep --dry-run' lists "
            f"{'them' if n != 1 else 'it'}."
        )


def _print_dry_run(opts: Options, found: _Found) -> None:
    store, gone, ages, now = found.store, found.gone, found.ages, found.now
    if opts.json:
        labs = {
            n: {
                "stack_id": store.labs[n].stack_id,
                "age": ages[n].to_dict(now),
                "resources": sorted(store.labs[n].resources),
            }
            for n in found.names
            if n not in gone
        }
        render.print_json(
            out,
            {
                "dry_run": True,
                "labs": labs,
                "forget": gone,
                "sweep": [o.to_dict() for o in found.orphans],
                "not_aged": [o.to_dict() for o in found.unaged],
                "state_files": [str(p) for p in found.consulted],
            },
        )
        return
    _print_listing(found)
    _print_unaged(found.unaged)
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
