"""Benchmark of the local cloud's memory and cold start, through the CLI (prints figures; not a test).

    .venv/bin/python bench/memory.py [--runs 3] [--idle 300] [--no-write]

1. Cold start: with no local cloud running, `awslab up crud` and then GET of the lab's API URL
   until the first 200 (target: at most 1.5 s). Median of `--runs`, each on a new local cloud;
   then the same on a local cloud already running, for the lab's own share.
2. Memory: every lab up and every lab's checks run (`awslab check LAB`), then the resident memory of
   the local cloud (the server plus every Lambda worker, summed, as RSS and as PSS; target: at most
   400 MB, once idle workers are retired, as the issue puts it) with its
   workers warm, and again once the idle workers are retired (AWSLAB_LAMBDA_IDLE_SECONDS=`--idle`,
   the local cloud's default of 300 s unless given, as AWS reclaims an idle execution environment
   after some minutes); then one more invoke, which is a cold start again.

Each local cloud runs on a free port with its state in a temporary directory and is stopped at the
end, whatever happens. The figures go to the `local_cloud` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from awslab.local.lambda_settings import DEFAULT_IDLE_TIMEOUT_S as DEFAULT_IDLE_S
from bench.results import load_note, write_section
from bench.startup import free_port

ROOT = Path(__file__).resolve().parent.parent
AWSLAB = [str(Path(sys.executable).with_name("awslab"))]  # the console script, as a user runs it
LABS = ("crud", "upload", "image", "messaging", "workflow")
COLD_TARGET_S = 1.5
RSS_TARGET_MB = 400.0
LOAD_AT_START = os.getloadavg()[0]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Cloud:
    """One local cloud, driven through the CLI, on a free port with its own state directory."""

    def __init__(self, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.env = {**os.environ, "AWSLAB_STATE_DIR": str(tmp / "state"), "AWSLAB_LOCAL_PORT": str(self.port),
                    **(extra_env or {})}  # fmt: skip
        self.env.pop("AWS_ENDPOINT_URL", None)

    def run(self, *args: str) -> str:
        done = subprocess.run([*AWSLAB, *args], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"awslab {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def status(self) -> dict[str, Any]:
        from awslab.local.daemon import LocalCloud

        os.environ["AWSLAB_STATE_DIR"] = self.env["AWSLAB_STATE_DIR"]
        status = LocalCloud(self.port).status()
        assert status is not None, "the local cloud is not running"
        return {"rss_mb": status.rss_mb or 0.0, "pss_mb": tree_pss_mb(status.pid),
                "workers": status.lambda_workers or 0}  # fmt: skip

    def stop(self) -> None:
        subprocess.run([*AWSLAB, "local", "stop"], cwd=ROOT, env=self.env, capture_output=True)


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of the server and every process under it (its Lambda workers, and the
    template they are forked from): each page shared by N processes counts 1/N in each. RSS
    counts a shared page in every process that maps it, so it adds the template's imports once
    per worker; PSS is what the processes take from the machine together (Linux: smaps_rollup)."""
    from awslab.local.processes import process_tree

    total_kb = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
                    break
        except OSError:  # gone since the walk
            continue
    return total_kb / 1024


def get_until_ok(url: str, deadline: float) -> None:
    while True:
        try:
            with _OPENER.open(url, timeout=30) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.perf_counter() > deadline:
                raise
        time.sleep(0.01)


def cold_start() -> tuple[float, float]:
    """(seconds from `awslab up crud` on no local cloud to the first 200 from its API, of which `up`)."""
    with tempfile.TemporaryDirectory(prefix="awslab-bench-") as tmp:
        cloud = Cloud(Path(tmp))
        try:
            t0 = time.perf_counter()
            out = cloud.run("up", "crud", "--yes", "--output", "json")
            up_s = time.perf_counter() - t0
            get_until_ok(json.loads(out)["outputs"]["api_url"] + "/items", t0 + 60)
            return time.perf_counter() - t0, up_s
        finally:
            cloud.stop()


def booted_start(runs: int) -> list[tuple[float, float]]:
    """The same as cold_start, `runs` times, on a local cloud started (and booted) beforehand: what
    the lab itself costs, so that the difference is the local cloud's start."""
    with tempfile.TemporaryDirectory(prefix="awslab-bench-") as tmp:
        cloud = Cloud(Path(tmp))
        cloud.run("local", "start")
        results = []
        try:
            for _ in range(runs):
                t0 = time.perf_counter()
                out = cloud.run("up", "crud", "--yes", "--output", "json")
                up_s = time.perf_counter() - t0
                get_until_ok(json.loads(out)["outputs"]["api_url"] + "/items", t0 + 60)
                results.append((time.perf_counter() - t0, up_s))
                cloud.run("teardown", "crud", "--yes")
        finally:
            cloud.stop()
        return results


