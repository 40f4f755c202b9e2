"""How fast the commands a person types often answer (prints figures; not a test).

    .venv/bin/python bench/cli.py [--repeat 10] [--no-write]

Starts a local cloud on a free port with a state directory of its own, deploys the five built-in
labs on it, then times `awslab --help`, `awslab labs`, `awslab validate crud` and `awslab status`
(the real console script, a subprocess each): the median of --repeat runs, after one run that
writes the bytecode cache a user's install has, with the fastest run and the command's own CPU
time beside it (on a machine busy with other work, wall-clock time exceeds the CPU time). Stops the local cloud at the end. Prints a table
with the targets of issue 9 and writes it to the "cli" section of bench/RESULTS.md.

The commands run with dummy AWS settings and without PYTHONDONTWRITEBYTECODE (without the cache,
every start would compile every module). PYTHONPATH is passed on: pointing it at another checkout
times that one (`PYTHONPATH=/tmp/old bench/cli.py --no-write`).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from results import load_note, write_section  # bench/ is the script's directory: on sys.path
from startup import bench_env, free_port

AWSLAB = str(Path(sys.executable).parent / "awslab")
LOAD_AT_START = os.getloadavg()[0]
LABS = ("crud", "upload", "image", "messaging", "workflow")


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    target: float  # seconds (issue 9)


def cases(port: int) -> list[Case]:
    return [
        Case("awslab --help", ["--help"], 0.25),
        Case("awslab labs (5 labs up)", ["labs"], 0.25),
        Case("awslab validate crud", ["validate", "crud"], 0.25),
        Case("awslab status (5 labs up, local cloud)", ["status", "--port", str(port)], 0.5),
    ]


def awslab(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWSLAB, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


@contextmanager
def five_labs_up(env: dict[str, str], cwd: Path, port: int) -> Iterator[None]:
    started = awslab(["local", "start", "--port", str(port)], env, cwd)
    if started.returncode != 0:
        raise RuntimeError(f"the local cloud did not start:\n{started.stderr[-2000:]}")
    try:
        for lab in LABS:
            print(f"awslab up {lab}", file=sys.stderr)
            up = awslab(["up", lab, "--port", str(port), "--yes", "--output", "json"], env, cwd)
            if up.returncode != 0:
                raise RuntimeError(f"awslab up {lab} failed:\n{up.stderr[-2000:]}")
        yield
    finally:
        awslab(["local", "stop", "--port", str(port)], env, cwd)


@dataclass(frozen=True)
class Figure:
    seconds: float  # median wall-clock time
    fastest: float
    cpu: float  # median CPU time of the command's process: what a busy machine does not add


def measure(argv: list[str], env: dict[str, str], cwd: Path, repeat: int) -> Figure:
    first = awslab(argv, env, cwd)  # writes the bytecode cache; must succeed
    if first.returncode != 0:
        raise RuntimeError(f"awslab {' '.join(argv)} failed ({first.returncode}):\n{first.stderr[-2000:]}")
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        awslab(argv, env, cwd)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return Figure(statistics.median(times), min(times), statistics.median(cpu))


def report(figures: list[tuple[Case, Figure]], repeat: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Commands a person types often",
        "",
        f"`python bench/cli.py` on {when}, {os.cpu_count()} cores, {load_note(LOAD_AT_START)}, "
        f"Python {platform.python_version()}: "
        f"median of {repeat} runs of the console script each (after one run that writes the bytecode "
        "cache), on a local cloud with the five labs up. CPU is the command's own (user + system); "
        "when the machine is busy, wall-clock time exceeds it.",
        "",
        "| command | seconds (median) | fastest | CPU seconds (median) | target | met |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| `{case.label}` | {f.seconds:.3f} | {f.fastest:.3f} | {f.cpu:.3f} | {case.target:.2f} | "
        f"{'yes' if f.seconds <= case.target else 'no'} |"
        for case, f in figures
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=10, help="runs per command (the median is shown)")
    p.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md as it is")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="awslab-bench-cli-") as tmp:
        work = Path(tmp)
        env = bench_env(work / "state")
        port = free_port()
        with five_labs_up(env, work, port):
            figures = [(case, measure(case.argv, env, work, a.repeat)) for case in cases(port)]
    text = report(figures, a.repeat)
    print(text)
    if not a.no_write:
        write_section("cli", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
