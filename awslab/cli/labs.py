"""Lab lifecycle commands: labs, validate, plan, up, status, outputs (teardown: cli/teardown.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from awslab import render
from awslab.cli.common import (
    Options,
    command,
    confirm,
    err,
    lost_labs,
    open_state,
    open_target,
    out,
    redeploy,
)
from awslab.errors import UsageError

# The engine, the spec models and boto3 are imported by the commands that use them: `labs` and
# `validate` must start fast (tests/unit/test_import_discipline.py).
if TYPE_CHECKING:
    from awslab.engine.plan import Progress
    from awslab.engine.status import ResourceStatus
    from awslab.spec import LabSpec
    from awslab.state import LabState, StateStore
    from awslab.target import Target

app = typer.Typer()

LabArg = Annotated[str, typer.Argument(help="a built-in lab name (see 'awslab labs') or a path to a spec")]


def _progress(p: Progress) -> None:
    line = render.progress_line(p)
    if line:
        err.print(line)


@command(app, "labs", target=False, output=True)
def labs_cmd(opts: Options) -> None:
    """List the built-in labs, and where each is deployed (from the state files on this machine)."""
    # Nothing is started and no cloud is called: a local cloud is only asked (on 127.0.0.1) which
    # instance runs, to mark the labs that went with an earlier one as gone. Specs are read, not
    # validated ('awslab validate LAB' does): validating all of them is most of this command's time.
    from awslab import state_files
    from awslab.lab_index import builtin_labs, summarize

    deployed, unreadable = state_files.deployments(_running_local_cloud)
    for exc in unreadable:
        err.print(f"[yellow]warning:[/] {exc}")
    rows = []
    for name, path in builtin_labs().items():
        summary = summarize(path)
        description = f"invalid: {summary.problem}" if summary.problem else summary.description
        row = {"name": name, "description": description, "resources": summary.resources, "path": str(path)}
        rows.append({**row, "deployed": deployed.pop(name, [])})
    for name, where in sorted(deployed.items()):  # labs deployed from a spec of the user's
        spec_path = where[0]["spec"]
        row = {"name": name, "description": f"spec {spec_path}", "resources": where[0]["resources"]}
        rows.append({**row, "path": spec_path, "deployed": where})
    if opts.json:
        render.print_json(out, rows)
    else:
        out.print(render.labs_table(rows))


def _running_local_cloud(endpoint: str) -> dict[str, Any] | None:
    from awslab.local.daemon import LocalCloud

    port = endpoint.rsplit(":", 1)[-1]
    status = LocalCloud(int(port)).status() if port.isdigit() else None
    return {"pid": status.pid, "started_at": status.started_at} if status else None


@command(app, "validate", target=False, output=True)
def validate_cmd(opts: Options, lab: LabArg) -> None:
    """Validate a lab spec without touching any cloud."""
    from awslab.spec import find_lab, load_spec

    spec = load_spec(find_lab(lab))
    if opts.json:
        render.print_json(out, {"lab": spec.name, "valid": True, "resources": spec.order})
    else:
        typer.echo(  # one plain line: no need to import rich's console for it
            f"{typer.style('✓', fg='green')} {spec.path.name}: lab '{spec.name}' is valid "
            f"({len(spec.resources)} resources, {len(spec.checks)} checks)"
        )


@command(app, "plan", output=True)
def plan_cmd(opts: Options, lab: LabArg) -> None:
    """Show what 'up' would change, without changing anything."""
    from awslab.engine.plan import plan_changes
    from awslab.spec import find_lab, load_spec

    spec = load_spec(find_lab(lab))
    target = open_target(opts)
    store = open_state(opts, target)
    _say_gone(opts, store, target, spec.name)
    plan = plan_changes(spec, store, target)
    if opts.json:
        render.print_json(out, plan.to_dict())
        return
    out.print(render.plan_table(plan))
    out.print(render.plan_summary(plan))


@command(app, "up", output=True, yes=True)
def up_cmd(opts: Options, lab: LabArg) -> None:
    """Create or update a lab's resources (resumes an interrupted run)."""
    from awslab.engine.execute import apply_plan
    from awslab.engine.plan import plan_changes
    from awslab.spec import find_lab, load_spec

    spec = load_spec(find_lab(lab))
    target = open_target(opts)
    store = open_state(opts, target)
    with store.locked():
        _say_gone(opts, store, target, spec.name)
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
    _say_stand_in_runtimes(spec, target)
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


