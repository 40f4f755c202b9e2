"""The local cloud's process: moto's server behind awslab's own HTTP layer.

    python -m awslab.local.server --port N [--host 127.0.0.1] [--work-dir DIR] [--snapshot-dir DIR]
                                  [--lambda-idle-seconds S] [--like-aws [SETTINGS]]

Runs in the foreground until SIGTERM/SIGINT. It listens and answers its health check at once, and
loads moto and the layers below in the background (awslab.local.boot); AWS calls wait for that.
Every request first passes the guard (awslab.local.guard: only this machine's own clients, and
only signed AWS API calls reach moto),
then goes to the health endpoint, the API Gateway front (urls.API_PREFIX), the S3 website front
(urls.WEBSITE_PREFIX), moto's S3 (presigned URLs) or moto's own WSGI app. Lambda functions run in
the Docker-free executor (awslab.local.executor), installed before the first request
(awslab.local.moto_patches); it retires workers idle for --lambda-idle-seconds (300 by default),
those of deleted functions and all of them on POST /moto-api/reset. SQS event source mappings are served by a poller thread (awslab.local.sqs_poller) as on
AWS, not inside SendMessage, and DynamoDB stream mappings by another (awslab.local.stream_poller), not
inside the table's writes; Event invokes, S3 notifications and SNS deliveries to Lambda run in
the background with AWS's retries (awslab.local.async_invoke). The process keeps only the
environment awslab.local.server_env allows, so no handler finds the user's AWS credentials in it. With --like-aws, AWS API calls pass
the AWS-like consistency layer (awslab.local.like_aws) on their way to moto. With --snapshot-dir, the
local cloud remembers (awslab.local.snapshot_saver): the boot restores the last snapshot before
any AWS call is answered, a snapshot follows each change, and a stop writes the last one.

Exit codes: 0 after a clean stop, EXIT_PORT_IN_USE when the port is taken (one line on stderr),
1 on any other failure to start.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from awslab.local import guard
from awslab.local.boot import (
    SERVICE_NAME,
    Boot,
    WsgiApp,
    booting_handler,
    health_document,
    json_response,
    warm_up,
)
from awslab.local.like_aws.settings import LikeAws
from awslab.local.server_env import server_environment
from awslab.local.snapshot_saver import Snapshots, may_change

__all__ = ["EXIT_PORT_IN_USE", "SERVICE_NAME", "LocalCloudApp", "bind", "configure_moto", "main"]
EXIT_PORT_IN_USE = 3

log = logging.getLogger("awslab.local.server")


def configure_moto(port: int) -> None:
    """Process-wide moto settings; must run before moto's server modules are imported and before
    any resource is created (machines created before the Step Functions switch stay invisible)."""
    os.environ["MOTO_PORT"] = str(port)  # Step Functions calls Lambda at localhost:$MOTO_PORT
    # Bucket CORS is only visible when moto stops adding its own allow-all CORS headers.
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}


def moto_dispatcher() -> Any:
    """moto's WSGI app (it picks a service from each request), which can also be asked for S3."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class Dispatcher(DomainDispatcherApplication):
        def s3(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            """moto's S3 app whatever the request looks like (get_application's cache and lock)."""
            with self.lock:
                app = self.app_instances.get("s3")
                if app is None:
                    app = self.app_instances["s3"] = self.create_app("s3")
            return app(environ, start_response)

    return Dispatcher(create_backend_app)


class LocalCloudApp:
    """awslab's WSGI layer in front of moto."""

    def __init__(self, moto_app: Any, *, port: int, executor: Any = None, like_aws: LikeAws | None = None,
                 started_at: dt.datetime | None = None, snapshots: Snapshots | None = None) -> None:  # fmt: skip
        """`moto_app` is moto_dispatcher() (or a stand-in with the same `s3` method); `like_aws`
        puts the AWS-like layer in front of moto's AWS APIs; `started_at`: when the process began
        (awslab.local.boot), which with its pid tells one local cloud instance from another;
        `snapshots`: told of each request that may change something (None: nothing is kept)."""
        from awslab.local.gateway import ApiGatewayFront
        from awslab.local.lambda_front import lambda_front
        from awslab.local.like_aws import like_aws_app
        from awslab.local.website import WebsiteFront

        self.moto_app = moto_app
        self.port = port
        self.executor = executor
        self.gateway = ApiGatewayFront()
        self.website = WebsiteFront()
        self.started_at = started_at or dt.datetime.now(dt.UTC)
        self.like_aws = like_aws
        self.snapshots = snapshots
        control: WsgiApp = like_aws_app(moto_app, like_aws) if like_aws is not None else moto_app
        # Lambda's own checks (payload limits, reserved variables) before the rest
        self.control: WsgiApp = lambda_front(control)

    def health(self) -> dict[str, Any]:
        import moto

        executor = self.executor
        return health_document(
            self.port,
            self.started_at,
            moto.__version__,
            self.like_aws,
            self.snapshots,
            lambda_keys={
                "lambda_executor": executor is not None,
                "lambda_workers": len(executor.workers()) if executor is not None else 0,
                # The Python each Lambda runtime runs on here (awslab.local.runtimes): `up` names stand-ins.
                "lambda_runtimes": executor.runtimes.report() if executor is not None else None,
                "lambda_idle_seconds": executor.idle_timeout_s if executor is not None else None,
            },
            ready=True,
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        where = guard.route(environ, self.port)
        if isinstance(where, guard.Refusal):
            return guard.refuse(environ, start_response, where)
        if where is guard.Route.HEALTH:
            return json_response(start_response, "200 OK", self.health())
        if where is guard.Route.API:
            return self.gateway(environ, start_response)
        if where is guard.Route.WEBSITE:
            return self.website(environ, start_response)
        if self.snapshots is not None and may_change(environ):
            return self._then_snapshot(where, environ, start_response)
        return self._serve(where, environ, start_response)

    def _serve(self, where: guard.Route, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """moto's S3 for a presigned URL, else the control path (Lambda's checks, the AWS-like layer)."""
        if where is guard.Route.PRESIGNED_S3:
            s3: WsgiApp = self.moto_app.s3
            return s3(environ, start_response)
        return self.control(environ, start_response)

    def _then_snapshot(
        self, where: guard.Route, environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        """Serve a request that may change something (a handler's writes are requests of their own,
        so the API front needs none), through the state gate (no snapshot is taken while it runs),
        then have a snapshot taken in the background."""
        assert self.snapshots is not None
        reset = environ.get("PATH_INFO") == "/moto-api/reset"
        try:
            with self.snapshots.gate.changing():
                return self._serve(where, environ, start_response)
        finally:
            if reset:  # everything is gone: so is the snapshot, and the labs recorded in it
                self.snapshots.reset()
            else:
                self.snapshots.changed()


def bind(host: str, port: int) -> socket.socket:
    """Listen before the (slow) moto import so a taken port fails fast and distinctly."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would allow stealing a port in use
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m awslab.local.server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--work-dir", type=Path, default=None, help="scratch space (unpacked Lambda code)")
    parser.add_argument("--snapshot-dir", type=Path, default=None,
                        help="keep the resources across restarts: snapshots here (awslab.local.snapshot)")  # fmt: skip
    parser.add_argument("--lambda-idle-seconds", type=float, default=None, metavar="S",
                        help="how long an idle Lambda execution environment is kept (default 300)")  # fmt: skip
    parser.add_argument("--like-aws", nargs="?", const="", default=None, metavar="SETTINGS",
                        help="AWS-like consistency mode; SETTINGS like scale=0.1,iam=8 (awslab.local.like_aws)")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # Again here (the daemon starts it so already) for a server started by hand; and before moto
    # and boto3 read their settings.
    scrubbed = server_environment(os.environ)
    os.environ.clear()
    os.environ.update(scrubbed)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE or getattr(exc, "winerror", None) == 10048:
            print(f"{SERVICE_NAME}: port {args.port} is in use by another program", file=sys.stderr)
            return EXIT_PORT_IN_USE
        print(f"{SERVICE_NAME}: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    like_aws = LikeAws.from_arg(args.like_aws) if args.like_aws is not None else None
    work_dir = args.work_dir or Path.cwd() / "work"
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    work_dir.chmod(0o700)  # unpacked handler code: the user's alone, also when made earlier
    endpoint = f"http://127.0.0.1:{args.port}"
    from werkzeug.serving import make_server

    # Read before the boot: the health check names the data (and a pending restore) at once.
    snapshots = Snapshots(args.snapshot_dir) if args.snapshot_dir is not None else None
    boot = Boot(args.port, like_aws, snapshots=snapshots, lambda_idle_seconds=args.lambda_idle_seconds)
    server = make_server(
        args.host, args.port, boot, threaded=True, request_handler=booting_handler(boot), fd=sock.fileno()
    )
    sock.close()  # make_server works on its own duplicate of the descriptor
    parts = _Parts()
    booting = threading.Thread(
        target=_boot,
        args=(boot, parts, server, args, work_dir, like_aws, snapshots),
        name="awslab-boot",
        daemon=True,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        # shutdown() waits for serve_forever() to return, which runs in this (main) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("%s listening on %s (pid %d, work dir %s)", SERVICE_NAME, endpoint, os.getpid(), work_dir)
    booting.start()
    try:
        server.serve_forever(poll_interval=0.2)  # also bounds how long a stop waits
    finally:
        server.server_close()
        booting.join(timeout=60)  # a stop during the boot: what it started must be stopped too
        parts.stop()
        log.info("stopped")
    return 0 if boot.error is None else 1


class _Parts:
    """What the boot starts, stopped in reverse at the end."""

    def __init__(self) -> None:
        self.stoppers: list[Callable[[], None]] = []

    def stop(self) -> None:
        for stopper in reversed(self.stoppers):
            stopper()


def _boot(boot: Boot, parts: _Parts, server: Any, args: argparse.Namespace, work_dir: Path,
          like_aws: LikeAws | None, snapshots: Snapshots | None = None) -> None:  # fmt: skip
    """Load moto and awslab's layers, hand requests to them, then warm moto's services up."""
    try:
        configure_moto(args.port)
        from awslab.local import lazy_imports

        lazy_imports.import_apigateway_models()  # first: before anything imports moto's API Gateway
        lazy_imports.preload_batch_utils()  # before moto's Step Functions interpreter is imported
        from awslab.local import (
            eventbridge,
            eventbridge_test_pattern,
            moto_fidelity,
            moto_patches,
            sqs_poller,
            stream_poller,
        )
        from awslab.local.http_handler import LocalCloudRequestHandler

        moto_fidelity.install()
        eventbridge_test_pattern.install()  # moto answers TestEventPattern with nothing
        endpoint = f"http://127.0.0.1:{args.port}"
        idle = {"idle_timeout_s": args.lambda_idle_seconds} if args.lambda_idle_seconds is not None else {}
        # The runtimes are looked up after the warm-up: their probes would compete with it for the CPU.
        executor = moto_patches.install(work_dir, endpoint, prefetch_runtimes=False, **idle)
        parts.stoppers.append(executor.shutdown)
        poller = sqs_poller.install()  # after the executor: the batches it invokes run there
        parts.stoppers.append(poller.stop)  # stopped before the executor: no new batch on a dying one
        streams = stream_poller.install()  # DynamoDB stream mappings, read as Lambda's poller does
        parts.stoppers.append(streams.stop)
        bridge = eventbridge.install()  # PutEvents deliveries and schedules (Lambda targets: the executor)
        parts.stoppers.append(bridge.stop)
        if like_aws is not None:  # asynchronous invokes retry after AWS's delays, times the mode's scale
            executor.async_events.retry_scale = like_aws.scale
        if snapshots is not None:
            _remember(snapshots, parts, bridge.ticker)
        dispatcher = moto_dispatcher()
        app = LocalCloudApp(
            dispatcher,
            port=args.port,
            executor=executor,
            like_aws=like_aws,
            started_at=boot.started_at,
            snapshots=snapshots,
        )
    except BaseException as exc:
        log.exception("the local cloud failed to start")
        boot.fail(exc)
        server.shutdown()
        return
    boot.finish(app, LocalCloudRequestHandler)
    log.info("%s %s ready", SERVICE_NAME, app.health()["moto_version"])
    warm_up(dispatcher)
    executor.runtimes.prefetch()


def _remember(snapshots: Snapshots, parts: _Parts, ticker: Any) -> None:
    """Restore the last snapshot (before any AWS call is answered), then keep taking them; the
    last one is written after everything else has stopped (nothing changes after it)."""
    import moto

    from awslab.local import snapshot_state

    snapshots.moto_version = moto.__version__
    snapshots.restore(lambda payload: snapshot_state.restore(payload, ticker))
    snapshots.start(lambda: snapshot_state.capture(ticker))
    parts.stoppers.insert(0, snapshots.stop)


if __name__ == "__main__":
    sys.exit(main())
