"""A Lambda worker's execution environment: the function's zip unpacked once per code hash, the
runtime directory, and the process environment a worker of the local cloud's executor
(awslab/local/executor.py) starts with: AWS's defined runtime variables, which the function's own
variables cannot override (AWS refuses them at CreateFunction), and nothing of the server's but
what a process needs to run.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from awslab.lambda_env import RESERVED_ENV
from awslab.local import worker
from awslab.local.runtimes import Interpreter
from awslab.target import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

LOCAL_SESSION_TOKEN = "awslab-local-session"  # Lambda hands out a role session: a token always comes along
BOOTSTRAP = "bootstrap.py"  # the worker, as the runtime directory holds it

# Variables of the server's (already scrubbed: server_env.py) environment a Python process needs to
# run, and nothing AWS.
_CARRIED_ENV = ("PATH", "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "TMPDIR", "HOME",
                "USERPROFILE", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH")  # fmt: skip
# the two that keep boto3 in a handler on the dummy credentials (besides Lambda's reserved ones)
_OURS = frozenset({"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"})


def unpack_code(fn: Any, work_dir: Path, lock: threading.Lock) -> Path:
    """The zip extracted once per code hash; concurrent callers wait for the first."""
    code_hash = fn.code_digest or hashlib.sha256(fn.code_bytes).hexdigest()
    target = work_dir / "code" / code_hash
    with lock:
        if target.is_dir():
            return target
        staging = target.with_name(f"{code_hash}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            staging.mkdir(mode=0o700, parents=True)  # the user's code: theirs alone
            with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as bundle:
                bundle.extractall(staging)  # drops absolute paths and "..": nothing lands outside
                for info in bundle.infolist():
                    path = staging / info.filename
                    if (info.external_attr >> 16) & 0o111 and path.is_file():
                        path.chmod(0o755)  # executables shipped in the zip stay executable
            staging.replace(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def runtime_dir(work_dir: Path, lock: threading.Lock) -> Path:
    """LAMBDA_RUNTIME_DIR: the worker's code, as BOOTSTRAP (so that PYTHONPATH, which points here as
    on AWS, offers a handler's own Python processes nothing of awslab's)."""
    target = work_dir / "runtime"
    source = Path(worker.__file__).read_bytes()
    bootstrap = target / BOOTSTRAP
    with lock:
        if not bootstrap.is_file() or bootstrap.read_bytes() != source:
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            staging = target / f".{BOOTSTRAP}.{uuid.uuid4().hex[:8]}"
            staging.write_bytes(source)
            staging.replace(bootstrap)
    return target


def worker_environment(fn: Any, code_dir: Path, stream: str, *, endpoint_url: str, python: Interpreter,
                       runtime_root: Path) -> dict[str, str]:  # fmt: skip
    """A worker's process environment: the variables Lambda defines (with the local endpoint, the
    dummy credentials and config file paths that lead nowhere, so boto3 in a handler finds nothing
    else), the function's variables (never over a reserved one), and of the server's only what a
    process needs to run."""
    env = {k: os.environ[k] for k in _CARRIED_ENV if k in os.environ}
    # As AWS sets them, before the function's variables: these the function may change.
    env["PATH"] = os.pathsep.join(p for p in (os.path.dirname(python.executable), env.get("PATH")) if p)
    env["LANG"] = "en_US.UTF-8"
    if os.name == "posix":
        env["TZ"] = ":UTC"
    libs = [str(runtime_root), str(runtime_root / "lib"), str(code_dir), str(code_dir / "lib")]
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*filter(None, [env.get("LD_LIBRARY_PATH")]), *libs])
    env["PYTHONPATH"] = str(runtime_root)
    env["AWS_ENDPOINT_URL"] = endpoint_url
    env.update(user_environment(fn))
    env.update({
        "AWS_REGION": fn.region, "AWS_DEFAULT_REGION": fn.region,
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        "AWS_SESSION_TOKEN": LOCAL_SESSION_TOKEN,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name, "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name, "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}", "LAMBDA_TASK_ROOT": str(code_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_root), "_HANDLER": fn.handler or "",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        # Nothing serves Lambda's Runtime API here: pointing at the local cloud makes a client of it
        # fail with the local cloud's refusal rather than reach whatever listens on AWS's 127.0.0.1:9001.
        "AWS_LAMBDA_RUNTIME_API": urlsplit(endpoint_url).netloc,
    })  # fmt: skip
    return env


def template_environment(python: Interpreter, runtime_root: Path) -> dict[str, str]:
    """A worker template's environment (awslab/local/worker_template.py): what every worker's
    holds before the function's own (`worker_environment`) of the variables read when a process
    starts, and config file paths that lead nowhere, so that what it preloads reads nothing of
    the server's user. Each worker forked from it gets its own environment."""
    env = {k: os.environ[k] for k in _CARRIED_ENV if k in os.environ}
    env["PATH"] = os.pathsep.join(p for p in (os.path.dirname(python.executable), env.get("PATH")) if p)
    env["LANG"] = "en_US.UTF-8"
    if os.name == "posix":
        env["TZ"] = ":UTC"
    libs = [str(runtime_root), str(runtime_root / "lib")]
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*filter(None, [env.get("LD_LIBRARY_PATH")]), *libs])
    env["PYTHONPATH"] = str(runtime_root)
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "LAMBDA_RUNTIME_DIR": str(runtime_root)})  # fmt: skip
    return env


def user_environment(fn: Any) -> dict[str, str]:
    """The function's own variables but the reserved ones."""
    return {str(k): str(v) for k, v in (fn.environment_vars or {}).items() if k not in RESERVED_ENV | _OURS}


def safe_path_flag(python: Interpreter) -> bool:
    """Whether `python` has -P (3.11 and newer)."""
    return tuple(int(n) for n in python.version.split(".")[:2]) >= (3, 11)