def _say_stand_in_runtimes(spec: LabSpec, target: Target) -> None:
    """On the local cloud, one line per function that runs on another Python than it declares."""
    if target.kind != "local" or target.local_port is None:
        return
    from awslab.local.daemon import LocalCloud
    from awslab.local.runtimes import stand_ins

    functions = {r.logical: str(r.fields.get("runtime") or r.cls.Props.model_fields["runtime"].default)
                 for r in spec.resources.values() if r.kind == "lambda.function"}  # fmt: skip
    status = LocalCloud(target.local_port).status() if functions else None
    for name, runtime, python in stand_ins(functions, status.lambda_runtimes if status else None):
        err.print(f"[yellow]warning:[/] function '{name}' declares {runtime}, which is not installed here: "
                  f"it runs on Python {python} (install {runtime} to run it as on AWS)")  # fmt: skip


def _say_gone(opts: Options, store: StateStore, target: Target, lab: str) -> None:
    """Before `up` or `plan`: say so when the lab went with an earlier local cloud."""
    gone = lost_labs(store, target).get(lab)
    if gone and not opts.json:
        err.print(f"[yellow]{gone}; 'up' creates them again.[/]")


@command(app, "status", output=True)
def status_cmd(
    opts: Options, lab: Annotated[str | None, typer.Argument(help="one lab (default: all)")] = None
) -> None:
    """Check every tracked resource live: present, missing or changed."""
    # Not started: a new local cloud is empty, and what went with the old one is said as such.
    target = open_target(opts, start_local=False)
    store = open_state(opts, target)
    names = [lab] if lab else sorted(store.deployed)
    if lab and lab not in store.deployed:
        raise UsageError(f"lab '{lab}' is not deployed on {target.describe()}", hint=f"run 'awslab up {lab}'")
    gone = {n: line for n, line in lost_labs(store, target).items() if n in names}
    live = {n: store.labs[n] for n in names if n not in gone}
    checked = _check_live(live, target) if live else {}
    rows = [r for name in names for r in (_gone_rows(name, store, target) if name in gone else checked[name])]
    if opts.json:
        render.print_json(
            out,
            {
                "target": target.describe(),
                "labs": {
                    n: {
                        "stack_id": store.labs[n].stack_id,
                        "outputs": store.labs[n].outputs,
                        **({"gone": gone[n]} if n in gone else {}),
                        "resources": [r.to_dict() for r in rows if r.lab == n],
                    }
                    for n in names
                },
            },
        )
        if gone:
            raise typer.Exit(1)
        return
    if not names:
        out.print(f"Nothing deployed on {target.describe()}.")
        return
    out.print(render.status_table(rows, f"Status on {target.describe()}"))
    for name, line in gone.items():
        out.print(f"[red]{line} — run '{redeploy(name, store.labs[name])}' to deploy it again.[/]")
    bad = [r for r in rows if r.health != "present"]
    if bad:
        out.print(f"[yellow]{len(bad)} of {len(rows)} resources need attention.[/]")
        raise typer.Exit(1)


def _check_live(labs: dict[str, LabState], target: Target) -> dict[str, list[ResourceStatus]]:
    from awslab.engine.status import labs_status

    return labs_status(labs, target)  # every lab's resources in one pool


def _gone_rows(name: str, store: StateStore, target: Target) -> list[ResourceStatus]:
    from awslab.engine.status import ResourceStatus

    since = "stopped" if target.local_cloud is None else "restarted"
    detail = f"the local cloud {since} since the lab was deployed; 'up' creates it again"
    return [
        ResourceStatus(name, r.logical, r.kind, r.physical, "gone", detail)
        for r in store.labs[name].resources.values()
    ]


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