def memory(idle_s: float) -> dict[str, Any]:
    """Memory with every lab up and checked, warm and after the idle workers are retired."""
    with tempfile.TemporaryDirectory(prefix="awslab-bench-") as tmp:
        cloud = Cloud(Path(tmp), {"AWSLAB_LAMBDA_IDLE_SECONDS": f"{idle_s:g}"})
        try:
            for lab in LABS:
                cloud.run("up", lab, "--yes")
            idle_after_up = cloud.status()
            for lab in LABS:
                cloud.run("check", lab)
            warm = cloud.status()
            deadline = time.monotonic() + idle_s + 120
            retired = cloud.status()
            while retired["workers"] and time.monotonic() < deadline:
                time.sleep(1)
                retired = cloud.status()
            t0 = time.perf_counter()
            cloud.run("call", "crud", "GET", "/items")
            again_s = time.perf_counter() - t0
            again = cloud.status()
            return {"after_up": idle_after_up, "warm": warm, "retired": retired, "again": again,
                    "again_s": again_s}  # fmt: skip
        finally:
            cloud.stop()


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _mb(figure: dict[str, Any]) -> str:
    return f"{figure['rss_mb']:.0f} MB / {figure['pss_mb']:.0f} MB"


def _verdict(figure: dict[str, Any]) -> str:
    return f"RSS {met(figure['rss_mb'] <= RSS_TARGET_MB)}, PSS {met(figure['pss_mb'] <= RSS_TARGET_MB)}"


def _default_note(idle_s: float) -> str:
    return ", the default" if idle_s == DEFAULT_IDLE_S else f" here, {DEFAULT_IDLE_S:g} s by default"


def report(colds: list[tuple[float, float]], booted: list[tuple[float, float]], mem: dict[str, Any],
           idle_s: float) -> str:  # fmt: skip
    cold = statistics.median(c for c, _ in colds)
    up = statistics.median(u for _, u in colds)
    booted_s = statistics.median(c for c, _ in booted)
    warm, retired, again = mem["warm"], mem["retired"], mem["again"]
    lines = [
        "## The local cloud: cold start and memory",
        "",
        f"`python bench/memory.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} cores, {load_note(LOAD_AT_START)}; median of {len(colds)} cold starts.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| `awslab up crud` on no local cloud to the first 200 from its API | {cold:.2f} s "
        f"(`up` {up:.2f} s) | at most {COLD_TARGET_S} s: {met(cold <= COLD_TARGET_S)} |",
        f"| the same with the local cloud already running (the lab's own share) | {booted_s:.2f} s | |",
        f"| every lab up, before any check (server + {mem['after_up']['workers']} workers) | "
        f"{_mb(mem['after_up'])} | |",
        f"| every lab up and checked, workers still warm (server + {warm['workers']} workers) | "
        f"{_mb(warm)} | (while they are warm: see below) |",
        f"| every lab up and checked, once the idle workers are retired (server + "
        f"{retired['workers']} workers; idle timeout {idle_s:g} s{_default_note(idle_s)}) | "
        f"{_mb(retired)} | at most {RSS_TARGET_MB:.0f} MB: {_verdict(retired)} |",
        f"| next call after retirement: a cold start again (server + {again['workers']} workers) | "
        f"{mem['again_s']:.2f} s, {_mb(again)} | |",
        "",
        "Memory is given as RSS / PSS. The target is the issue's: all five labs up and all checks run, "
        "idle Lambda workers retired after a while. While they are warm, each worker is a Python "
        "process of its own with boto3 imported, as each execution environment is its own on AWS: "
        "RSS counts the pages they share (forked from a template process that has imported the "
        "runtime's boto3, awslab/local/worker_template.py) once per worker, PSS once in all.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold starts to take the median of")
    parser.add_argument(
        "--idle",
        type=float,
        default=DEFAULT_IDLE_S,
        help="AWSLAB_LAMBDA_IDLE_SECONDS for the memory run (default: the local cloud's own)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    colds = []
    for i in range(args.runs):
        colds.append(cold_start())
        print(
            f"cold start {i + 1}: {colds[-1][0]:.2f} s to the first 200 (up {colds[-1][1]:.2f} s)", flush=True
        )
    booted = booted_start(args.runs)
    print(f"with the local cloud running: {statistics.median(c for c, _ in booted):.2f} s", flush=True)
    mem = memory(args.idle)
    text = report(colds, booted, mem, args.idle)
    print(text)
    if not args.no_write:
        write_section("local_cloud", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
