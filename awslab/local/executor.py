"""The local cloud's Lambda executor: moto's Lambda without Docker.

`LambdaExecutor.invoke` runs the deployed zip's handler in a warm child Python process
(awslab/local/worker.py) per function version and configuration, the way Lambda reuses execution
environments, on the Python its runtime declares (awslab/local/runtimes.py), held to its memory
size and to Lambda's response size. Logs go to CloudWatch Logs `/aws/lambda/<name>`, one stream
per worker. Asynchronous invocations queue in the executor's `async_events`
(awslab/local/async_invoke.py), which runs them through `invoke`. awslab/local/moto_patches.py
routes every moto invoke path here (its `install` creates the process's executor).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from awslab import paths
from awslab.local import deps, iam_match, runtimes
from awslab.local.async_invoke import AsyncInvoker
from awslab.local.execution_env import (
    BOOTSTRAP,
    runtime_dir,
    safe_path_flag,
    template_environment,
    unpack_code,
    user_environment,
    worker_environment,
)
from awslab.local.lambda_settings import DEFAULT_IDLE_TIMEOUT_S
from awslab.local.state_gate import GATE
from awslab.local.worker import SIGNAL_NAMES
from awslab.local.worker_process import WorkerProcess
from awslab.local.worker_template import Template, can_fork

log = logging.getLogger(__name__)

__all__ = ["LambdaExecutor", "Result", "WorkerInfo"]

INIT_TIMEOUT_S = 10.0  # AWS's limit for the init phase, on top of the function's timeout
OUTPUT_GRACE_S = 2.0  # how long to wait for a finished invoke's last output to cross the pipe
DEFAULT_MAX_WORKERS = 4
RESPONSE_LIMIT = 6291556  # bytes of a function's response, as Lambda's message says ("6 MB")
MIB = 1048576

Result = tuple[str, bool, str]  # what moto's _invoke_lambda returns: payload, errored, log text


@dataclass
class _Pool:
    arn: str
    fingerprint: str
    idle: list[WorkerProcess] = field(default_factory=list)
    size: int = 0  # idle + busy + starting
    retired: bool = False


class _NotStarted(Exception):
    """A cold start failed; `result` is what the invoke returns."""

    def __init__(self, result: Result) -> None:
        super().__init__(result[0])
        self.result = result


@dataclass(frozen=True)
class WorkerInfo:
    function_arn: str
    pid: int
    busy: bool
    idle_seconds: float
    invokes: int


class LambdaExecutor:
    """Runs moto LambdaFunction objects' handlers in warm worker processes (see module doc)."""

    def __init__(self, work_dir: Path, endpoint_url: str, *, idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
                 max_workers_per_function: int = DEFAULT_MAX_WORKERS, deps_cache: Path | None = None,
                 isolate_site_packages: bool = True, runtime_finder: runtimes.RuntimeFinder | None = None,
                 prefetch_runtimes: bool = True) -> None:  # fmt: skip
        """`idle_timeout_s`: how long an idle worker is kept (AWS reclaims an idle execution environment
        after some minutes; the next invoke is a cold start). `prefetch_runtimes`: look every runtime's
        Python up now, in the background (else on first use, or when `runtimes.prefetch()` is called)."""
        self.work_dir = Path(work_dir)
        self.endpoint_url = endpoint_url
        self.idle_timeout_s = idle_timeout_s
        self.max_workers = max_workers_per_function
        self.deps_cache = deps_cache or paths.cache_dir() / "lambda-deps"
        self.isolate = isolate_site_packages
        self._pools: dict[tuple[str, str], _Pool] = {}
        self._busy: dict[int, tuple[WorkerProcess, str]] = {}
        self._cond = threading.Condition()
        self._setup_lock = threading.Lock()
        self._logs_lock = threading.Lock()  # moto's logs backend is not thread safe
        self._deps: dict[tuple[str, str], tuple[deps.Dependencies, tuple[Path, ...]]] = {}
        # Workers forked from a template process per Python share its imports (worker_template.py).
        self._templates: dict[tuple[str, tuple[str, ...], bool], Template] = {}
        # The Python each runtime runs on; looked up ahead, as the health document lists them all.
        self.runtimes = runtime_finder or runtimes.default_finder()
        if prefetch_runtimes:
            self.runtimes.prefetch()
        self._closed = threading.Event()
        interval = max(0.05, min(idle_timeout_s / 4, 30.0))
        self._reaper = threading.Thread(target=self._reap_loop, args=(interval,), daemon=True)
        self._reaper.start()
        # Event invokes, S3 notifications and SNS deliveries: queued, run in the background, retried.
        self.async_events = AsyncInvoker(self.invoke)

    # ---- invoking ---------------------------------------------------------------------------
    def invoke(self, fn: Any, event: Any = None, *, request_id: str | None = None) -> Result:
        """Run `fn`'s handler with `event`; moto's (payload, errored, logs) triple. `request_id`: the
        id of an asynchronous invocation, the same for each of its attempts (default: a new one)."""
        request_id = request_id or str(uuid.uuid4())
        event = {} if event is None or event == "{}" else event
        problem = "the local cloud is shutting down" if self._closed.is_set() else _unsupported(fn)
        if problem:
            return self._failed(
                fn, None, request_id, _error("LocalCloud.UnsupportedFunction", problem, request_id)
            )
        fingerprint = _fingerprint(fn)
        self.retire_function(fn.function_arn, keep_fingerprint=fingerprint)
        pool, worker = self._checkout(fn, fingerprint)
        init_output = ""
        if worker is None:
            try:
                worker, init_output = self._cold_start(fn, pool, request_id)
            except _NotStarted as failed:
                return failed.result
        with self._cond:
            self._busy[worker.pid] = (worker, fn.function_arn)
        try:
            return self._run(fn, worker, request_id, event, init_output)
        finally:
            with self._cond:
                self._busy.pop(worker.pid, None)
            self._release(pool, worker)

    def _cold_start(self, fn: Any, pool: _Pool, request_id: str) -> tuple[WorkerProcess, str]:
        """A new worker through its init phase (the handler module imported), and its init output.
        Raises _NotStarted with the invoke's result when that fails."""
        try:
            worker, python = self._start(fn)
        except Exception as exc:  # the invoke fails as on AWS, and the reserved slot must be freed
            self._release(pool, None)
            if not isinstance(exc, (deps.RequirementsError, zipfile.BadZipFile, OSError)):
                log.exception("starting a worker for %s failed", fn.function_arn)  # not the user's doing
            kind = (
                "LocalCloud.RequirementsError"
                if isinstance(exc, deps.RequirementsError)
                else "LocalCloud.StartError"
            )
            raise _NotStarted(
                self._failed(fn, None, request_id, _error(kind, str(exc), request_id))
            ) from None
        init = worker.reply(INIT_TIMEOUT_S + float(fn.timeout))
        init_output = worker.output.take("init", OUTPUT_GRACE_S)
        if python.note:  # first in the logs of each cold start: the runtime is not the declared one
            init_output = f"{python.note}\n{init_output}"
        if isinstance(init, dict) and init.get("type") == "ready":
            worker.init_ms = float(init["init_ms"])
            return worker, init_output
        # A failed init is never reused: AWS starts a fresh environment next time. One that exited
        # (a crash, or killed for its memory) may still be finishing: let its exit status show.
        worker.kill(grace_s=OUTPUT_GRACE_S if init is None else 0.0)
        self._release(pool, worker)
        if isinstance(init, dict) and "error" in init:
            error = init["error"]
        elif init is None:
            error = _error("Runtime.ExitError", _exit_message(request_id, worker), "")
        else:
            error = _error("Runtime.InitTimeout", f"RequestId: {request_id} Error: init timed out", "")
        raise _NotStarted(self._failed(fn, worker, request_id, error, init_output))

    def _run(self, fn: Any, worker: WorkerProcess, request_id: str, event: Any, init_output: str) -> Result:
        timeout_s = float(fn.timeout)
        started = time.monotonic()
        deadline_ms = int(time.time() * 1000 + timeout_s * 1000)
        worker.send({"id": request_id, "event": event, "deadline_ms": deadline_ms, "arn": fn.function_arn,
                     "trace_id": _trace_id()})  # fmt: skip
        reply = worker.reply(timeout_s)
        elapsed_ms = (time.monotonic() - started) * 1000
        worker.invokes += 1
        after: list[str] = []
        if isinstance(reply, dict):
            worker.max_rss = max(worker.max_rss, int(reply["max_rss"]))
            if worker.memory_limit and worker.max_rss > worker.memory_limit:
                # Over its memory between two looks (or where only the worker can tell): on AWS
                # it would not have finished.
                worker.kill()
                reply = None
        if isinstance(reply, dict):
            output = worker.output.take(request_id, OUTPUT_GRACE_S)
            payload, errored, duration_ms = reply["payload"], not reply["ok"], float(reply["duration_ms"])
            if len(payload.encode()) > RESPONSE_LIMIT:  # the Runtime API refuses it; AWS's error instead
                payload, errored = _response_too_large(), True
        elif reply is False:  # the function's timeout passed: AWS stops the environment
            worker.kill()
            output = worker.output.take(request_id, OUTPUT_GRACE_S)
            # AWS says how long it ran (its Duration), a little over the timeout.
            message = f"{_iso_now()} {request_id} Task timed out after {elapsed_ms / 1000:.2f} seconds"
            payload, errored, duration_ms = json.dumps({"errorMessage": message}), True, elapsed_ms
            after.append(message)
        else:  # the worker exited mid-invoke (sys.exit, os._exit, a crash, killed for its memory)
            worker.kill(grace_s=OUTPUT_GRACE_S)  # it may still be finishing: let its exit status show
            output = worker.output.take(request_id, OUTPUT_GRACE_S)
            message = _exit_message(request_id, worker)
            payload, errored, duration_ms = (
                json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}),
                True,
                elapsed_ms,
            )
            after += [message, "Runtime.ExitError"]
        text = self._log(fn, worker, request_id, init_output, output, duration_ms, after)
        return payload, errored, text

    def _failed(self, fn: Any, worker: WorkerProcess | None, request_id: str, error: dict[str, Any],
                output: str = "") -> Result:  # fmt: skip
        """An invoke that never reached the handler: AWS's error shape, logged like one."""
        if worker is None:  # the worker (when there is one) wrote its own [ERROR] line
            output += f"[ERROR] {error['errorType']}: {error['errorMessage']}\n"
        text = self._log(fn, worker, request_id, output, "", 0.0, [])
        return json.dumps(error), True, text

    # ---- workers and pools ------------------------------------------------------------------
    def _checkout(self, fn: Any, fingerprint: str) -> tuple[_Pool, WorkerProcess | None]:
        """A warm idle worker, or a reserved slot (None) to start one in; waits at the limit."""
        limit = self.max_workers
        if fn.reserved_concurrency and int(fn.reserved_concurrency) > 0:
            limit = min(limit, int(fn.reserved_concurrency))
        key = (fn.function_arn, fingerprint)
        dead: list[WorkerProcess] = []
        try:
            with self._cond:
                while True:
                    pool = self._pools.get(key)  # again after each wait: it may have been retired
                    if pool is None:
                        pool = self._pools[key] = _Pool(fn.function_arn, fingerprint)
                    while pool.idle:
                        worker = pool.idle.pop()
                        if worker.alive():
                            return pool, worker
                        pool.size -= 1  # died while idle (killed from outside, or crashed)
                        dead.append(worker)
                    if pool.size < limit:
                        pool.size += 1
                        return pool, None
                    self._cond.wait()
        finally:
            for corpse in dead:
                corpse.kill()

    def _release(self, pool: _Pool, worker: WorkerProcess | None) -> None:
        """Back to the pool if still usable, else killed and its slot freed."""
        keep = worker is not None and worker.alive() and not pool.retired and not self._closed.is_set()
        with self._cond:
            if keep and worker is not None:
                worker.last_used = time.monotonic()
                pool.idle.append(worker)
            else:
                pool.size -= 1
            self._cond.notify_all()
        if worker is not None and not keep:
            worker.kill()

    def _start(self, fn: Any) -> tuple[WorkerProcess, runtimes.Interpreter]:
        """A worker of `fn` on the Python its runtime declares (or the stand-in) and that Python."""
        python = self.runtimes.resolve(str(fn.run_time))
        code_dir = unpack_code(fn, self.work_dir, self._setup_lock)
        key = (code_dir.name, python.executable)  # requirements are installed per Python
        with self._setup_lock:
            prepared = self._deps.get(key)
        if prepared is None:
            prepared = (
                deps.prepare(code_dir, self.deps_cache, python),
                deps.runtime_packages(python, self.deps_cache),
            )
            with self._setup_lock:
                self._deps[key] = prepared
        dependencies, runtime_paths = prepared
        runtime_root = runtime_dir(self.work_dir, self._setup_lock)
        now = datetime.now(UTC)
        stream = f"{now:%Y/%m/%d}/[{fn.version}]{uuid.uuid4().hex}"
        user_env = user_environment(fn)
        config = {"paths": [str(p) for p in dependencies.paths], "allowed": sorted(dependencies.allowed),
                  "isolate": self.isolate, "runtime_paths": [str(p) for p in runtime_paths],
                  "pythonpath": user_env.get("PYTHONPATH", "")}  # fmt: skip
        env = worker_environment(fn, code_dir, stream, endpoint_url=self.endpoint_url, python=python,
                                 runtime_root=runtime_root)  # fmt: skip
        memory_limit = int(fn.memory_size) * MIB
        if can_fork(user_env, code_dir):
            template = self._template(python, runtime_root, config)
            forked = template.fork(config, code_dir, env) if template is not None else None
            if forked is not None:
                return WorkerProcess(forked, stream, memory_limit), python
        worker = WorkerProcess.spawn(config, code_dir, env, stream, python=python.executable,
                                     script=str(runtime_root / BOOTSTRAP), safe_path=safe_path_flag(python),
                                     memory_limit=memory_limit)  # fmt: skip
        return worker, python

    def _template(
        self, python: runtimes.Interpreter, runtime_root: Path, config: dict[str, Any]
    ) -> Template | None:
        """The template that forks workers on `python` (started on first use; again if it died)."""
        key = (python.executable, tuple(config["runtime_paths"]), bool(config["isolate"]))
        with self._setup_lock:
            template = self._templates.get(key)
            if template is not None and template.alive():
                return template
            if self._closed.is_set():
                return None
            try:
                template = Template(python.executable, str(runtime_root / BOOTSTRAP),
                                    {"runtime_paths": config["runtime_paths"], "isolate": config["isolate"]},
                                    template_environment(python, runtime_root), safe_path=safe_path_flag(python),
                                    cwd=runtime_root)  # fmt: skip
            except OSError:
                log.exception("starting a Lambda worker template failed; workers are spawned")
                return None
            self._templates[key] = template
            return template

    def _stop_templates(self) -> None:
        with self._setup_lock:
            templates, self._templates = list(self._templates.values()), {}
        for template in templates:
            template.stop()

    # ---- logs -------------------------------------------------------------------------------
    def _log(self, fn: Any, worker: WorkerProcess | None, request_id: str, before: str, output: str,
             duration_ms: float, after: list[str]) -> str:  # fmt: skip
        """START / output / END / REPORT into the function's log group; returns the text."""
        # Lambda's limit holds the environment to its memory size; between two looks ours may overshoot.
        used_mb = min(math.ceil((worker.max_rss if worker else 0) / MIB), int(fn.memory_size))
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                  f"Billed Duration: {max(math.ceil(duration_ms), 1)} ms\tMemory Size: {fn.memory_size} MB\t"
                  f"Max Memory Used: {used_mb} MB")  # fmt: skip
        if worker is not None and worker.init_ms is not None:
            report += f"\tInit Duration: {worker.init_ms:.2f} ms"
            worker.init_ms = None
        lines = [*before.splitlines(), f"START RequestId: {request_id} Version: {fn.version}",
                 *output.splitlines(), f"END RequestId: {request_id}", report, *after]  # fmt: skip
        stream = (
            worker.stream_name if worker else f"{datetime.now(UTC):%Y/%m/%d}/[{fn.version}]{uuid.uuid4().hex}"
        )
        now_ms = int(time.time() * 1000)
        events = [{"timestamp": now_ms, "message": line} for line in lines if line]
        try:
            if _deleted_without_log_rights(fn):
                return "\n".join(lines) + "\n"
            with GATE.changing(), self._logs_lock:  # no snapshot in the middle (awslab.local.state_gate)
                fn.logs_backend.ensure_log_group(fn.logs_group_name)
                fn.logs_backend.ensure_log_stream(fn.logs_group_name, stream)
                fn.logs_backend.put_log_events(fn.logs_group_name, stream, events)
        except Exception:  # logs must never fail the invoke itself
            log.exception("could not store the logs of %s", fn.function_arn)
        return "\n".join(lines) + "\n"

    # ---- reaping ----------------------------------------------------------------------------
    def _retire(self, match: Any) -> int:
        """Stop matching pools: idle workers now, busy ones when their invoke ends."""
        doomed: list[WorkerProcess] = []
        with self._cond:
            for key, pool in list(self._pools.items()):
                if match(pool):
                    del self._pools[key]
                    pool.retired = True
                    doomed += pool.idle
                    pool.size -= len(pool.idle)
                    pool.idle = []
            self._cond.notify_all()
        for worker in doomed:
            worker.kill()
        return len(doomed)

    def retire_function(self, function_arn: str, keep_fingerprint: str | None = None) -> int:
        """Workers of `function_arn` go away (all, or those not of the given configuration)."""
        return self._retire(lambda p: p.arn == function_arn and p.fingerprint != keep_fingerprint)

    def retire_stale(self, fn: Any) -> int:
        """After a code or configuration change: workers of the old one go away."""
        return self.retire_function(fn.function_arn, _fingerprint(fn))

    def retire_region(self, account_id: str, region: str) -> int:
        return self._retire(lambda p: p.arn.split(":")[3:5] == [region, account_id])

    def pool_arns(self, account_id: str, region: str) -> list[str]:
        with self._cond:
            return [p.arn for p in self._pools.values() if p.arn.split(":")[3:5] == [region, account_id]]

    def reap_idle(self, max_idle_s: float | None = None) -> int:
        """Kill workers idle for longer than `max_idle_s` (default: the executor's idle timeout)."""
        cutoff = time.monotonic() - (self.idle_timeout_s if max_idle_s is None else max_idle_s)
        doomed: list[WorkerProcess] = []
        with self._cond:
            for key, pool in list(self._pools.items()):
                old = [w for w in pool.idle if w.last_used <= cutoff or not w.alive()]
                pool.idle = [w for w in pool.idle if w not in old]
                pool.size -= len(old)
                doomed += old
                if pool.size == 0:
                    del self._pools[key]
            self._cond.notify_all()
        for worker in doomed:
            worker.kill()
        with self._cond:
            idle = not self._pools and not self._busy
        if idle and doomed:  # the last workers retired: their template goes too (started again when needed)
            self._stop_templates()
        return len(doomed)

    def _reap_loop(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                self.reap_idle()
            except Exception:  # the reaper must outlive one bad round
                log.exception("reaping idle Lambda workers failed")

    def workers(self) -> list[WorkerInfo]:
        now = time.monotonic()
        with self._cond:
            infos = [WorkerInfo(p.arn, w.pid, False, now - w.last_used, w.invokes)
                     for p in self._pools.values() for w in p.idle]  # fmt: skip
            infos += [WorkerInfo(arn, w.pid, True, 0.0, w.invokes) for w, arn in self._busy.values()]
        return infos

    def drop_workers(self) -> int:
        """Every pool retired (after a reset of the local cloud no function they ran exists)."""
        return self._retire(lambda p: True)

    def shutdown(self) -> None:
        """Kill every worker, busy or not; the executor cannot be used afterwards."""
        self.async_events.stop()  # first: no retry or queued event may start on a dying executor
        self._closed.set()
        self._retire(lambda p: True)
        with self._cond:
            busy = [w for w, _ in self._busy.values()]
        for worker in busy:
            worker.kill()
        self._stop_templates()
        self._reaper.join(timeout=5)
        self.async_events.join(timeout=5)  # their attempts ended when their workers were killed


def _fingerprint(fn: Any) -> str:
    """What a worker was started from: a change to any of it needs a new execution environment."""
    parts = [fn.code_digest, fn.handler, fn.run_time, str(fn.memory_size), str(fn.version),
             sorted((fn.environment_vars or {}).items())]  # fmt: skip
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _unsupported(fn: Any) -> str | None:
    if getattr(fn, "package_type", "Zip") == "Image":
        return "container image functions cannot run in awslab's local cloud: deploy the handler as a zip"
    if not str(fn.run_time or "").startswith("python"):
        return f"awslab's local cloud runs Python handlers only; runtime {fn.run_time} is not supported"
    if not fn.code_bytes:
        return "the function has no code to run"
    return None


def _error(kind: str, message: str, request_id: str) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": kind, "requestId": request_id, "stackTrace": []}


def _exit_message(request_id: str, worker: WorkerProcess) -> str:
    """AWS's words for a runtime that exited (its signal names are Go's)."""
    status = worker.proc.returncode or 0
    how = f"signal: {SIGNAL_NAMES.get(-status, -status)}" if status < 0 else f"exit status {status}"
    return f"RequestId: {request_id} Error: Runtime exited with error: {how}"


def _response_too_large() -> str:
    message = f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes)."
    return json.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"})


