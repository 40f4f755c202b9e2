"""The child runtime of the local Lambda executor: one warm execution environment.

Started by awslab.local.executor as `python -u [-P] bootstrap.py CONFIG_JSON` (a copy of this file
in the function's LAMBDA_RUNTIME_DIR) on the Python its runtime declares (awslab.local.runtimes):
Python 3.9 and newer, so no syntax or stdlib newer than 3.9 in the child's path; stdlib only,
because it runs with the handler's import path, not awslab's. It imports the handler once (the
init phase), then serves invokes one at a time until its parent kills it or goes away, so
module-level state persists between invokes as in a warm Lambda. Or forked, with the same settings,
from a template process (`bootstrap.py --template`, `serve_template` below) that has imported the
runtime's packages, so that warm workers share those pages (awslab/local/worker_template.py).

Wire protocol (private file descriptors, so handler output cannot corrupt it):
- requests, one JSON line each, on the original stdin: {"id", "event", "deadline_ms", "arn",
  "trace_id"};
- replies, one JSON line each, on the original stdout: {"type": "ready" | "init_error" | "result"};
- everything the handler prints (fd 1 and fd 2) goes to stderr, which the parent stores as the
  function's logs; after the init phase and after each invoke the worker writes MARK + id + MARK
  there so the parent knows which output belongs to which invoke.

The parent's handle on a worker is awslab/local/worker_process.py.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import json
import logging
import os
import queue
import site
import sys
import threading
import time
import traceback

# Every import here is paid by each cold start: typing, pathlib, importlib.abc and subprocess
# (about 40 ms together) are only needed for type checking or by the parent
# (awslab/local/worker_process.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MARK = "\x1e"
# The names Lambda's runtime (written in Go) gives the signals that end a worker.
SIGNAL_NAMES = {1: "hangup", 2: "interrupt", 3: "quit", 4: "illegal instruction", 6: "aborted",
                7: "bus error", 8: "floating point exception", 9: "killed", 11: "segmentation fault",
                13: "broken pipe", 14: "alarm clock", 15: "terminated"}  # fmt: skip
# Shipped by the AWS Python runtime next to the handler; everything else must come from the bundle.
RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"})

_current_request_id = ""


class CognitoIdentity:
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The context object of the AWS Python runtime (same attribute names and types)."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # A string, as in the real runtime.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = CognitoIdentity()
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        sys.stdout.write(msg)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
            f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])"
        )


class SitePackagesGuard:
    """Hides the server's own packages from the handler, except the ones the AWS runtime ships and
    the ones its requirements.txt named (found already installed), so a missing requirement fails
    here as it would on AWS. A meta path finder by protocol (importlib.abc costs a cold start 30 ms)."""

    def __init__(self, blocked_dirs: list[str], allowed: set[str]) -> None:
        self.blocked = tuple(os.path.normcase(os.path.abspath(d)) + os.sep for d in blocked_dirs)
        self.allowed = allowed

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if path is not None or name in self.allowed:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
        if spec is None:
            return None
        where = spec.origin if spec.origin not in (None, "namespace") else None
        if where is None and spec.submodule_search_locations:
            where = next(iter(spec.submodule_search_locations), None)
        if where and os.path.normcase(os.path.abspath(where)).startswith(self.blocked):
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


def configure_logging() -> None:
    """The root logger as the AWS Python runtime sets it up: `[LEVEL]\\ttime\\trequest id\\tmessage`."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]


def error_shape(error_type: str, message: str, stack: list[str], request_id: str = "") -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def user_frames(tb: Any) -> list[str]:
    """The traceback without this file's frames, as `stackTrace` shows it."""
    frames = [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != os.path.abspath(__file__)]
    return traceback.format_list(frames)


def log_error(error: dict[str, Any]) -> None:
    sys.stderr.write(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n")
    sys.stderr.write("Traceback (most recent call last):\n" + "".join(error["stackTrace"]))


def load_handler(spec: str) -> Callable[[Any, LambdaContext], Any]:
    """Import the handler the way the AWS runtime does, raising its fault shapes as InitFault."""
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as exc:
        raise InitFault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}", []) from None
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise InitFault(
            "Runtime.ImportModuleError", f"Unable to import module '{modname}': {exc}", []
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise InitFault(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {exc}", trace
        ) from None
    handler = getattr(module, fname, None)
    if handler is None:
        raise InitFault("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'", [])
    return handler  # type: ignore[no-any-return]


class InitFault(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str]) -> None:
        super().__init__(message)
        self.error = error_shape(error_type, message, stack)


def decimal_serializer(value: Any) -> Any:
    """As the AWS runtime marshals responses: Decimal (DynamoDB's numbers) as float, else an error."""
    if type(value).__name__ == "Decimal":  # no `import decimal` on every cold start
        return float(value)
    raise TypeError(repr(value) + " is not JSON serializable")


