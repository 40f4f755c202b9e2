"""Commands that exercise a deployed lab: call, invoke, upload, send-message, publish,
start-execution, logs, check; and `event`, which prints sample events. Each parses its options,
calls `awslab.exercise`, renders."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

import typer

from awslab.cli.common import (
    Options,
    command,
    deployed_lab,
    err,
    lost_labs,
    open_state,
    open_target,
    out,
    redeploy,
)
from awslab.errors import TargetError, UsageError
from awslab.exercise.defaults import EFFECTS_TIMEOUT, EXECUTION_TIMEOUT, LOGS_SINCE
from awslab.render import print_json

# The exercise code (boto3, the spec models) is imported by the command that runs: --help and
# the other commands must not pay for it.
if TYPE_CHECKING:
    from awslab.exercise.attributes import MessageAttribute
    from awslab.exercise.labs import DeployedLab
    from awslab.exercise.logs import LogEvent
    from awslab.spec import LabSpec
    from awslab.state import StateStore
    from awslab.target import Target

app = typer.Typer()


class _Result(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


_R = TypeVar("_R", bound=_Result)

LabOption = Annotated[
    str | None, typer.Option("--lab", help="the deployed lab to use (default: the only one that fits)")
]
WaitOption = Annotated[float, typer.Option("--wait", min=0, help="seconds to wait for the effect downstream")]


@contextlib.contextmanager
def waiting(text: str) -> Iterator[Any]:
    """A spinner on stderr while something is awaited, on a terminal only."""
    if err.is_terminal:
        with err.status(text) as status:
            yield status
    else:
        yield None


def _open(opts: Options) -> tuple[Target, StateStore, str]:
    # The local cloud is not started here: a fresh one would hold none of the lab's resources.
    target = open_target(opts, start_local=False)
    if target.kind == "local" and target.local_cloud is None:
        raise TargetError(
            f"the local cloud is not running on port {target.local_port}",
            hint="its resources went with it: 'awslab up LAB' starts it and deploys the lab again",
        )
    return target, open_state(opts, target), target.describe()


def _live(target: Target, store: StateStore, lab: DeployedLab) -> DeployedLab:
    """`lab`, unless its resources went with an earlier instance of the local cloud."""
    gone = lost_labs(store, target).get(lab.name)
    if gone:
        raise TargetError(gone, hint=f"run '{redeploy(lab.name, lab.state)}' to deploy it again")
    return lab


def _emit(opts: Options, data: dict[str, Any], renderable: Any) -> None:
    if opts.json:
        print_json(out, data)
    else:
        out.print(renderable)


AttributeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--attribute",
        "-a",
        help="message attribute NAME=VALUE, or NAME:TYPE=VALUE (Number, Binary, String.Array); repeatable",
    ),
]
BODY_HELP = "inline, @FILE, or @- for standard input"


def _spec_of(lab: DeployedLab) -> LabSpec | None:
    """The lab's spec as `up` last applied it, when the file is still there and valid."""
    from awslab.errors import SpecError
    from awslab.spec import load_spec

    if lab.spec_path is None:
        return None
    try:
        return load_spec(lab.spec_path)
    except SpecError:
        return None


@command(app, "call", output=True)
def call_cmd(
    opts: Options,
    args: Annotated[
        list[str],
        typer.Argument(metavar="[LAB] METHOD PATH", help="e.g. 'crud GET /items' or 'POST /items?x=1'"),
    ],
    json_: Annotated[
        str | None, typer.Option("--json", help=f"JSON body (sets Content-Type): {BODY_HELP}")
    ] = None,
    data: Annotated[str | None, typer.Option("--data", "-d", help=f"raw body: {BODY_HELP}")] = None,
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="'Name: value' (repeatable)")
    ] = None,
    api: Annotated[
        str | None, typer.Option("--api", help="the API's logical name, when the lab has several")
    ] = None,
) -> None:
    """Send an HTTP request to a lab's API or function URL, like Postman or curl."""
    from awslab.exercise import http
    from awslab.exercise import render as view
    from awslab.exercise.defaults import HTTP_KINDS
    from awslab.exercise.labs import pick_lab_with
    from awslab.exercise.values import json_option, option_text

    if len(args) == 2 and http.is_method(args[0]):
        lab_name, method, path = None, args[0], args[1]
    elif len(args) == 3:
        lab_name, method, path = args
    else:
        raise UsageError("expected [LAB] METHOD PATH", hint="e.g. awslab call crud GET /items")
    if not http.is_method(method):
        raise UsageError(f"unknown HTTP method '{method}'", hint=f"use one of {', '.join(http.METHODS)}")
    body: dict[str, Any] = {"json_body": json_option(json_, "--json")} if json_ is not None else {}
    if data == "@-":  # a file (@FILE) is sent as its bytes by http.call
        data = option_text(data, "--data")
    headers = http.parse_headers(header)
    target, store, where = _open(opts)
    lab = _live(target, store, pick_lab_with(store, HTTP_KINDS, lab_name, where=where))
    record = http.api_record(lab, api)
    res = http.call(record.attrs["url"], method, path, data=data, headers=headers, **body)
    _emit(opts, {"lab": lab.name, "api": record.logical, **res.to_dict()}, view.call_view(res))
    if res.status >= 400:
        raise typer.Exit(1)