def _trace_id() -> str:
    """An X-Ray trace header as Lambda passes it in _X_AMZN_TRACE_ID (not sampled: nothing records it)."""
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _deleted_without_log_rights(fn: Any) -> bool:
    """Whether the function was deleted while it ran (a TTL reaper deletes itself, its log group
    and its role's policy) and Lambda, which writes its logs with its role, could write none: the
    role gone, or the log group gone and no inline policy of the role allowing logs:CreateLogGroup
    (awslab's roles never do). So no log group comes back, as on AWS."""
    from moto.awslambda.models import lambda_backends
    from moto.iam.models import iam_backends

    parts = str(fn.function_arn).split(":")
    role = str(fn.role or "")
    if len(parts) < 7 or not role.startswith("arn:") or "/" not in role:
        return False
    try:
        lambda_backends[parts[4]][parts[3]].get_function(parts[6])
        return False
    except Exception as exc:  # moto's UnknownFunctionException; anything else says nothing
        if type(exc).__name__ != "UnknownFunctionException":
            return False
    try:
        found = iam_backends[parts[4]][parts[1]].get_role(role.rsplit("/", 1)[-1])
    except Exception as exc:  # moto's NotFoundException
        return type(exc).__name__ == "NotFoundException"
    if fn.logs_group_name in fn.logs_backend.groups or found.managed_policies:
        return False  # a managed policy (AWSLambdaBasicExecutionRole...) is taken to allow it
    return not any(_allows_create_log_group(doc) for doc in found.policies.values())


def _allows_create_log_group(document: Any) -> bool:
    # Any Allow naming the action will do: the log group's ARN is not checked, nor a Deny.
    return any(
        st.get("Effect") == "Allow" and iam_match.names_action(st.get("Action"), "logs:CreateLogGroup")
        for st in iam_match.statements(document)
    )
