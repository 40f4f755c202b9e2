"""What every benchmark starts with: a free port for a local cloud, and the environment of the
commands it times (`from startup import ...`: bench/ is the script's directory, on sys.path)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(state_dir: Path | None = None) -> dict[str, str]:
    """Dummy keys, and no AWS or awslab settings of the user's (`state_dir`: the awslab state
    directory to use). Without PYTHONDONTWRITEBYTECODE: a user's awslab has its bytecode cached,
    and compiling every module at every start would be timed otherwise."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "AWSLAB_")) and k not in ("CI", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    if state_dir is not None:
        env["AWSLAB_STATE_DIR"] = str(state_dir)
    return env