def peak_rss(pid: int | str = "self") -> int | None:
    """A process's peak resident memory (Linux's VmHWM), None where /proc does not tell."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def max_rss_bytes() -> int:
    """Peak memory of this process. On Linux getrusage would report the parent's peak (ru_maxrss
    survives exec), so VmHWM first."""
    peak = peak_rss()
    if peak is not None:
        return peak
    try:
        import resource
    except ImportError:  # Windows: not reported
        return 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def run_one(handler: Callable[[Any, LambdaContext], Any], request: dict[str, Any]) -> dict[str, Any]:
    global _current_request_id
    request_id = request["id"]
    _current_request_id = request_id
    context = LambdaContext(request_id, request["arn"], int(request["deadline_ms"]))
    if request.get("trace_id"):  # as the AWS runtime does, for the X-Ray SDK
        os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    started = time.perf_counter()
    ok = True
    try:
        result = handler(request["event"], context)
        try:
            payload = json.dumps(result, default=decimal_serializer)
        except (TypeError, ValueError) as exc:
            ok = False
            error = error_shape("Runtime.MarshalError", f"Unable to marshal response: {exc}", [], request_id)
            log_error(error)
            payload = json.dumps(error)
    except Exception as exc:  # the handler's exception is the invoke's error, as in the AWS runtime
        ok = False
        error = error_shape(type(exc).__name__, str(exc), user_frames(exc.__traceback__), request_id)
        log_error(error)
        payload = json.dumps(error)
    duration_ms = (time.perf_counter() - started) * 1000
    return {"type": "result", "id": request_id, "ok": ok, "payload": payload,
            "duration_ms": duration_ms, "max_rss": max_rss_bytes()}  # fmt: skip


def end_of_output(marker_id: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or replaced by the handler
            stream.flush()
    os.write(2, f"{MARK}{marker_id}{MARK}".encode())


def read_requests(source: Any, inbox: queue.Queue[dict[str, Any]]) -> None:
    """Feeds the invoke loop; exits the process when the parent goes away, even mid-invoke."""
    for line in source:
        inbox.put(json.loads(line))
    os._exit(0)


def runtime_path(config: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """The standard library, the runtime's packages and the site directories of sys.path as it
    is at the start (see `setup_paths`)."""
    user_site = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []  # a `pip install --user` awslab
    site_dirs = [p for p in [*site.getsitepackages(), *user_site] if os.path.isdir(p) and p in sys.path]
    stdlib = [p for p in sys.path if p and not any(os.path.abspath(p).startswith(s) for s in site_dirs)]
    # Entries added by .pth files (editable installs) or PYTHONPATH are neither stdlib nor
    # site-packages: dropped.
    stdlib = [p for p in stdlib if p.startswith(sys.base_prefix) or p.startswith(sys.prefix)]
    return stdlib, list(config.get("runtime_paths", [])), site_dirs


def setup_paths(config: dict[str, Any]) -> None:
    """sys.path as the AWS runtime has it: the task root, the function's PYTHONPATH (when it sets
    one), its requirements, the standard library, and the packages the runtime ships (boto3...:
    `runtime_paths` on another Python than the local cloud's, else its site-packages, guarded)."""
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    stdlib, runtime_dirs, site_dirs = _START_PATH or runtime_path(config)
    user_path = [p for p in config.get("pythonpath", "").split(os.pathsep) if p]
    sys.path[:] = [task_root, *user_path, *config.get("paths", []), *stdlib, *runtime_dirs, *site_dirs]
    if config.get("isolate", True):
        allowed = set(RUNTIME_PACKAGES) | set(config.get("allowed", []))
        sys.meta_path.insert(0, SitePackagesGuard(site_dirs + runtime_dirs, allowed))
    os.chdir(task_root)
    _forget_shadowed([task_root, *user_path, *config.get("paths", [])])


# ---- the template: workers forked from one process that imported the runtime's packages ---------
# A worker forked from the template shares the pages of what the template imported (boto3 and its
# dependencies, about 25 MB a process) until it writes to them. What is preloaded is only what
# the runtime ships (RUNTIME_PACKAGES, imported as a worker would, guarded) and the stdlib: the
# handler is imported afresh in each worker, which has its own process, session, environment and
# working directory, as a spawned one does.
_START_PATH: tuple[list[str], list[str], list[str]] | None = None  # set in the template, before it forks
_PRELOADED: set[str] = set()


def preload(config: dict[str, Any]) -> None:
    """Import the runtime's packages as a worker's handler would find them (without the task
    root), then put sys.path back as it was at the start."""
    global _START_PATH
    _START_PATH = runtime_path(config)

    def imports() -> None:
        import boto3  # noqa: F401  (what nearly every handler imports first)
        import botocore.session  # noqa: F401

        share_botocore_data()

    _as_runtime(imports)


# Data files the first botocore client of every process parses, whatever the service: the legacy
# endpoint table (about 6.5 MB of objects), the partitions, the SDK's default configuration.
SHARED_BOTOCORE_DATA = ("endpoints", "partitions", "sdk-default-configuration")


def share_botocore_data() -> None:
    """Parse SHARED_BOTOCORE_DATA once, here in the template: the first loader (session) of a
    forked worker gets these objects, pages shared with the template, instead of parsing each file
    again: about 6.5 MB less per warm worker and a faster first client. Each object goes to one
    session only, because botocore writes into the endpoint table as it resolves endpoints (only
    the same values again): another session in the worker parses its own copy, as every session
    does on AWS, so sessions in threads never share one. A function's own data path
    (AWS_DATA_PATH) or its own botocore (a worker forgets the preloaded one then) reads its own
    files."""
    import botocore.loaders

    file_loader = botocore.loaders.JSONFileLoader
    original = file_loader.load_file
    parsed: dict[str, Any] = {}
    loader = botocore.loaders.create_loader()
    for name in SHARED_BOTOCORE_DATA:
        data, path = loader.load_data_with_path(name)
        parsed[path] = data

    def load_file(self: Any, file_path: str) -> Any:
        shared = parsed.pop(file_path, None)  # to the first session that asks, once
        return shared if shared is not None else original(self, file_path)

    file_loader.load_file = load_file


def _as_runtime(step: Callable[[], None]) -> None:
    """Run `step` with sys.path as a handler has it (without the task root), the runtime's
    packages guarded as in a worker; the modules it imports count as preloaded."""
    assert _START_PATH is not None
    stdlib, runtime_dirs, site_dirs = _START_PATH
    saved_path, saved_meta = sys.path[:], sys.meta_path[:]
    sys.path[:] = [*stdlib, *runtime_dirs, *site_dirs]
    sys.meta_path.insert(0, SitePackagesGuard(site_dirs + runtime_dirs, set(RUNTIME_PACKAGES)))
    before = set(sys.modules)
    # no boto3 for this Python: the workers import what they find
    with contextlib.suppress(Exception):
        step()
    sys.path[:], sys.meta_path[:] = saved_path, saved_meta
    _PRELOADED.update(name for name in set(sys.modules) - before if name.split(".")[0] in RUNTIME_PACKAGES)


def _forget_shadowed(own_paths: list[str]) -> None:
    """A function that ships its own boto3 (or another runtime package) imports that one, as on
    AWS, where its task root comes first: the preloaded copy is dropped."""
    for top in {name.split(".")[0] for name in _PRELOADED}:
        if importlib.machinery.PathFinder.find_spec(top, own_paths) is not None:
            for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                del sys.modules[name]


def serve_template(control_fd: int, config: dict[str, Any]) -> None:
    """`bootstrap.py --template CONFIG_JSON`, with a SOCK_SEQPACKET socket on `control_fd`: preload,
    then for each request {"token", "config", "cwd", "env"} carrying three descriptors (the
    worker's stdin, stdout and stderr) fork a worker and answer {"token", "pid"}; answer
    {"exited": pid, "status"} when one ends (a negative status: killed by that signal). Exits
    when the socket closes. Single-threaded, so that forking is safe."""
    import gc
    import select
    import signal
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=control_fd)
    preload(config)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    gc.freeze()  # the collector would write to every shared object's page
    while True:
        ready = select.select([sock.fileno(), wake_r], [], [])[0]
        if wake_r in ready:
            os.read(wake_r, 4096)
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                sock.send(json.dumps({"exited": pid, "status": os.waitstatus_to_exitcode(status)}).encode())
        if sock.fileno() in ready:
            message, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 3)
            if not message:
                os._exit(0)  # the executor went away
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                sock.close()  # the template's: closed for good (not again when this frame unwinds)
                _become_worker(request, fds, [wake_r, wake_w])
                # main() returned (an init error): the worker exits as a spawned one would
                sys.exit(0)
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"token": request["token"], "pid": pid}).encode())


