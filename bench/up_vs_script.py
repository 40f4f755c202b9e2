"""awslab against a hand-written boto3 script, in one run on one moto server, and every lab in
the local cloud's AWS-like mode (prints figures; not a test).

    .venv/bin/python bench/up_vs_script.py [--repeat 3] [--delay-ms 50] [--labs crud,messaging,...]
                                           [--like-aws-repeat 1] [--no-write]

For every lab it times `awslab up` and `awslab teardown` (the real CLI, a subprocess, on the
endpoint target), and for crud and messaging the script in bench/handwritten.py doing the same
by hand, one call after another. Each is run directly against the moto server and again behind
a proxy that holds every request for --delay-ms (a real region is that far away, or further).
The proxy also counts the requests of each command, by service. The critical path of a command
is measured in round trips behind the proxy: the longest chain of requests each sent only after
the one before it was answered.

Both sides pay for starting a Python interpreter and importing boto3; the script pays nothing
for validation, state or progress. Figures are medians over --repeat runs; ratios compare
figures of the same run only.

Then every lab's `up` on a local cloud in the AWS-like mode with AWS's default delays (a new role
is usable after 8 s, a new function Pending for 3 s, a new table CREATING for 5 s, API Gateway's
control-plane quotas), started on a free port with a state directory of its own: the target is one
propagation window plus 4 s. The figures go to the `up_vs_script` section of bench/RESULTS.md
(bench/results.py), unless --no-write.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import http.server
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from results import load_note, write_section  # bench/ is the script's directory: on sys.path
from startup import bench_env, free_port

from awslab.local.like_aws.settings import DEFAULT_SECONDS

REPO = Path(__file__).resolve().parents[1]

AWSLAB = str(Path(sys.executable).parent / "awslab")
LOAD_AT_START = os.getloadavg()[0]
ALL_LABS = ("crud", "upload", "image", "messaging", "workflow")
SCRIPTED = ("crud", "messaging")
_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


# ---- the delaying, counting proxy --------------------------------------------------------
class Proxy:
    """A reverse proxy on loopback: holds each request for `delay` seconds, then forwards it."""

    def __init__(self, upstream_port: int, delay: float) -> None:
        self.upstream_port = upstream_port
        self.delay = delay
        self.counts: collections.Counter[str] = collections.Counter()
        self.spans: list[tuple[float, float]] = []  # (start, end) of each request, for the critical path
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                match = _SERVICE.search(self.headers.get("Authorization") or "")
                with proxy._lock:
                    proxy.counts[match.group(1) if match else "unsigned"] += 1
                start = time.monotonic()
                time.sleep(proxy.delay)
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response_only(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()
                with proxy._lock:
                    proxy.spans.append((start, time.monotonic()))

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> tuple[dict[str, int], int]:
        """(requests by service, critical path in round trips) since the last call."""
        with self._lock:
            counts, spans = dict(self.counts), sorted(self.spans, key=lambda s: s[1])
            self.counts.clear()
            self.spans.clear()
        # The longest chain of requests each sent after the previous one answered: the most
        # requests that do not overlap in time (earliest end first finds it).
        chain, free_at = 0, float("-inf")
        for start, end in spans:
            if start >= free_at:
                chain, free_at = chain + 1, end
        return counts, chain

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def moto_server() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- running and timing ------------------------------------------------------------------
@dataclass
class Sample:
    seconds: list[float] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    critical_path: int = 0  # round trips that waited for one another (behind the proxy)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class Bench:
    def __init__(self, moto_port: int, proxy: Proxy, work: Path) -> None:
        self.moto_port = moto_port
        self.proxy = proxy
        self.work = work
        self.env = bench_env()
        self.samples: dict[tuple[str, str, str, str], Sample] = collections.defaultdict(Sample)

    def url(self, proxied: bool) -> str:
        return f"http://127.0.0.1:{self.proxy.port if proxied else self.moto_port}"

    def _run(self, key: tuple[str, str, str, str], argv: list[str]) -> None:
        proxied = key[3] == "proxy"
        self.proxy.take()
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=self.env, cwd=self.work, capture_output=True, text=True, timeout=900)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        sample = self.samples[key]
        sample.seconds.append(elapsed)
        if proxied:
            sample.requests, sample.critical_path = self.proxy.take()

    def awslab(self, lab: str, phase: str, proxied: bool) -> None:
        mode = "proxy" if proxied else "direct"
        common = [
            "--target",
            "endpoint",
            "--endpoint-url",
            self.url(proxied),
            "--state",
            str(self.work / "state.json"),
        ]
        argv = (
            [AWSLAB, "up", lab, *common, "--yes"]
            if phase == "up"
            else [AWSLAB, "teardown", lab, *common, "--yes"]
        )
        self._run(("awslab", lab, phase, mode), argv)

    def script(self, lab: str, phase: str, proxied: bool) -> None:
        mode = "proxy" if proxied else "direct"
        argv = [
            sys.executable,
            str(REPO / "bench" / "handwritten.py"),
            lab,
            "up" if phase == "up" else "down",
            "--endpoint-url",
            self.url(proxied),
            "--state",
            str(self.work / f"byhand-{lab}.json"),
        ]
        self._run(("script", lab, phase, mode), argv)


# ---- the AWS-like mode ------------------------------------------------------------------
WINDOW = DEFAULT_SECONDS["iam"]  # one propagation window
LIKE_AWS_SLACK = 4.0  # the target: `up` of any lab within one window plus this


def like_aws_figures(env: dict[str, str], work: Path, labs: list[str], repeat: int) -> dict[str, list[float]]:
    """Seconds of `awslab up LAB` for each lab, in that order, on a local cloud in the AWS-like
    mode with the default delays (a fresh one per repetition, so that API Gateway's quotas start
    full), then one `awslab teardown` of them all (key "teardown (all labs)")."""
    times: dict[str, list[float]] = collections.defaultdict(list)
    for i in range(repeat):
        port = free_port()
        local_env = {**env, "AWSLAB_STATE_DIR": str(work / f"like-aws-{i}")}
        common = ["--port", str(port)]
        subprocess.run([AWSLAB, "local", "start", "--like-aws", *common], env=local_env, cwd=work,
                       capture_output=True, check=True, timeout=120)  # fmt: skip
        try:
            for lab in labs:
                print(f"like-aws run {i + 1}/{repeat}: up {lab}", file=sys.stderr)
                times[lab].append(_timed([AWSLAB, "up", lab, *common, "--yes"], local_env, work))
            print(f"like-aws run {i + 1}/{repeat}: teardown", file=sys.stderr)
            times["teardown (all labs)"].append(
                _timed([AWSLAB, "teardown", *common, "--yes"], local_env, work)
            )
        finally:
            subprocess.run([AWSLAB, "local", "stop", *common], env=local_env, cwd=work, capture_output=True,
                           timeout=120)  # fmt: skip
    return dict(times)


def _timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


# ---- report ------------------------------------------------------------------------------
TARGETS = {"direct": 1.2, "proxy": 0.6}  # crud's up and teardown against the script


def report(b: Bench, labs: list[str], like_aws: dict[str, list[float]]) -> str:
    s = b.samples
    lines = [
        "| lab | phase | awslab direct (s) | script direct (s) | ratio | awslab behind proxy (s) | "
        "script behind proxy (s) | ratio | requests awslab / script | critical path awslab / script (round trips) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lab in labs:
        for phase in ("up", "teardown"):
            a_d, a_p = s[("awslab", lab, phase, "direct")], s[("awslab", lab, phase, "proxy")]
            if lab in SCRIPTED:
                h_d, h_p = s[("script", lab, phase, "direct")], s[("script", lab, phase, "proxy")]
                lines.append(
                    f"| {lab} | {phase} | {a_d.median:.2f} | {h_d.median:.2f} | {a_d.median / h_d.median:.2f}x "
                    f"| {a_p.median:.2f} | {h_p.median:.2f} | {a_p.median / h_p.median:.2f}x "
                    f"| {a_p.total_requests} / {h_p.total_requests} | {a_p.critical_path} / {h_p.critical_path} |"
                )
            else:
                lines.append(
                    f"| {lab} | {phase} | {a_d.median:.2f} | - | - | {a_p.median:.2f} | - | - "
                    f"| {a_p.total_requests} / - | {a_p.critical_path} / - |"
                )
    if "crud" in labs:
        lines += ["", "Targets (crud, ratio to the script in this run):", ""]
        for phase in ("up", "teardown"):
            for mode, target in TARGETS.items():
                a, h = s[("awslab", "crud", phase, mode)], s[("script", "crud", phase, mode)]
                ratio = a.median / h.median
                where = "directly" if mode == "direct" else f"behind {b.proxy.delay * 1000:g} ms"
                met = "met" if ratio <= target else "NOT met"
                lines.append(f"- crud `{phase}` {where}: {ratio:.2f}x, target {target}x: {met}")
    lines += ["", "Requests by service (awslab behind the proxy; script in brackets):", ""]
    for lab in labs:
        for phase in ("up", "teardown"):
            a = s[("awslab", lab, phase, "proxy")].requests
            h = s[("script", lab, phase, "proxy")].requests if lab in SCRIPTED else {}
            parts = [
                f"{svc} {a.get(svc, 0)}" + (f" ({h.get(svc, 0)})" if h else "") for svc in sorted({*a, *h})
            ]
            lines.append(f"- {lab} {phase}: " + ", ".join(parts))
    if like_aws:
        lines += ["", like_aws_table(like_aws)]
    return "\n".join(lines)


def like_aws_table(times: dict[str, list[float]]) -> str:
    target = WINDOW + LIKE_AWS_SLACK
    runs = len(next(iter(times.values())))
    lines = [
        f"AWS-like mode of the local cloud, default delays (IAM propagation {WINDOW:g} s, Pending "
        f"{DEFAULT_SECONDS['lambda_pending']:g} s, CREATING {DEFAULT_SECONDS['dynamodb_creating']:g} s, API "
        f"Gateway's quotas); `awslab up` of each lab, the process from start to exit, median of {runs} "
        f"(target: one window plus {LIKE_AWS_SLACK:g} s = {target:g} s):",
        "",
        "| lab | up (s) | slowest (s) | target met |",
        "|---|---|---|---|",
    ]
    for lab, secs in times.items():
        if lab.startswith("teardown"):
            continue
        median = statistics.median(secs)
        lines.append(f"| {lab} | {median:.2f} | {max(secs):.2f} | {'yes' if median <= target else 'no'} |")
    if "teardown (all labs)" in times:
        td = statistics.median(times["teardown (all labs)"])
        lines += [
            "",
            f"`awslab teardown` of them all: {td:.1f} s (API Gateway allows one DeleteRestApi per 30 s).",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--delay-ms", type=float, default=50.0)
    p.add_argument("--labs", default=",".join(ALL_LABS))
    p.add_argument("--like-aws-repeat", type=int, default=1, help="runs in the AWS-like mode (0: none)")
    p.add_argument("--no-write", action="store_true", help="print the figures only, leave bench/RESULTS.md")
    a = p.parse_args(argv)
    labs = [x for x in a.labs.split(",") if x]
    delay = a.delay_ms / 1000
    work = Path(tempfile.mkdtemp(prefix="awslab-bench-"))
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    try:
        with moto_server() as port:
            proxy = Proxy(port, delay)
            try:
                b = Bench(port, proxy, work)
                for i in range(a.repeat):
                    for proxied in (False, True):
                        for lab in labs:
                            print(
                                f"run {i + 1}/{a.repeat} {'proxy' if proxied else 'direct'} {lab}",
                                file=sys.stderr,
                            )
                            b.awslab(lab, "up", proxied)
                            if lab in SCRIPTED:
                                b.script(lab, "up", proxied)
                            b.awslab(lab, "teardown", proxied)
                            if lab in SCRIPTED:
                                b.script(lab, "teardown", proxied)
            finally:
                proxy.close()
        like_aws = like_aws_figures(b.env, work, labs, a.like_aws_repeat) if a.like_aws_repeat > 0 else {}
        text = report(b, labs, like_aws)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = (
        f"## awslab against a hand-written boto3 script\n\n`python bench/up_vs_script.py` on {started} UTC, "
        f"{os.cpu_count()} cores, {load_note(LOAD_AT_START)}; median of {a.repeat} runs; "
        f"proxy delay {a.delay_ms:g} ms per request. "
        "Ratios below 1 mean awslab is faster.\n\n"
    )
    print(header + text)
    if not a.no_write:
        write_section("up_vs_script", header + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
