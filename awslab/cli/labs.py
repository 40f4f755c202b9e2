"""Lab lifecycle commands: labs, validate, plan, up, status, outputs (teardown: cli/teardown.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

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
    from awslab.engine.execute import ApplyResult
    from awslab.engine.plan import Plan
    from awslab.engine.status import ResourceStatus
    from awslab.lab_summary import LabSummary
    from awslab.spec import LabSpec
    from awslab.state import LabState, StateStore
    from awslab.target import Target
    from awslab.ttl import Decision

app = typer.Typer()

LabArg = Annotated[str, typer.Argument(help="a built-in lab name (see 'awslab labs') or a path to a spec")]
TTL_HELP = (
    "delete the lab by itself after DURATION (30m, 4h, 1d, 1h30m), even with this machine off: a "
    "one-time EventBridge Scheduler schedule invokes a reaper Lambda (least-privilege role) that "
    "deletes every resource tagged with the lab's stack, then itself. Without --ttl, a TTL set "
    "before is kept (same expiry); a new --ttl moves it; --ttl off removes the reaper"
)


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
    if not port.isdigit():
        return None
    cloud = LocalCloud(int(port))
    status = cloud.status()
    # a stopped one's snapshot holds what the next start brings back
    return status.identity if status else cloud.stored_identity()


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
    from awslab.ttl import with_recorded

    plan = plan_changes(with_recorded(spec, store, target), store, target)  # a TTL set before stays
    if opts.json:
        render.print_json(out, plan.to_dict())
        return
    out.print(render.plan_table(plan))
    out.print(render.plan_summary(plan))


@command(app, "up", output=True, yes=True)
def up_cmd(
    opts: Options,
    lab: LabArg,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="then keep watching the spec and the handler files: each saved change is deployed "
            "within a second; Ctrl-C stops watching and leaves the lab up",
        ),
    ] = False,
    ttl: Annotated[str | None, typer.Option("--ttl", metavar="DURATION", help=TTL_HELP)] = None,
) -> None:
    """Create or update a lab's resources (resumes an interrupted run)."""
    from awslab.spec import find_lab, load_spec

    if watch and opts.json:
        raise UsageError("--watch shows what it does as text", hint="leave out --output json")
    from awslab import ttl as lab_ttl

    lab_ttl.check_option(ttl)  # before anything starts
    spec = load_spec(find_lab(lab))
    target = open_target(opts)
    store = open_state(opts, target)

    def ask(plan: Plan, decision: Decision) -> bool:
        if not plan.has_changes:  # applied all the same: it resumes waits and refreshes the outputs
            return True
        if target.needs_confirmation and not opts.json:
            out.print(render.plan_table(plan))
        question = f"{render.plan_summary(plan)} Apply to {target.describe()}?"
        confirm(opts, question, required=target.needs_confirmation)
        return True

    def before_apply(plan: Plan, decision: Decision) -> None:
        if not opts.json:
            if decision.message:
                err.print(decision.message, markup=False)
            err.print(f"{render.plan_summary(plan)} Target: {target.describe()}.")

    with store.locked():
        _say_gone(opts, store, target, spec.name)
        done = deploy(opts, spec, target, store, ttl, ask=ask, before_apply=before_apply)
    assert done.result is not None  # `ask` agrees or raises
    result, ttl_decision = done.result, done.ttl
    _say_stand_in_runtimes(done.spec, target)  # the reaper too
    if opts.json:
        render.print_json(
            out,
            {
                "lab": spec.name,
                "counts": result.counts,
                "outputs": result.outputs,
                "seconds": round(result.seconds, 2),
                **({"ttl": ttl_decision.ttl.to_dict()} if ttl_decision.ttl else {}),
            },
        )
        return
    changed = sum(n for a, n in result.counts.items() if a != "keep")
    err.print(f"[green]Lab '{spec.name}' is up[/] ({changed} changed in {result.seconds:.1f}s).")
    if result.outputs:
        out.print(render.outputs_table(spec.name, result.outputs))
    if watch:
        from awslab.cli.watching import watch_lab

        watch_lab(opts, spec, target, store)


@dataclass(frozen=True)
class Deployed:
    spec: LabSpec  # with the reaper of the TTL applied, if any
    plan: Plan
    result: ApplyResult | None  # None: there was nothing to apply, or the user said no
    ttl: Decision