@command(app, "invoke", output=True)
def invoke_cmd(
    opts: Options,
    lab: Annotated[str, typer.Argument(help="a deployed lab")],
    function_arg: Annotated[
        str | None,
        typer.Argument(
            metavar="[FUNCTION]", help="the function's logical name (default: the lab's only one)"
        ),
    ] = None,
    function: Annotated[
        str | None, typer.Option("--function", help="the function's logical name, when the lab has several")
    ] = None,
    payload: Annotated[
        str | None, typer.Option("--payload", "-p", help=f"JSON event (default {{}}): {BODY_HELP}")
    ] = None,
) -> None:
    """Invoke a lab's Lambda function and show its response and log tail."""
    from awslab.exercise import invoke
    from awslab.exercise import render as view
    from awslab.exercise.labs import lab_named, pick_resource
    from awslab.exercise.values import json_option

    if function_arg is not None and function is not None and function_arg != function:
        raise UsageError("give the function once: as FUNCTION or with --function")
    event = json_option(payload, "--payload") if payload is not None else None
    target, store, where = _open(opts)
    deployed = _live(target, store, lab_named(store, lab, where=where))
    name = function_arg or function or pick_resource(deployed, "lambda.function", option="--function").logical
    with waiting(f"Invoking {name}…"):
        res = invoke.invoke(target, deployed, name, event)
    _emit(opts, res.to_dict(), view.invoke_view(res))
    if not res.ok:
        raise typer.Exit(1)


@command(app, "upload", output=True)
def upload_cmd(
    opts: Options,
    file: Annotated[
        Path, typer.Argument(help="the file to upload", exists=True, dir_okay=False, readable=True)
    ],
    lab: LabOption = None,
    route: Annotated[
        str | None,
        typer.Option(
            "--route",
            help="the API route that takes files, e.g. 'POST /files' (default: the lab's upload check's)",
        ),
    ] = None,
    api: Annotated[
        str | None, typer.Option("--api", help="the API's logical name, when the lab has several")
    ] = None,
    wait: WaitOption = EFFECTS_TIMEOUT,
) -> None:
    """Upload a file (to the API route the lab's upload check names, or into the bucket of its S3
    notification) and show the record written."""
    from awslab.exercise import render as view
    from awslab.exercise import upload
    from awslab.exercise.actions.upload import summaries, upload_route

    if route is not None:
        upload.parse_route(route)  # a bad route is a usage error before any call
    specs: dict[str, LabSpec | None] = {}

    def spec(d: DeployedLab) -> LabSpec | None:  # read once: picking the lab may ask about each
        if d.name not in specs:
            specs[d.name] = _spec_of(d)
        return specs[d.name]

    def way(d: DeployedLab) -> tuple[str | None, str | None]:
        """(route, API) to upload to: the options', else the lab's upload check's."""
        found = spec(d)
        spec_route, spec_api = upload_route(found.checks) if found is not None else (None, None)
        return (route, api) if route is not None else (spec_route, api or spec_api)

    target, store, where = _open(opts)
    picked = upload.pick_upload_lab(store, lab, where=where, route_of=lambda d: way(d)[0])
    deployed = _live(target, store, picked)
    lab_spec = spec(deployed)
    to_route, to_api = way(deployed)
    with waiting(f"Uploading {file.name} to lab '{deployed.name}'…"):
        res = upload.upload(target, deployed, file, route=to_route, api=to_api, timeout=wait)
    lines = summaries(lab_spec.checks, res.record) if lab_spec is not None and res.record else []
    _emit(opts, {**res.to_dict(), "summary": lines}, view.upload_view(res, lines))
    if not res.ok:
        raise typer.Exit(1)


