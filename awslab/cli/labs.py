"""Lab lifecycle commands: labs, validate, plan, up, status, outputs, teardown."""

from __future__ import annotations

from typing import Annotated

import typer

from awslab import render
from awslab.cli.common import Options, command, confirm, err, open_state, open_target, out
from awslab.engine.execute import apply_plan
from awslab.engine.plan import Progress, plan_changes
from awslab.engine.status import lab_status
from awslab.engine.sweep import Orphan, find_orphans
from awslab.engine.sweep import sweep as sweep_orphans
from awslab.engine.teardown import teardown_lab
from awslab.errors import AwslabError, SpecError, UsageError
from awslab.spec import builtin_labs, find_lab, load_spec
from awslab.state import StateStore
from awslab.target import Target

app = typer.Typer()

LabArg = Annotated[str, typer.Argument(help="a built-in lab name (see 'awslab labs') or a path to a spec")]


def _progress(p: Progress) -> None:
    line = render.progress_line(p)
    if line:
        err.print(line)


@command(app, "labs", target=False, output=True)
def labs_cmd(opts: Options) -> None:
    """List the built-in labs."""
    rows = []
    for name, path in builtin_labs().items():
        try:
            spec = load_spec(path)
            rows.append(
                {
                    "name": name,
                    "description": spec.description,
                    "resources": len(spec.resources),
                    "path": str(path),
                    "deployed": "",
                }
            )
        except SpecError as exc:
            rows.append(
                {
                    "name": name,
                    "description": f"invalid: {exc.problems[0]}",
                    "resources": 0,
                    "path": str(path),
                    "deployed": "",
                }
            )
    if opts.json:
        render.print_json(out, rows)
    else:
        out.print(render.labs_table(rows))


@command(app, "validate", target=False, output=True)
def validate_cmd(opts: Options, lab: LabArg) -> None:
    """Validate a lab spec without touching any cloud."""
    spec = load_spec(find_lab(lab))
    if opts.json:
        render.print_json(out, {"lab": spec.name, "valid": True, "resources": spec.order})
    else:
        out.print(
            f"[green]✓[/] {spec.path.name}: lab '{spec.name}' is valid "
            f"({len(spec.resources)} resources, {len(spec.checks)} checks)"
        )


@command(app, "plan", output=True)
def plan_cmd(opts: Options, lab: LabArg) -> None:
    """Show what 'up' would change, without changing anything."""
    spec = load_spec(find_lab(lab))
    target = open_target(opts)
    plan = plan_changes(spec, open_state(opts, target), target)
    if opts.json:
        render.print_json(out, plan.to_dict())
        return
    out.print(render.plan_table(plan))
    out.print(render.plan_summary(plan))


@command(app, "up", output=True, yes=True)
def up_cmd(opts: Options, lab: LabArg) -> None:
    """Create or update a lab's resources (resumes an interrupted run)."""
    spec = load_spec(find_lab(lab))
    target = open_target(opts)
    store = open_state(opts, target)
    with store.locked():
        plan = plan_changes(spec, store, target)
        if plan.has_changes:
            if target.needs_confirmation and not opts.json:
                out.print(render.plan_table(plan))
            confirm(
                opts,
                f"{render.plan_summary(plan)} Apply to {target.describe()}?",
                required=target.needs_confirmation,
            )
        if not opts.json:
            err.print(f"{render.plan_summary(plan)} Target: {target.describe()}.")
        result = apply_plan(plan, store, target, on_progress=None if opts.json else _progress)
    if opts.json:
        render.print_json(
            out,
            {
                "lab": spec.name,
                "counts": result.counts,
                "outputs": result.outputs,
                "seconds": round(result.seconds, 2),
            },
        )
        return
    changed = sum(n for a, n in result.counts.items() if a != "keep")
    err.print(f"[green]Lab '{spec.name}' is up[/] ({changed} changed in {result.seconds:.1f}s).")
    if result.outputs:
        out.print(render.outputs_table(spec.name, result.outputs))