def _become_worker(request: dict[str, Any], fds: list[int], template_fds: list[int]) -> None:
    """In the forked child: its own session, descriptors, environment and directory, then `main`."""
    import signal

    os.setsid()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in template_fds:
        os.close(fd)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    os.chdir(request["cwd"])
    sys.argv = [sys.argv[0], request["config"]]
    main()


def main() -> None:
    # Without -P (before Python 3.11) the script's directory leads sys.path: nothing of it is imported.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    config = json.loads(sys.argv[1])
    replies = os.fdopen(os.dup(1), "wb", buffering=0)  # os.dup: not inherited by the handler's children
    requests = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # print() and C-level writes to fd 1 become log output

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message).encode() + b"\n")

    setup_paths(config)
    configure_logging()
    started = time.perf_counter()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except InitFault as fault:
        log_error(fault.error)
        end_of_output("init")
        reply({"type": "init_error", "error": fault.error})
        return
    except Exception as exc:  # raised while importing the handler: AWS's init error
        error = error_shape(type(exc).__name__, str(exc), user_frames(exc.__traceback__))
        log_error(error)
        end_of_output("init")
        reply({"type": "init_error", "error": error})
        return
    end_of_output("init")
    reply({"type": "ready", "init_ms": (time.perf_counter() - started) * 1000})

    inbox: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=read_requests, args=(requests, inbox), daemon=True).start()
    while True:
        request = inbox.get()
        result = run_one(handler, request)
        end_of_output(request["id"])
        reply(result)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--template":
        # the control socket is the template's stdin (the executor passes it so)
        serve_template(os.dup(0), json.loads(sys.argv[2]))
    else:
        main()