def _deliver(
    opts: Options,
    kind: str,
    given: tuple[str | None, str | None, list[str] | None],
    doing: str,
    send: Callable[[Target, DeployedLab, str | None, dict[str, MessageAttribute]], _R],
    show: Callable[[_R], Any],
) -> None:
    """What send-message and publish do: the target, the deployed lab with a `kind` (from `given`:
    --lab, BODY, --attribute), the body (an @FILE read) and the `--attribute`s, each refused with its
    own message; then `send` while `doing` (its {lab} the lab's name) shows, and the result."""
    from awslab.exercise.attributes import parse_options
    from awslab.exercise.labs import pick_lab_with
    from awslab.exercise.values import option_text

    lab, body, attribute = given
    text = option_text(body, "BODY") if body is not None else None
    attributes = parse_options(attribute or [])
    target, store, where = _open(opts)
    deployed = _live(target, store, pick_lab_with(store, kind, lab, where=where))
    with waiting(doing.format(lab=deployed.name)):
        res = send(target, deployed, text, attributes)
    _emit(opts, res.to_dict(), show(res))


@command(app, "send-message", output=True)
def send_message_cmd(
    opts: Options,
    body: Annotated[
        str | None, typer.Argument(help=f"message body (default: a sample order as JSON): {BODY_HELP}")
    ] = None,
    lab: LabOption = None,
    queue: Annotated[
        str | None, typer.Option("--queue", help="the queue's logical name, when the lab has several")
    ] = None,
    attribute: AttributeOption = None,
    count: Annotated[int, typer.Option("--count", "-n", help="how many messages")] = 1,
    wait: WaitOption = EFFECTS_TIMEOUT,
) -> None:
    """Send a message to a lab's SQS queue and show the row its consumer wrote."""
    from awslab.exercise import messages
    from awslab.exercise import render as view

    _deliver(
        opts,
        "sqs.queue",
        (lab, body, attribute),
        "Sending to lab '{lab}' and waiting for the consumer…",
        lambda target, deployed, text, attributes: messages.send_message(
            target, deployed, text, count, queue=queue, attributes=attributes, timeout=wait
        ),
        view.send_view,
    )


@command(app, "publish", output=True)
def publish_cmd(
    opts: Options,
    body: Annotated[
        str | None, typer.Argument(help=f"message (default: a sample order as JSON): {BODY_HELP}")
    ] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="SNS subject")] = None,
    lab: LabOption = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="the topic's logical name, when the lab has several")
    ] = None,
    attribute: AttributeOption = None,
    wait: WaitOption = EFFECTS_TIMEOUT,
) -> None:
    """Publish to a lab's SNS topic and show what each subscriber's consumer wrote (and which
    subscribers' filter policies dropped it)."""
    from awslab.exercise import messages
    from awslab.exercise import render as view

    _deliver(
        opts,
        "sns.topic",
        (lab, body, attribute),
        "Publishing to lab '{lab}' and waiting for the subscribers…",
        lambda target, deployed, text, attributes: messages.publish(
            target, deployed, text, subject, topic=topic, attributes=attributes, timeout=wait
        ),
        view.publish_view,
    )


@command(app, "start-execution", output=True)
def start_execution_cmd(
    opts: Options,
    lab: LabOption = None,
    input_: Annotated[
        str | None, typer.Option("--input", "-i", help=f"JSON input (default {{}}): {BODY_HELP}")
    ] = None,
    state_machine: Annotated[
        str | None,
        typer.Option("--state-machine", help="the state machine's logical name, when the lab has several"),
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="seconds to wait for the end")
    ] = EXECUTION_TIMEOUT,
) -> None:
    """Run a lab's state machine and show its states, one by one, and its output."""
    from awslab.exercise import executions
    from awslab.exercise import render as view
    from awslab.exercise.labs import pick_lab_with
    from awslab.exercise.values import json_option

    value = json_option(input_, "--input") if input_ is not None else None
    target, store, where = _open(opts)
    deployed = _live(target, store, pick_lab_with(store, "stepfunctions.state_machine", lab, where=where))
    with waiting(f"Running the state machine of lab '{deployed.name}'…"):
        res = executions.start_execution(target, deployed, value, state_machine=state_machine, timeout=wait)
    _emit(opts, res.to_dict(), view.execution_view(res))
    if not res.ok:
        raise typer.Exit(1)