@command(app, "status", output=True)
def status_cmd(
    opts: Options, lab: Annotated[str | None, typer.Argument(help="one lab (default: all)")] = None
) -> None:
    """Check every tracked resource live: present, missing or changed."""
    target = open_target(opts)
    store = open_state(opts, target)
    names = [lab] if lab else sorted(store.labs)
    if lab and lab not in store.labs:
        raise UsageError(f"lab '{lab}' is not deployed on {target.describe()}", hint=f"run 'awslab up {lab}'")
    rows = [r for name in names for r in lab_status(name, store.labs[name], target)]
    if opts.json:
        render.print_json(
            out,
            {
                "target": target.describe(),
                "labs": {
                    n: {
                        "stack_id": store.labs[n].stack_id,
                        "outputs": store.labs[n].outputs,
                        "resources": [r.to_dict() for r in rows if r.lab == n],
                    }
                    for n in names
                },
            },
        )
        return
    if not names:
        out.print(f"Nothing deployed on {target.describe()}.")
        return
    out.print(render.status_table(rows, f"Status on {target.describe()}"))
    bad = [r for r in rows if r.health != "present"]
    if bad:
        out.print(f"[yellow]{len(bad)} of {len(rows)} resources need attention.[/]")
        raise typer.Exit(1)


@command(app, "outputs", output=True)
def outputs_cmd(opts: Options, lab: Annotated[str, typer.Argument(help="a deployed lab")]) -> None:
    """Show a deployed lab's outputs (URLs, names)."""
    target = open_target(opts, start_local=False)
    store = open_state(opts, target)
    state = store.lab(lab)
    if state is None:
        raise UsageError(f"lab '{lab}' is not deployed on {target.describe()}", hint=f"run 'awslab up {lab}'")
    if opts.json:
        render.print_json(out, state.outputs)
    else:
        out.print(render.outputs_table(lab, state.outputs))


@command(app, "teardown", output=True, yes=True)
def teardown_cmd(
    opts: Options,
    lab: Annotated[str | None, typer.Argument(help="one lab (default: every lab on the target)")] = None,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="also delete awslab-tagged resources no state file knows")
    ] = False,
) -> None:
    """Delete every resource of a lab (or of all labs), dependents first; re-runnable."""
    target = open_target(opts)
    store = open_state(opts, target)
    with store.locked():
        names = [lab] if lab else sorted(store.labs)
        if lab and lab not in store.labs:
            names = []
        orphans = _find_orphans(store, target, lab) if sweep else []
        if not names and not orphans:
            where = f"Lab '{lab}' is not deployed" if lab else "Nothing is deployed"
            if opts.json:
                render.print_json(out, {"ok": True, "labs": {}, "swept": {"deleted": [], "failed": {}}})
            else:
                out.print(f"{where} on {target.describe()}: nothing to tear down.")
            return
        if not opts.json:
            for name in names:
                n = len(store.labs[name].resources)
                err.print(f"Lab '{name}' (stack {store.labs[name].stack_id}): {n} resources")
            for o in orphans:
                err.print(f"Not in any state file: {o.kind} {o.physical} (lab '{o.lab}', stack {o.stack_id})")
        confirm(opts, f"Delete all this from {target.describe()}?", required=target.needs_confirmation)
        progress = None if opts.json else _progress
        results = [teardown_lab(name, store, target, on_progress=progress) for name in names]
        swept = sweep_orphans(target, orphans, on_progress=progress) if orphans else None
    failed = {f"{r.lab}.{name}": msg for r in results for name, msg in r.failed.items()}
    if swept:
        failed.update(swept.failed)
    if opts.json:
        labs = {
            r.lab: {"deleted": r.deleted, "failed": r.failed, "seconds": round(r.seconds, 2)} for r in results
        }
        swept_data = swept.to_dict() if swept else {"deleted": [], "failed": {}}
        render.print_json(out, {"ok": not failed, "labs": labs, "swept": swept_data})
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


def _find_orphans(store: StateStore, target: Target, lab: str | None) -> list[Orphan]:
    """awslab's resources on the target that no lab in the state records (state lost, another
    machine); with a lab, only that lab's."""
    known = {(r.kind, r.physical) for state in store.labs.values() for r in state.resources.values()}
    return [o for o in find_orphans(target, known) if lab is None or o.lab == lab]
