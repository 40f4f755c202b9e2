"""The local cloud while it boots: it listens and answers its health check within a tenth of a
second, while moto (about 0.6 s of imports) loads in the background.

Why: the command that started the local cloud has its own start-up to do (its imports, the spec,
the handler bundles, its clients), and now does it while the server boots instead of before. An
AWS API call that arrives meanwhile waits for the boot, so nothing answers differently: it only
answers later. The health document says `"ready": false` until then (awslab.local.daemon waits for
`ready` where a caller needs it, e.g. `awslab local start`). A boot that fails answers every
waiting call with a 503 that says why, and the server exits with code 1.

After the boot, `warm_up` loads moto's services the labs use, so that the first call to each does
not pay for its import; the imports run outside moto's dispatcher lock, so a call never waits for
the warm-up of another service.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from awslab.local import guard, urls
from awslab.local.like_aws.settings import LikeAws

if TYPE_CHECKING:  # werkzeug is imported by the server, not by the CLI that imports this module's names
    from werkzeug.serving import WSGIRequestHandler

    from awslab.local.snapshot_saver import Snapshots

log = logging.getLogger("awslab.local.server")

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
SERVICE_NAME = "awslab-local"
# moto's services (its module names) the labs use, in the order a lab's `up` first needs them.
WARM_UP = ("iam", "sts", "dynamodb", "s3", "awslambda", "logs", "apigateway", "sqs", "sns", "stepfunctions",
           "events")  # fmt: skip


def health_document(
    port: int,
    started_at: dt.datetime,
    moto_version: str,
    like_aws: LikeAws | None,
    snapshots: Snapshots | None,
    *,
    lambda_keys: dict[str, Any],
    ready: bool,
) -> dict[str, Any]:
    """The health document, booting or booted: the same keys either way (`lambda_keys`: the
    executor's lambda_executor, lambda_workers, lambda_runtimes and lambda_idle_seconds)."""
    return {
        "service": SERVICE_NAME,
        "pid": os.getpid(),
        "port": port,
        "started_at": iso(started_at),
        "moto_version": moto_version,
        "like_aws": like_aws.to_dict() if like_aws is not None else None,
        **lambda_keys,
        "ready": ready,
        **(snapshots.health() if snapshots is not None else {}),
    }


class Boot:
    """The server's state while it boots, and the WSGI app that answers then (health only)."""

    def __init__(self, port: int, like_aws: LikeAws | None, *, snapshots: Snapshots | None = None,
                 lambda_idle_seconds: float | None = None) -> None:  # fmt: skip
        """`lambda_idle_seconds`: the server's --lambda-idle-seconds (None: the executor's default)."""
        self.port = port
        self.lambda_idle_seconds = lambda_idle_seconds
        self.like_aws = like_aws
        self.snapshots = snapshots  # the health check names the data and a pending restore at once
        self.started_at = dt.datetime.now(dt.UTC)
        self.done = threading.Event()
        self.app: WsgiApp | None = None  # the booted app
        self.handler: type[WSGIRequestHandler] | None = None  # the booted request handler
        self.error: str | None = None

    def finish(self, app: WsgiApp, handler: type[WSGIRequestHandler]) -> None:
        self.app, self.handler = app, handler
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = f"{type(error).__name__}: {error}"
        self.done.set()

    def health(self) -> dict[str, Any]:
        """The health document before the boot is done (LocalCloudApp.health's keys)."""
        from importlib.metadata import version

        from awslab.local.lambda_settings import DEFAULT_IDLE_TIMEOUT_S

        idle = self.lambda_idle_seconds
        return health_document(
            self.port,
            self.started_at,
            version("moto"),
            self.like_aws,
            self.snapshots,
            lambda_keys={
                "lambda_executor": True,
                "lambda_workers": 0,
                "lambda_runtimes": None,  # not looked up yet
                "lambda_idle_seconds": idle if idle is not None else DEFAULT_IDLE_TIMEOUT_S,
            },
            ready=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.app is not None:
            return self.app(environ, start_response)
        where = guard.route(environ, self.port)
        if isinstance(where, guard.Refusal):
            return guard.refuse(environ, start_response, where)
        if where is guard.Route.HEALTH:
            return json_response(start_response, "200 OK", self.health())
        message = f"the local cloud failed to start ({self.error}); see its log"
        return json_response(start_response, "503 Service Unavailable", {"message": message})


def booting_handler(boot: Boot) -> type[WSGIRequestHandler]:
    """The request handler class while `boot` runs: the health check at once, any other request
    once the boot is done, then by the booted handler class (moto's header handling, ours)."""
    from werkzeug.serving import WSGIRequestHandler

    class BootingRequestHandler(WSGIRequestHandler):
        def run_wsgi(self) -> None:
            if boot.handler is None and self.path.split("?", 1)[0] != urls.HEALTH_PATH:
                boot.done.wait()
            if boot.handler is not None:
                # The booted class shares this one's base and adds no state: the request is its now.
                self.__class__ = boot.handler  # type: ignore[assignment]
                self.run_wsgi()
                return
            super().run_wsgi()

        def send_response(self, code: int, message: str | None = None) -> None:
            """Without http.server's `Server: Werkzeug/x Python/y` banner, as the booted handler."""
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

    return BootingRequestHandler


def warm_up(dispatcher: Any, services: Iterable[str] = WARM_UP) -> None:
    """Import moto's `services` and build their apps in moto's dispatcher (see module doc)."""
    for service in services:
        try:
            importlib.import_module(f"moto.{service}.urls")
            with dispatcher.lock:
                if service not in dispatcher.app_instances:
                    dispatcher.app_instances[service] = dispatcher.create_app(service)
        except Exception:  # a warm-up is an optimisation: the first call does the same, and says why
            log.exception("warming up moto's %s failed", service)


def iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_response(start_response: Any, status: str, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