@command(app, "event", target=False)
def event_cmd(
    opts: Options,
    kind: Annotated[
        str | None,
        typer.Argument(
            help="api, api-v2, sqs, sns, s3-put, s3-delete, dynamodb-stream, eventbridge, schedule (none: list them)"
        ),
    ] = None,
    body: Annotated[
        str | None,
        typer.Option("--body", help=f"the request body, message, new item or detail: {BODY_HELP}"),
    ] = None,
    method: Annotated[str, typer.Option("--method", help="api, api-v2: the HTTP method")] = "GET",
    path: Annotated[str, typer.Option("--path", help="api, api-v2: the request path")] = "/items",
    key: Annotated[
        str, typer.Option("--key", help="s3-put, s3-delete: the object's key")
    ] = "uploads/photo.jpg",
    bucket: Annotated[
        str, typer.Option("--bucket", help="s3-put, s3-delete: the bucket")
    ] = "awslab-sample-bucket",
) -> None:
    """Print a sample event, shaped as AWS sends it to a Lambda function, e.g.
    'awslab event sqs --body hi | awslab invoke LAB FN --payload @-'."""
    from awslab.exercise import events
    from awslab.exercise.values import option_text

    if kind is None:
        for name, what in events.describe().items():
            out.print(f"[bold]{name:16}[/] {what}")
        return
    params = events.EventParams(
        body=option_text(body, "--body") if body is not None else None,
        method=method,
        path=path,
        key=key,
        bucket=bucket,
    )
    print_json(out, events.sample_event(kind, params))


@command(app, "logs", output=True)
def logs_cmd(
    opts: Options,
    lab: Annotated[str, typer.Argument(help="a deployed lab")],
    function: Annotated[str, typer.Argument(help="the function's logical name in the lab")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing new lines until Ctrl-C")
    ] = False,
    since: Annotated[
        str, typer.Option("--since", help="how far back: 30s, 10m, 2h, 1d, or a time")
    ] = LOGS_SINCE,
) -> None:
    """Show a lab function's CloudWatch logs."""
    from awslab.exercise import logs
    from awslab.exercise.labs import lab_named

    logs.parse_since(since)  # a bad --since is a usage error before any call
    target, store, where = _open(opts)
    res = logs.read_logs(target, _live(target, store, lab_named(store, lab, where=where)), function, since)
    if opts.json and not follow:
        print_json(out, res.to_dict())
        return
    for e in res.events:
        _print_event(opts, e)
    if not follow:
        if not res.events and not opts.json:
            what = "no log lines" if res.exists else "no log group yet (the function has not run)"
            err.print(f"[dim]{what} for {res.group} since {res.since:%Y-%m-%d %H:%M:%S} UTC[/]")
        return
    if not opts.json:
        err.print(f"[dim]following {res.group}; Ctrl-C stops[/]")
    start = max([int(res.since.timestamp() * 1000), *(e.timestamp for e in res.events)])
    try:
        for e in logs.follow(target, res.group, start, seen={e.event_id for e in res.events}):
            _print_event(opts, e)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _print_event(opts: Options, e: LogEvent) -> None:
    from awslab.exercise import render as view

    if opts.json:  # one JSON object per line, so a follow can be piped
        out.print_json(data=e.to_dict(), indent=None)
    else:
        out.print(view.log_line(e))


@command(app, "check", output=True)
def check_cmd(
    opts: Options, lab: Annotated[str, typer.Argument(help="a deployed lab (name or spec path)")]
) -> None:
    """Run a lab's end-to-end checks against the deployed lab; exit 1 if any fails."""
    from awslab.exercise import checks as checks_core
    from awslab.exercise import render as view

    target, store, _ = _open(opts)
    spec, state = deployed_lab(store, target, lab)
    with waiting(f"Checking lab '{spec.name}'…") as status:

        def started(i: int, name: str) -> None:
            if status is not None:
                status.update(f"Check {i}/{len(spec.checks)}: {name}")

        def finished(r: checks_core.CheckResult) -> None:
            if status is not None:  # live progress on a terminal; the table follows
                err.print(view.check_line(r))

        report = checks_core.run_checks(spec, state, target, on_start=started, on_result=finished)
    if opts.json:
        print_json(out, report.to_dict())
    else:
        out.print(view.checks_table(report))
        out.print(view.checks_summary(report))
    if not report.passed:
        raise typer.Exit(1)