def deploy(
    opts: Options,
    spec: LabSpec,
    target: Target,
    store: StateStore,
    ttl_option: str | None,
    *,
    ask: Callable[[Plan, Decision], bool],
    before_apply: Callable[[Plan, Decision], None],
) -> Deployed:
    """What `up` and each update of `up --watch` do, under the state lock: the TTL's reaper added
    (or dropped: an expired TTL is forgotten), the plan made, `ask`ed (False: nothing is applied),
    applied, and then the TTL and what the lab costs recorded (a failed apply records only the
    reaper it left). The cost is the lab's spec's, without the reaper: it runs once, not at the
    usage `status` assumes of every function."""
    from awslab import ttl as lab_ttl
    from awslab.cli.live import plan_view, progress_for
    from awslab.engine.execute import apply_plan
    from awslab.engine.plan import plan_changes
    from awslab.pricing import priced_record

    lab_spec = spec
    spec, decision = lab_ttl.apply_option(spec, store, target, ttl_option)
    plan = plan_changes(spec, store, target)
    if not ask(plan, decision):
        return Deployed(spec, plan, None, decision)
    # only once the user agreed: it stats every file uploaded and parses each state machine's
    # definition (the files' sizes as this apply uploads them)
    priced = priced_record(lab_spec)
    before_apply(plan, decision)
    applied = False
    try:
        with progress_for(opts.json, err, lambda: plan_view(plan)) as progress:
            result = apply_plan(plan, store, target, on_progress=progress)
        applied = True
        store.set_priced(spec.name, priced)
    finally:
        lab_ttl.record(store, spec.name, decision, applied=applied)
    return Deployed(spec, plan, result, decision)


def _say_stand_in_runtimes(spec: LabSpec, target: Target) -> None:
    """On the local cloud, one line per function that runs on another Python than it declares."""
    if target.kind != "local" or target.local_port is None:
        return
    from awslab.local.daemon import LocalCloud
    from awslab.local.runtimes import stand_ins

    functions = {r.logical: str(r.fields.get("runtime") or r.cls.props_model.model_fields["runtime"].default)
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


def _price_table_date() -> str:
    """The price table's region and date (awslab.pricing_table: no spec models, no pydantic)."""
    from awslab.pricing_table import table

    prices = table()
    return f"AWS list prices for {prices.region} as of {prices.as_of}"


def status_help() -> str:
    """The status command's help. Paragraphs of one line each: the help reflows them to the
    terminal's width."""
    return (
        "Check every tracked resource live: present, missing or changed; each lab's age and cost.\n\n"
        "Age: from the lab's first 'up', as the state file records it.\n\n"
        "Cost: an estimate of what the last 'up' deployed (its spec as it was then, not as edited since) "
        f"at the prices of awslab's price table ({_price_table_date()}; other "
        "regions differ a little), so far and per month. On the local cloud it is what the lab would cost "
        "on a real AWS account.\n\n"
        "Assumed, each month: 10,000 requests through each API, function, table, queue, topic, bucket and "
        "state machine (an upper bound: a real request takes one path); 200 ms per function invocation at "
        "its memory; 1 KB of logs per invocation; 1 KB items and messages; 0.01 GB stored in each table and "
        "bucket; 5 long polls kept waiting by each SQS event source. 'So far' is that month pro rata over "
        "the lab's age. 'After the always-free tier' counts only the allowances that never expire, as if "
        "nothing else on the account used them; 'idle' is a month with nobody using the lab.\n\n"
        "'--output json' lists the assumptions, the prices' date and every charge."
    )


def __getattr__(name: str) -> Any:
    # STATUS_HELP is built when asked for: the price table is read only by `status` (and help)
    if name == "STATUS_HELP":
        return status_help()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _StatusCommand(TyperCommand):
    """The status command, whose help is built with it: other commands do not read the price table."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "help": status_help()})


@command(app, "status", output=True, cls=_StatusCommand)
def status_cmd(
    opts: Options, lab: Annotated[str | None, typer.Argument(help="one lab (default: all)")] = None
) -> None:
    """Check every tracked resource live: present, missing or changed; each lab's age and cost."""
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
    summaries = _summaries(live, store, target, rows)
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
                        **(summaries[n].to_dict() if n in summaries else {}),
                    }
                    for n in names
                },
                **({"cost_assumptions": _cost_assumptions()} if summaries else {}),
            },
        )
        if gone:
            raise typer.Exit(1)
        return
    if not names:
        out.print(f"Nothing deployed on {target.describe()}.")
        return
    out.print(render.status_table(rows, f"Status on {target.describe()}"))
    for summary in summaries.values():
        for line in summary.lines():
            out.print(line, soft_wrap=True, markup=False)
    for name, line in gone.items():
        out.print(f"[red]{line} — run '{redeploy(name, store.labs[name])}' to deploy it again.[/]")
    bad = [r for r in rows if r.health != "present"]
    if bad:
        out.print(f"[yellow]{len(bad)} of {len(rows)} resources need attention.[/]")
        raise typer.Exit(1)


def _summaries(
    labs: dict[str, LabState], store: StateStore, target: Target, rows: list[ResourceStatus]
) -> dict[str, LabSummary]:
    """Each live lab's age, cost (what it would cost on AWS, on the local cloud) and TTL."""
    from awslab.durations import utc_now
    from awslab.lab_summary import summarize

    healths: dict[str, dict[str, str]] = {}
    for r in rows:
        healths.setdefault(r.lab, {})[r.logical] = r.health
    real = target.kind != "local"
    return summarize(
        labs, store.path, real_account=real, region=target.region, now=utc_now(), healths=healths
    )


def _cost_assumptions() -> dict[str, Any]:
    from awslab.lab_cost import assumptions

    return assumptions()


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
