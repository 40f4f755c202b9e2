"""Process management for the local cloud (POSIX first; Linux reads /proc, other systems fall back
to `ps`): start detached, tell whether a process is alive and what it runs, walk a process tree or
group, signal a group, wait for processes to go, sum a tree's resident memory. Knows nothing of
awslab: awslab.local.daemon uses it for the server and its Lambda workers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

HAS_PROC = Path("/proc/self/stat").exists()
# Processes started by this process, kept so they can be reaped (no zombie, no ResourceWarning).
children: dict[int, subprocess.Popen[bytes]] = {}


def detached() -> dict[str, Any]:
    if os.name == "nt":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
        return {"creationflags": flags}
    return {"start_new_session": True}


def reap(pid: int) -> None:
    """Collect the exit status if `pid` is our child, so it does not linger as a zombie."""
    child = children.get(pid)
    if child is not None:
        if child.poll() is not None:
            del children[pid]
        return
    if os.name == "nt":
        return
    with contextlib.suppress(ChildProcessError):  # not our child: its own parent reaps it
        os.waitpid(pid, os.WNOHANG)


def proc_table() -> dict[int, tuple[str, int, int]]:
    """pid -> (state, parent pid, process group) of every process (Linux: /proc; else `ps`)."""
    table: dict[int, tuple[str, int, int]] = {}
    if HAS_PROC:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):  # exited while we read
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    table[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
        return table
    out = subprocess.run(
        ["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="], capture_output=True, text=True, check=False
    )
    for line in out.stdout.splitlines():
        with contextlib.suppress(ValueError):  # a line that is not a process (ps's own quirks)
            pid, ppid, pgid, state = line.split()[:4]
            table[int(pid)] = (state[:1], int(ppid), int(pgid))
    return table


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    reap(pid)
    if os.name == "nt":
        query = ["tasklist", "/FI", f"PID eq {pid}", "/NH"]
        return str(pid) in subprocess.run(query, capture_output=True, text=True, check=False).stdout
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] if HAS_PROC else None
    except (OSError, IndexError):
        return False
    if state is not None:
        return state not in ("Z", "X")
    entry = proc_table().get(pid)
    return entry is not None and entry[0] not in ("Z", "X")


def command_line(pid: int) -> list[str] | None:
    """The arguments `pid` runs with; None where this system cannot tell."""
    if HAS_PROC:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except (FileNotFoundError, ProcessLookupError):
            return []  # it exited meanwhile: it runs nothing
        except PermissionError:
            return None  # /proc mounted with hidepid: cannot tell
    if os.name == "nt":
        return None
    out = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return out.stdout.split() or None


def signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # A server run in the foreground shares the terminal's group: signal only the server then.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    return [
        pid for pid, (state, _, group) in proc_table().items() if group == pgid and state not in ("Z", "X")
    ]


def process_tree(pid: int) -> list[int]:
    """`pid` and its live descendants, parents first."""
    table = proc_table()
    tree = [pid]
    for current in tree:  # grows while iterating: a breadth-first walk
        tree += [
            p for p, (state, parent, _) in table.items() if parent == current and state not in ("Z", "X")
        ]
    return tree


def wait_gone(pids: list[int], timeout: float, *, group: int | None = None) -> bool:
    deadline = time.monotonic() + timeout
    interval = 0.01
    while True:
        if not any(alive(p) for p in pids) and (group is None or not group_members(group)):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 2, 0.2)


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of the server and its Lambda workers (Linux only: it reads /proc)."""
    if not HAS_PROC:
        return None
    total_kb = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1) if total_kb else None
