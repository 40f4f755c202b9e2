"""A Lambda worker's execution environment: the function's zip unpacked once per code hash, and the
process environment a worker of the local cloud's executor (awslab/local/executor.py) starts with.
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

from awslab.target import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

# Variables of the server's (already scrubbed: server_env.py) environment a Python process needs to
# run, and nothing AWS.
_CARRIED_ENV = ("PATH", "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "TMPDIR", "HOME",
                "USERPROFILE", "LANG", "LC_ALL", "LC_CTYPE")  # fmt: skip
_RESERVED_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                 "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT", "_HANDLER",
                 "AWS_EXECUTION_ENV", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")  # fmt: skip


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


def worker_environment(fn: Any, code_dir: Path, stream: str, *, endpoint_url: str) -> dict[str, str]:
    """A worker's process environment: what Lambda sets, the function's variables, the local
    endpoint and credentials, and nothing else of the server's (no AWS settings, and config file
    paths that lead nowhere, so boto3 in a handler finds the dummy credentials only)."""
    env = {k: os.environ[k] for k in _CARRIED_ENV if k in os.environ}
    env["AWS_ENDPOINT_URL"] = endpoint_url
    if os.name == "posix":
        env["TZ"] = ":UTC"
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items() if k not in _RESERVED_ENV})
    env.update({
        "AWS_REGION": fn.region, "AWS_DEFAULT_REGION": fn.region,
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY,
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name, "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name, "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}", "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": fn.handler or "", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    })  # fmt: skip
    return env
