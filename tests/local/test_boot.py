"""The local cloud while it boots (awslab.local.boot): its health check answers at once, saying it is
not ready; any other request waits for the boot and is then served by the booted app and handler;
a failed boot answers the waiting requests with a 503 that says why."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from awslab.local.boot import Boot, booting_handler, json_response
from awslab.local.lambda_settings import DEFAULT_IDLE_TIMEOUT_S
from awslab.local.server import LocalCloudApp
from awslab.local.urls import HEALTH_PATH
from tests.local.conftest import free_port, http

PORT = 4591  # never listened on: the health documents are built, not served


class BootedHandler(WSGIRequestHandler):
    def make_environ(self) -> dict[str, Any]:
        return {**super().make_environ(), "booted.handler": True}


def booted_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    return json_response(start_response, "200 OK", {"path": environ["PATH_INFO"],
                                                      "handler": environ.get("booted.handler", False)})  # fmt: skip


@pytest.fixture
def booting() -> Iterator[tuple[Boot, BaseWSGIServer]]:
    port = free_port()
    boot = Boot(port, None)
    server = make_server("127.0.0.1", port, boot, threaded=True, request_handler=booting_handler(boot))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield boot, server
    finally:
        boot.done.set()  # no request left waiting
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=awslab/20260101/us-east-1/s3/aws4_request, "
                           "SignedHeaders=host, Signature=0"}  # fmt: skip


def _in_background(url: str) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(http(url, headers=SIGNED)), daemon=True)
    thread.start()
    return thread, answers


def test_health_answers_while_booting_and_other_requests_wait(booting: tuple[Boot, BaseWSGIServer]) -> None:
    boot, server = booting
    base = f"http://127.0.0.1:{server.port}"
    answer = http(base + HEALTH_PATH)
    assert answer.headers.get("Server") is None  # no banner, as after the boot
    health = json.loads(answer.body)
    assert health["ready"] is False and health["port"] == server.port and health["service"] == "awslab-local"
    assert health["started_at"].endswith("Z") and health["moto_version"]

    waiting, answers = _in_background(base + "/some/aws/call")
    waiting.join(timeout=0.5)
    assert answers == []  # still waiting for the boot
    boot.finish(booted_app, BootedHandler)
    waiting.join(timeout=30)
    assert answers[0].status == 200
    assert json.loads(answers[0].body) == {"path": "/some/aws/call", "handler": True}
    assert json.loads(http(base + "/after").body) == {"path": "/after", "handler": True}
    assert json.loads(http(base + HEALTH_PATH).body)["handler"] is True  # the booted app and handler


def test_a_failed_boot_answers_503_with_the_reason(booting: tuple[Boot, BaseWSGIServer]) -> None:
    boot, server = booting
    waiting, answers = _in_background(f"http://127.0.0.1:{server.port}/some/aws/call")
    boot.fail(ImportError("moto is broken"))
    waiting.join(timeout=30)
    assert answers[0].status == 503
    assert "failed to start (ImportError: moto is broken)" in json.loads(answers[0].body)["message"]


def test_the_guard_holds_while_booting(booting: tuple[Boot, BaseWSGIServer]) -> None:
    _, server = booting
    answer = http(f"http://127.0.0.1:{server.port}{HEALTH_PATH}", headers={"Host": "evil.example"})
    assert answer.status == 403


def test_the_booting_health_check_has_the_booted_keys_and_the_idle_time() -> None:
    booting = Boot(PORT, None, lambda_idle_seconds=42.0).health()
    booted = LocalCloudApp(object(), port=PORT).health()
    assert booting.keys() == booted.keys()
    assert booting["lambda_idle_seconds"] == 42.0  # --lambda-idle-seconds, known before the executor
    assert Boot(PORT, None).health()["lambda_idle_seconds"] == DEFAULT_IDLE_TIMEOUT_S
