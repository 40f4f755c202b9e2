"""The live progress view and `up --watch`, end to end on the local cloud (issue 11, items 6 and 8).

A terminal is a real pseudo-terminal (python's `pty`): `up` and `teardown` draw the per-resource
view there (redrawn in place), with no colour under NO_COLOR; through pipes they print the plain
lines. `up --watch` picks up an edit of a handler, the new code answers, and Ctrl-C (SIGINT)
stops watching with exit 0 and the lab still up."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

from tests.e2e.conftest import AWSLAB, Cli

COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7]|38;[0-9;]+)m")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(cli: Cli, *args: str, timeout: float = 240) -> tuple[int, str]:
    """Run awslab with stdin, stdout and stderr on a pseudo-terminal; its exit code and output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    proc = subprocess.Popen(
        [*AWSLAB, *args], stdin=slave, stdout=slave, stderr=slave, env=cli.env, cwd=cli.home,
        start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other end closed (the process ended)
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def new_lab(cli: Cli, name: str) -> Path:
    cli("new", name, "--from", "crud", "--dir", "lab")
    return cli.home / "lab"


def test_up_and_teardown_draw_a_live_view_on_a_terminal_and_plain_lines_through_pipes(local_cli: Cli) -> None:
    lab = new_lab(local_cli, "live")
    code, shown = on_a_terminal(local_cli, "up", "lab/live.yaml")
    assert code == 0, shown
    text = ANSI.sub("", shown)
    assert "up lab 'live'" in text and "waiting on" in text  # the first frame: what waits on what
    assert re.search(r"✓ fn +lambda\.function +\d+\.\ds created", text)
    assert re.search(r"(\d+) of \1 done in \d+\.\ds", text)  # the summary line, all done
    assert "\x1b[1A" in shown, "the view is redrawn in place"
    assert not COLOUR.search(shown), "NO_COLOR is set: no colour codes"

    app = lab / "handlers" / "live" / "app.py"
    app.write_text(app.read_text() + "\n# changed\n")
    piped = local_cli("up", "lab/live.yaml")
    assert "✓ updated lambda.function fn" in piped.stderr
    assert "up lab 'live'" not in piped.stderr and "\x1b[" not in piped.stderr

    code, shown = on_a_terminal(local_cli, "teardown", "live", "--yes")
    assert code == 0, shown
    text = ANSI.sub("", shown)
    assert "teardown lab 'live'" in text and re.search(r"(\d+) of \1 done in", text)
    assert re.search(r"✓ items +dynamodb\.table +\d+\.\ds deleted", text)


def test_up_watch_deploys_an_edited_handler_and_ctrl_c_leaves_the_lab_up(
    local_cli: Cli, tmp_path: Path
) -> None:
    lab = new_lab(local_cli, "wl")
    app = lab / "handlers" / "wl" / "app.py"
    old = 'respond(200, {"items": table.scan()["Items"]})'
    assert old in app.read_text()
    err_path = tmp_path / "watch.err"
    with err_path.open("w") as err, (tmp_path / "watch.out").open("w") as out:
        proc = subprocess.Popen(
            [*AWSLAB, "up", "lab/wl.yaml", "--watch"], stdout=out, stderr=err, env=local_cli.env,
            cwd=local_cli.home, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while "Watching" not in err_path.read_text():
            assert proc.poll() is None, err_path.read_text()
            assert time.monotonic() < deadline, err_path.read_text()
            time.sleep(0.2)
        assert local_cli("call", "wl", "GET", "/items", "--output", "json").json()["json"] == {"items": []}

        app.write_text(app.read_text().replace(old, 'respond(200, {"items": table.scan()["Items"], "v": 2})'))
        deadline = time.monotonic() + 60
        while True:
            body = local_cli("call", "wl", "GET", "/items", "--output", "json").json()["json"]
            if body == {"items": [], "v": 2}:
                break
            assert time.monotonic() < deadline, f"the edit was not deployed:\n{err_path.read_text()}"
            time.sleep(0.3)

        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    said = err_path.read_text()
    assert code == 0, said
    assert "Changed: lab/handlers/wl/app.py (changed)" in said
    assert "Lab 'wl' updated" in said and "fn (updated)" in said
    assert said.rstrip().endswith("Stopped watching. Lab 'wl' is still up ('awslab teardown wl' removes it).")
    status = local_cli("status", "wl", "--output", "json").json()
    assert {r["status"] for r in status["labs"]["wl"]["resources"]} == {"present"}
    local_cli("teardown", "wl", "--yes")
    assert json.loads(local_cli("status", "--output", "json").stdout)["labs"] == {}
