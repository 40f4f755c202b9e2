"""`awslab local ...` as a user types it, and the exercise commands that read a function
(invoke, logs) on the local cloud."""

from __future__ import annotations

import json
import socket

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e


def test_local_cloud_lifecycle_from_the_cli(local_cli: Cli) -> None:
    cli = local_cli
    assert cli("local", "status", "--output", "json").json() == {"running": False}
    assert cli("local", "status", check=False).code == 1

    started = cli("local", "start", "--output", "json").json()
    assert started["started"] is True and {"endpoint", "pid", "port", "uptime"} <= set(started)
    again = cli("local", "start", "--output", "json").json()
    assert again["started"] is False and again["pid"] == started["pid"]  # reused, not a second one

    cli("up", "crud", "--yes")
    assert "listening" in cli("local", "logs").stdout or cli("local", "logs").stdout.strip()

    cli("local", "reset", "--yes")
    status = cli("status", "crud", "--output", "json", check=False).json()  # gone with the reset data
    assert {r["status"] for r in status["labs"]["crud"]["resources"]} == {"gone"}
    plan = cli("plan", "crud", "--output", "json").json()
    assert {c["action"] for c in plan["changes"]} == {"create"}
    cli("up", "crud", "--yes")  # recreates everything in the emptied cloud
    assert {r["status"] for r in cli("status", "--output", "json").json()["labs"]["crud"]["resources"]} == {
        "present"
    }

    assert cli("local", "stop", "--output", "json").json()["stopped"] is True
    assert cli("local", "stop", "--output", "json").json()["stopped"] is False


def test_a_stale_pid_file_is_cleared(local_cli: Cli) -> None:
    cli = local_cli
    pid = cli("local", "start", "--output", "json").json()["pid"]
    port = cli.env["AWSLAB_LOCAL_PORT"]
    pid_files = list((cli.home / "state" / "local" / port).glob("*.pid"))
    assert len(pid_files) == 1
    cli("local", "stop")
    # a pid file left by a process that no longer exists (a crash, a reboot)
    pid_files[0].write_text(str(pid))
    assert cli("local", "status", "--output", "json").json() == {"running": False}
    restarted = cli("local", "start", "--output", "json").json()
    assert restarted["started"] is True and restarted["pid"] != pid


def test_a_port_in_use_is_one_clear_line(local_cli: Cli) -> None:
    cli = local_cli
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(cli.env["AWSLAB_LOCAL_PORT"])))
        blocker.listen()
        result = cli("local", "start", check=False)
    assert result.code == 1 and "Traceback" not in result.stderr
    assert f"port {cli.env['AWSLAB_LOCAL_PORT']} is in use" in result.stderr


def test_invoke_and_logs_of_a_function(local_cli: Cli) -> None:
    cli = local_cli
    cli("up", "crud", "--yes")
    event = {
        "resource": "/items",
        "path": "/items",
        "httpMethod": "GET",
        "headers": {},
        "queryStringParameters": None,
        "pathParameters": None,
        "body": None,
        "isBase64Encoded": False,
    }
    result = cli("invoke", "crud", "items-fn", "--payload", json.dumps(event), "--output", "json").json()
    assert result["payload"]["statusCode"] == 200
    assert "REPORT RequestId" in result["log_tail"]
    logs = cli("logs", "crud", "items-fn", "--since", "10m", "--output", "json").json()
    messages = json.dumps(logs)
    assert "START RequestId" in messages and "END RequestId" in messages
    bad = cli("invoke", "crud", "items-fn", "--payload", "{not json", check=False)
    assert bad.code == 2 and "--payload" in bad.stderr
    cli("teardown", "--yes")
